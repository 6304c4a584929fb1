#include "server/identity/key_directory.h"

#include "absl/strings/str_cat.h"
#include "server/audit/log_entry.h"
#include "server/common/files.h"
#include "server/common/logging.h"
#include "server/common/status_macros.h"
#include "server/crypto/key_bundle.h"
#include "server/identity/org_admin.h"
#include "server/identity/spiffe_id.h"

namespace silta::identity {

absl::StatusOr<v1::PublishKeyBundleResponse> KeyDirectory::PublishKeyBundle(
    const Caller& caller, const v1::PublishKeyBundleRequest& request) {
  SILTA_RETURN_IF_ERROR(ValidateActingUser(request.acting_user()));
  const v1::KeyBundle& bundle = request.bundle();
  if (bundle.org_id() != caller.org.org_id()) {
    return absl::PermissionDeniedError(
        absl::StrCat("an organisation publishes only its own keys; bundle.org_id must be ",
                     caller.org.org_id()));
  }
  SILTA_ASSIGN_OR_RETURN(std::string ca_pem, common::ReadFile(ca_file_));
  SILTA_RETURN_IF_ERROR(crypto::VerifyKeyBundle(bundle, ca_pem, trust_domain_, clock_()));
  v1::AuditEntry entry = audit::NewEntry(v1::KEY_BUNDLE_PUBLISHED, clock_(), caller.org.org_id(),
                                         request.acting_user());
  entry.set_detail(bundle.key_id());
  store::AuditEntries audit = {std::move(entry)};
  SILTA_RETURN_IF_ERROR(store_->PublishKeyBundle(bundle, &audit));
  common::Log(common::LogLevel::kInfo, "key_bundle_published",
              {{"org_id", bundle.org_id()}, {"key_id", bundle.key_id()}});
  v1::PublishKeyBundleResponse response;
  *response.mutable_bundle() = bundle;
  return response;
}

absl::StatusOr<v1::GetKeyBundlesResponse> KeyDirectory::GetKeyBundles(
    const v1::GetKeyBundlesRequest& request) {
  if (!IsValidOrgId(request.org_id())) {
    return absl::InvalidArgumentError("org_id: must be 1-64 characters of a-z, 0-9 and '-'");
  }
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::KeyBundle> bundles,
                         store_->ListKeyBundles(request.org_id(), request.include_retired()));
  v1::GetKeyBundlesResponse response;
  for (v1::KeyBundle& b : bundles) *response.add_bundles() = std::move(b);
  return response;
}

absl::StatusOr<v1::KeyBundle> KeyDirectory::FindBundle(absl::string_view org_id,
                                                       absl::string_view key_id) {
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::KeyBundle> bundles,
                         store_->ListKeyBundles(org_id, /*include_retired=*/true));
  for (v1::KeyBundle& b : bundles) {
    if (b.key_id() == key_id) return std::move(b);
  }
  return absl::NotFoundError(
      absl::StrCat("organisation ", org_id, " has published no key bundle ", key_id));
}

}  // namespace silta::identity
