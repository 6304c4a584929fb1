#include "server/store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "server/common/logging.h"
#include "server/common/thread_name.h"
#include "server/store/sqlite/wal_gather_vfs.h"

namespace silta::store {

SqliteStore::SqliteStore(std::unique_ptr<SqliteConnection> writer, sqlite3* writer_raw,
                         SqliteOptions options)
    : SqlStore(std::move(writer), options.fault_injection),
      options_(std::move(options)),
      writer_raw_(writer_raw) {}

SqliteStore::~SqliteStore() {
  StopCommitter();  // it calls BeginLocked and EndedLocked
  StopCheckpointer();
  absl::MutexLock read_lock(&read_mu_);
  reader_.reset();
}

SqlStore::Reader SqliteStore::AcquireReader() {
  if (reader_ == nullptr) return SqlStore::AcquireReader();
  return {&read_mu_, reader_.get()};
}

absl::Status SqliteStore::BeginLocked(bool durable) {
  if (!durable) SILTA_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous=NORMAL"));
  absl::Status begun = db_->Exec("BEGIN IMMEDIATE");
  if (!begun.ok() && !durable) (void)db_->Exec("PRAGMA synchronous=FULL");
  return begun;
}

absl::Status SqliteStore::EndedLocked(bool durable, bool /*committed*/) {
  return durable ? absl::OkStatus() : db_->Exec("PRAGMA synchronous=FULL");
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                               const SqliteOptions& options) {
  return OpenWithMigrationsForTest(path, options, SqliteMigrations());
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::OpenWithMigrationsForTest(
    const std::string& path, const SqliteOptions& options,
    const std::vector<Migration>& migrations) {
  // The database and its -wal and -shm files are created owner-only, and
  // files of an older install are made so.
  const mode_t old_mask = ::umask(077);
  absl::Cleanup restore_mask = [old_mask] { ::umask(old_mask); };
  // The writer hands each commit's WAL frames to the kernel in a few writes
  // (wal_gather_vfs.h); the readers and the checkpointer only read the WAL.
  absl::StatusOr<std::unique_ptr<SqliteConnection>> writer = SqliteConnection::Open(
      path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options.busy_timeout_ms, WalGatheringVfs());
  if (path != ":memory:") {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      const std::string file = path + suffix;
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) ::chmod(file.c_str(), 0600);
    }
  }
  if (!writer.ok()) {
    return absl::UnavailableError(absl::StrCat(
        writer.status().message(), "; check that the directory exists and is writable by siltad"));
  }
  sqlite3* const raw = (*writer)->raw();
  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(*std::move(writer), raw, options));
  {
    absl::MutexLock lock(&store->mu_);
    sql::Connection* const db = store->db_;
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
    // A purged body (ciphertext) and purged audit entries are overwritten
    // with zeros, not left readable in free pages of the file. Debian's
    // SQLite has this on by default; the promise does not rest on a build
    // option.
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA secure_delete=ON"));
    // Statement journals and temporary tables stay in memory. A group
    // commit runs each write in a savepoint whose journal (the pages' prior
    // content: ciphertext, audit entries) outgrows SQLite's in-memory limit
    // and went to a file in /var/tmp on every commit: unlinked at once, but
    // written, outside secure_delete's reach, and a third of the commit's
    // system calls.
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA temp_store=MEMORY"));
    // The writer's page cache: 8 MiB, not SQLite's 2 MiB. With 2 MiB the
    // committer read about 3 pages a message back from the files (4 700
    // `pread`s a second at 64 senders, 30 a second with 8 MiB; 16 MiB saves
    // nothing more). RSS with 100k deliveries pending: 240 MiB, from 232.
    SILTA_RETURN_IF_ERROR(db->Exec("PRAGMA cache_size=-8192"));
  }
  absl::Status migrated = store->Migrate(migrations, R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version       INTEGER PRIMARY KEY NOT NULL,
  description   TEXT NOT NULL,
  applied_at_us INTEGER NOT NULL
) STRICT)sql");
  if (!migrated.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("database ", path, ": ", migrated.message()));
  }
  if (path != ":memory:") {
    absl::StatusOr<std::unique_ptr<SqliteConnection>> reader =
        SqliteConnection::Open(path, SQLITE_OPEN_READONLY, options.busy_timeout_ms);
    if (!reader.ok()) {
      return absl::UnavailableError(absl::StrCat("cannot open database ", path, " for reading"));
    }
    // Hot reads (audit proofs, cases) walk B-trees at random: keep their
    // pages in a larger cache. Not through a memory map: while the writer
    // grows the file, every read transaction would remap it (munmap and a
    // TLB shootdown on every core, 5% of siltad's time under load).
    (void)(*reader)->Exec("PRAGMA cache_size=-65536");  // 64 MiB
    // A sort's temporary B-tree (audit entries) stays in memory too.
    SILTA_RETURN_IF_ERROR((*reader)->Exec("PRAGMA temp_store=MEMORY"));
    store->reader_ = *std::move(reader);  // closed with the store from here on
    // Through the shim, which writes a checkpoint's runs of adjacent pages
    // in one call each (wal_gather_vfs.h).
    absl::StatusOr<std::unique_ptr<SqliteConnection>> checkpointer = SqliteConnection::Open(
        path, SQLITE_OPEN_READWRITE, options.busy_timeout_ms, WalGatheringVfs());
    if (!checkpointer.ok()) {
      return absl::UnavailableError(
          absl::StrCat("cannot open database ", path, " for checkpoints"));
    }
    // Opened, the connection has not seen the WAL yet: until it reads the
    // database, a checkpoint on it does nothing.
    SILTA_RETURN_IF_ERROR((*checkpointer)->Exec("PRAGMA journal_mode=WAL"));
    store->StartCheckpointer(*std::move(checkpointer));
  }
  store->StartCommitter(options.committer_nice);
  return store;
}

