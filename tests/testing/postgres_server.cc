#include "tests/testing/postgres_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
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
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(MakeTempDir(absl::StrCat("pg-", name))));
  if (::geteuid() == 0) {
    const struct passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no `postgres` user to run PostgreSQL as (initdb "
          "refuses root): install Debian's postgresql-15, which creates it");
    }
    if (::chown(server->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return absl::InternalError(absl::StrCat("cannot give ", server->dir_, " to postgres"));
    }
  }
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

std::string PostgresServer::Log() const {
  std::error_code ec;
  return std::filesystem::exists(dir_ + "/log", ec) ? ReadTextFile(dir_ + "/log") : "";
}

}  // namespace silta::testing
