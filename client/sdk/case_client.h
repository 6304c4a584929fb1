// File: client/sdk/case_client.h
//
// Cases (CaseService): who works with a young person, coordinated by one
// organisation. Needs the AGENCY role. CreateCase is not retried on
// UNAVAILABLE (a second attempt could open a second case): after an
// UNAVAILABLE, ask CheckExistingCase before trying again.
//
// Example:
//   sdk::CaseClient cases(connection);
//   v1::CheckExistingCaseRequest check;
//   check.mutable_subject()->set_hetu(hetu);
//   absl::StatusOr<v1::CheckExistingCaseResponse> existing = cases.CheckExistingCase(check);
//   sdk::Pager<v1::Case> mine = cases.ListCases(v1::ListCasesRequest());
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_CASE_CLIENT_H_
#define SILTA_CLIENT_SDK_CASE_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "client/sdk/pager.h"
#include "silta/v1/case.grpc.pb.h"

namespace silta::sdk {

class CaseClient {
 public:
  explicit CaseClient(std::shared_ptr<const Connection> connection);

  // Opens a case with this org as its coordinator. FAILED_PRECONDITION if the
  // person already has an open case.
  absl::StatusOr<v1::CreateCaseResponse> CreateCase(const v1::CreateCaseRequest& request) const;
  // A case this org is a member of.
  absl::StatusOr<v1::GetCaseResponse> GetCase(const v1::GetCaseRequest& request) const;
  // Adds a member organisation (coordinator only).
  absl::StatusOr<v1::AddMemberResponse> AddMember(const v1::AddMemberRequest& request) const;
  // Removes a member organisation (coordinator only).
  absl::StatusOr<v1::RemoveMemberResponse> RemoveMember(
      const v1::RemoveMemberRequest& request) const;
  // Hands the coordinator role to another member and worker.
  absl::StatusOr<v1::TransferCoordinatorResponse> TransferCoordinator(
      const v1::TransferCoordinatorRequest& request) const;
  // Closes a case (coordinator only).
  absl::StatusOr<v1::CloseCaseResponse> CloseCase(const v1::CloseCaseRequest& request) const;
  // Whether the person has an open case, and which org coordinates it.
  absl::StatusOr<v1::CheckExistingCaseResponse> CheckExistingCase(
      const v1::CheckExistingCaseRequest& request) const;
  // This org's cases, newest first, page by page.
  Pager<v1::Case> ListCases(v1::ListCasesRequest request) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::CaseService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_CASE_CLIENT_H_