absl::StatusOr<std::string> SqliteStore::PragmaForTest(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(sql::Statement stmt, db_->Prepare(absl::StrCat("PRAGMA ", name)));
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("pragma ", name, " returned nothing"));
  return stmt.Text(0);
}

void SqliteStore::StartCheckpointer(std::unique_ptr<SqliteConnection> db) {
  checkpoint_db_ = std::move(db);
  {
    absl::MutexLock lock(&mu_);
    // Replaces SQLite's automatic checkpoint on the writer (a WAL hook too).
    sqlite3_wal_hook(writer_raw_, &SqliteStore::OnWalCommit, this);
  }
  checkpointer_ = std::thread([this] {
    common::NameThisThread("silta-checkpt");
    CheckpointLoop();
  });
}

int SqliteStore::OnWalCommit(void* store, sqlite3*, const char*, int pages) {
  if (pages >= kCheckpointPages) {
    auto* self = static_cast<SqliteStore*>(store);
    absl::MutexLock lock(&self->checkpoint_mu_);
    self->checkpoint_wanted_ = true;
  }
  return SQLITE_OK;
}

void SqliteStore::CheckpointLoop() {
  while (true) {
    {
      absl::MutexLock lock(&checkpoint_mu_);
      checkpoint_mu_.Await(absl::Condition(
          +[](SqliteStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->checkpoint_mu_) {
            return s->checkpoint_wanted_ || s->checkpoint_stopping_;
          },
          this));
      if (checkpoint_stopping_) return;
      checkpoint_wanted_ = false;
    }
    int wal_pages = 0, copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(checkpoint_db_->raw(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // The WAL keeps the data; the next commit over the limit asks again.
      common::Log(common::LogLevel::kWarn, "wal_checkpoint_failed",
                  {{"error", sqlite3_errmsg(checkpoint_db_->raw())}});
    }
  }
}

void SqliteStore::StopCheckpointer() {
  if (!checkpointer_.joinable()) return;
  {
    absl::MutexLock lock(&checkpoint_mu_);
    checkpoint_stopping_ = true;
  }
  checkpointer_.join();
  checkpoint_db_.reset();
}

}  // namespace silta::store
