#include "server/service/case_service.h"

#include "server/service/unary_call.h"

namespace silta::service {

grpc::ServerUnaryReactor* CaseService::CreateCase(grpc::CallbackServerContext* context,
                                                  const v1::CreateCaseRequest* request,
                                                  v1::CreateCaseResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/CreateCase", response,
      [&](const identity::Caller& caller) { return cases_->CreateCase(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::GetCase(grpc::CallbackServerContext* context,
                                               const v1::GetCaseRequest* request,
                                               v1::GetCaseResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/GetCase", response,
      [&](const identity::Caller& caller) { return cases_->GetCase(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::ListCases(grpc::CallbackServerContext* context,
                                                 const v1::ListCasesRequest* request,
                                                 v1::ListCasesResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/ListCases", response,
      [&](const identity::Caller& caller) { return cases_->ListCases(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::AddMember(grpc::CallbackServerContext* context,
                                                 const v1::AddMemberRequest* request,
                                                 v1::AddMemberResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/AddMember", response,
      [&](const identity::Caller& caller) { return cases_->AddMember(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::RemoveMember(grpc::CallbackServerContext* context,
                                                    const v1::RemoveMemberRequest* request,
                                                    v1::RemoveMemberResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/RemoveMember", response,
      [&](const identity::Caller& caller) { return cases_->RemoveMember(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::TransferCoordinator(
    grpc::CallbackServerContext* context, const v1::TransferCoordinatorRequest* request,
    v1::TransferCoordinatorResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.CaseService/TransferCoordinator",
                     response, [&](const identity::Caller& caller) {
                       return cases_->TransferCoordinator(caller, *request);
                     });
}

grpc::ServerUnaryReactor* CaseService::CloseCase(grpc::CallbackServerContext* context,
                                                 const v1::CloseCaseRequest* request,
                                                 v1::CloseCaseResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/CloseCase", response,
      [&](const identity::Caller& caller) { return cases_->CloseCase(caller, *request); });
}

grpc::ServerUnaryReactor* CaseService::CheckExistingCase(
    grpc::CallbackServerContext* context, const v1::CheckExistingCaseRequest* request,
    v1::CheckExistingCaseResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.CaseService/CheckExistingCase", response,
      [&](const identity::Caller& caller) { return cases_->CheckExistingCase(caller, *request); });
}

}  // namespace silta::service
