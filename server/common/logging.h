// File: server/common/logging.h
//
// The logging facade: one JSON object per line on stderr, written by spdlog.
// Every line has "ts", "level" and "event"; callers add key=value fields.
//
// What may be logged: org ids, case and message ids, RPC method names, status
// codes, correlation ids, counts, file paths of configuration. What must
// never be logged: HETUs, names, field values, key bytes, PEM blobs, tokens.
// The facade cannot tell these apart; the callers are reviewed for it and the
// integration tests scan siltad's log for the test HETUs.
//
// Example:
//   silta::common::Log(LogLevel::kWarn, "access_refused",
//                      {{"method", method}, {"code", "PERMISSION_DENIED"}});
//
// Thread-safe.
#ifndef SILTA_SERVER_COMMON_LOGGING_H_
#define SILTA_SERVER_COMMON_LOGGING_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::common {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Parses "debug", "info", "warn" or "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Sets the minimum level written. Lines below it are dropped cheaply.
void SetLogLevel(LogLevel level);

// One key/value pair of a log line. Values are strings; numbers are
// formatted by the caller (absl::StrCat).
using LogField = std::pair<absl::string_view, std::string>;

// Writes one JSON line: {"ts":..., "level":..., "event":event, fields...}.
void Log(LogLevel level, absl::string_view event,
         std::initializer_list<LogField> fields = {});

// Flushes buffered lines (called before exit).
void FlushLog();

}  // namespace silta::common

#endif  // SILTA_SERVER_COMMON_LOGGING_H_
