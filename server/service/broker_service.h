// File: server/service/broker_service.h
//
// silta.v1.BrokerService: WhoAmI from the caller's verified identity, and
// ReloadConfig through the function siltad's SIGHUP handler also uses.
// Thin: no business logic here.
#ifndef SILTA_SERVER_SERVICE_BROKER_SERVICE_H_
#define SILTA_SERVER_SERVICE_BROKER_SERVICE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "lib/audit/log_entry.h"
#include "server/identity/authenticator.h"
#include "silta/v1/broker.grpc.pb.h"

namespace silta::service {

class BrokerService final : public v1::BrokerService::CallbackService {
 public:
  // Re-reads policy and registry on behalf of `actor` (SiltadServer::Reload).
  using ReloadFunction =
      std::function<absl::StatusOr<v1::ReloadConfigResponse>(const audit::Actor& actor)>;

  // `authenticator` must outlive the service; `reload` is called from gRPC
  // threads and must be thread-safe.
  BrokerService(const identity::Authenticator* authenticator, std::string trust_domain,
                ReloadFunction reload)
      : authenticator_(authenticator),
        trust_domain_(std::move(trust_domain)),
        reload_(std::move(reload)) {}

  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context,
                                   const v1::WhoAmIRequest* request,
                                   v1::WhoAmIResponse* response) override;
  grpc::ServerUnaryReactor* ReloadConfig(grpc::CallbackServerContext* context,
                                         const v1::ReloadConfigRequest* request,
                                         v1::ReloadConfigResponse* response) override;

 private:
  const identity::Authenticator* const authenticator_;
  const std::string trust_domain_;
  const ReloadFunction reload_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_BROKER_SERVICE_H_
