// The WAL-gathering VFS shim (server/store/sqlite/wal_gather_vfs.h): a
// commit's frames reach the file in a few writes, every commit is readable
// by another connection as soon as it returns, and a writer killed in the
// middle of a transaction loses only that transaction. A checkpoint writes
// its runs of adjacent pages in few calls, all of them in the database file
// when it ends, and one that cannot grow the file fails without recording
// anything as copied.
#include "server/store/sqlite/wal_gather_vfs.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::store {
namespace {

class Db {
 public:
  Db(const std::string& path, const char* vfs) {
    rc_ = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  }
  ~Db() { sqlite3_close_v2(db_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3* raw() const { return db_; }
  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
  }
  // The first column of the first row, as text.
  std::string One(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      return absl::StrCat("prepare failed: ", sqlite3_errmsg(db_));
    }
    std::string out;
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    } else {
      out = absl::StrCat("step failed: ", sqlite3_errmsg(db_));
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

class WalGatherVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/wal-gather-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    path_ = dir_ + "/test.db";
    ASSERT_NE(WalGatheringVfs(), nullptr);
  }
  void TearDown() override {
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
    ::rmdir(dir_.c_str());
  }

  std::string dir_, path_;
};

// A commit without an fsync (synchronous=NORMAL, as the store's acks) is
// not followed by any sync that would write what is held: its frames must
// be in the file before SQLite publishes it, or the reader reads pages that
// are not there.
TEST_F(WalGatherVfsTest, EveryCommitIsReadableByAnotherConnectionAtOnce) {
  for (const char* synchronous : {"NORMAL", "FULL"}) {
    SCOPED_TRACE(synchronous);
    TearDown();
    SetUp();
    Db writer(path_, WalGatheringVfs());
    ASSERT_TRUE(writer.ok());
    writer.Exec("PRAGMA journal_mode=WAL");
    writer.Exec(absl::StrCat("PRAGMA synchronous=", synchronous));
    writer.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    Db reader(path_, nullptr);
    ASSERT_TRUE(reader.ok());
    const WalGatherCounts before = ReadWalGatherCounts();
    for (int i = 1; i <= 100; ++i) {
      writer.Exec("BEGIN IMMEDIATE");
      for (int j = 0; j < 3; ++j) {
        writer.Exec(absl::StrCat("INSERT INTO t(body) VALUES(randomblob(", 3000 + i, "))"));
      }
      writer.Exec("COMMIT");
      ASSERT_EQ(reader.One("SELECT count(*) || '/' || sum(length(body)) FROM t"),
                absl::StrCat(3 * i, "/", 3 * (3000 * i + i * (i + 1) / 2)))
          << "after commit " << i;
    }
    const WalGatherCounts after = ReadWalGatherCounts();
    const uint64_t asked = after.writes_asked - before.writes_asked;
    const uint64_t made = after.writes_made - before.writes_made;
    // Each commit writes 4+ frames, each asked for as two writes; the shim
    // makes one write per commit (plus the checkpoints' restarts).
    EXPECT_GE(asked, 800u);
    EXPECT_LE(made, 130u) << "asked " << asked;
    EXPECT_EQ(reader.One("PRAGMA integrity_check"), "ok");
  }
}

// A transaction larger than the page cache spills frames into the WAL
// before its commit and rewrites some of them in place: writes out of order
// and reads of what was written.
TEST_F(WalGatherVfsTest, ATransactionThatSpillsAndRewritesItsFramesStaysIntact) {
  {
    Db writer(path_, WalGatheringVfs());
    ASSERT_TRUE(writer.ok());
    writer.Exec("PRAGMA journal_mode=WAL");
    writer.Exec("PRAGMA cache_size=8");
    writer.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER NOT NULL, pad BLOB NOT NULL)");
    writer.Exec("BEGIN IMMEDIATE");
    writer.Exec(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 2000) "
        "INSERT INTO t(id, n, pad) SELECT i, 0, randomblob(300) FROM k");
    for (int round = 1; round <= 5; ++round) writer.Exec("UPDATE t SET n = n + id");
    writer.Exec("COMMIT");
    Db reader(path_, nullptr);
    EXPECT_EQ(reader.One("SELECT sum(n) FROM t"), absl::StrCat(5 * 2000 * 2001 / 2));
    EXPECT_EQ(reader.One("PRAGMA integrity_check"), "ok");
    writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }
  Db reopened(path_, nullptr);
  EXPECT_EQ(reopened.One("SELECT sum(n) FROM t"), absl::StrCat(5 * 2000 * 2001 / 2));
  EXPECT_EQ(reopened.One("PRAGMA integrity_check"), "ok");
}

