// File: tests/testing/postgres_server.h
//
// A throwaway PostgreSQL 15 server for tests: a fresh cluster in a temp
// directory, reachable only through a unix socket in that directory, and
// removed again when the object goes. Real PostgreSQL, from Debian's
// postgresql-15 package (tools/install-deps.sh installs it); nothing is
// mocked. initdb refuses to run as root, so as root the server runs as the
// `postgres` system user that the package creates.
//
// Example:
//   ASSERT_OK_AND_ASSIGN(auto pg, PostgresServer::Start("store_test"));
//   ASSERT_OK_AND_ASSIGN(std::string conninfo, pg->CreateDatabase("one"));
//   // conninfo: "host=/tmp/silta-store_test-123 port=5432 dbname=one user=silta"
#ifndef SILTA_TESTS_TESTING_POSTGRES_SERVER_H_
#define SILTA_TESTS_TESTING_POSTGRES_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace silta::testing {

class PostgresServer {
 public:
  // Creates the cluster (superuser `silta`, trust authentication on the
  // socket only) and starts it. FAILED_PRECONDITION, saying what to
  // install, if PostgreSQL 15's binaries are missing.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start(const std::string& name);
  // Stops the server (immediate shutdown) and removes its files.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A new, empty database; returns its conninfo.
  absl::StatusOr<std::string> CreateDatabase(const std::string& database);
  // The conninfo of `database` on this server.
  std::string Conninfo(const std::string& database) const;

  // Stops the server as a crash would (immediate: no checkpoint), keeping
  // its data; Resume() starts it again on the same socket.
  absl::Status Stop();
  absl::Status Resume();

  // The server's log so far (for a failing test's message).
  std::string Log() const;

  // ---- High availability (docs/operations.md). ----

  // A streaming standby of this server (pg_basebackup -R), started, in a
  // directory and socket of its own; from then on every commit here waits
  // until the standby has it (synchronous_standby_names = '*').
  absl::StatusOr<std::unique_ptr<PostgresServer>> StartSynchronousStandby(const std::string& name);
  // Kills the server's processes with SIGKILL, as a machine that dies.
  absl::Status Kill();
  // Makes a standby the primary (pg_ctl promote), waiting until it accepts
  // writes.
  absl::Status Promote();
  // The directory of the socket: the host of this server in a conninfo.
  const std::string& socket_dir() const { return dir_; }
  // Runs `sql` as the superuser on database `postgres`.
  absl::Status Execute(const std::string& sql);

 private:
  explicit PostgresServer(std::string dir) : dir_(std::move(dir)) {}
  absl::Status PgCtl(const std::string& action);
  // A fresh directory for a cluster, given to the server's owner.
  static absl::StatusOr<std::string> MakeOwnedDir(const std::string& name);

  std::string dir_;  // data/ (the cluster), log, and the socket
  bool running_ = false;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_POSTGRES_SERVER_H_
