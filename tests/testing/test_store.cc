#include "tests/testing/test_store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/store/postgres/postgres_store.h"
#include "tests/testing/postgres_server.h"

namespace silta::testing {

bool TestStoreIsPostgres() {
  const char* store = std::getenv("SILTA_TEST_STORE");
  return store != nullptr && std::string(store) == "postgres";
}

namespace {

absl::Mutex mu(absl::kConstInit);
// Stopped and removed when the process exits.
std::unique_ptr<PostgresServer> server ABSL_GUARDED_BY(mu);
int created ABSL_GUARDED_BY(mu) = 0;

// A new database on the process's server, started if need be.
absl::StatusOr<std::string> NewDatabaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
  if (server == nullptr) {
    absl::StatusOr<std::unique_ptr<PostgresServer>> started =
        PostgresServer::Start(absl::StrCat("store-", ::getpid()));
    if (!started.ok()) return started.status();
    server = *std::move(started);
  }
  return server->CreateDatabase(absl::StrCat("store_", ++created));
}

}  // namespace

absl::StatusOr<std::string> NewTestPostgresDatabase() {
  absl::MutexLock lock(&mu);
  return NewDatabaseLocked();
}

PostgresServer* TestPostgresServer() {
  absl::MutexLock lock(&mu);
  return server.get();
}

absl::StatusOr<std::string> TestPostgresConninfo(const std::string& sqlite_path) {
  static std::map<std::string, std::string> databases;  // sqlite path → conninfo
  absl::MutexLock lock(&mu);
  // A path is a new database unless its file is there: a test that
  // removes its directory starts again from nothing, as with SQLite. The
  // file marks the database as made.
  auto it = databases.find(sqlite_path);
  if (it == databases.end() || sqlite_path == ":memory:" || !std::filesystem::exists(sqlite_path)) {
    absl::StatusOr<std::string> made = NewDatabaseLocked();
    if (!made.ok()) return made.status();
    it = databases.insert_or_assign(sqlite_path, *made).first;
    if (sqlite_path != ":memory:") std::ofstream(sqlite_path).put('\n');
  }
  return it->second;
}

absl::StatusOr<std::unique_ptr<store::SqlStore>> OpenTestStore(
    const std::string& sqlite_path, const store::SqliteOptions& options) {
  if (!TestStoreIsPostgres()) {
    absl::StatusOr<std::unique_ptr<store::SqliteStore>> sqlite =
        store::SqliteStore::Open(sqlite_path, options);
    if (!sqlite.ok()) return sqlite.status();
    return std::unique_ptr<store::SqlStore>(*std::move(sqlite));
  }
  absl::StatusOr<std::string> conninfo = TestPostgresConninfo(sqlite_path);
  if (!conninfo.ok()) return conninfo.status();
  store::PostgresOptions pg;
  pg.readers = 2;
  pg.fault_injection = options.fault_injection;
  absl::StatusOr<std::unique_ptr<store::PostgresStore>> opened =
      store::PostgresStore::Open(*conninfo, pg);
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<store::SqlStore>(*std::move(opened));
}

}  // namespace silta::testing
