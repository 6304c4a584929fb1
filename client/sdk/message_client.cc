#include "client/sdk/message_client.h"

#include <utility>

#include "absl/time/clock.h"

namespace silta::sdk {

MessageClient::MessageClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)),
      stub_(v1::MessageService::NewStub(connection_->channel())) {}

absl::StatusOr<v1::SendResponse> MessageClient::Send(const v1::SendRequest& request) const {
  return connection_->Unary(*stub_, &v1::MessageService::Stub::Send, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::AckResponse> MessageClient::Ack(const v1::AckRequest& request) const {
  return connection_->Unary(*stub_, &v1::MessageService::Stub::Ack, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::GetMessageStatusResponse> MessageClient::GetMessageStatus(
    const v1::GetMessageStatusRequest& request) const {
  return connection_->Unary(*stub_, &v1::MessageService::Stub::GetMessageStatus, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::LinkNotificationResponse> MessageClient::LinkNotification(
    const v1::LinkNotificationRequest& request) const {
  return connection_->Unary(*stub_, &v1::MessageService::Stub::LinkNotification, request,
                            Idempotency::kIdempotent);
}

absl::Status MessageClient::Subscribe(const v1::SubscribeRequest& request,
                                      const std::function<bool(const v1::Delivery&)>& on_delivery,
                                      absl::Duration max_wait) const {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + max_wait));
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader = stub_->Subscribe(&context, request);
  v1::Delivery delivery;
  bool stopped = false;
  while (reader->Read(&delivery)) {
    if (!on_delivery(delivery)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  return FromGrpcStatus(status);
}

}  // namespace silta::sdk
