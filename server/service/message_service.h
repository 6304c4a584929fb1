// File: server/service/message_service.h
//
// silta.v1.MessageService over routing::Router. Thin: no business logic.
// Subscribe is registered raw (its messages as bytes): the stream writes
// each delivery's bytes straight from the stored message
// (routing::OutgoingDelivery), the same bytes a v1.Delivery would have.
#ifndef SILTA_SERVER_SERVICE_MESSAGE_SERVICE_H_
#define SILTA_SERVER_SERVICE_MESSAGE_SERVICE_H_

#include "grpcpp/support/message_allocator.h"
#include "server/identity/authenticator.h"
#include "server/orgs/key_directory.h"
#include "server/orgs/registry.h"
#include "server/routing/router.h"
#include "server/service/send_admission.h"
// The generated WithRawCallbackMethod_Subscribe declares the raw Subscribe
// beside the typed ones it replaces, which clang reports as hiding them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverloaded-virtual"
#include "silta/v1/message.grpc.pb.h"
#pragma GCC diagnostic pop

namespace silta::service {

class MessageService final : public v1::MessageService::WithRawCallbackMethod_Subscribe<
                                 v1::MessageService::CallbackService> {
 public:
  // All must outlive the service. At most `max_sends_in_flight` Sends are
  // worked on at once; the rest wait their turn (SendAdmission).
  MessageService(const identity::Authenticator* authenticator, orgs::OrgRegistry* registry,
                 routing::Router* router, orgs::KeyDirectory* keys, size_t max_sends_in_flight)
      : authenticator_(authenticator),
        registry_(registry),
        router_(router),
        keys_(keys),
        admission_(max_sends_in_flight) {
    SetMessageAllocatorFor_Send(&send_messages_);
  }

  const SendAdmission& admission() const { return admission_; }

  grpc::ServerUnaryReactor* Send(grpc::CallbackServerContext* context,
                                 const v1::SendRequest* request,
                                 v1::SendResponse* response) override;
  // A serialized v1.SubscribeRequest in, serialized v1.Delivery messages out.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Subscribe(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const v1::AckRequest* request, v1::AckResponse* response) override;
  grpc::ServerUnaryReactor* GetMessageStatus(grpc::CallbackServerContext* context,
                                             const v1::GetMessageStatusRequest* request,
                                             v1::GetMessageStatusResponse* response) override;
  grpc::ServerUnaryReactor* LinkNotification(grpc::CallbackServerContext* context,
                                             const v1::LinkNotificationRequest* request,
                                             v1::LinkNotificationResponse* response) override;

 private:
  // Send's request and response, allocated by the service rather than by
  // gRPC, so that the request is the service's own (not const) object: its
  // message moves into the stored record instead of being copied.
  class SendMessages final : public grpc::MessageAllocator<v1::SendRequest, v1::SendResponse> {
   public:
    grpc::MessageHolder<v1::SendRequest, v1::SendResponse>* AllocateMessages() override;
  };

  const identity::Authenticator* const authenticator_;
  orgs::OrgRegistry* const registry_;
  routing::Router* const router_;
  orgs::KeyDirectory* const keys_;
  SendAdmission admission_;
  SendMessages send_messages_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_MESSAGE_SERVICE_H_
