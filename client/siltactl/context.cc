#include "client/siltactl/context.h"

#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/reports/report_text.h"
#include "client/siltactl/output.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"

namespace silta::siltactl {

std::string DefaultWorker() {
  const char* worker = std::getenv("SILTA_WORKER");
  if (worker == nullptr || *worker == '\0') worker = std::getenv("USER");
  return worker == nullptr ? "" : worker;
}

std::shared_ptr<const sdk::Connection> ConnectOrExit(const GlobalFlags& flags, int* exit_code) {
  sdk::ConnectionOptions options = flags.connection;
  options.timeout = absl::Seconds(flags.timeout_seconds);
  absl::StatusOr<std::shared_ptr<const sdk::Connection>> connection =
      sdk::Connection::Open(std::move(options));
  if (!connection.ok()) {
    std::fprintf(stderr, "siltactl: cannot connect: %s\n",
                 std::string(connection.status().message()).c_str());
    *exit_code = kExitUsage;
    return nullptr;
  }
  return *std::move(connection);
}

absl::StatusOr<identity::SpiffeId> OwnIdentity(const GlobalFlags& flags) {
  SILTA_ASSIGN_OR_RETURN(std::string pem, common::ReadFile(flags.connection.cert_file));
  return sdk::SystemIdentity(pem, flags.connection.cert_file);
}

bool Confirm(const std::string& question) {
  if (!isatty(STDIN_FILENO)) return false;
  std::fprintf(stderr, "%s [y/N] ", question.c_str());
  std::fflush(stderr);
  std::string line;
  std::getline(std::cin, line);
  const std::string answer = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line));
  return answer == "y" || answer == "yes";
}

std::string ReadHetu(const std::string& prompt) {
  std::string line;
  if (isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "%s", prompt.c_str());
    std::fflush(stderr);
    termios old_mode{};
    const bool have_mode = tcgetattr(STDIN_FILENO, &old_mode) == 0;
    if (have_mode) {
      termios quiet = old_mode;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::getline(std::cin, line);
    if (have_mode) tcsetattr(STDIN_FILENO, TCSANOW, &old_mode);
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, line);
  }
  return std::string(absl::StripAsciiWhitespace(line));
}

bool ParseTimeFlag(const std::string& text, absl::Time* out) {
  return reports::ParseDateOrTime(text, absl::UTCTimeZone(), out);
}

}  // namespace silta::siltactl