// SIGKILL in the middle of a transaction whose frames are partly held and
// partly written: every commit before it is there, the unfinished one is
// not, and the database is intact.
TEST_F(WalGatherVfsTest, AWriterKilledMidTransactionLosesOnlyThatTransaction) {
  {
    Db setup(path_, nullptr);
    setup.Exec("PRAGMA journal_mode=WAL");
    setup.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  }
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, WalGatheringVfs()) != SQLITE_OK)
      _exit(2);
    sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA cache_size=8", nullptr, nullptr, nullptr);
    for (int i = 0; i < 50; ++i) {
      if (sqlite3_exec(db, "INSERT INTO t(body) VALUES(randomblob(5000))", nullptr, nullptr,
                       nullptr) != SQLITE_OK)
        _exit(3);
    }
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int i = 0; i < 200; ++i) {
      sqlite3_exec(db, "INSERT INTO t(body) VALUES(randomblob(5000))", nullptr, nullptr, nullptr);
    }
    kill(getpid(), SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  Db after(path_, nullptr);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.One("SELECT count(*) FROM t"), "50");
  EXPECT_EQ(after.One("PRAGMA integrity_check"), "ok");
}

// A database whose WAL holds `rows` rows of about 3 KiB (a writer that does
// not checkpoint; the caller keeps it open, or closing it would checkpoint).
std::unique_ptr<Db> WriteWithoutCheckpoints(const std::string& path, int rows) {
  auto writer = std::make_unique<Db>(path, nullptr);
  writer->Exec("PRAGMA journal_mode=WAL");
  writer->Exec("PRAGMA wal_autocheckpoint=0");
  writer->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  for (int i = 0; i < rows; i += 50) {
    writer->Exec(
        absl::StrCat("WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 50) "
                     "INSERT INTO t(body) SELECT randomblob(3000) FROM k"));
  }
  return writer;
}

// The checkpointer's connection, as the store opens it: through the shim.
class Checkpointer {
 public:
  explicit Checkpointer(const std::string& path) : db_(path, WalGatheringVfs()) {
    db_.Exec("PRAGMA journal_mode=WAL");  // reads the database: sees the WAL
  }
  struct Result {
    int rc;         // SQLite's
    int wal_pages;  // frames in the WAL
    int copied;     // of them, copied to the database
  };
  // A PASSIVE checkpoint, as the store's.
  Result Run() {
    Result r{SQLITE_ERROR, 0, 0};
    r.rc = sqlite3_wal_checkpoint_v2(db_.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &r.wal_pages,
                                     &r.copied);
    return r;
  }

 private:
  Db db_;
};

TEST_F(WalGatherVfsTest, ACheckpointWritesItsRunsOfPagesInFewCallsAndAllOfThem) {
  const auto writer = WriteWithoutCheckpoints(path_, 2000);  // about 1 500 pages
  const std::string expected = writer->One("SELECT count(*) || '/' || sum(length(body)) FROM t");
  ASSERT_EQ(expected, absl::StrCat("2000/", 2000 * 3000));
  const WalGatherCounts before = ReadWalGatherCounts();
  {
    const Checkpointer::Result r = Checkpointer(path_).Run();
    ASSERT_EQ(r.rc, SQLITE_OK);
    EXPECT_GE(r.copied, 1400);
    EXPECT_EQ(r.copied, r.wal_pages);
  }
  const WalGatherCounts after = ReadWalGatherCounts();
  const uint64_t asked = after.checkpoint_writes_asked - before.checkpoint_writes_asked;
  const uint64_t made = after.checkpoint_writes_made - before.checkpoint_writes_made;
  // The pages are nearly all adjacent, and grow the file: one write per 16
  // of them (64 KiB), and as many of zeros before, that grow it.
  EXPECT_GE(asked, 1400u);
  EXPECT_LE(made, asked / 6) << "asked " << asked;
  // The database file alone, without its WAL, has every row.
  const std::string copy = dir_ + "/copy.db";
  std::filesystem::copy_file(path_, copy);
  {
    Db alone(copy, nullptr);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ(alone.One("SELECT count(*) || '/' || sum(length(body)) FROM t"), expected);
    EXPECT_EQ(alone.One("PRAGMA integrity_check"), "ok");
  }
  ::unlink(copy.c_str());
}

