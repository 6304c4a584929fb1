#include "tests/testing/postgres_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "lib/common/status_macros.h"
#include "tests/testing/process.h"

namespace silta::testing {
namespace {

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kSuperuser[] = "silta";

// The command line that runs `argv` as the server's owner: the postgres
// system user when we are root, else ourselves.
std::vector<std::string> AsOwner(std::vector<std::string> argv) {
  if (::geteuid() != 0) return argv;
  std::vector<std::string> out = {"/usr/sbin/runuser", "-u", "postgres", "--"};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(const std::string& name) {
  const std::string initdb = absl::StrCat(kBinDir, "/initdb");
  if (!std::filesystem::exists(initdb)) {
    return absl::FailedPreconditionError(absl::StrCat(
        initdb, " is missing: install Debian's postgresql-15 (tools/install-deps.sh does)"));
  }
  SILTA_ASSIGN_OR_RETURN(std::string dir, MakeOwnedDir(name));
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(dir)));
  const CommandResult created =
      RunCommand(AsOwner({initdb, "-D", server->dir_ + "/data", "-U", kSuperuser, "--auth=trust",
                          "--encoding=UTF8", "--no-locale", "--no-sync"}),
                 {}, absl::Seconds(120));
  if (created.exit_code != 0) {
    return absl::InternalError(absl::StrCat("initdb failed: ", created.output));
  }
  SILTA_RETURN_IF_ERROR(server->Resume());
  return server;
}

PostgresServer::~PostgresServer() {
  if (running_) (void)Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status PostgresServer::PgCtl(const std::string& action) {
  // Only the socket in dir_: no TCP port, so parallel tests never collide.
  const CommandResult r =
      RunCommand(AsOwner({absl::StrCat(kBinDir, "/pg_ctl"), "-D", dir_ + "/data", "-l",
                          dir_ + "/log", "-w", "-t", "60", "-m", "immediate", "-o",
                          absl::StrCat("-c listen_addresses='' -k ", dir_), action}),
                 {}, absl::Seconds(90));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl ", action, " failed: ", r.output, "\n", Log()));
  }
  return absl::OkStatus();
}

absl::Status PostgresServer::Stop() {
  SILTA_RETURN_IF_ERROR(PgCtl("stop"));
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresServer::Resume() {
  SILTA_RETURN_IF_ERROR(PgCtl("start"));
  running_ = true;
  return absl::OkStatus();
}

std::string PostgresServer::Conninfo(const std::string& database) const {
  return absl::StrCat("host=", dir_, " port=5432 dbname=", database, " user=", kSuperuser);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase(const std::string& database) {
  for (char c : database) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') {
      return absl::InvalidArgumentError(
          absl::StrCat("database name '", database, "': use a-z, 0-9 and _ only"));
    }
  }
  PGconn* conn = PQconnectdb(Conninfo("postgres").c_str());
  const bool connected = PQstatus(conn) == CONNECTION_OK;
  std::string error = connected ? "" : PQerrorMessage(conn);
  if (connected) {
    PGresult* r = PQexec(conn, absl::StrCat("CREATE DATABASE ", database).c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) {
    return absl::InternalError(absl::StrCat("CREATE DATABASE ", database, ": ", error));
  }
  return Conninfo(database);
}

absl::StatusOr<std::string> PostgresServer::MakeOwnedDir(const std::string& name) {
  std::string dir = MakeTempDir(absl::StrCat("pg-", name));
  ForgetTempDir(dir);  // the server's destructor stops it, then removes it
  if (::geteuid() == 0) {
    const struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no `postgres` user to run PostgreSQL as (initdb "
          "refuses root): install Debian's postgresql-15, which creates it");
    }
    if (::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot give ", dir, " to postgres"));
    }
  }
  return dir;
}

absl::Status PostgresServer::Execute(const std::string& sql) {
  PGconn* conn = PQconnectdb(Conninfo("postgres").c_str());
  std::string error = PQstatus(conn) == CONNECTION_OK ? "" : PQerrorMessage(conn);
  if (error.empty()) {
    PGresult* r = PQexec(conn, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      error = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  PQfinish(conn);
  if (!error.empty()) return absl::InternalError(absl::StrCat(sql, ": ", error));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::StartSynchronousStandby(
    const std::string& name) {
  SILTA_ASSIGN_OR_RETURN(std::string dir, MakeOwnedDir(name));
  std::unique_ptr<PostgresServer> standby(new PostgresServer(std::move(dir)));
  const CommandResult copied = RunCommand(
      AsOwner({absl::StrCat(kBinDir, "/pg_basebackup"), "-h", dir_, "-p", "5432", "-U", kSuperuser,
               "-D", standby->dir_ + "/data", "-R", "-X", "stream", "-c", "fast", "--no-sync"}),
      {}, absl::Seconds(120));
  if (copied.exit_code != 0) {
    return absl::InternalError(absl::StrCat("pg_basebackup failed: ", copied.output));
  }
  SILTA_RETURN_IF_ERROR(standby->Resume());
  SILTA_RETURN_IF_ERROR(Execute("ALTER SYSTEM SET synchronous_standby_names = '*'"));
  SILTA_RETURN_IF_ERROR(Execute("SELECT pg_reload_conf()"));
  // Until the standby streams, commits here would wait: wait for it first.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    PGconn* conn = PQconnectdb(Conninfo("postgres").c_str());
    PGresult* r = PQexec(conn, "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'");
    const bool streaming = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    PQclear(r);
    PQfinish(conn);
    if (streaming) return standby;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("the standby did not stream within 30 s: ", standby->Log()));
}

absl::Status PostgresServer::Kill() {
  const std::string pid_file = dir_ + "/data/postmaster.pid";
  if (!std::filesystem::exists(pid_file)) return absl::FailedPreconditionError("not running");
  const std::string pids = ReadTextFile(pid_file);
  const std::string first_line = pids.substr(0, pids.find('\n'));
  pid_t postmaster = 0;
  if (!absl::SimpleAtoi(first_line, &postmaster) || postmaster <= 0) {
    return absl::InternalError("postmaster.pid has no pid");
  }
  // The postmaster and every process it started, at once.
  std::vector<pid_t> victims = {postmaster};
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    const std::string stat = ReadTextFile(entry.path().string() + "/stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
    pid_t parent = 0;
    if (fields.size() > 1 && absl::SimpleAtoi(fields[1], &parent) && parent == postmaster) {
      victims.push_back(pid);
    }
  }
  for (pid_t pid : victims) ::kill(pid, SIGKILL);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (::kill(postmaster, 0) == 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  running_ = false;
  return absl::OkStatus();
}

absl::Status PostgresServer::Promote() {
  SILTA_RETURN_IF_ERROR(PgCtl("promote"));
  return absl::OkStatus();
}

std::string PostgresServer::Log() const {
  std::error_code ec;
  return std::filesystem::exists(dir_ + "/log", ec) ? ReadTextFile(dir_ + "/log") : "";
}

}  // namespace silta::testing
