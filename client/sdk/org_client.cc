#include "client/sdk/org_client.h"

#include <utility>

namespace silta::sdk {

OrgClient::OrgClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)), stub_(v1::OrgService::NewStub(connection_->channel())) {}

absl::StatusOr<v1::AddOrgResponse> OrgClient::AddOrg(const v1::AddOrgRequest& request) const {
  return connection_->Unary(*stub_, &v1::OrgService::Stub::AddOrg, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::GetOrgResponse> OrgClient::GetOrg(const v1::GetOrgRequest& request) const {
  return connection_->Unary(*stub_, &v1::OrgService::Stub::GetOrg, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::SetOrgStateResponse> OrgClient::SuspendOrg(
    const v1::SetOrgStateRequest& request) const {
  return connection_->Unary(*stub_, &v1::OrgService::Stub::SuspendOrg, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::SetOrgStateResponse> OrgClient::ResumeOrg(
    const v1::SetOrgStateRequest& request) const {
  return connection_->Unary(*stub_, &v1::OrgService::Stub::ResumeOrg, request,
                            Idempotency::kIdempotent);
}

Pager<v1::Organization> OrgClient::ListOrgs(v1::ListOrgsRequest request) const {
  return MakePager<v1::Organization>(connection_, stub_, &v1::OrgService::Stub::ListOrgs,
                                     std::move(request), &v1::ListOrgsResponse::mutable_orgs);
}

}  // namespace silta::sdk
