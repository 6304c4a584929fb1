// File: server/store/sqlite/sqlite_connection.h
//
// The SQLite driver of sql::Connection: one sqlite3 connection and its
// cache of prepared statements. Parsing is most of the cost of a small
// statement, and the message path runs the same few hundred times a
// second, so statements are kept and reused; a statement in use is out of
// the cache, so a nested use of the same SQL prepares its own.
//
// Example:
//   SILTA_ASSIGN_OR_RETURN(std::unique_ptr<SqliteConnection> db,
//                          SqliteConnection::Open(path, SQLITE_OPEN_READONLY, 5000));
//   SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
#ifndef SILTA_SERVER_STORE_SQLITE_SQLITE_CONNECTION_H_
#define SILTA_SERVER_STORE_SQLITE_SQLITE_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/store/sql/connection.h"

struct sqlite3;
struct sqlite3_stmt;

namespace silta::store {

// SQLite's process-wide settings, applied once, before its first use
// (Open and WalGatheringVfs call it). Without memory statistics, which
// nothing here reads: with them every allocation and free inside SQLite
// takes a process-wide mutex and counts (a fifth of those calls' cost,
// which was 3.8% of siltad's CPU at 64 senders). False if SQLite was
// already in use, and they could not be set.
bool ConfigureSqlite();

class SqliteConnection final : public sql::Connection {
 public:
  // At most this many distinct SQL texts are kept prepared.
  static constexpr size_t kMaxTexts = 512;

  // Opens `path` with sqlite3_open_v2's `flags` (SQLITE_OPEN_NOMUTEX is
  // added: the caller serialises use) through the VFS named `vfs` (nullptr:
  // the default). UNAVAILABLE if it cannot be opened.
  static absl::StatusOr<std::unique_ptr<SqliteConnection>> Open(const std::string& path, int flags,
                                                                int busy_timeout_ms,
                                                                const char* vfs = nullptr);
  // Finalizes the kept statements and closes the connection.
  ~SqliteConnection() override;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  absl::StatusOr<sql::Statement> Prepare(absl::string_view sql) override;
  absl::Status Exec(absl::string_view sql) override;
  int64_t Changes() const override;

  // The connection itself, for what only SQLite has (the WAL hook,
  // checkpoints).
  sqlite3* raw() const { return db_; }

 private:
  class Driver;
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  // A kept statement for `sql`, or nullptr.
  sqlite3_stmt* Take(absl::string_view sql);
  // Keeps a statement after use (finalizes it if the cache is full).
  void Give(sqlite3_stmt* stmt);

  sqlite3* const db_;
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::string, std::vector<sqlite3_stmt*>> free_ ABSL_GUARDED_BY(cache_mu_);
};

// An SQLite result code as a Status (sql/connection.h's codes).
absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what);

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_SQLITE_CONNECTION_H_
