#include "client/siltactl/console_command.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "client/console/console_server.h"
#include "client/console/log_reader.h"
#include "client/siltactl/output.h"
#include "lib/audit/tree_head.h"

namespace silta::siltactl {
namespace {

// Opens `link` in the desktop's browser, if there is a desktop.
void OpenInBrowser(const std::string& link) {
  if (std::getenv("DISPLAY") == nullptr && std::getenv("WAYLAND_DISPLAY") == nullptr) return;
  signal(SIGCHLD, SIG_IGN);  // nobody waits for xdg-open
  const pid_t pid = fork();
  if (pid == 0) {
    // Quiet: the link is printed already.
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execlp("xdg-open", "xdg-open", link.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
}

}  // namespace

ConsoleCommand::ConsoleCommand(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* console = app->add_subcommand(
      "console",
      "Review the audit log in a browser on this workstation, with your certificate's rights.\n"
      "The page checks every entry's proof and the tree head's signature itself.\n"
      "  Example: siltactl console --log-key log-key.pub");
  console->add_option("--listen", listen_, "Loopback address and port (port 0: a free one)");
  console
      ->add_option("--log-key", log_key_,
                   "The log's public key (PEM or hex): heads are checked against it")
      ->required();
  console->add_option("--log-id", log_id_,
                      "The log the heads must name (siltad's audit.log_id, e.g. silta:silta.test)");
  console->add_option("--state-dir", state_dir_,
                      "Where the heads seen are kept (default ~/.local/share/silta/console)");
  console->add_option("--export-dir", export_dir_,
                      "Where exports are written (default ~/silta-exports)");
  console->add_option("--worker", worker_,
                      "Your worker id, recorded with the subject reports you produce (default "
                      "$SILTA_WORKER or $USER)");
  console->add_flag("--no-open", no_open_, "Only print the link; do not open a browser");
  Add(console, [this] { return Serve(); });
}

int ConsoleCommand::Serve() {
  absl::StatusOr<std::string> key = audit::ReadLogPublicKey(log_key_);
  if (!key.ok()) return UsageError(absl::StrCat("--log-key: ", key.status().message()));
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  console::ConsoleOptions options;
  options.listen = listen_;
  options.log_public_key = *key;
  options.log_id = log_id_;
  options.state_dir = state_dir_;
  options.export_dir = export_dir_;
  options.worker = worker_;
  options.server_address = flags_->connection.address;
  // Block the signals that end the console before any thread starts, and
  // wait for them below.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  absl::StatusOr<std::unique_ptr<console::ConsoleServer>> server =
      console::ConsoleServer::Start(options, console::LogReaderFor(connection));
  if (!server.ok()) return ReportError("console", server.status());
  std::printf(
      "Silta auditor's console\n"
      "Open %s\n"
      "The link works once. Press Ctrl-C to stop the console.\n",
      (*server)->link().c_str());
  std::fflush(stdout);
  if (!no_open_) OpenInBrowser((*server)->link());
  int signal = 0;
  sigwait(&stop, &signal);
  std::printf("console stopped\n");
  return kExitOk;
}

}  // namespace silta::siltactl
