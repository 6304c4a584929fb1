// siltad: the Silta broker daemon.
//
//   siltad --config /etc/silta/siltad.textproto [--log-level info]
//   siltad --config /etc/silta/siltad.textproto --check-config
//
// Exit codes: 0 clean stop (SIGTERM/SIGINT) or valid config; 1 runtime
// failure (port in use, database unusable); 2 invalid configuration or usage.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "server/common/logging.h"
#include "server/ops/config.h"
#include "server/ops/grpc_log.h"
#include "server/ops/signals.h"
#include "server/service/siltad_server.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

}  // namespace

int main(int argc, char** argv) {
  silta::ops::BlockHandledSignals();
#ifdef NDEBUG
  // Debian's Abseil checks every Mutex acquisition against a lock-order
  // graph (a stack trace and a graph update per lock: 2-3% of the
  // committer's time). The Debug and sanitizer builds, which run the same
  // tests, keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif

  CLI::App app{"siltad: the Silta secure messaging and consent broker"};
  std::string config_path;
  std::string log_level = "info";
  bool check_only = false;
  app.add_option("-c,--config", config_path, "Path of siltad.textproto")->required();
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->capture_default_str();
  app.add_flag("--check-config", check_only,
               "Validate config, policy, registry, TLS and secret files, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitConfig;
  }

  absl::StatusOr<silta::common::LogLevel> level = silta::common::ParseLogLevel(log_level);
  if (!level.ok()) {
    std::fprintf(stderr, "siltad: --log-level: %s\n", std::string(level.status().message()).c_str());
    return kExitConfig;
  }
  silta::common::SetLogLevel(*level);
  silta::ops::RouteGrpcLogsToJson();

  absl::StatusOr<silta::v1::SiltadConfig> config = silta::ops::LoadConfig(config_path);
  absl::Status checked = config.ok() ? silta::service::CheckConfig(*config) : config.status();
  if (!checked.ok()) {
    std::fprintf(stderr, "siltad: configuration error: %s\n",
                 std::string(checked.message()).c_str());
    silta::common::Log(silta::common::LogLevel::kError, "config_invalid",
                       {{"error", std::string(checked.message())}});
    silta::common::FlushLog();
    return kExitConfig;
  }
  if (check_only) {
    std::printf("siltad: configuration OK: %s\n", config_path.c_str());
    return kExitOk;
  }

  absl::StatusOr<std::unique_ptr<silta::service::SiltadServer>> server =
      silta::service::SiltadServer::Start(*config);
  if (!server.ok()) {
    std::fprintf(stderr, "siltad: cannot start: %s\n",
                 std::string(server.status().message()).c_str());
    silta::common::Log(silta::common::LogLevel::kError, "start_failed",
                       {{"error", std::string(server.status().message())}});
    silta::common::FlushLog();
    return absl::IsInvalidArgument(server.status()) ? kExitConfig : kExitRuntime;
  }

  while (true) {
    const silta::ops::Signal signal = silta::ops::WaitForSignal();
    if (signal == silta::ops::Signal::kReload) {
      // Reload logs its outcome; on error the old policy and registry stay.
      (*server)->Reload().status().IgnoreError();
      continue;
    }
    break;
  }
  (*server)->Shutdown();
  silta::common::FlushLog();
  return kExitOk;
}
