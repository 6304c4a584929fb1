#include "client/sdk/peer_bundles.h"

#include "absl/strings/str_cat.h"
#include "client/sdk/org_keys.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/identity/spiffe_id.h"

namespace silta::sdk {
namespace {

constexpr size_t kMaxBundleFileBytes = 64 * 1024;
// A broker could answer with a chain of any length; no org rotates this often.
constexpr int kMaxChainSteps = 1000;

absl::Status Break(absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("key bundle refused: ", what,
                   "; the broker may be serving keys the organisation did not publish"));
}

}  // namespace

std::string PeerBundles::PathFor(absl::string_view org_id) const {
  return absl::StrCat(dir_, "/", org_id, ".pb");
}

absl::StatusOr<std::optional<v1::KeyBundle>> PeerBundles::Newest(absl::string_view org_id) const {
  if (!identity::IsValidOrgId(org_id)) {
    return absl::InvalidArgumentError("org id: must be 1-64 characters of a-z, 0-9 and '-'");
  }
  absl::StatusOr<std::string> bytes = common::ReadFile(PathFor(org_id), kMaxBundleFileBytes);
  if (absl::IsNotFound(bytes.status())) return std::nullopt;
  if (!bytes.ok()) return bytes.status();
  v1::KeyBundle bundle;
  if (!bundle.ParseFromString(*bytes) || bundle.org_id() != org_id) {
    // Fail closed: a damaged record is not taken as "never seen".
    return absl::DataLossError(absl::StrCat(PathFor(org_id),
                                            ": not a key bundle of ", org_id,
                                            "; restore it from a backup or remove it knowingly"));
  }
  return bundle;
}

absl::Status PeerBundles::Accept(const v1::KeyBundle& bundle,
                                 const std::vector<v1::KeyBundle>& known) {
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::KeyBundle> newest, Newest(bundle.org_id()));
  if (newest.has_value()) {
    if (bundle.epoch() < newest->epoch()) return absl::OkStatus();
    if (bundle.epoch() == newest->epoch()) {
      if (bundle.key_id() == newest->key_id()) return absl::OkStatus();
      return Break(absl::StrCat(bundle.org_id(), " bundle ", bundle.key_id(), " has epoch ",
                                bundle.epoch(), ", which bundle ", newest->key_id(),
                                " already has"));
    }
    // Walk back from the new bundle to the remembered one.
    const v1::KeyBundle* step = &bundle;
    bool linked = false;
    for (int i = 0; i < kMaxChainSteps && !linked; ++i) {
      if (step->previous_key_id().empty()) {
        // A reset: allowed only once the remembered keys had expired.
        linked = common::ToTime(newest->not_after()) <= common::ToTime(step->not_before());
        if (linked) break;
        return Break(absl::StrCat(bundle.org_id(), " bundle ", step->key_id(),
                                  " names no previous bundle although ", newest->key_id(),
                                  " was still valid"));
      }
      if (step->previous_key_id() == newest->key_id()) {
        SILTA_RETURN_IF_ERROR(crypto::VerifyContinuity(*step, *newest));
        linked = true;
        break;
      }
      const v1::KeyBundle* previous = nullptr;
      for (const v1::KeyBundle& k : known) {
        if (k.key_id() == step->previous_key_id() && k.org_id() == bundle.org_id()) previous = &k;
      }
      if (previous == nullptr) {
        return Break(absl::StrCat("the broker did not serve bundle ", step->previous_key_id(),
                                  " that ", step->key_id(), " continues"));
      }
      SILTA_RETURN_IF_ERROR(crypto::VerifyContinuity(*step, *previous));
      if (previous->epoch() <= newest->epoch()) {
        return Break(absl::StrCat(bundle.org_id(), " bundle ", bundle.key_id(),
                                  " does not descend from ", newest->key_id()));
      }
      step = previous;
    }
    if (!linked) return Break("the continuity chain is too long");
  }
  SILTA_RETURN_IF_ERROR(MakeOwnerOnlyDirectory(dir_));
  return WriteFileWithMode(PathFor(bundle.org_id()), bundle.SerializeAsString(), 0600);
}

}  // namespace silta::sdk
