// File: client/sdk/message_client.h
//
// Messages (MessageService) as they travel: sealed messages in, deliveries
// out, acks and status. It neither seals nor opens anything: SiltaClient
// (client.h) does the end-to-end crypto and uses this client to move the
// bytes. A tool that only asks where a message is needs no keys:
//
// Example:
//   sdk::MessageClient messages(connection);
//   v1::GetMessageStatusRequest request;
//   request.set_message_id(message_id);
//   absl::StatusOr<v1::GetMessageStatusResponse> status = messages.GetMessageStatus(request);
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_MESSAGE_CLIENT_H_
#define SILTA_CLIENT_SDK_MESSAGE_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/connection.h"
#include "silta/v1/message.grpc.pb.h"

namespace silta::sdk {

class MessageClient {
 public:
  explicit MessageClient(std::shared_ptr<const Connection> connection);

  // Sends a sealed message. Retried on UNAVAILABLE: the message id makes it
  // idempotent, and a retry of a Send that arrived gets the same receipt.
  absl::StatusOr<v1::SendResponse> Send(const v1::SendRequest& request) const;
  // Confirms a delivery. Acking an acked delivery is OK, so it is retried.
  absl::StatusOr<v1::AckResponse> Ack(const v1::AckRequest& request) const;
  // Where a message this org sent is, recipient by recipient.
  absl::StatusOr<v1::GetMessageStatusResponse> GetMessageStatus(
      const v1::GetMessageStatusRequest& request) const;
  // Attaches a notification received outside a case to a case.
  // Idempotent.
  absl::StatusOr<v1::LinkNotificationResponse> LinkNotification(
      const v1::LinkNotificationRequest& request) const;
  // Streams this org's deliveries (and key notices): calls `on_delivery`
  // for each until it returns false, the stream ends, or `max_wait`
  // passes. OK on those normal ends; the stream's error otherwise. Not
  // retried: subscribe again (unacked deliveries come again).
  absl::Status Subscribe(const v1::SubscribeRequest& request,
                         const std::function<bool(const v1::Delivery&)>& on_delivery,
                         absl::Duration max_wait) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::MessageService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_MESSAGE_CLIENT_H_
