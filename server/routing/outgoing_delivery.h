// File: server/routing/outgoing_delivery.h
//
// A delivery on its way to a recipient's stream. The router decides it and
// makes its DELIVERED mark durable; the stream serializes it when it writes
// it, straight from the message the router holds, with only what the
// recipient may open (crypto::Redaction): no redacted copy of the message
// is built per recipient (docs/message-path.md, "Deliveries written from
// the stored message"). A key notice is held as a built v1::Delivery.
//
// Copyable and movable; the message is shared, read-only, by every copy.
// Its const methods may run on several threads at once.
#ifndef SILTA_SERVER_ROUTING_OUTGOING_DELIVERY_H_
#define SILTA_SERVER_ROUTING_OUTGOING_DELIVERY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/message.pb.h"

namespace silta::routing {

class OutgoingDelivery {
 public:
  // The disclosure of `message` as `redaction` plans it (planned for this
  // very message), as delivery `delivery_id`'s `attempt`th attempt.
  OutgoingDelivery(std::string delivery_id, uint32_t attempt,
                   std::shared_ptr<const v1::SealedMessage> message, crypto::Redaction redaction);
  // A Delivery built whole (a key notice).
  explicit OutgoingDelivery(v1::Delivery built);

  // The delivery's id; empty for a key notice.
  const std::string& delivery_id() const { return delivery_id_; }

  // Serializes the v1.Delivery: asks `buffer` once for room for exactly
  // its size in bytes, writes them there and returns their end.
  uint8_t* Serialize(absl::FunctionRef<uint8_t*(size_t size)> buffer) const;

  // The v1.Delivery that these bytes encode, parsed from them (for tests
  // and for callers in the same process).
  v1::Delivery ToProto() const;

 private:
  std::string delivery_id_;
  uint32_t attempt_ = 0;
  std::shared_ptr<const v1::SealedMessage> message_;  // null for a built one
  crypto::Redaction redaction_;
  v1::Delivery built_;
};

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_OUTGOING_DELIVERY_H_
