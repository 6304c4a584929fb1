#include "server/store/postgres/postgres_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/common/status_macros.h"

namespace silta::store {

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> writer, PostgresOptions options)
    : SqlStore(std::move(writer), std::move(options.fault_injection)) {}

PostgresStore::~PostgresStore() { StopCommitter(); }  // it calls BeginLocked

namespace {

// Takes the instance lock on `db`'s session.
absl::Status TakeInstanceLock(PgConnection& db) {
  SILTA_ASSIGN_OR_RETURN(
      sql::Statement lease,
      db.Prepare(absl::StrCat("SELECT pg_try_advisory_lock(", PostgresStore::kInstanceLock, ")")));
  SILTA_ASSIGN_OR_RETURN(const bool row, lease.Step());
  if (!row || lease.Int(0) != 1) {
    return absl::FailedPreconditionError(
        "another siltad is using this PostgreSQL database; run one siltad per database (several "
        "instances on one database are not supported yet), or point this one at a database of "
        "its own");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgConnection>> PostgresStore::ConnectWriter(
    const std::string& conninfo, const PostgresOptions& options) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, PgConnection::Connect(conninfo));
  if (!options.exclusive) return writer;
  // An instance that has just stopped may hold the lock a moment longer:
  // its server process ends after the connection closes (a restart by
  // systemd comes that fast). A running one holds it for good.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::Status locked = TakeInstanceLock(*writer);
  while (absl::IsFailedPrecondition(locked) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    locked = TakeInstanceLock(*writer);
  }
  SILTA_RETURN_IF_ERROR(locked);
  // A new session after a reconnect holds no lock: it takes it again, or
  // writes nothing.
  writer->SetOnReconnect(TakeInstanceLock);
  return writer;
}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& conninfo,
                                                                   const PostgresOptions& options) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, ConnectWriter(conninfo, options));
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
  // One round trip. If the lock (or the setting) fails after BEGIN has
  // run, the transaction is open on the server, aborted: end it.
  const absl::Status begun =
      db_->Exec(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kWriteLock, ")",
                             durable ? "" : "; SET LOCAL synchronous_commit = off"));
  if (!begun.ok()) (void)db_->Exec("ROLLBACK");
  return begun;
}

SqlStore::Reader PostgresStore::AcquireReader() {
  if (readers_.empty()) return SqlStore::AcquireReader();  // still opening
  ReadConnection& reader = *readers_[next_reader_.fetch_add(1) % readers_.size()];
  return {&reader.mu, reader.db.get()};
}

}  // namespace silta::store
