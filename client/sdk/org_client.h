// File: client/sdk/org_client.h
//
// The organisation registry (OrgService): the Silta administrator's
// calls. Needs the ADMIN role. Suspending and resuming are idempotent and
// retried; adding is not (a second attempt would say ALREADY_EXISTS).
//
// Example:
//   sdk::OrgClient orgs(connection);
//   sdk::Pager<v1::Organization> all = orgs.ListOrgs(v1::ListOrgsRequest());
//   v1::Organization org;
//   while (all.Next(&org)) std::cout << org.org_id() << "\n";
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_ORG_CLIENT_H_
#define SILTA_CLIENT_SDK_ORG_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "client/sdk/pager.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::sdk {

class OrgClient {
 public:
  explicit OrgClient(std::shared_ptr<const Connection> connection);

  // Adds an organisation. ALREADY_EXISTS if its id is taken.
  absl::StatusOr<v1::AddOrgResponse> AddOrg(const v1::AddOrgRequest& request) const;
  // One organisation; NOT_FOUND if unknown.
  absl::StatusOr<v1::GetOrgResponse> GetOrg(const v1::GetOrgRequest& request) const;
  // Suspends an organisation: its calls are refused from now on.
  absl::StatusOr<v1::SetOrgStateResponse> SuspendOrg(const v1::SetOrgStateRequest& request) const;
  // Resumes a suspended organisation.
  absl::StatusOr<v1::SetOrgStateResponse> ResumeOrg(const v1::SetOrgStateRequest& request) const;
  // Every organisation, ordered by org_id, page by page.
  Pager<v1::Organization> ListOrgs(v1::ListOrgsRequest request) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::OrgService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_ORG_CLIENT_H_
