// Fuzz target: key bundle verification, as the SDK verifies what a broker
// hands it (GetKeyBundlesResponse): each bundle against the dev PKI's CA
// and CRLs for wba-social, and each pair for continuity.
// Properties: a bundle that verifies is wba-social's, its key id is the hash
// of its bytes, its keys are usable and it is valid now for at most
// kMaxKeyBundleValidity; a pair that continues has a higher epoch and names
// the previous key.
#include "absl/time/clock.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/org.pb.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(key_bundle) {
  v1::GetKeyBundlesResponse response;
  if (!response.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (response.bundles_size() > 8) return 0;
  const absl::Time now = absl::Now();
  int verified = 0;
  for (const v1::KeyBundle& bundle : response.bundles()) {
    if (!crypto::VerifyKeyBundle(bundle, "wba-social", Anchors(), now).ok()) continue;
    ++verified;
    if (bundle.org_id() != "wba-social") Fail("verified another org's bundle");
    if (bundle.key_id() != crypto::KeyBundleId(bundle)) Fail("verified a wrong key id");
    if (!crypto::CheckEd25519PublicKey(bundle.signing_public_key()).ok() ||
        !crypto::CheckX25519PublicKey(bundle.hpke_public_key()).ok()) {
      Fail("verified an unusable key");
    }
    const absl::Time from = common::ToTime(bundle.not_before());
    const absl::Time to = common::ToTime(bundle.not_after());
    if (now < from || now >= to || to - from > crypto::kMaxKeyBundleValidity) {
      Fail("verified a bundle outside its validity");
    }
  }
  for (int i = 0; i + 1 < response.bundles_size(); ++i) {
    const v1::KeyBundle& previous = response.bundles(i);
    const v1::KeyBundle& next = response.bundles(i + 1);
    if (!crypto::VerifyContinuity(next, previous).ok()) {
      verified = -1;
      continue;
    }
    if (next.epoch() <= previous.epoch() || next.previous_key_id() != previous.key_id() ||
        next.org_id() != previous.org_id()) {
      Fail("continuity accepted without succession");
    }
  }
  if (verified == response.bundles_size()) Accepted();
  return 0;
}

}  // namespace silta::fuzz
