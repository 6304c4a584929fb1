#include "client/sdk/broker_client.h"

#include <string>
#include <utility>

namespace silta::sdk {

BrokerClient::BrokerClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)),
      broker_(v1::BrokerService::NewStub(connection_->channel())),
      health_(grpc::health::v1::Health::NewStub(connection_->channel())) {}

absl::StatusOr<v1::WhoAmIResponse> BrokerClient::WhoAmI() const {
  return connection_->Unary(*broker_, &v1::BrokerService::Stub::WhoAmI, v1::WhoAmIRequest(),
                            Idempotency::kIdempotent);
}

absl::StatusOr<bool> BrokerClient::Serving(absl::string_view service) const {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  absl::Status status = CallWithRetry(
      RetryPolicy{.max_attempts = 1}, Idempotency::kIdempotent, connection_->options().timeout,
      [&](grpc::ClientContext* context) { return health_->Check(context, request, &response); });
  if (!status.ok()) return status;
  return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

absl::StatusOr<v1::ReloadConfigResponse> BrokerClient::ReloadConfig(
    const v1::ReloadConfigRequest& request) const {
  return connection_->Unary(*broker_, &v1::BrokerService::Stub::ReloadConfig, request,
                            Idempotency::kIdempotent);
}

}  // namespace silta::sdk
