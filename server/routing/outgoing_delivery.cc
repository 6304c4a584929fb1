#include "server/routing/outgoing_delivery.h"

#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace silta::routing {
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;
using Delivery = v1::Delivery;  // its field numbers, from the generated code

size_t UInt32Field(int number, uint32_t value) {
  return value == 0 ? 0
                    : WireFormatLite::TagSize(number, WireFormatLite::TYPE_UINT32) +
                          WireFormatLite::UInt32Size(value);
}

}  // namespace

OutgoingDelivery::OutgoingDelivery(std::string delivery_id, uint32_t attempt,
                                   std::shared_ptr<const v1::SealedMessage> message,
                                   crypto::Redaction redaction)
    : delivery_id_(std::move(delivery_id)),
      attempt_(attempt),
      message_(std::move(message)),
      redaction_(std::move(redaction)) {}

OutgoingDelivery::OutgoingDelivery(v1::Delivery built)
    : delivery_id_(built.delivery_id()), built_(std::move(built)) {}

// In the order and with the presence rules of protobuf's own serialization
// of the Delivery the router built before (outgoing_delivery_test compares
// the bytes): the id when not empty, the message always, the counts when
// not zero. The redacted message is sized once, for the total and for its
// own length prefix.
uint8_t* OutgoingDelivery::Serialize(absl::FunctionRef<uint8_t*(size_t size)> buffer) const {
  if (message_ == nullptr) {
    // ByteSizeLong sets the cached sizes the write uses.
    return built_.SerializeWithCachedSizesToArray(buffer(built_.ByteSizeLong()));
  }
  const size_t message = crypto::RedactedByteSize(*message_, redaction_);
  const auto withheld = static_cast<uint32_t>(redaction_.withheld.size());
  uint8_t* target =
      buffer((delivery_id_.empty() ? 0
                                   : WireFormatLite::TagSize(Delivery::kDeliveryIdFieldNumber,
                                                             WireFormatLite::TYPE_BYTES) +
                                         WireFormatLite::LengthDelimitedSize(delivery_id_.size())) +
             WireFormatLite::TagSize(Delivery::kMessageFieldNumber, WireFormatLite::TYPE_MESSAGE) +
             WireFormatLite::LengthDelimitedSize(message) +
             UInt32Field(Delivery::kWithheldFieldCountFieldNumber, withheld) +
             UInt32Field(Delivery::kAttemptFieldNumber, attempt_));
  if (!delivery_id_.empty()) {
    target =
        WireFormatLite::WriteBytesToArray(Delivery::kDeliveryIdFieldNumber, delivery_id_, target);
  }
  target = WireFormatLite::WriteTagToArray(Delivery::kMessageFieldNumber,
                                           WireFormatLite::WIRETYPE_LENGTH_DELIMITED, target);
  target = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(message), target);
  target = crypto::WriteRedacted(*message_, redaction_, target);
  if (withheld != 0) {
    target = WireFormatLite::WriteUInt32ToArray(Delivery::kWithheldFieldCountFieldNumber, withheld,
                                                target);
  }
  if (attempt_ != 0) {
    target = WireFormatLite::WriteUInt32ToArray(Delivery::kAttemptFieldNumber, attempt_, target);
  }
  return target;
}

v1::Delivery OutgoingDelivery::ToProto() const {
  if (message_ == nullptr) return built_;
  std::string bytes;
  Serialize([&bytes](size_t size) {
    bytes.resize(size);
    return reinterpret_cast<uint8_t*>(bytes.data());
  });
  v1::Delivery parsed;
  parsed.ParseFromString(bytes);  // the bytes are this process's own
  return parsed;
}

}  // namespace silta::routing
