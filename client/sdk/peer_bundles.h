// File: client/sdk/peer_bundles.h
//
// What an SDK trusts of other organisations' keys, decided on its own side:
// which key bundle of an org is current is the signed epoch's word, never
// the broker's. PeerBundles keeps, next to the org's own keys, the newest
// bundle it has verified for each peer org:
//
//   <keys_dir>/peers/<org_id>.pb   the newest verified bundle (binary protobuf)
//
// and accepts a newer bundle only as a continuation of it: every step from
// the remembered bundle to the new one is linked by previous_key_id and a
// continuity signature of the replaced key, unless the remembered bundle
// had expired before the new one began (a reset after a lost key). An older
// epoch, or another bundle with the same epoch, is refused. The first
// bundle seen for an org is trusted on its certificate alone.
//
// Thread-compatible (one per SiltaClient).
#ifndef SILTA_CLIENT_SDK_PEER_BUNDLES_H_
#define SILTA_CLIENT_SDK_PEER_BUNDLES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "silta/v1/org.pb.h"

namespace silta::sdk {

class PeerBundles {
 public:
  // `keys_dir` is the org's own keys directory; peers/ is created in it.
  explicit PeerBundles(std::string keys_dir) : dir_(std::move(keys_dir) + "/peers") {}

  // The newest bundle remembered for `org_id`, if any. INVALID_ARGUMENT for
  // a malformed org id; UNAVAILABLE if the file cannot be read.
  absl::StatusOr<std::optional<v1::KeyBundle>> Newest(absl::string_view org_id) const;

  // Accepts `bundle` (already verified with crypto::VerifyKeyBundle) as a
  // bundle of its org that may be used: OK if it is the remembered one, an
  // older one (the caller decides whether an older one may still open a
  // message), or a continuation of the remembered one through the bundles
  // in `known` (the broker's list, retired ones included); a newer one is
  // remembered. FAILED_PRECONDITION naming the break otherwise: another
  // bundle of the same epoch, or a newer one whose continuity does not
  // verify.
  absl::Status Accept(const v1::KeyBundle& bundle, const std::vector<v1::KeyBundle>& known);

 private:
  std::string PathFor(absl::string_view org_id) const;

  const std::string dir_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_PEER_BUNDLES_H_
