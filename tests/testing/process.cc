#include "tests/testing/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

extern char** environ;

namespace silta::testing {
namespace {

constexpr absl::Duration kPoll = absl::Milliseconds(20);

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Polls waitpid until the child exits or `timeout` passes.
bool WaitPid(pid_t pid, absl::Duration timeout, int* status) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t r = ::waitpid(pid, status, WNOHANG);
    if (r == pid) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPoll);
  }
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

// Forks and execs argv with stdout+stderr to `output_fd`.
pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            int output_fd, int input_fd = -1) {
  std::vector<std::string> full_env;
  for (char** e = environ; *e != nullptr; ++e) full_env.emplace_back(*e);
  for (const std::string& e : env) full_env.push_back(e);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(full_env);
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The test runner may block signals; the child must receive them.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(output_fd, STDOUT_FILENO);
    ::dup2(output_fd, STDERR_FILENO);
    if (input_fd >= 0) {
      ::dup2(input_fd, STDIN_FILENO);
    } else {
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    }
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    _exit(127);
  }
  return pid;
}

// The folders MakeTempDir made. They go when the process ends, unless a
// test failed (they hold its logs and databases) or SILTA_KEEP_TEST_DIRS
// is set: each run of the suite left a few gigabytes in /tmp before.
class MadeDirs {
 public:
  ~MadeDirs() {
    absl::MutexLock lock(&mu_);
    if (dirs_.empty()) return;
    if (std::getenv("SILTA_KEEP_TEST_DIRS") != nullptr ||
        ::testing::UnitTest::GetInstance()->Failed()) {
      std::fprintf(stderr, "test folders kept (%zu), e.g. %s\n", dirs_.size(),
                   dirs_.front().c_str());
      return;
    }
    for (const std::string& dir : dirs_) {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  }
  void Add(const std::string& dir) {
    absl::MutexLock lock(&mu_);
    if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) dirs_.push_back(dir);
  }
  void Forget(const std::string& dir) {
    absl::MutexLock lock(&mu_);
    dirs_.erase(std::remove(dirs_.begin(), dirs_.end(), dir), dirs_.end());
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> dirs_ ABSL_GUARDED_BY(mu_);
};

// Destroyed at exit before the statics made earlier (a test's PostgreSQL
// server, which removes its own folder: ForgetTempDir).
MadeDirs& Made() {
  static MadeDirs made;
  return made;
}

}  // namespace

std::string MakeTempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::filesystem::path root = base != nullptr ? base : std::filesystem::temp_directory_path();
  const std::filesystem::path dir = root / absl::StrCat("silta-", name, "-", ::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all);
  Made().Add(dir.string());
  return dir.string();
}

void ForgetTempDir(const std::string& dir) { Made().Forget(dir); }

void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env, absl::Duration timeout) {
  return RunCommandWithInput(argv, "", env, timeout);
}

CommandResult RunCommandWithInput(const std::vector<std::string>& argv, const std::string& input,
                                  const std::vector<std::string>& env, absl::Duration timeout) {
  char path[] = "/tmp/silta-cmd-XXXXXX";
  const int fd = ::mkstemp(path);
  CommandResult result;
  if (fd < 0) return result;
  char in_path[] = "/tmp/silta-in-XXXXXX";
  const int in_fd = ::mkstemp(in_path);
  if (in_fd < 0) return result;
  ::unlink(in_path);
  if (::write(in_fd, input.data(), input.size()) != static_cast<ssize_t>(input.size())) return result;
  ::lseek(in_fd, 0, SEEK_SET);
  const pid_t pid = Spawn(argv, env, fd, in_fd);
  ::close(in_fd);
  int status = 0;
  if (!WaitPid(pid, timeout, &status)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    result.exit_code = -1;
  } else {
    result.exit_code = ExitCode(status);
  }
  ::close(fd);
  result.output = ReadTextFile(path);
  ::unlink(path);
  return result;
}

absl::StatusOr<std::unique_ptr<SiltadProcess>> SiltadProcess::Start(
    const std::string& config_path, const std::string& port_file, const std::string& log_path,
    absl::Duration timeout) {
  std::filesystem::remove(port_file);
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError("cannot create log file " + log_path);
  const pid_t pid = Spawn({SILTAD_PATH, "--config", config_path}, {}, fd);
  ::close(fd);
  auto process = std::unique_ptr<SiltadProcess>(new SiltadProcess(pid, log_path));
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      process->exited_ = true;
      return absl::FailedPreconditionError(absl::StrCat(
          "siltad exited with ", ExitCode(status), " before serving; log:\n", process->Log()));
    }
    const std::string text = ReadTextFile(port_file);
    int port = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &port) && port > 0) {
      process->port_ = port;
      return process;
    }
    absl::SleepFor(kPoll);
  }
  return absl::DeadlineExceededError("siltad did not start; log:\n" + process->Log());
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env,
    const std::string& log_path) {
  const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return absl::InternalError("cannot create log file " + log_path);
  const pid_t pid = Spawn(argv, env, fd);
  ::close(fd);
  if (pid < 0) return absl::InternalError("cannot start " + argv[0]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_path));
}

ChildProcess::~ChildProcess() {
  if (!exited_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void ChildProcess::Signal(int sig) const { ::kill(pid_, sig); }

absl::StatusOr<int> ChildProcess::WaitForExit(absl::Duration timeout) {
  int status = 0;
  if (!WaitPid(pid_, timeout, &status)) {
    return absl::DeadlineExceededError("the process did not exit in time");
  }
  exited_ = true;
  return ExitCode(status);
}

std::string ChildProcess::Log() const { return ReadTextFile(log_path_); }

bool ChildProcess::WaitForLog(const std::string& needle, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (absl::StrContains(Log(), needle)) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(kPoll);
  }
}

std::optional<pid_t> ThreadNamed(pid_t pid, absl::string_view thread_name) {
  std::optional<pid_t> found;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator(absl::StrCat("/proc/", pid, "/task"), ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != thread_name) continue;
    if (found.has_value()) return std::nullopt;  // several
    int tid = 0;
    if (!absl::SimpleAtoi(task.path().filename().string(), &tid)) return std::nullopt;
    found = tid;
  }
  return found;
}

std::optional<pid_t> AwaitThreadNamed(pid_t pid, absl::string_view thread_name,
                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::optional<pid_t> tid = ThreadNamed(pid, thread_name);
  while (!tid.has_value() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    tid = ThreadNamed(pid, thread_name);
  }
  return tid;
}

std::optional<int> ThreadNice(pid_t pid, absl::string_view thread_name) {
  const std::optional<pid_t> tid = ThreadNamed(pid, thread_name);
  if (!tid.has_value()) return std::nullopt;
  // On Linux a nice value is per thread: PRIO_PROCESS with a thread id.
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(*tid));
  if (nice == -1 && errno != 0) return std::nullopt;
  return nice;
}

std::optional<bool> ThreadAsleep(pid_t pid, pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/task/", tid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "tid (comm) S ...": the comm may hold spaces and parentheses.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return std::nullopt;
  return stat[close + 2] == 'S';
}

std::optional<int64_t> ThreadSleeps(pid_t pid, pid_t tid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/task/", tid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view value = line;
    if (!absl::ConsumePrefix(&value, "voluntary_ctxt_switches:")) continue;
    int64_t n = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &n)) return std::nullopt;
    return n;
  }
  return std::nullopt;
}

}  // namespace silta::testing
