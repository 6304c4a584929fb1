// File: server/store/sqlite/migrations.h
//
// The versioned schema of the SQLite store. Each migration runs once, in its
// own transaction, in version order, at start-up; the applied versions are
// recorded in the table schema_migrations. Never edit a released migration:
// add a new one.
#ifndef SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_
#define SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace silta::store {

// One schema step.
struct Migration {
  int version;                   // 1, 2, 3, ... without gaps
  absl::string_view description;  // what it does, for the migrations table
  absl::string_view sql;          // one or more statements
};

// The migrations of this build, in version order.
const std::vector<Migration>& SqliteMigrations();

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_
