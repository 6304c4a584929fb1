#include "server/service/org_service.h"

#include "server/service/org_watch_reactor.h"
#include "server/service/unary_call.h"

namespace silta::service {
namespace {

constexpr absl::string_view kAddOrg = "/silta.v1.OrgService/AddOrg";
constexpr absl::string_view kListOrgs = "/silta.v1.OrgService/ListOrgs";
constexpr absl::string_view kGetOrg = "/silta.v1.OrgService/GetOrg";
constexpr absl::string_view kSuspendOrg = "/silta.v1.OrgService/SuspendOrg";
constexpr absl::string_view kResumeOrg = "/silta.v1.OrgService/ResumeOrg";
constexpr absl::string_view kWatchOrgs = "/silta.v1.OrgService/WatchOrgs";

}  // namespace

grpc::ServerUnaryReactor* OrgService::AddOrg(grpc::CallbackServerContext* context,
                                             const v1::AddOrgRequest* request,
                                             v1::AddOrgResponse* response) {
  return HandleUnary(context, *authenticator_, kAddOrg, response,
                     [&](const identity::Caller& caller) {
                       return admin_->AddOrg(caller, *request);
                     });
}

grpc::ServerUnaryReactor* OrgService::ListOrgs(grpc::CallbackServerContext* context,
                                               const v1::ListOrgsRequest* request,
                                               v1::ListOrgsResponse* response) {
  return HandleUnary(context, *authenticator_, kListOrgs, response,
                     [&](const identity::Caller&) { return admin_->ListOrgs(*request); });
}

grpc::ServerUnaryReactor* OrgService::GetOrg(grpc::CallbackServerContext* context,
                                             const v1::GetOrgRequest* request,
                                             v1::GetOrgResponse* response) {
  return HandleUnary(context, *authenticator_, kGetOrg, response,
                     [&](const identity::Caller&) { return admin_->GetOrg(*request); });
}

grpc::ServerUnaryReactor* OrgService::SuspendOrg(grpc::CallbackServerContext* context,
                                                 const v1::SetOrgStateRequest* request,
                                                 v1::SetOrgStateResponse* response) {
  return HandleUnary(context, *authenticator_, kSuspendOrg, response,
                     [&](const identity::Caller& caller) {
                       return admin_->SetOrgState(caller, *request, v1::SUSPENDED);
                     });
}

grpc::ServerUnaryReactor* OrgService::ResumeOrg(grpc::CallbackServerContext* context,
                                                const v1::SetOrgStateRequest* request,
                                                v1::SetOrgStateResponse* response) {
  return HandleUnary(context, *authenticator_, kResumeOrg, response,
                     [&](const identity::Caller& caller) {
                       return admin_->SetOrgState(caller, *request, v1::ACTIVE);
                     });
}

grpc::ServerWriteReactor<v1::OrgEvent>* OrgService::WatchOrgs(
    grpc::CallbackServerContext* context, const v1::WatchOrgsRequest* /*request*/) {
  absl::StatusOr<identity::Caller> caller =
      authenticator_->Authorize(*context->auth_context(), kWatchOrgs, context->peer());
  if (!caller.ok()) return OrgWatchReactor::Refuse(ToGrpcStatus(caller.status(), context));
  return OrgWatchReactor::Start(authenticator_, registry_, *std::move(caller),
                                std::string(kWatchOrgs), context->peer());
}

}  // namespace silta::service
