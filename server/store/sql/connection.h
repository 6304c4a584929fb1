// File: server/store/sql/connection.h
//
// The narrow database interface the store's SQL is written against: one
// connection, its prepared statements, positional parameters (`?`), and
// rows read column by column. Two drivers implement it: SQLite
// (store/sqlite/sqlite_connection.h) and PostgreSQL through libpq
// (store/postgres/pg_connection.h). The SQL itself is the part of SQL both
// speak; a driver translates only what it must (PostgreSQL's `$1` for `?`).
//
// Errors, the same for both drivers (store.h's contract):
//   ALREADY_EXISTS  a unique or primary key is taken
//   UNAVAILABLE     the database is busy, unreachable or out of space: retry
//   INTERNAL        anything else (bad SQL, corrupt data)
//
// Example:
//   SILTA_ASSIGN_OR_RETURN(sql::Statement stmt,
//                          conn->Prepare("SELECT display_name FROM orgs WHERE org_id = ?"));
//   stmt.BindText(1, org_id);
//   SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
//   if (row) name = stmt.Text(0);
//
// A connection and its statements are used by one thread at a time.
#ifndef SILTA_SERVER_STORE_SQL_CONNECTION_H_
#define SILTA_SERVER_STORE_SQL_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::store::sql {

// What a driver implements for one prepared statement. Parameters and
// columns count from 1 and 0, as in SQLite.
class StatementDriver {
 public:
  virtual ~StatementDriver() = default;
  virtual void BindText(int index, absl::string_view value) = 0;
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindBlob(int index, absl::string_view value) = 0;
  virtual absl::StatusOr<bool> Step() = 0;
  virtual void Reset() = 0;
  virtual std::string Text(int col) const = 0;
  virtual int64_t Int(int col) const = 0;
  virtual std::string Blob(int col) const = 0;
};

// A prepared statement: bind, step through its rows, reset to run it
// again. Goes back to its connection's cache when destroyed.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementDriver> driver) : driver_(std::move(driver)) {}

  void BindText(int index, absl::string_view value) { driver_->BindText(index, value); }
  void BindInt(int index, int64_t value) { driver_->BindInt(index, value); }
  void BindBlob(int index, absl::string_view value) { driver_->BindBlob(index, value); }

  // Runs the statement on the first call; true while a row is available,
  // then false.
  absl::StatusOr<bool> Step() { return driver_->Step(); }
  // Ready to run again, with no parameters bound.
  void Reset() { driver_->Reset(); }
  // Runs a statement that returns no rows.
  absl::Status Run() {
    absl::StatusOr<bool> row = Step();
    return row.ok() ? absl::OkStatus() : row.status();
  }

  // The current row's columns (NULL reads as empty or 0).
  std::string Text(int col) const { return driver_->Text(col); }
  int64_t Int(int col) const { return driver_->Int(col); }
  std::string Blob(int col) const { return driver_->Blob(col); }

 private:
  std::unique_ptr<StatementDriver> driver_;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // A statement for `sql` (one statement), from the connection's cache of
  // prepared statements when it has one.
  virtual absl::StatusOr<Statement> Prepare(absl::string_view sql) = 0;
  // Runs SQL that returns no rows; several statements separated by `;`
  // run in order (a migration).
  virtual absl::Status Exec(absl::string_view sql) = 0;
  // Rows inserted, updated or deleted by the last statement run.
  virtual int64_t Changes() const = 0;
};

}  // namespace silta::store::sql

#endif  // SILTA_SERVER_STORE_SQL_CONNECTION_H_
