// agency-bridge: lets a case-management system that can only exchange
// files use Silta. It sends the JSON envelopes written to an outbox
// directory and writes every message received to an inbox directory; see
// README.md for the file formats and bridge.h for what it promises.
//
//   agency-bridge --address siltad.example:7443 --cert org.pem --key org.key \
//     --ca ca.pem --crl-dir crl/ --keys-dir keys/ --outbox out/ --inbox in/
//   agency-bridge ... --once --wait 5   (one pass, then exit: for cron and tests)
#include <csignal>
#include <cstdio>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "bridge.h"
#include "client/sdk/connection.h"

namespace {

volatile std::sig_atomic_t stop = 0;

void OnSignal(int) { stop = 1; }

constexpr char kUsage[] =
    "usage: agency-bridge --address A --cert F --key F --ca F --crl-dir D --keys-dir D\n"
    "                     --outbox D --inbox D [--server-name N] [--once] [--wait SECONDS]\n";

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"wait", "2"}};
  bool once = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--once") {
      once = true;
    } else if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      flags[arg.substr(2)] = argv[++i];
    } else {
      std::fputs(kUsage, stderr);
      return 2;
    }
  }
  int wait_seconds = 0;
  if (!absl::SimpleAtoi(flags["wait"], &wait_seconds) || wait_seconds < 1) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const bridge::Directories dirs{.outbox = flags["outbox"], .inbox = flags["inbox"]};
  if (dirs.outbox.empty() || dirs.inbox.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  silta::sdk::GrpcRuntime grpc_runtime;
  silta::sdk::SiltaClient::Options options;
  options.connection.address = flags["address"];
  options.connection.cert_file = flags["cert"];
  options.connection.key_file = flags["key"];
  options.connection.ca_file = flags["ca"];
  options.connection.server_name = flags["server-name"];
  options.crl_directory = flags["crl-dir"];
  options.keys_dir = flags["keys-dir"];
  absl::StatusOr<std::unique_ptr<silta::sdk::SiltaClient>> client =
      silta::sdk::SiltaClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "agency-bridge: %s\n", client.status().ToString().c_str());
    return 2;
  }
  if (absl::Status s = bridge::PrepareDirectories(dirs); !s.ok()) {
    std::fprintf(stderr, "agency-bridge: %s\n", s.ToString().c_str());
    return 2;
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  do {
    const bridge::OutboxPass pass = bridge::ProcessOutbox(**client, dirs);
    if (once) {
      std::printf("outbox: %d sent, %d failed, %d deferred\n", pass.sent, pass.failed,
                  pass.deferred);
    }
    // Subscribing is also the wait between outbox passes.
    absl::StatusOr<int> received =
        bridge::ReceiveInbox(**client, dirs, absl::Seconds(wait_seconds));
    if (!received.ok()) {
      std::fprintf(stderr, "agency-bridge: inbox: %s\n", received.status().ToString().c_str());
      if (once) return 1;
      // siltad unreachable: wait before the next pass instead of spinning.
      absl::SleepFor(absl::Seconds(wait_seconds));
    }
  } while (!once && !stop);
  return 0;
}
