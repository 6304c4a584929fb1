#include "server/store/postgres/postgres_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"

namespace silta::store {

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> writer, PostgresOptions options)
    : SqlStore(std::move(writer), options.fault_injection), options_(std::move(options)) {}

PostgresStore::~PostgresStore() { StopCommitter(); }  // it calls BeginLocked

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& conninfo,
                                                                   const PostgresOptions& options) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, PgConnection::Connect(conninfo));
  auto store = std::unique_ptr<PostgresStore>(new PostgresStore(std::move(writer), options));
  absl::Status migrated = store->Migrate(PostgresMigrations(), R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version       BIGINT PRIMARY KEY,
  description   TEXT NOT NULL,
  applied_at_us BIGINT NOT NULL
))sql");
  if (!migrated.ok()) {
    if (absl::IsUnavailable(migrated)) return migrated;
    return absl::FailedPreconditionError(absl::StrCat("database: ", migrated.message()));
  }
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto reader = std::make_unique<ReadConnection>();
    SILTA_ASSIGN_OR_RETURN(reader->db, PgConnection::Connect(conninfo));
    store->readers_.push_back(std::move(reader));
  }
  store->StartCommitter();
  return store;
}

absl::Status PostgresStore::BeginLocked(bool durable) {
  return db_->Exec(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kWriteLock, ")",
                                durable ? "" : "; SET LOCAL synchronous_commit = off"));
}

SqlStore::Reader PostgresStore::AcquireReader() {
  if (readers_.empty()) return SqlStore::AcquireReader();  // still opening
  ReadConnection& reader = *readers_[next_reader_.fetch_add(1) % readers_.size()];
  return {&reader.mu, reader.db.get()};
}

}  // namespace silta::store
