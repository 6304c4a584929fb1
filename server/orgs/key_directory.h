// File: server/orgs/key_directory.h
//
// The organisations' published key bundles (KeyService). A bundle is
// accepted only if it verifies as every SDK will verify it
// (crypto::VerifyKeyBundle: signed by the publishing org's bundle-signing
// certificate, not revoked, keys of large order, at most 90 days), its
// epoch is above the current bundle's, and, while the current bundle is
// valid, it continues it (previous_key_id and a continuity signature by the
// current signing key), so that one stolen certificate alone cannot replace
// an org's keys. Publishing retires the previous bundle (kept for opening
// old messages), appends an audit entry and tells the org's own open
// Subscribe streams (AddNoticeListener).
//
// Errors: INVALID_ARGUMENT (bundle does not verify, names the check),
// FAILED_PRECONDITION (epoch or continuity), PERMISSION_DENIED (publishing
// for another org), NOT_FOUND, UNAVAILABLE.
// Thread-safe.
#ifndef SILTA_SERVER_ORGS_KEY_DIRECTORY_H_
#define SILTA_SERVER_ORGS_KEY_DIRECTORY_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "server/common/listeners.h"
#include "server/identity/caller.h"
#include "server/store/org_store.h"
#include "silta/v1/message.pb.h"
#include "silta/v1/org.pb.h"

namespace silta::orgs {

class KeyDirectory {
 public:

  // `store` must outlive the directory. `ca_file` is re-read on each
  // publication, so a rotated CA file is honoured.
  // `crl_directory` may be empty (then revocation is left to the SDKs).
  KeyDirectory(store::OrgStore* store, std::string ca_file, std::string trust_domain,
               std::string crl_directory = "", common::Clock clock = common::SystemClock())
      : store_(store),
        ca_file_(std::move(ca_file)),
        trust_domain_(std::move(trust_domain)),
        crl_directory_(std::move(crl_directory)),
        clock_(std::move(clock)) {}

  absl::StatusOr<v1::PublishKeyBundleResponse> PublishKeyBundle(
      const identity::Caller& caller, const v1::PublishKeyBundleRequest& request);
  absl::StatusOr<v1::GetKeyBundlesResponse> GetKeyBundles(const v1::GetKeyBundlesRequest& request);

  // The bundle `key_id` of `org_id` if it may sign or be sealed to at
  // `now`: valid then, and the current bundle or replaced less than
  // crypto::kRotationOverlap ago. INVALID_ARGUMENT naming `field` and why
  // otherwise (unknown, expired, replaced).
  absl::StatusOr<std::shared_ptr<const v1::KeyBundle>> UsableBundle(absl::string_view org_id,
                                                                    absl::string_view key_id,
                                                                    absl::Time now,
                                                                    absl::string_view field);

  // Calls `listener` (on the publishing thread, after the commit) for every
  // bundle published for `org_id`. Returns an id for RemoveNoticeListener.
  using NoticeListener = std::function<void(const v1::KeyBundleNotice&)>;
  int AddNoticeListener(absl::string_view org_id, NoticeListener listener);
  void RemoveNoticeListener(int id);
  // Another siltad instance published a bundle for `org_id`: tells this
  // instance's listeners of the current bundle (its key_id and epoch; who
  // published it is in the audit log, not in this notice).
  absl::Status AnnouncePublished(absl::string_view org_id);

 private:
  store::OrgStore* const store_;
  const std::string ca_file_;
  const std::string trust_domain_;
  const std::string crl_directory_;
  const common::Clock clock_;

  common::OrgListeners<NoticeListener> listeners_;
};

}  // namespace silta::orgs

#endif  // SILTA_SERVER_ORGS_KEY_DIRECTORY_H_
