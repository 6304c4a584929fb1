// File: server/store/postgres/postgres_store.h
//
// The PostgreSQL store (DESIGN.md §9): a database on machines of its own,
// made highly available by PostgreSQL, and later several siltad instances
// on it (for now one: `exclusive`). The statements are SqlStore's
// (sql/sql_store.h); this file connects, applies migrations.h, and makes
// every write transaction take one transaction-scoped advisory lock first,
// so that writes from all connections are serialised in the database: the
// audit log stays one totally ordered log, whose next index each
// transaction reads and extends.
//
// Connections: one writer (the committer's and other writes') and
// `readers` for reads, each used by one thread at a time. A connection lost
// (the server restarted, a standby promoted) fails what was under way with
// UNAVAILABLE and connects again on its next use; with a multi-host
// conninfo and target_session_attrs=read-write it finds the new primary.
//
// Example:
//   absl::StatusOr<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(
//       "host=db1,db2 dbname=silta target_session_attrs=read-write", {});
#ifndef SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_
#define SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "server/store/postgres/migrations.h"
#include "server/store/postgres/pg_connection.h"
#include "server/store/sql/sql_store.h"

namespace silta::store {

struct PostgresOptions {
  // Connections for reading, besides the writer.
  int readers = 4;
  // Refuse a database another siltad is using (kInstanceLock; after
  // waiting up to 5 s for one that has just stopped to let go of it). Several
  // instances on one database need what is not built yet: each instance's
  // caches and consent index refreshed from the others' changes. Until
  // then a second instance would decide on stale state: fail closed.
  bool exclusive = true;
  // Tests only (sql/sql_store.h).
  FaultInjection fault_injection;
};

class PostgresStore final : public SqlStore {
 public:
  // The advisory lock every write transaction holds until it ends.
  static constexpr int64_t kWriteLock = 0x53494c5441;  // "SILTA"
  // The advisory lock an exclusive instance holds while it is connected.
  static constexpr int64_t kInstanceLock = 0x53494c544131;  // "SILTA1"

  // Connects with a libpq conninfo and applies pending migrations (one
  // instance at a time: they run under the write lock). UNAVAILABLE if the
  // database cannot be reached; FAILED_PRECONDITION if its schema is newer
  // than this build knows or a migration fails.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& conninfo,
                                                             const PostgresOptions& options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

 protected:
  // BEGIN, then the write lock; a transaction that need not be durable
  // commits with synchronous_commit off (acks and releases).
  absl::Status BeginLocked(bool durable) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The readers in turn.
  Reader AcquireReader() override;

 private:
  struct ReadConnection {
    absl::Mutex mu;
    std::unique_ptr<PgConnection> db;
  };
  PostgresStore(std::unique_ptr<PgConnection> writer, PostgresOptions options);
  // A new writer: connected, and holding the instance lock when exclusive.
  static absl::StatusOr<std::unique_ptr<PgConnection>> ConnectWriter(
      const std::string& conninfo, const PostgresOptions& options);

  // Filled at open, then immutable; each used with its mutex held.
  std::vector<std::unique_ptr<ReadConnection>> readers_;
  std::atomic<uint64_t> next_reader_{0};
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_
