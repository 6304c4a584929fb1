// File: server/store/sqlite/sqlite_store.h
//
// The embedded SQLite store: one database file, WAL journal,
// synchronous=FULL (every commit is fsynced), a busy timeout, and the
// versioned migrations of migrations.h applied at open. The statements are
// SqlStore's (sql/sql_store.h); this file opens the connections and does
// what only SQLite needs: its pragmas, a read-only connection beside the
// writer, and WAL checkpoints on a thread of their own.
//
// Example:
//   absl::StatusOr<std::unique_ptr<SqliteStore>> store =
//       SqliteStore::Open("/var/lib/silta/silta.db", {});
//   if (!store.ok()) return store.status();
#ifndef SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_
#define SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/store/sql/sql_store.h"
#include "server/store/sqlite/migrations.h"
#include "server/store/sqlite/sqlite_connection.h"

struct sqlite3;

namespace silta::store {

struct SqliteOptions {
  // Milliseconds to wait for a lock held by another connection.
  int busy_timeout_ms = 5000;
  // The committer thread's nice value; none: the process's (SqlStore::StartCommitter).
  std::optional<int> committer_nice;
  // Tests only (sql/sql_store.h).
  FaultInjection fault_injection;
};

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for an
  // in-memory database), sets the pragmas and applies pending migrations.
  // FAILED_PRECONDITION if the database has a schema newer than this build
  // knows, or a migration fails (nothing of that migration is applied);
  // UNAVAILABLE if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                           const SqliteOptions& options);

  // As Open, with a different migration list (tests of the migration runner).
  static absl::StatusOr<std::unique_ptr<SqliteStore>> OpenWithMigrationsForTest(
      const std::string& path, const SqliteOptions& options,
      const std::vector<Migration>& migrations);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The value of a pragma as text, e.g. "journal_mode" → "wal" (for tests and
  // `siltactl doctor`).
  absl::StatusOr<std::string> PragmaForTest(absl::string_view name);

 protected:
  // BEGIN IMMEDIATE: the write lock from the start. A transaction that
  // need not be durable commits with synchronous=NORMAL (the WAL is
  // fsynced at the next durable commit or checkpoint).
  absl::Status BeginLocked(bool durable) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndedLocked(bool durable, bool committed) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The read-only connection when there is one (WAL readers do not wait for
  // the writer's commits and fsyncs), else the writer (":memory:"
  // databases cannot share one between connections).
  Reader AcquireReader() override;

 private:
  SqliteStore(std::unique_ptr<SqliteConnection> writer, sqlite3* writer_raw, SqliteOptions options);

  // Checkpoints of the WAL into the database file run on a thread of their
  // own, on a connection of their own (PASSIVE: writers go on meanwhile),
  // once a commit leaves kCheckpointPages or more in the WAL; SQLite's
  // automatic checkpoint would run them inside the committer's commit,
  // about every tenth commit under load (copying ~4 MiB and an fsync of the
  // database file), in the path of every Send waiting on that commit.
  // 4000 pages (16 MiB of WAL) rather than 1000: the pages a message path
  // rewrites most (the tails of the log, its index and the deliveries) are
  // copied once per checkpoint, so fewer checkpoints copy fewer pages a
  // message (session 20: siltad's CPU per message 3-13% lower at 16
  // senders, the half-load Send p99 no worse; docs/message-path-log.md).
  static constexpr int kCheckpointPages = 4000;
  void StartCheckpointer(std::unique_ptr<SqliteConnection> db);
  void CheckpointLoop();
  void StopCheckpointer();
  static int OnWalCommit(void* store, sqlite3* db, const char* name, int pages);

  const SqliteOptions options_;
  sqlite3* const writer_raw_;  // for the WAL hook
  absl::Mutex read_mu_;
  // The read-only connection, set once at open, then immutable (none for
  // ":memory:"); used with read_mu_ held.
  std::unique_ptr<SqliteConnection> reader_;
  absl::Mutex checkpoint_mu_;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  bool checkpoint_stopping_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  // Set at open; used by the checkpointer thread only.
  std::unique_ptr<SqliteConnection> checkpoint_db_;
  std::thread checkpointer_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_
