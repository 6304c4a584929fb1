// The WAL-gathering VFS shim (server/store/sqlite/wal_gather_vfs.h): a
// commit's frames reach the file in a few writes, every commit is readable
// by another connection as soon as it returns, and a writer killed in the
// middle of a transaction loses only that transaction.
#include "server/store/sqlite/wal_gather_vfs.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace
}  // namespace silta::store
