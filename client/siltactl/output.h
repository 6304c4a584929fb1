// File: client/siltactl/output.h
//
// siltactl's output: human tables by default, JSON (protobuf's JSON mapping)
// with --json, and exit codes that tell usage errors, refusals and failures
// apart.
#ifndef SILTA_CLIENT_SILTACTL_OUTPUT_H_
#define SILTA_CLIENT_SILTACTL_OUTPUT_H_

#include <string>
#include <vector>

#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"

namespace silta::siltactl {

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // could not complete: unreachable, internal
inline constexpr int kExitUsage = 2;    // wrong flags or arguments, unusable local files
inline constexpr int kExitRefused = 3;  // the broker refused: identity, role, invalid request

// Prints a message as one line of JSON.
void PrintJson(const google::protobuf::Message& message);

// Prints rows as an aligned table with a header.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// Prints "siltactl: <what>: <code>: <message>" to stderr and returns the
// exit code for the status.
int ReportRpcError(const std::string& what, const grpc::Status& status);

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_OUTPUT_H_
