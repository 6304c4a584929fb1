// File: server/store/postgres/pg_connection.h
//
// The PostgreSQL driver of sql::Connection, on libpq (Debian's libpq-dev).
// The store's SQL is written with `?` parameters; this driver numbers them
// `$1`, `$2`, ... and prepares each distinct text once per connection (a
// server-side prepared statement). Parameters go as text, blobs as binary;
// rows come back as text (bytea decoded from its hex form).
//
// Errors as sql/connection.h says. The messages carry PostgreSQL's primary
// message and SQLSTATE, never its DETAIL, which can quote the values of a
// row (a key that already exists, say): those must not reach a log.
//
// A lost connection (the server restarted, a standby was promoted) connects
// again by itself at its next use outside a transaction; see Broken().
//
// Example:
//   SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> db,
//                          PgConnection::Connect("host=/run/postgresql dbname=silta"));
//   SILTA_RETURN_IF_ERROR(db->Exec("BEGIN"));
#ifndef SILTA_SERVER_STORE_POSTGRES_PG_CONNECTION_H_
#define SILTA_SERVER_STORE_POSTGRES_PG_CONNECTION_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/node_hash_map.h"
#include "absl/time/time.h"
#include "server/store/sql/connection.h"

struct pg_conn;
struct pg_result;

namespace silta::store {

class PgConnection final : public sql::Connection {
 public:
  // Connects with a libpq conninfo (keywords or a URI; several hosts and
  // target_session_attrs=read-write for a standby that may take over).
  // Unless the conninfo says otherwise: connect_timeout=10, TCP keepalives
  // after 10 s idle, and tcp_user_timeout=15000, so that a dead server
  // fails a call within seconds instead of hanging it.
  // UNAVAILABLE if the server cannot be reached; the message says why but
  // never repeats the conninfo (it may hold a password).
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo);
  ~PgConnection() override;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  absl::StatusOr<sql::Statement> Prepare(absl::string_view sql) override;
  absl::Status Exec(absl::string_view sql) override;
  int64_t Changes() const override { return changes_; }

  // Runs after every reconnect (not after Connect): e.g. to take a
  // session lock again. An error leaves the connection lost.
  void SetOnReconnect(std::function<absl::Status(PgConnection&)> on_connect) {
    on_connect_ = std::move(on_connect);
  }

  // Whether the connection to the server is lost. A lost connection
  // connects again at its next Prepare or Exec outside a transaction; inside
  // one, everything fails with UNAVAILABLE until its COMMIT or ROLLBACK
  // (the server has rolled it back).
  // Reads what the server sent meanwhile without waiting (one recv), so a
  // restart is seen before the next statement fails on it.
  bool Broken();

  // ---- LISTEN. ----
  // A notification received on a channel this session LISTENs on.
  struct Notification {
    std::string channel;
    std::string payload;
  };
  // Waits up to `timeout` for the server to send something (a
  // notification), then returns what has arrived, without blocking
  // further. A lost connection shows in Broken() afterwards.
  std::vector<Notification> AwaitNotifications(absl::Duration timeout);
  // Counts sessions: it changes when the connection is made again (a new
  // session has LISTENed on nothing and may have missed notifications).
  uint64_t session() const { return generation_; }

  // `?` parameters numbered for PostgreSQL (`$1`, `$2`, ...), except inside
  // quotes; SQLite's `?NNN` becomes `$NNN`. `*count` is set to the highest
  // number.
  static std::string NumberParameters(absl::string_view sql, int* count);

 private:
  class Driver;
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  // The Status of a finished command (nullptr: no result at all).
  absl::Status Check(pg_result* result, absl::string_view what);

  pg_conn* const conn_;
  // Reconnects a lost connection between transactions.
  absl::Status Ready();

  struct Prepared {
    std::string name;
    std::string numbered;  // the SQL with $n parameters
    int parameters = 0;
    uint64_t generation = 0;  // the session it is prepared in
  };
  // By the SQL as written; nodes stay put, so a Driver may point at one.
  absl::node_hash_map<std::string, Prepared> prepared_;
  int64_t changes_ = 0;
  bool lost_ = false;  // the server ended the session
  bool in_transaction_ = false;  // between BEGIN and COMMIT or ROLLBACK
  uint64_t generation_ = 1;      // sessions so far (a reconnect starts a new one)
  std::function<absl::Status(PgConnection&)> on_connect_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_POSTGRES_PG_CONNECTION_H_
