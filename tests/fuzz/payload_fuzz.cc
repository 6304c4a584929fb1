// Fuzz target: siltactl's payload files. The first byte picks the payload
// type (low bits) and JSON or textproto (high bit); the rest is the file.
// Property: a payload that parses prints as text and parses back equal
// (what siltactl shows is what it sends).
#include <memory>

#include "client/sdk/payload_file.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "lib/crypto/wire_format.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(payload) {
  if (size == 0) return 0;
  static const std::vector<std::string> types = crypto::PayloadTypeNames();
  const std::string& type = types[(data[0] & 0x7f) % types.size()];
  const bool json = (data[0] & 0x80) != 0;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::unique_ptr<google::protobuf::Message> payload = sdk::NewPayload(type);
  if (payload == nullptr) Fail("a payload type without a message");
  if (!sdk::ParsePayload(json ? "payload.json" : "payload.textproto", text, payload.get()).ok()) {
    return 0;
  }
  std::string printed;
  if (!google::protobuf::TextFormat::PrintToString(*payload, &printed)) Fail("cannot print");
  std::unique_ptr<google::protobuf::Message> again = sdk::NewPayload(type);
  if (!sdk::ParsePayload("again.textproto", printed, again.get()).ok() ||
      !google::protobuf::util::MessageDifferencer::Equals(*payload, *again)) {
    Fail("a payload does not survive printing");
  }
  Accepted();
  return 0;
}

}  // namespace silta::fuzz
