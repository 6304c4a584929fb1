// File: server/store/sqlite/sqlite_store.h
//
// The embedded SQLite implementation of Store: one database file, WAL
// journal, synchronous=FULL (every commit is fsynced), a busy timeout, and
// the versioned migrations of migrations.h applied at open.
//
// Example:
//   absl::StatusOr<std::unique_ptr<SqliteStore>> store =
//       SqliteStore::Open("/var/lib/silta/silta.db", {});
//   if (!store.ok()) return store.status();
//
// Thread-safe: one connection, serialised by a mutex.
#ifndef SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_
#define SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/store/sqlite/migrations.h"
#include "server/store/store.h"

struct sqlite3;

namespace silta::store {

struct SqliteOptions {
  // Milliseconds to wait for a lock held by another connection.
  int busy_timeout_ms = 5000;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database at `path` (":memory:" for an
  // in-memory database), sets the pragmas and applies pending migrations.
  // FAILED_PRECONDITION if the database has a schema newer than this build
  // knows, or a migration fails (nothing of that migration is applied);
  // UNAVAILABLE if the file cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const std::string& path, const SqliteOptions& options);

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

  absl::StatusOr<int> SchemaVersion() override;
  absl::Status InsertOrg(const v1::Organization& org) override;
  absl::Status UpdateOrg(const v1::Organization& org) override;
  absl::StatusOr<std::optional<v1::Organization>> GetOrg(
      absl::string_view org_id) override;
  absl::StatusOr<std::vector<v1::Organization>> ListOrgs() override;

 private:
  explicit SqliteStore(sqlite3* db);
  absl::Status Migrate(const std::vector<Migration>& migrations);
  absl::StatusOr<int> SchemaVersionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_SQLITE_STORE_H_
