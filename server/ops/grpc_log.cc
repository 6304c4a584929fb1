#include "server/ops/grpc_log.h"

#include <grpc/support/log.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/common/logging.h"

namespace silta::ops {
namespace {

void LogFromGrpc(gpr_log_func_args* args) {
  common::LogLevel level = common::LogLevel::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) level = common::LogLevel::kError;
  if (args->severity == GPR_LOG_SEVERITY_DEBUG) level = common::LogLevel::kDebug;
  const std::string message = args->message == nullptr ? "" : args->message;
  // A failed TLS handshake is a refused connection: log it as such so that
  // operators can alert on one event name.
  const bool handshake = absl::StrContains(message, "Handshake failed") ||
                         absl::StrContains(message, "handshake failed");
  common::Log(handshake ? common::LogLevel::kWarn : level,
              handshake ? "tls_handshake_refused" : "grpc_core",
              {{"source", absl::StrCat(args->file == nullptr ? "" : args->file, ":", args->line)},
               {"detail", message}});
}

}  // namespace

void RouteGrpcLogsToJson() { gpr_set_log_function(LogFromGrpc); }

}  // namespace silta::ops
