// File: lib/common/textproto.h
//
// Reads text-format protobuf files (config, policy, registry) with errors
// that name the file, line and column: "policy.textproto:12:3: ...".
#ifndef SILTA_LIB_COMMON_TEXTPROTO_H_
#define SILTA_LIB_COMMON_TEXTPROTO_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace silta::common {

// Validates a parsed message. A failure's message must start with the path
// of the offending field, e.g. "tls.cert_file: is required" or
// "orgs[3]: kind of x: ...", so that the loader can add its line number.
using TextProtoValidator = std::function<absl::Status(const google::protobuf::Message&)>;

// Parses the file at `path` into `message` (cleared first), then runs
// `validate` if given. NOT_FOUND or PERMISSION_DENIED if unreadable;
// INVALID_ARGUMENT "<path>:<line>:<col>: <what>" on a syntax error, an
// unknown field, a bad enum value, or a validation failure (the line of the
// offending field when it is present in the file, else "<path>: <what>").
absl::Status ParseTextProtoFile(absl::string_view path, google::protobuf::Message* message,
                                const TextProtoValidator& validate = nullptr);

// The same for `text` already read; `path` only names it in errors.
absl::Status ParseTextProto(absl::string_view path, absl::string_view text,
                            google::protobuf::Message* message,
                            const TextProtoValidator& validate = nullptr);

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_TEXTPROTO_H_
