// File: client/siltactl/output.h
//
// siltactl's output: human tables by default, JSON (protobuf's JSON mapping)
// with --json, and exit codes that tell usage errors, refusals and failures
// apart.
#ifndef SILTA_CLIENT_SILTACTL_OUTPUT_H_
#define SILTA_CLIENT_SILTACTL_OUTPUT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/reports/report_text.h"
#include "google/protobuf/message.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "silta/v1/options.pb.h"

namespace silta::siltactl {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // could not complete: unreachable, internal
inline constexpr int kExitUsage = 2;    // wrong flags or arguments, unusable local files
inline constexpr int kExitRefused = 3;  // the broker refused: identity, role, invalid request

// A message as one line of JSON (proto field names), "{}" if it cannot be.
std::string JsonText(const google::protobuf::Message& message);

// Prints a message as one line of JSON.
void PrintJson(const google::protobuf::Message& message);

// `text` as a JSON string literal, quotes included.
std::string JsonQuote(const std::string& text);

// Prints rows as an aligned table with a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// Prints "siltactl: <what>: <code>: <message>" to stderr and returns the
// exit code for the status of an SDK call or local step.
int ReportError(const std::string& what, const absl::Status& status);

// Prints "siltactl: <message>" to stderr and returns kExitUsage.
int UsageError(const std::string& message);

// Times and categories in words (client/reports/, shared with the console).
using reports::CategoriesText;
using reports::CategoryText;
using reports::TimeText;

// Parses "health", "HEALTH" or "CATEGORY_HEALTH".
bool ParseCategory(const std::string& text, v1::Category* category);

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_OUTPUT_H_
