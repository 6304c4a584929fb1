// File: server/store/postgres/migrations.h
//
// The versioned schema of the PostgreSQL store (Migration:
// sql/sql_store.h): the same tables and columns as the SQLite store's
// schema at its latest version, so that SqlStore's statements run on both.
// Never edit a released migration: add a new one.
#ifndef SILTA_SERVER_STORE_POSTGRES_MIGRATIONS_H_
#define SILTA_SERVER_STORE_POSTGRES_MIGRATIONS_H_

#include <vector>

#include "server/store/sql/sql_store.h"

namespace silta::store {

// The migrations of this build, in version order.
const std::vector<Migration>& PostgresMigrations();

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_POSTGRES_MIGRATIONS_H_
