#include "server/service/broker_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/common/time_util.h"
#include "server/service/unary_call.h"

namespace silta::service {
namespace {

constexpr absl::string_view kWhoAmI = "/silta.v1.BrokerService/WhoAmI";
constexpr absl::string_view kReloadConfig = "/silta.v1.BrokerService/ReloadConfig";

}  // namespace

grpc::ServerUnaryReactor* BrokerService::WhoAmI(grpc::CallbackServerContext* context,
                                                const v1::WhoAmIRequest* /*request*/,
                                                v1::WhoAmIResponse* response) {
  return HandleUnary(context, *authenticator_, kWhoAmI, response,
                     [&](const identity::Caller& caller) -> absl::StatusOr<v1::WhoAmIResponse> {
                       v1::WhoAmIResponse who;
                       *who.mutable_org() = caller.org;
                       who.set_spiffe_id(absl::StrCat("spiffe://", caller.spiffe_id.trust_domain,
                                                      "/org/", caller.spiffe_id.org_id, "/sys/",
                                                      caller.spiffe_id.system));
                       who.set_trust_domain(trust_domain_);
                       *who.mutable_server_time() = common::ToTimestamp(absl::Now());
                       who.set_server_version(SILTA_VERSION);
                       return who;
                     });
}

grpc::ServerUnaryReactor* BrokerService::ReloadConfig(grpc::CallbackServerContext* context,
                                                      const v1::ReloadConfigRequest* request,
                                                      v1::ReloadConfigResponse* response) {
  return HandleUnary(context, *authenticator_, kReloadConfig, response,
                     [&](const identity::Caller& caller) {
                       return reload_(audit::Actor{caller.org.org_id(), request->acting_user()});
                     });
}

}  // namespace silta::service
