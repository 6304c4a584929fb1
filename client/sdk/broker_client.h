// File: client/sdk/broker_client.h
//
// The broker itself: who it takes this system for (WhoAmI), whether it
// serves (the standard gRPC health check), and, for the Silta
// administrator, reloading its policy and registry (ReloadConfig).
//
// WhoAmI tells what the broker thinks; it is never the source of this
// system's own identity or trust domain, which come from its own
// certificate (Connection::identity()).
//
// Example:
//   sdk::BrokerClient broker(connection);
//   absl::StatusOr<v1::WhoAmIResponse> me = broker.WhoAmI();
//   absl::StatusOr<bool> serving = broker.Serving();
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_BROKER_CLIENT_H_
#define SILTA_CLIENT_SDK_BROKER_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/sdk/connection.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "silta/v1/broker.grpc.pb.h"

namespace silta::sdk {

class BrokerClient {
 public:
  explicit BrokerClient(std::shared_ptr<const Connection> connection);

  // This system's org as the broker's registry holds it, the SPIFFE id the
  // broker saw, and the broker's clock.
  absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const;
  // Whether siltad serves `service` ("": the whole server): health status
  // SERVING. Not retried: a health check reports what is, now.
  absl::StatusOr<bool> Serving(absl::string_view service = "") const;
  // Rereads the policy and registry files (ADMIN). Reloading twice does no
  // harm, so it is retried.
  absl::StatusOr<v1::ReloadConfigResponse> ReloadConfig(
      const v1::ReloadConfigRequest& request) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::BrokerService::Stub> broker_;
  std::shared_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_BROKER_CLIENT_H_
