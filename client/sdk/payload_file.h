// File: client/sdk/payload_file.h
//
// Payloads as files: a payload type (silta/v1/payloads.proto) by its short
// or full name, read from a textproto or, by the .json suffix, from the
// protobuf JSON mapping. `siltactl message send --payload` and the
// agency-bridge example read their payloads with these.
//
// Example:
//   std::unique_ptr<google::protobuf::Message> referral = sdk::NewPayload("Referral");
//   absl::Status read = sdk::ReadPayload("referral.json", referral.get());
#ifndef SILTA_CLIENT_SDK_PAYLOAD_FILE_H_
#define SILTA_CLIENT_SDK_PAYLOAD_FILE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace silta::sdk {

// "Referral, ConsultationRequest, ...": the payload types by short name.
std::string ShortTypeNames();

// A new, empty payload of `type` ("Referral" or "silta.v1.Referral");
// nullptr if it is not a payload type.
std::unique_ptr<google::protobuf::Message> NewPayload(absl::string_view type);

// Parses `text` into `payload` (cleared first): protobuf JSON if `name` ends
// in .json, else textproto. INVALID_ARGUMENT naming `name` and, for
// textproto, the line.
absl::Status ParsePayload(absl::string_view name, absl::string_view text,
                          google::protobuf::Message* payload);

// Reads the file at `path` and parses it as ParsePayload does.
absl::Status ReadPayload(const std::string& path, google::protobuf::Message* payload);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_PAYLOAD_FILE_H_
