// File: server/store/sqlite/migrations.h
//
// The versioned schema of the SQLite store (Migration: sql/sql_store.h).
// Never edit a released migration: add a new one.
#ifndef SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_
#define SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_

#include <vector>

#include "server/store/sql/sql_store.h"

namespace silta::store {

// The migrations of this build, in version order.
const std::vector<Migration>& SqliteMigrations();

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQLITE_MIGRATIONS_H_
