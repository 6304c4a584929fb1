// File: server/identity/key_directory.h
//
// The organisations' published key bundles (KeyService). A bundle is
// accepted only if it verifies against the trust-domain CA and names the
// publishing organisation (crypto::VerifyKeyBundle) — the broker checks what
// every recipient will check again. Publishing a new bundle retires the
// previous one; retired bundles stay available for opening old messages.
//
// Errors: INVALID_ARGUMENT (bundle does not verify, names the check),
// PERMISSION_DENIED (publishing for another org), NOT_FOUND, UNAVAILABLE.
// Thread-safe.
#ifndef SILTA_SERVER_IDENTITY_KEY_DIRECTORY_H_
#define SILTA_SERVER_IDENTITY_KEY_DIRECTORY_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/identity/authenticator.h"
#include "server/store/store.h"
#include "silta/v1/org.pb.h"

namespace silta::identity {

class KeyDirectory {
 public:
  using Clock = std::function<absl::Time()>;

  // `store` must outlive the directory. `ca_file` is re-read on each
  // publication, so a rotated CA file is honoured.
  KeyDirectory(store::Store* store, std::string ca_file, std::string trust_domain,
               Clock clock = absl::Now)
      : store_(store),
        ca_file_(std::move(ca_file)),
        trust_domain_(std::move(trust_domain)),
        clock_(std::move(clock)) {}

  absl::StatusOr<v1::PublishKeyBundleResponse> PublishKeyBundle(
      const Caller& caller, const v1::PublishKeyBundleRequest& request);
  absl::StatusOr<v1::GetKeyBundlesResponse> GetKeyBundles(const v1::GetKeyBundlesRequest& request);

  // The bundle `key_id` of `org_id` (current or retired). NOT_FOUND if none.
  absl::StatusOr<v1::KeyBundle> FindBundle(absl::string_view org_id, absl::string_view key_id);

 private:
  store::Store* const store_;
  const std::string ca_file_;
  const std::string trust_domain_;
  const Clock clock_;
};

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_KEY_DIRECTORY_H_
