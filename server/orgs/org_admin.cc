#include "server/orgs/org_admin.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/identity/spiffe_id.h"
#include "server/common/logging.h"

namespace silta::orgs {
namespace {

constexpr size_t kMaxReason = 500;

}  // namespace

absl::StatusOr<v1::AddOrgResponse> OrgAdmin::AddOrg(const identity::Caller& caller,
                                                    const v1::AddOrgRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  v1::Organization org = request.org();
  org.clear_created_at();
  org.clear_updated_at();
  if (absl::Status s = ValidateOrg(org); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("org.", s.message()));
  }
  SILTA_ASSIGN_OR_RETURN(
      v1::Organization added,
      registry_->Add(std::move(org), {caller.org.org_id(), request.acting_user()}));
  common::Log(common::LogLevel::kInfo, "org_added",
              {{"org_id", added.org_id()},
               {"by_org_id", caller.org.org_id()},
               {"by_worker_id", request.acting_user().worker_id()}});
  v1::AddOrgResponse response;
  *response.mutable_org() = std::move(added);
  return response;
}

absl::StatusOr<v1::ListOrgsResponse> OrgAdmin::ListOrgs(const v1::ListOrgsRequest& request) const {
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize, " (0 means ", kDefaultPageSize, ")"));
  }
  const uint32_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  // The page token is the last org id of the previous page.
  if (!request.page_token().empty() && !identity::IsValidOrgId(request.page_token())) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListOrgs");
  }
  const std::vector<v1::Organization> orgs = registry_->List();
  auto it = orgs.begin();
  if (!request.page_token().empty()) {
    it = std::upper_bound(
        orgs.begin(), orgs.end(), request.page_token(),
        [](const std::string& token, const v1::Organization& org) { return token < org.org_id(); });
  }
  v1::ListOrgsResponse response;
  for (; it != orgs.end() && static_cast<uint32_t>(response.orgs_size()) < page_size; ++it) {
    *response.add_orgs() = *it;
  }
  if (it != orgs.end() && response.orgs_size() > 0) {
    response.set_next_page_token(response.orgs(response.orgs_size() - 1).org_id());
  }
  return response;
}

absl::StatusOr<v1::GetOrgResponse> OrgAdmin::GetOrg(const v1::GetOrgRequest& request) const {
  if (!identity::IsValidOrgId(request.org_id())) {
    return absl::InvalidArgumentError("org_id: must be 1-64 characters of a-z, 0-9 and '-'");
  }
  std::optional<v1::Organization> org = registry_->Find(request.org_id());
  if (!org.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("organisation ", request.org_id(), " is not registered"));
  }
  v1::GetOrgResponse response;
  *response.mutable_org() = *std::move(org);
  return response;
}

absl::StatusOr<v1::SetOrgStateResponse> OrgAdmin::SetOrgState(const identity::Caller& caller,
                                                              const v1::SetOrgStateRequest& request,
                                                              v1::OrgState state) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  if (!identity::IsValidOrgId(request.org_id())) {
    return absl::InvalidArgumentError("org_id: must be 1-64 characters of a-z, 0-9 and '-'");
  }
  if (request.reason().size() > kMaxReason) {
    return absl::InvalidArgumentError(absl::StrCat("reason: at most ", kMaxReason, " characters"));
  }
  if (state == v1::SUSPENDED && request.org_id() == caller.org.org_id()) {
    return absl::FailedPreconditionError(
        "an administrator cannot suspend its own organisation; ask another admin organisation");
  }
  SILTA_ASSIGN_OR_RETURN(
      v1::Organization org,
      registry_->SetState(request.org_id(), state, {caller.org.org_id(), request.acting_user()},
                          request.reason()));
  common::Log(common::LogLevel::kInfo, state == v1::SUSPENDED ? "org_suspended" : "org_resumed",
              {{"org_id", org.org_id()},
               {"by_org_id", caller.org.org_id()},
               {"by_worker_id", request.acting_user().worker_id()}});
  v1::SetOrgStateResponse response;
  *response.mutable_org() = std::move(org);
  return response;
}

}  // namespace silta::orgs
