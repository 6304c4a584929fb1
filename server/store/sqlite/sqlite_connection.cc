#include "server/store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"

namespace silta::store {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string msg =
      absl::StrCat("sqlite: ", what, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(msg);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// One prepared statement, taken from its connection's cache and given back
// when destroyed.
class SqliteConnection::Driver final : public sql::StatementDriver {
 public:
  Driver(SqliteConnection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  ~Driver() override { conn_->Give(stmt_); }

  void BindText(int index, absl::string_view value) override {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  void BindInt(int index, int64_t value) override { sqlite3_bind_int64(stmt_, index, value); }
  void BindBlob(int index, absl::string_view value) override {
    sqlite3_bind_blob(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  absl::StatusOr<bool> Step() override {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(conn_->db_, rc, "step");
  }
  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string Text(int col) const override {
    const unsigned char* text = sqlite3_column_text(stmt_, col);
    const int len = sqlite3_column_bytes(stmt_, col);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text), len);
  }
  int64_t Int(int col) const override { return sqlite3_column_int64(stmt_, col); }
  std::string Blob(int col) const override {
    const void* data = sqlite3_column_blob(stmt_, col);
    const int len = sqlite3_column_bytes(stmt_, col);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), len);
  }

 private:
  SqliteConnection* const conn_;
  sqlite3_stmt* const stmt_;
};

bool ConfigureSqlite() {
  static const bool configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  return configured;
}

absl::StatusOr<std::unique_ptr<SqliteConnection>> SqliteConnection::Open(const std::string& path,
                                                                         int flags,
                                                                         int busy_timeout_ms,
                                                                         const char* vfs) {
  ConfigureSqlite();
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    absl::Status status = absl::UnavailableError(absl::StrCat(
        "cannot open database ", path, ": ", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return std::unique_ptr<SqliteConnection>(new SqliteConnection(db));
}

SqliteConnection::~SqliteConnection() {
  {
    absl::MutexLock lock(&cache_mu_);
    for (auto& [sql, stmts] : free_) {
      for (sqlite3_stmt* stmt : stmts) sqlite3_finalize(stmt);
    }
    free_.clear();
  }
  sqlite3_close_v2(db_);
}

sqlite3_stmt* SqliteConnection::Take(absl::string_view sql) {
  absl::MutexLock lock(&cache_mu_);
  auto it = free_.find(sql);
  if (it == free_.end() || it->second.empty()) return nullptr;
  sqlite3_stmt* stmt = it->second.back();
  it->second.pop_back();
  return stmt;
}

void SqliteConnection::Give(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  absl::MutexLock lock(&cache_mu_);
  const char* sql = sqlite3_sql(stmt);
  auto it = free_.find(sql);
  if (it == free_.end()) {
    if (free_.size() >= kMaxTexts) {
      sqlite3_finalize(stmt);
      return;
    }
    it = free_.emplace(sql, std::vector<sqlite3_stmt*>()).first;
  }
  it->second.push_back(stmt);
}

absl::StatusOr<sql::Statement> SqliteConnection::Prepare(absl::string_view sql) {
  sqlite3_stmt* stmt = Take(sql);
  if (stmt == nullptr) {
    const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare");
  }
  return sql::Statement(std::make_unique<Driver>(this, stmt));
}

absl::Status SqliteConnection::Exec(absl::string_view sql) {
  if (!absl::StrContains(sql, ';')) {  // one statement: prepared once, from the cache
    SILTA_ASSIGN_OR_RETURN(sql::Statement stmt, Prepare(sql));
    while (true) {
      SILTA_ASSIGN_OR_RETURN(const bool row, stmt.Step());
      if (!row) return absl::OkStatus();
    }
  }
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
  absl::Cleanup free_err = [err] { sqlite3_free(err); };
  if (rc != SQLITE_OK) {
    return SqliteError(db_, rc, absl::StrCat("exec (", err ? err : "", ")"));
  }
  return absl::OkStatus();
}

int64_t SqliteConnection::Changes() const { return sqlite3_changes64(db_); }

}  // namespace silta::store
