// File: server/ops/config.h
//
// Loading and validating siltad's configuration (silta.v1.SiltadConfig).
//
// Example:
//   absl::StatusOr<v1::SiltadConfig> config = LoadConfig("/etc/silta/siltad.textproto");
//   if (!config.ok()) { /* print config.status().message(); exit(2) */ }
#ifndef SILTA_SERVER_OPS_CONFIG_H_
#define SILTA_SERVER_OPS_CONFIG_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "silta/v1/config.pb.h"

namespace silta::ops {

// Effective defaults for fields left at zero.
inline constexpr uint32_t kDefaultMaxRequestBytes = 4 * 1024 * 1024;
inline constexpr uint32_t kMaxMaxRequestBytes = 64 * 1024 * 1024;
inline constexpr uint32_t kDefaultMaxConcurrentStreams = 100;
inline constexpr uint32_t kDefaultMaxSendsInFlight = 32;
inline constexpr uint32_t kMaxMaxSendsInFlight = 4096;
inline constexpr uint32_t kDefaultCallsPerSecondPerOrg = 1000;
inline constexpr uint32_t kDefaultHetuCallsPerHourPerOrg = 600;
inline constexpr uint32_t kMaxCallsPerSecondPerOrg = 100000;
inline constexpr uint32_t kDefaultShutdownGraceSeconds = 10;
inline constexpr uint32_t kMaxShutdownGraceSeconds = 300;
inline constexpr uint32_t kDefaultSqliteBusyTimeoutMs = 5000;
// The committer thread's nice value when store.committer_nice is not set.
inline constexpr int32_t kDefaultCommitterNice = -5;

// Checks a configuration without touching the file system (pure). Returns
// INVALID_ARGUMENT "<field path>: <what is wrong and the allowed values>" for
// the first problem. Fills no defaults.
absl::Status ValidateConfig(const v1::SiltadConfig& config);

// Reads the textproto at `path`, resolves relative file paths against the
// config file's directory, fills defaults and validates. Errors name the
// file (and line for syntax errors).
absl::StatusOr<v1::SiltadConfig> LoadConfig(absl::string_view path);

// True if "host:port" has a loopback host (127.0.0.0/8, localhost or [::1]).
bool IsLoopbackAddress(absl::string_view address);

}  // namespace silta::ops

#endif  // SILTA_SERVER_OPS_CONFIG_H_
