// File: tests/testing/test_store.h
//
// The store a test runs against: SQLite, or PostgreSQL when the environment
// has SILTA_TEST_STORE=postgres. CTest runs each store contract test twice,
// once per store (tests/CMakeLists.txt, STORE_CONTRACT), so that both
// implementations keep one contract. The PostgreSQL server is a real one,
// started once per test process (postgres_server.h); each store opened gets
// a database of its own, except that opening the same file path again
// opens the same database (a reopened store sees what was written) while
// the file is there (the PostgreSQL store writes an empty one to mark it).
//
// Example:
//   auto store = OpenTestStore(":memory:", {});
//   ASSERT_TRUE(store.ok()) << store.status();
#ifndef SILTA_TESTS_TESTING_TEST_STORE_H_
#define SILTA_TESTS_TESTING_TEST_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/store/sql/sql_store.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/postgres_server.h"

namespace silta::testing {

// Whether this process tests the PostgreSQL store.
bool TestStoreIsPostgres();

// The test process's PostgreSQL server, once a store or conninfo has
// started it (nullptr before), e.g. to stop and resume it under a siltad.
PostgresServer* TestPostgresServer();

// A new, empty database on the test process's PostgreSQL server (started
// if need be); returns its conninfo.
absl::StatusOr<std::string> NewTestPostgresDatabase();

// The conninfo of the PostgreSQL database standing for `sqlite_path`
// (created if new; started the server if need be), e.g. for a siltad's
// config.
absl::StatusOr<std::string> TestPostgresConninfo(const std::string& sqlite_path);

// Opens the store under test: SQLite at `sqlite_path` (":memory:" for an
// in-memory database), or the PostgreSQL database standing for that path.
absl::StatusOr<std::unique_ptr<store::SqlStore>> OpenTestStore(const std::string& sqlite_path,
                                                               const store::SqliteOptions& options);

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_TEST_STORE_H_
