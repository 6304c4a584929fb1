#include "server/service/message_service.h"

#include "server/service/subscribe_reactor.h"
#include "server/service/unary_call.h"

namespace silta::service {
namespace {

constexpr absl::string_view kSubscribe = "/silta.v1.MessageService/Subscribe";
constexpr uint32_t kMaxAckTimeoutSeconds = 3600;

class OwnedSendMessages final : public grpc::MessageHolder<v1::SendRequest, v1::SendResponse> {
 public:
  OwnedSendMessages() {
    set_request(&request_);
    set_response(&response_);
  }
  // The response carries the stored message's receipt itself, not a copy
  // (it is serialized, read-only, when the call finishes), and holds it
  // until the call is done.
  void Answer(routing::Router::Receipt receipt) {
    response_.unsafe_arena_set_allocated_receipt(const_cast<v1::DeliveryReceipt*>(receipt.get()));
    receipt_ = std::move(receipt);
  }
  void Release() override {
    if (receipt_ != nullptr) (void)response_.unsafe_arena_release_receipt();  // not the response's
    delete this;
  }

 private:
  v1::SendRequest request_;
  v1::SendResponse response_;
  routing::Router::Receipt receipt_;
};

}  // namespace

grpc::MessageHolder<v1::SendRequest, v1::SendResponse>*
MessageService::SendMessages::AllocateMessages() {
  return new OwnedSendMessages();
}

grpc::ServerUnaryReactor* MessageService::Send(grpc::CallbackServerContext* context,
                                               const v1::SendRequest* request,
                                               v1::SendResponse* /*response*/) {
  // The holder SendMessages allocated for this call, with its request and response.
  auto* messages = static_cast<OwnedSendMessages*>(context->GetRpcAllocatorState());
  return HandleUnaryAsyncWith<routing::Router::Receipt>(
      context, *authenticator_, "/silta.v1.MessageService/Send",
      [messages](routing::Router::Receipt receipt) { messages->Answer(std::move(receipt)); },
      [&](const identity::Caller& caller, routing::Router::SendDone done) {
        admission_.Run(caller.org.org_id(), [this, context, request, caller,
                        done = std::move(done)](SendAdmission::Place place) {
          // A Send that waited may have been given up meanwhile.
          if (context->IsCancelled()) {
            return done(
                absl::CancelledError("the Send was cancelled while it waited for its turn"));
          }
          // The request is an OwnedSendMessages' own, not const (SendMessages),
          // and nothing reads it after this: its message moves into the record.
          router_->SendAsync(caller, std::move(*const_cast<v1::SendRequest*>(request)),
                             [place = std::move(place),
                              done](absl::StatusOr<routing::Router::Receipt> result) mutable {
                               done(std::move(result));
                               place.reset();  // the next may start
                             });
        });
      });
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* MessageService::Subscribe(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes) {
  absl::StatusOr<identity::Caller> caller =
      authenticator_->Authorize(*context->auth_context(), kSubscribe, context->peer());
  if (!caller.ok()) return SubscribeReactor::Refuse(ToGrpcStatus(caller.status(), context));
  v1::SubscribeRequest request;
  grpc::ByteBuffer bytes = *request_bytes;  // shares the slices; parsing consumes it
  if (!grpc::SerializationTraits<v1::SubscribeRequest>::Deserialize(&bytes, &request).ok()) {
    return SubscribeReactor::Refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                 "the request is not a silta.v1.SubscribeRequest"));
  }
  if (request.ack_timeout_seconds() > kMaxAckTimeoutSeconds) {
    return SubscribeReactor::Refuse(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                                 "ack_timeout_seconds: at most 3600 (0 = default)"));
  }
  return SubscribeReactor::Start(authenticator_, registry_, router_, keys_, *std::move(caller),
                                 absl::Seconds(request.ack_timeout_seconds()),
                                 std::string(kSubscribe), context->peer());
}

grpc::ServerUnaryReactor* MessageService::Ack(grpc::CallbackServerContext* context,
                                              const v1::AckRequest* request,
                                              v1::AckResponse* response) {
  return HandleUnaryAsync(context, *authenticator_, "/silta.v1.MessageService/Ack", response,
                          [&](const identity::Caller& caller, routing::Router::AckDone done) {
                            router_->AckAsync(caller, *request, std::move(done));
                          });
}

grpc::ServerUnaryReactor* MessageService::GetMessageStatus(
    grpc::CallbackServerContext* context, const v1::GetMessageStatusRequest* request,
    v1::GetMessageStatusResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.MessageService/GetMessageStatus",
                     response, [&](const identity::Caller& caller) {
                       return router_->GetMessageStatus(caller, *request);
                     });
}

grpc::ServerUnaryReactor* MessageService::LinkNotification(
    grpc::CallbackServerContext* context, const v1::LinkNotificationRequest* request,
    v1::LinkNotificationResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.MessageService/LinkNotification",
                     response, [&](const identity::Caller& caller) {
                       return router_->LinkNotification(caller, *request);
                     });
}

}  // namespace silta::service
