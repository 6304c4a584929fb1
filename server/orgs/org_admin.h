// File: server/orgs/org_admin.h
//
// The organisation registry's admin operations behind OrgService: request
// validation, paging and the rules that are not storage (an admin cannot
// suspend its own organisation). Plain protos in and out; no gRPC.
//
// Errors: INVALID_ARGUMENT (names the field), NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION (self-suspension), UNAVAILABLE (store).
// Thread-safe.
#ifndef SILTA_SERVER_ORGS_ORG_ADMIN_H_
#define SILTA_SERVER_ORGS_ORG_ADMIN_H_

#include "absl/status/statusor.h"
#include "server/identity/caller.h"
#include "server/orgs/registry.h"
#include "silta/v1/org.pb.h"

namespace silta::orgs {

class OrgAdmin {
 public:
  // Default and largest page sizes of ListOrgs.
  static constexpr uint32_t kDefaultPageSize = 100;
  static constexpr uint32_t kMaxPageSize = 1000;

  // `registry` must outlive this object.
  explicit OrgAdmin(OrgRegistry* registry) : registry_(registry) {}

  absl::StatusOr<v1::AddOrgResponse> AddOrg(const identity::Caller& caller,
                                            const v1::AddOrgRequest& request);
  absl::StatusOr<v1::ListOrgsResponse> ListOrgs(const v1::ListOrgsRequest& request) const;
  absl::StatusOr<v1::GetOrgResponse> GetOrg(const v1::GetOrgRequest& request) const;
  // Suspends (state SUSPENDED) or resumes (ACTIVE) an organisation.
  absl::StatusOr<v1::SetOrgStateResponse> SetOrgState(const identity::Caller& caller,
                                                      const v1::SetOrgStateRequest& request,
                                                      v1::OrgState state);

 private:
  OrgRegistry* const registry_;
};

}  // namespace silta::orgs

#endif  // SILTA_SERVER_ORGS_ORG_ADMIN_H_