// A partial checkpoint (a reader still uses older frames) records the pages
// it copied with no call to the file after its end: what was held must be
// in the file by then, for a reader that starts next reads them there.
TEST_F(WalGatherVfsTest, APartialCheckpointLeavesNothingHeldForTheReadersThatFollow) {
  const auto writer = WriteWithoutCheckpoints(path_, 1000);
  Db old_reader(path_, nullptr);
  old_reader.Exec("BEGIN");
  ASSERT_EQ(old_reader.One("SELECT count(*) FROM t"), "1000");  // holds this snapshot
  writer->Exec("CREATE TABLE u(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  writer->Exec("INSERT INTO u(body) VALUES(randomblob(100))");
  const std::string expected = writer->One("SELECT count(*) || '/' || sum(length(body)) FROM t");
  Checkpointer checkpointer(path_);
  const Checkpointer::Result r = checkpointer.Run();
  ASSERT_EQ(r.rc, SQLITE_OK);
  ASSERT_GT(r.copied, 500);
  ASSERT_LT(r.copied, r.wal_pages);  // partial: the old reader's snapshot ends before the WAL does
  // The checkpointer stays open and idle; a new reader reads the copied
  // pages from the database file.
  Db reader(path_, nullptr);
  EXPECT_EQ(reader.One("SELECT count(*) || '/' || sum(length(body)) FROM t"), expected);
  EXPECT_EQ(reader.One("PRAGMA integrity_check"), "ok");
  old_reader.Exec("COMMIT");
}

// A checkpoint that must grow the database file on a full disk (here the
// file size limit, which fails the writes as ENOSPC would): the write SQLite
// made fails, the checkpoint fails and records nothing as copied, and the
// process goes on. Held until the checkpoint's end, the same pages would
// fail where SQLite no longer looks, and the shim would have to stop the
// process.
TEST_F(WalGatherVfsTest, ACheckpointThatCannotGrowTheFileFailsAndLosesNothing) {
  const auto writer = WriteWithoutCheckpoints(path_, 1000);
  // The file has the rows so far; the WAL has a few pages that grow it,
  // fewer than one held write (16 pages) takes.
  writer->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  writer->Exec("INSERT INTO t(body) SELECT randomblob(3000) FROM t LIMIT 8");
  const std::string expected = writer->One("SELECT count(*) || '/' || sum(length(body)) FROM t");
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{static_cast<rlim_t>(st.st_size), RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(2);
    // Its own calls, so that a failure to open is not taken for the
    // checkpoint's.
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, WalGatheringVfs()) != SQLITE_OK)
      _exit(3);
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK)
      _exit(5);
    const int rc =
        sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    _exit(rc == SQLITE_OK ? 4 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child was killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "4: the checkpoint succeeded; 1: the shim stopped it";
  Db reader(path_, nullptr);
  EXPECT_EQ(reader.One("SELECT count(*) || '/' || sum(length(body)) FROM t"), expected);
  EXPECT_EQ(reader.One("PRAGMA integrity_check"), "ok");
  // With room, the next checkpoint copies everything.
  const Checkpointer::Result r = Checkpointer(path_).Run();
  ASSERT_EQ(r.rc, SQLITE_OK);
  EXPECT_EQ(r.copied, r.wal_pages);
  EXPECT_EQ(reader.One("SELECT count(*) || '/' || sum(length(body)) FROM t"), expected);
}

}  // namespace
}  // namespace silta::store
