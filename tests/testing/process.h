// File: tests/testing/process.h
//
// Running siltad and siltactl as real processes in tests.
#ifndef SILTA_TESTS_TESTING_PROCESS_H_
#define SILTA_TESTS_TESTING_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace silta::testing {

// Output and exit code of a finished command.
struct CommandResult {
  int exit_code = -1;  // -1 if killed by a signal or timed out
  std::string output;  // stdout and stderr interleaved
};

// Runs `argv` with extra `env` entries ("NAME=value"), waits at most
// `timeout` (then SIGKILL).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {},
                         absl::Duration timeout = absl::Seconds(30));

// RunCommand with `input` on the child's stdin (RunCommand gives it
// /dev/null).
CommandResult RunCommandWithInput(const std::vector<std::string>& argv, const std::string& input,
                                  const std::vector<std::string>& env = {},
                                  absl::Duration timeout = absl::Seconds(30));

// A child process running in the background, its stdout and stderr in a
// log file. Killed (SIGKILL) on destruction if still running.
class ChildProcess {
 public:
  // Starts `argv` with extra `env` entries ("NAME=value").
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                             const std::vector<std::string>& env,
                                                             const std::string& log_path);
  virtual ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Sends a signal.
  void Signal(int sig) const;
  // Waits for exit; returns the exit code (or -signal) or DEADLINE_EXCEEDED.
  absl::StatusOr<int> WaitForExit(absl::Duration timeout);
  // The log written so far.
  std::string Log() const;
  // Waits until the log contains `needle`; false on timeout.
  bool WaitForLog(const std::string& needle, absl::Duration timeout) const;

 protected:
  ChildProcess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  bool exited_ = false;
};

// A siltad child process.
class SiltadProcess : public ChildProcess {
 public:
  // Starts `siltad --config config_path` with stderr to `log_path`, and
  // waits until it writes `port_file` (the config's listen_port_file).
  static absl::StatusOr<std::unique_ptr<SiltadProcess>> Start(
      const std::string& config_path, const std::string& port_file, const std::string& log_path,
      absl::Duration timeout = absl::Seconds(30));

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  using ChildProcess::ChildProcess;
  int port_ = 0;
};

// A fresh directory under the test temp dir ($TEST_TMPDIR or /tmp),
// removed when the process ends unless a test failed or
// SILTA_KEEP_TEST_DIRS is set.
std::string MakeTempDir(const std::string& name);
// Leaves `dir` (made by MakeTempDir) to its owner, which removes it itself.
void ForgetTempDir(const std::string& dir);

// Writes `text` to `path`.
void WriteTextFile(const std::string& path, const std::string& text);
std::string ReadTextFile(const std::string& path);

// The thread id of `pid`'s one thread named `thread_name` (its comm, as
// pthread_setname_np set it); none if it has no such thread, or several.
std::optional<pid_t> ThreadNamed(pid_t pid, absl::string_view thread_name);
// ThreadNamed, awaited for up to `timeout`: a thread names itself once it
// runs, which may be after whatever started it has returned.
std::optional<pid_t> AwaitThreadNamed(pid_t pid, absl::string_view thread_name,
                                      absl::Duration timeout);
// The nice value of `pid`'s one thread named `thread_name`; none if it has
// no such thread, or several.
std::optional<int> ThreadNice(pid_t pid, absl::string_view thread_name);
// Of thread `tid` of `pid`: whether it is asleep (state S in its stat), and
// how often it has gone to sleep (voluntary_ctxt_switches in its status);
// none if they cannot be read.
std::optional<bool> ThreadAsleep(pid_t pid, pid_t tid);
std::optional<int64_t> ThreadSleeps(pid_t pid, pid_t tid);

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_PROCESS_H_
