// File: server/service/org_service.h
//
// silta.v1.OrgService over orgs::OrgAdmin. Thin: no business logic here.
#ifndef SILTA_SERVER_SERVICE_ORG_SERVICE_H_
#define SILTA_SERVER_SERVICE_ORG_SERVICE_H_

#include "server/identity/authenticator.h"
#include "server/orgs/org_admin.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::service {

class OrgService final : public v1::OrgService::CallbackService {
 public:
  // All must outlive the service.
  OrgService(const identity::Authenticator* authenticator, orgs::OrgAdmin* admin,
             orgs::OrgRegistry* registry)
      : authenticator_(authenticator), admin_(admin), registry_(registry) {}

  grpc::ServerUnaryReactor* AddOrg(grpc::CallbackServerContext* context,
                                   const v1::AddOrgRequest* request,
                                   v1::AddOrgResponse* response) override;
  grpc::ServerUnaryReactor* ListOrgs(grpc::CallbackServerContext* context,
                                     const v1::ListOrgsRequest* request,
                                     v1::ListOrgsResponse* response) override;
  grpc::ServerUnaryReactor* GetOrg(grpc::CallbackServerContext* context,
                                   const v1::GetOrgRequest* request,
                                   v1::GetOrgResponse* response) override;
  grpc::ServerUnaryReactor* SuspendOrg(grpc::CallbackServerContext* context,
                                       const v1::SetOrgStateRequest* request,
                                       v1::SetOrgStateResponse* response) override;
  grpc::ServerUnaryReactor* ResumeOrg(grpc::CallbackServerContext* context,
                                      const v1::SetOrgStateRequest* request,
                                      v1::SetOrgStateResponse* response) override;
  grpc::ServerWriteReactor<v1::OrgEvent>* WatchOrgs(grpc::CallbackServerContext* context,
                                                    const v1::WatchOrgsRequest* request) override;

 private:
  const identity::Authenticator* const authenticator_;
  orgs::OrgAdmin* const admin_;
  orgs::OrgRegistry* const registry_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_ORG_SERVICE_H_
