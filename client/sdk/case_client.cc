#include "client/sdk/case_client.h"

#include <utility>

namespace silta::sdk {

CaseClient::CaseClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)), stub_(v1::CaseService::NewStub(connection_->channel())) {}

absl::StatusOr<v1::CreateCaseResponse> CaseClient::CreateCase(
    const v1::CreateCaseRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::CreateCase, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::GetCaseResponse> CaseClient::GetCase(const v1::GetCaseRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::GetCase, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::AddMemberResponse> CaseClient::AddMember(
    const v1::AddMemberRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::AddMember, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::RemoveMemberResponse> CaseClient::RemoveMember(
    const v1::RemoveMemberRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::RemoveMember, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::TransferCoordinatorResponse> CaseClient::TransferCoordinator(
    const v1::TransferCoordinatorRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::TransferCoordinator, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::CloseCaseResponse> CaseClient::CloseCase(
    const v1::CloseCaseRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::CloseCase, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::CheckExistingCaseResponse> CaseClient::CheckExistingCase(
    const v1::CheckExistingCaseRequest& request) const {
  return connection_->Unary(*stub_, &v1::CaseService::Stub::CheckExistingCase, request,
                            Idempotency::kIdempotent);
}

Pager<v1::Case> CaseClient::ListCases(v1::ListCasesRequest request) const {
  return MakePager<v1::Case>(connection_, stub_, &v1::CaseService::Stub::ListCases,
                             std::move(request), &v1::ListCasesResponse::mutable_cases);
}

}  // namespace silta::sdk
