#include "client/sdk/payload_file.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/textproto.h"
#include "lib/crypto/wire_format.h"

namespace silta::sdk {
namespace {

constexpr absl::string_view kTypePrefix = "silta.v1.";

}  // namespace

std::string ShortTypeNames() {
  std::vector<std::string> names;
  for (const std::string& full : crypto::PayloadTypeNames()) {
    names.push_back(full.substr(kTypePrefix.size()));
  }
  return absl::StrJoin(names, ", ");
}

std::unique_ptr<google::protobuf::Message> NewPayload(absl::string_view type) {
  const std::string full =
      absl::StartsWith(type, kTypePrefix) ? std::string(type) : absl::StrCat(kTypePrefix, type);
  const google::protobuf::Descriptor* descriptor = crypto::PayloadDescriptor(full);
  if (descriptor == nullptr) return nullptr;
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor);
  return prototype == nullptr ? nullptr
                              : std::unique_ptr<google::protobuf::Message>(prototype->New());
}

absl::Status ParsePayload(absl::string_view name, absl::string_view text,
                          google::protobuf::Message* payload) {
  if (!absl::EndsWithIgnoreCase(name, ".json")) return common::ParseTextProto(name, text, payload);
  payload->Clear();
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), payload);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": not a ",
                                                   payload->GetDescriptor()->name(),
                                                   " in JSON: ", std::string(parsed.message())));
  }
  return absl::OkStatus();
}

absl::Status ReadPayload(const std::string& path, google::protobuf::Message* payload) {
  SILTA_ASSIGN_OR_RETURN(const std::string text, common::ReadFile(path));
  return ParsePayload(path, text, payload);
}

}  // namespace silta::sdk
