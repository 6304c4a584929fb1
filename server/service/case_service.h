// File: server/service/case_service.h
//
// silta.v1.CaseService over cases::CaseRegistry. Thin: no business logic.
#ifndef SILTA_SERVER_SERVICE_CASE_SERVICE_H_
#define SILTA_SERVER_SERVICE_CASE_SERVICE_H_

#include "server/cases/case_registry.h"
#include "server/identity/authenticator.h"
#include "silta/v1/case.grpc.pb.h"

namespace silta::service {

class CaseService final : public v1::CaseService::CallbackService {
 public:
  // Both must outlive the service.
  CaseService(const identity::Authenticator* authenticator, cases::CaseRegistry* cases)
      : authenticator_(authenticator), cases_(cases) {}

  grpc::ServerUnaryReactor* CreateCase(grpc::CallbackServerContext* context,
                                       const v1::CreateCaseRequest* request,
                                       v1::CreateCaseResponse* response) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context,
                                    const v1::GetCaseRequest* request,
                                    v1::GetCaseResponse* response) override;
  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* context,
                                      const v1::ListCasesRequest* request,
                                      v1::ListCasesResponse* response) override;
  grpc::ServerUnaryReactor* AddMember(grpc::CallbackServerContext* context,
                                      const v1::AddMemberRequest* request,
                                      v1::AddMemberResponse* response) override;
  grpc::ServerUnaryReactor* RemoveMember(grpc::CallbackServerContext* context,
                                         const v1::RemoveMemberRequest* request,
                                         v1::RemoveMemberResponse* response) override;
  grpc::ServerUnaryReactor* TransferCoordinator(grpc::CallbackServerContext* context,
                                                const v1::TransferCoordinatorRequest* request,
                                                v1::TransferCoordinatorResponse* response) override;
  grpc::ServerUnaryReactor* CloseCase(grpc::CallbackServerContext* context,
                                      const v1::CloseCaseRequest* request,
                                      v1::CloseCaseResponse* response) override;
  grpc::ServerUnaryReactor* CheckExistingCase(grpc::CallbackServerContext* context,
                                              const v1::CheckExistingCaseRequest* request,
                                              v1::CheckExistingCaseResponse* response) override;

 private:
  const identity::Authenticator* const authenticator_;
  cases::CaseRegistry* const cases_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_CASE_SERVICE_H_
