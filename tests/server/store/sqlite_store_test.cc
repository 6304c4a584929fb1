#include "server/store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/sql/audit_postings.h"
#include "server/store/sql/committer_priority.h"
#include "server/store/sqlite/sqlite_connection.h"
#include "tests/testing/audit_batch.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_rows.h"

namespace silta::store {
namespace {

using ::silta::testing::Audit;
using ::silta::testing::FirstDelivery;
using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::MakeMessage;
using ::silta::testing::MakeOrg;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

std::string TempDbPath(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("sqlite_store_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / name;
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
  return path.string();
}

TEST(SqliteStoreTest, FreshDatabaseIsAtLatestSchemaWithWalAndFullSync) {
  auto store = SqliteStore::Open(TempDbPath("fresh.db"), {});
  ASSERT_THAT(store, IsOk());

  EXPECT_THAT((*store)->SchemaVersion(), IsOkAndHolds(SqliteMigrations().back().version));
  EXPECT_THAT((*store)->PragmaForTest("journal_mode"), IsOkAndHolds("wal"));
  EXPECT_THAT((*store)->PragmaForTest("synchronous"), IsOkAndHolds("2"));  // FULL
  EXPECT_THAT((*store)->PragmaForTest("busy_timeout"), IsOkAndHolds("5000"));
  // Statement journals (prior page content) never go to a file in /var/tmp.
  EXPECT_THAT((*store)->PragmaForTest("temp_store"), IsOkAndHolds("2"));  // MEMORY
  // The committer's pages stay in memory (8 MiB, not SQLite's 2 MiB).
  EXPECT_THAT((*store)->PragmaForTest("cache_size"), IsOkAndHolds("-8192"));
}

// SQLite keeps no memory statistics: each of its allocations and frees
// would take a process-wide mutex for them (ConfigureSqlite).
TEST(SqliteStoreTest, SqliteCountsNoMemoryForStatistics) {
  auto store = SqliteStore::Open(TempDbPath("memstatus.db"), {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertMessage(MakeMessage("m-1"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  EXPECT_TRUE(ConfigureSqlite()) << "SQLite was in use before a store was opened";
  EXPECT_EQ(sqlite3_memory_used(), 0);
}

// Given a nice value, the committer runs at it while writes queue up for
// it, and at its own while it keeps up; the thread that opened the store
// keeps its own (a nice value is per thread on Linux). The fault-injection
// hook runs on the committer inside each write, so it reads the
// committer's nice value as each batch commits. A nice value below the
// process's needs CAP_SYS_NICE (CI runs as root) or a RLIMIT_NICE.
TEST(SqliteStoreTest, TheCommitterRunsAtItsNiceWhileWritesQueueForIt) {
  const int mine = getpriority(PRIO_PROCESS, 0);
  const int given = std::max(mine - 5, -20);
  if (given == mine || setpriority(PRIO_PROCESS, 0, given) != 0) {
    GTEST_SKIP() << "may not lower a nice value here (not root, no RLIMIT_NICE)";
  }
  ASSERT_EQ(setpriority(PRIO_PROCESS, 0, mine), 0);
  absl::Mutex mu;
  std::vector<int> seen;  // the committer's nice value in each write
  absl::Notification queued;
  SqliteOptions options;
  options.committer_nice = given;
  options.fault_injection = [&](absl::string_view point) {
    if (point != "after_state_change") return absl::OkStatus();
    bool first = false;
    {
      absl::MutexLock lock(&mu);
      seen.push_back(getpriority(PRIO_PROCESS, 0));
      first = seen.size() == 1;
    }
    // Holds the first batch while the next queues behind it.
    if (first) queued.WaitForNotification();
    return absl::OkStatus();
  };
  auto store = SqliteStore::Open(TempDbPath("nice.db"), options);
  ASSERT_THAT(store, IsOk());
  constexpr int kQueued = 2 * CommitterPriority::kRaiseAt;
  std::atomic<int> done{0};
  auto insert = [&](int i) {
    (*store)->InsertMessageAsync(
        std::make_shared<const MessageRecord>(MakeMessage(absl::StrCat("m-", i))), "",
        *Audit(v1::MESSAGE_ACCEPTED),
        [&](absl::Status status, AuditEntries) {
          EXPECT_THAT(status, IsOk());
          ++done;
        },
        std::nullopt);
  };
  insert(0);
  // Until the committer holds the first.
  mu.LockWhen(absl::Condition(
      +[](std::vector<int>* v) { return !v->empty(); }, &seen));
  mu.Unlock();
  for (int i = 1; i <= kQueued; ++i) insert(i);
  queued.Notify();
  while (done.load() < kQueued + 1) absl::SleepFor(absl::Milliseconds(1));
  // Alone in its batch: the committer keeps up again.
  ASSERT_THAT((*store)->InsertMessage(MakeMessage("m-last"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());

  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), kQueued + 2u);
  EXPECT_EQ(seen.front(), mine) << "a batch of one";
  for (int i = 1; i <= kQueued; ++i) EXPECT_EQ(seen[i], given) << "write " << i << " of a queue";
  EXPECT_EQ(seen.back(), mine) << "a batch of one again";
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), mine);
}

// While writes come, one that may linger (an ack no one waits for) does
// not wake the committer: it waits up to the linger for one that cannot.
// At light load a message's acks arrive just before the next Send, and
// each woke the committer only for it to wait again. A wake-up shows as
// one more sleep of the committer's thread; the linger's own end is one
// too, so an attempt counts only if it ended well within the linger.
TEST(SqliteStoreTest, AnAckDoesNotWakeTheCommitterThatAwaitsTheNextSend) {
  auto store = SqliteStore::Open(TempDbPath("no-wake.db"), {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertOrg(MakeOrg("asenne-ry"), Audit()), IsOk());
  // The committer's thread names itself when it starts, which under load
  // can be after the write above (not one of the committer's) returned.
  const std::optional<pid_t> committer =
      ::silta::testing::AwaitThreadNamed(getpid(), "silta-committer", absl::Seconds(10));
  ASSERT_TRUE(committer.has_value());
  // Until one attempt ends within the linger without a wake-up (before,
  // every one had one).
  constexpr int kAttempts = 50;
  int clean = 0, woken = 0;
  for (int i = 0; i < kAttempts && clean == 0; ++i) {
    const MessageRecord m = MakeMessage(absl::StrCat("m-", i));
    ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
    DeliveryRecord d = FirstDelivery(m, v1::DELIVERED);
    // A commit: the committer now waits for the next write.
    ASSERT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_DELIVERED)), IsOk());
    while (::silta::testing::ThreadAsleep(getpid(), *committer) != true) {
      absl::SleepFor(absl::Microseconds(50));
    }
    const absl::Time start = absl::Now();
    const std::optional<int64_t> before = ::silta::testing::ThreadSleeps(getpid(), *committer);
    absl::Notification acked;
    d.state = v1::ACKED;
    (*store)->UpdateDeliveriesAsync(
        {d}, *Audit(v1::MESSAGE_ACKED),
        [&](absl::Status status, AuditEntries) {
          EXPECT_THAT(status, IsOk());
          acked.Notify();
        },
        std::nullopt);
    absl::SleepFor(absl::Milliseconds(1));
    const std::optional<int64_t> after = ::silta::testing::ThreadSleeps(getpid(), *committer);
    const bool within = absl::Now() - start < SqliteStore::kLinger / 2;
    ASSERT_TRUE(before.has_value() && after.has_value());
    if (within) ++(*after == *before ? clean : woken);
    // The next Send takes the ack along, if the linger has not ended.
    ASSERT_THAT(
        (*store)->InsertMessage(MakeMessage(absl::StrCat("next-", i)), Audit(v1::MESSAGE_ACCEPTED)),
        IsOk());
    acked.WaitForNotification();
  }
  EXPECT_GT(clean, 0) << woken
                      << " attempts woke the committer (of those that ended within the "
                         "linger)";
}

// The answers of one batch go out in the order that shortens the wait of
// whoever waits: a Send's receipt, then the acks that rode its commit,
// then the deliveries its completion handed on (AfterTheAnswers). At light
// load a Send's commit carries the acks of the message before, which were
// queued first and answered first: the receipt waited behind three
// answers.
TEST(SqliteStoreTest, ABatchAnswersTheSendBeforeTheAcksAndDeliversLast) {
  absl::Mutex mu;
  bool armed = false, holding = false;
  std::vector<std::string> order;
  absl::Notification queued;
  SqliteOptions options;
  options.fault_injection = [&](absl::string_view point) {
    if (point != "after_state_change") return absl::OkStatus();
    {
      absl::MutexLock lock(&mu);
      if (!armed || holding) return absl::OkStatus();
      holding = true;
    }
    // Holds this batch while the next queues behind it.
    queued.WaitForNotification();
    return absl::OkStatus();
  };
  auto store = SqliteStore::Open(TempDbPath("answers.db"), options);
  ASSERT_THAT(store, IsOk());
  const MessageRecord before = MakeMessage("m-before");
  ASSERT_THAT((*store)->InsertMessage(before, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  DeliveryRecord d = FirstDelivery(before, v1::DELIVERED);
  ASSERT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_DELIVERED)), IsOk());

  std::atomic<int> done{0};
  const auto insert = [&](const std::string& id, bool record) {
    (*store)->InsertMessageAsync(
        std::make_shared<const MessageRecord>(MakeMessage(id)), "", *Audit(v1::MESSAGE_ACCEPTED),
        [&, record](absl::Status status, AuditEntries) {
          EXPECT_THAT(status, IsOk());
          if (record) {
            {
              absl::MutexLock lock(&mu);
              order.push_back("receipt");
            }
            AfterTheAnswers([&] {
              absl::MutexLock lock(&mu);
              order.push_back("delivery");
            });
          }
          ++done;
        },
        std::nullopt);
  };
  {
    absl::MutexLock lock(&mu);
    armed = true;
  }
  insert("m-held", false);
  mu.LockWhen(absl::Condition(&holding));
  mu.Unlock();
  // The ack first, then the Send: both ride the next commit.
  d.state = v1::ACKED;
  (*store)->UpdateDeliveriesAsync(
      {d}, *Audit(v1::MESSAGE_ACKED),
      [&](absl::Status status, AuditEntries) {
        EXPECT_THAT(status, IsOk());
        absl::MutexLock lock(&mu);
        order.push_back("ack");
        ++done;
      },
      std::nullopt);
  insert("m-next", true);
  queued.Notify();
  while (done.load() < 3) absl::SleepFor(absl::Milliseconds(1));
  // The last write's completion has run; its deferred part runs right after.
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](std::vector<std::string>* o) { return o->size() == 3; }, &order));
  EXPECT_THAT(order, ::testing::ElementsAre("receipt", "ack", "delivery"));
  EXPECT_EQ((*store)->ReadCommitStats().batch_writes.count(), 4u)
      << "the ack and the Send shared a commit";
}

// Outside a batch's completions there is nothing to wait for.
TEST(SqliteStoreTest, AfterTheAnswersOutsideACompletionRunsAtOnce) {
  bool ran = false;
  AfterTheAnswers([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(SqliteStoreTest, WithoutANiceValueTheCommitterRunsAtTheProcesses) {
  auto store = SqliteStore::Open(TempDbPath("nice-unset.db"), {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertMessage(MakeMessage("m-1"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());

  EXPECT_EQ(::silta::testing::ThreadNice(::getpid(), "silta-committer"),
            getpriority(PRIO_PROCESS, 0));
}

// Issue #12 item 6: the files say who disclosed what about whom.
TEST(SqliteStoreTest, DatabaseFilesAreOwnerOnlyWhateverTheUmask) {
  namespace fs = std::filesystem;
  const std::string path = TempDbPath("private.db");
  const mode_t old_mask = ::umask(022);
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->InsertOrg(MakeOrg("asenne-ry"), Audit()), IsOk());
    for (const char* suffix : {"", "-wal", "-shm"}) {
      ASSERT_TRUE(fs::exists(path + suffix)) << suffix;
      EXPECT_EQ(fs::status(path + suffix).permissions() & (fs::perms::group_all | fs::perms::others_all),
                fs::perms::none)
          << suffix;
    }
  }
  // A database left readable by an older install is closed on open.
  fs::permissions(path, fs::perms::others_read | fs::perms::group_read, fs::perm_options::add);
  auto reopened = SqliteStore::Open(path, {});
  ::umask(old_mask);
  ASSERT_THAT(reopened, IsOk());
  EXPECT_EQ(fs::status(path).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  EXPECT_EQ(::umask(old_mask), old_mask);  // the process umask is as it was
}

TEST(SqliteStoreTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  const std::string path = TempDbPath("reopen.db");
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT((*store)->InsertOrg(MakeOrg("asenne-ry"), Audit()), IsOk());
  }

  auto reopened = SqliteStore::Open(path, {});

  ASSERT_THAT(reopened, IsOk());
  auto org = (*reopened)->GetOrg("asenne-ry");
  ASSERT_THAT(org, IsOk());
  ASSERT_TRUE(org->has_value());
  EXPECT_EQ((*org)->display_name(), "Test asenne-ry");
}

TEST(SqliteStoreTest, RefusesDatabaseWithNewerSchema) {
  const std::string path = TempDbPath("newer.db");
  std::vector<Migration> future = SqliteMigrations();
  future.push_back({future.back().version + 1, "from the future", "CREATE TABLE later(x INTEGER)"});
  ASSERT_THAT(SqliteStore::OpenWithMigrationsForTest(path, {}, future), IsOk());

  EXPECT_THAT(SqliteStore::Open(path, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer than this siltad")));
}

TEST(SqliteStoreTest, FailedMigrationAppliesNothingOfItself) {
  const std::string path = TempDbPath("failing.db");
  std::vector<Migration> migrations = SqliteMigrations();
  const int good = migrations.back().version;
  migrations.push_back({good + 1, "half broken",
                        "CREATE TABLE half(x INTEGER); INSERT INTO no_such_table VALUES(1);"});

  auto failed = SqliteStore::OpenWithMigrationsForTest(path, {}, migrations);

  EXPECT_THAT(failed, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("half broken")));
  auto store = SqliteStore::Open(path, {});
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->SchemaVersion(), IsOkAndHolds(good));
  // The table of the failed migration was rolled back with it: applying a
  // corrected migration of the same version works.
  std::vector<Migration> fixed = SqliteMigrations();
  fixed.push_back({good + 1, "fixed", "CREATE TABLE half(x INTEGER)"});
  store->reset();
  EXPECT_THAT(SqliteStore::OpenWithMigrationsForTest(path, {}, fixed), IsOk());
}

TEST(SqliteStoreTest, UnopenableFileIsUnavailableWithHint) {
  EXPECT_THAT(SqliteStore::Open("/nonexistent-dir/silta.db", {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("directory exists")));
}

// Audit entries of some orgs, acting and as counterparts, in two cases
// about two people (some with no counterpart, some in no case).
AuditEntries IndexedEntries(int n) {
  const std::vector<std::string> orgs = {"police-hame", "wba-social", "hml-youth"};
  AuditEntries batch;
  for (int k = 0; k < n; ++k) {
    v1::AuditEntry e = audit::NewEntry(k % 2 == 0 ? v1::MESSAGE_DELIVERED : v1::FIELD_WITHHELD,
                                       absl::Now(), orgs[k % 3]);
    if (k % 4 != 0) e.set_counterpart_org_id(orgs[(k + 1) % 3]);
    if (k % 5 != 0) e.set_case_id(k % 2 == 0 ? "case-a" : "case-b");
    e.set_subject_ref(k % 3 == 0 ? "ref-a" : "ref-b");
    batch.push_back(e);
  }
  return batch;
}

// One integer from a query on the database file.
int64_t CountOf(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const int64_t count = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

// Runs `sql` on the database file directly, as an older siltad wrote it.
void ExecOn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  absl::Cleanup close = [db] { sqlite3_close(db); };
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
}

// Makes `path` a database at schema `version`, as a siltad of that version
// left it.
void MakeOldSchema(const std::string& path, int version) {
  std::vector<Migration> up_to(SqliteMigrations().begin(), SqliteMigrations().begin() + version);
  ASSERT_EQ(up_to.back().version, version);
  ASSERT_THAT(SqliteStore::OpenWithMigrationsForTest(path, {}, up_to), IsOk());
}

// Makes `old_path` a database at schema `version` holding the audit log of
// the one at `current_path`, as that version stored it: the entries, and
// the Merkle nodes through `copy_nodes` (SQL, with the current database
// attached as `current`).
void MakeOldLog(const std::string& old_path, int version, const std::string& current_path,
                const std::string& copy_nodes) {
  ASSERT_NO_FATAL_FAILURE(MakeOldSchema(old_path, version));
  ASSERT_NO_FATAL_FAILURE(ExecOn(
      old_path,
      absl::StrCat("ATTACH '", current_path, "' AS current;",
                   "INSERT INTO audit_entries SELECT * FROM current.audit_entries;", copy_nodes)));
}

// The Merkle nodes as migrations 11 to 13 kept them.
constexpr char kCopyToAuditTree[] =
    "INSERT INTO audit_tree(pos, level, hash) "
    "SELECT node >> 6, node & 63, hash FROM current.audit_merkle;";

// What the log's index should hold of the unpurged entries below its
// mark: (kind, term, index) of the actor, the counterpart if another org,
// the subject and the case if set.
constexpr char kExpectedIndexRows[] =
    "SELECT 1, actor_org_id, idx FROM audit_entries WHERE actor_org_id != '' "
    "UNION ALL SELECT 1, counterpart_org_id, idx FROM audit_entries "
    "  WHERE counterpart_org_id != '' AND counterpart_org_id != actor_org_id "
    "UNION ALL SELECT 2, subject_ref, idx FROM audit_entries WHERE subject_ref != '' "
    "UNION ALL SELECT 3, case_id, idx FROM audit_entries WHERE case_id != ''";

using IndexRow = std::tuple<int64_t, std::string, uint64_t>;  // kind, term, index

// The rows of `sql` (kind, term, index) on the database file, sorted.
std::vector<IndexRow> IndexRowsOf(const std::string& path, const std::string& sql) {
  std::vector<IndexRow> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  absl::Cleanup close = [db] { sqlite3_close(db); };
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    rows.emplace_back(sqlite3_column_int64(stmt, 0),
                      reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)),
                      static_cast<uint64_t>(sqlite3_column_int64(stmt, 2)));
  }
  sqlite3_finalize(stmt);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// What the log's index should hold: kExpectedIndexRows below its mark.
std::vector<IndexRow> ExpectedIndex(const std::string& path) {
  return IndexRowsOf(path, absl::StrCat("SELECT * FROM (", kExpectedIndexRows,
                                        ") WHERE idx < (SELECT upto FROM audit_index_upto) "
                                        "AND idx IN (SELECT idx FROM audit_entries "
                                        "WHERE purged = 0)"));
}

// What the log's index holds: every index of every posting row, sorted.
std::vector<IndexRow> PostedIndex(const std::string& path) {
  std::vector<IndexRow> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  absl::Cleanup close = [db] { sqlite3_close(db); };
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT kind, term, first_idx, gaps FROM audit_postings", -1,
                               &stmt, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    const std::string term = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
    auto idxs =
        DecodePosting(static_cast<uint64_t>(sqlite3_column_int64(stmt, 2)),
                      absl::string_view(static_cast<const char*>(sqlite3_column_blob(stmt, 3)),
                                        static_cast<size_t>(sqlite3_column_bytes(stmt, 3))));
    EXPECT_THAT(idxs, IsOk());
    if (!idxs.ok()) continue;
    for (uint64_t idx : *idxs) rows.emplace_back(sqlite3_column_int64(stmt, 0), term, idx);
  }
  sqlite3_finalize(stmt);
  std::sort(rows.begin(), rows.end());
  return rows;
}

// Migration 13 moves the indexes by org, subject and case into
// audit_index: every entry is found there, and appends go on from its mark.
TEST(SqliteStoreAuditTest, MigrationThirteenIndexesEveryEntry) {
  const std::string current_path = TempDbPath("migrate13_current.db");
  const std::string old_path = TempDbPath("migrate13_old.db");
  {
    auto current = SqliteStore::Open(current_path, {});
    ASSERT_THAT(current, IsOk());
    AuditEntries batch = IndexedEntries(100);
    ASSERT_THAT((*current)->AppendAudit(&batch), IsOk());
  }
  // The same log as a siltad before migration 13 stored it.
  ASSERT_NO_FATAL_FAILURE(MakeOldLog(old_path, 12, current_path, kCopyToAuditTree));
  auto migrated = SqliteStore::Open(old_path, {});
  ASSERT_THAT(migrated, IsOk());
  // 100 actors, 75 counterparts, 100 subjects, 80 cases.
  EXPECT_EQ(PostedIndex(old_path).size(), 355u);
  EXPECT_EQ(PostedIndex(old_path), ExpectedIndex(old_path));
  EXPECT_EQ(CountOf(old_path, "SELECT upto FROM audit_index_upto"), 100);
  AuditQuery q;
  q.org_id = "hml-youth";
  q.subject_ref = "ref-a";
  q.case_id = "case-b";
  q.limit = 1000;
  auto found = (*migrated)->QueryAudit(q);
  ASSERT_THAT(found, IsOk());
  // k odd, k % 3 == 0, k % 5 != 0, and hml-youth acting (k % 3 == 2) or the
  // counterpart (k % 3 == 1, k % 4 != 0): none; so by police-hame instead.
  EXPECT_THAT(*found, ::testing::IsEmpty());
  q.org_id = "police-hame";
  found = (*migrated)->QueryAudit(q);
  ASSERT_THAT(found, IsOk());
  // k in {3, 9, 21, 27, 33, 39, 51, 57, 63, 69, 81, 87, 93, 99}.
  EXPECT_EQ(found->size(), 14u);
  for (const v1::AuditEntry& e : *found) {
    EXPECT_EQ(e.actor_org_id(), "police-hame");
    EXPECT_EQ(e.case_id(), "case-b");
    EXPECT_EQ(e.subject_ref(), "ref-a");
  }
  AuditEntries more = IndexedEntries(SqlStore::kAuditIndexLag);
  ASSERT_THAT((*migrated)->AppendAudit(&more), IsOk());
  EXPECT_EQ(CountOf(old_path, "SELECT upto FROM audit_index_upto"),
            100 + static_cast<int64_t>(SqlStore::kAuditIndexLag));
  EXPECT_EQ(PostedIndex(old_path), ExpectedIndex(old_path));
}

// Migration 16 turns audit_index's rows into posting rows of one index
// each; the next batch puts each term's indexes in one row, and queries
// read both kinds.
TEST(SqliteStoreAuditTest, MigrationSixteenPostsEveryIndexedEntry) {
  const std::string current_path = TempDbPath("migrate16_current.db");
  const std::string old_path = TempDbPath("migrate16_old.db");
  const int lag = static_cast<int>(SqlStore::kAuditIndexLag);
  {
    auto current = SqliteStore::Open(current_path, {});
    ASSERT_THAT(current, IsOk());
    AuditEntries batch = IndexedEntries(lag + 20);
    ASSERT_THAT((*current)->AppendAudit(&batch), IsOk());
  }
  // The same log as a siltad before migration 16 stored it: every entry
  // below the mark (lag + 20) with its rows in audit_index.
  ASSERT_NO_FATAL_FAILURE(MakeOldLog(
      old_path, 15, current_path,
      absl::StrCat("INSERT INTO audit_merkle SELECT * FROM current.audit_merkle;"
                   "INSERT INTO audit_index(kind, term, idx) ",
                   kExpectedIndexRows,
                   ";"
                   "UPDATE audit_index_upto SET upto = (SELECT COUNT(*) FROM audit_entries);")));
  const std::vector<IndexRow> before =
      IndexRowsOf(old_path, "SELECT kind, term, idx FROM audit_index");
  ASSERT_EQ(before.size(), ExpectedIndex(current_path).size());
  auto migrated = SqliteStore::Open(old_path, {});
  ASSERT_THAT(migrated, IsOk());
  EXPECT_EQ(PostedIndex(old_path), before);
  EXPECT_EQ(CountOf(old_path, "SELECT COUNT(*) FROM audit_postings"),
            static_cast<int64_t>(before.size()));

  AuditEntries more = IndexedEntries(lag);
  ASSERT_THAT((*migrated)->AppendAudit(&more), IsOk());
  ASSERT_EQ(CountOf(old_path, "SELECT upto FROM audit_index_upto"), 2 * lag + 20);
  EXPECT_EQ(PostedIndex(old_path), ExpectedIndex(old_path));
  // The batch's rows: one per term (3 orgs, 2 subjects, 2 cases).
  EXPECT_EQ(CountOf(old_path, "SELECT COUNT(*) FROM audit_postings"),
            static_cast<int64_t>(before.size()) + 7);
  // A query across both, in both orders, finds what a scan finds.
  AuditQuery q;
  q.subject_ref = "ref-a";
  q.limit = 100000;
  auto oldest_first = (*migrated)->QueryAudit(q);
  ASSERT_THAT(oldest_first, IsOk());
  EXPECT_EQ(oldest_first->size(), static_cast<size_t>(CountOf(old_path,
                                                              "SELECT COUNT(*) FROM audit_entries "
                                                              "WHERE subject_ref = 'ref-a'")));
  q.newest_first = true;
  auto newest_first = (*migrated)->QueryAudit(q);
  ASSERT_THAT(newest_first, IsOk());
  ASSERT_EQ(newest_first->size(), oldest_first->size());
  for (size_t i = 0; i < oldest_first->size(); ++i) {
    EXPECT_EQ((*newest_first)[newest_first->size() - 1 - i].index(), (*oldest_first)[i].index());
  }
}

// A purged entry keeps only its index, type, time and leaf hash: the
// log's index keeps no row of who took part or whom it was about, whether
// the entry was indexed before the purge or after it.
TEST(SqliteStoreAuditTest, PurgedEntriesLeaveNoRowInTheLogsIndex) {
  const std::string path = TempDbPath("purge_audit_index.db");
  auto store = SqliteStore::Open(path, {});
  ASSERT_THAT(store, IsOk());
  const int lag = static_cast<int>(SqlStore::kAuditIndexLag);
  AuditEntries indexed = IndexedEntries(lag + 10);
  ASSERT_THAT((*store)->AppendAudit(&indexed), IsOk());
  AuditEntries not_yet = IndexedEntries(lag / 2);
  ASSERT_THAT((*store)->AppendAudit(&not_yet), IsOk());
  ASSERT_EQ(CountOf(path, "SELECT upto FROM audit_index_upto"), lag + 10);
  // The purge takes FIELD_WITHHELD (odd k) out of the index's posting rows:
  // ref-b's row (k % 3 != 0) loses its first (1), indexes in its middle and
  // its last (lag + 9).
  ASSERT_EQ(PostedIndex(path), ExpectedIndex(path));

  auto purged = (*store)->PurgeAuditEntries({v1::FIELD_WITHHELD}, {},
                                            absl::ToUnixMicros(absl::Now()) + 1, 100000);
  ASSERT_THAT(purged, IsOk());
  ASSERT_EQ(*purged, static_cast<uint64_t>((lag + 10) / 2 + lag / 4));
  EXPECT_EQ(PostedIndex(path), ExpectedIndex(path));
  AuditEntries moves_the_mark = IndexedEntries(lag);
  ASSERT_THAT((*store)->AppendAudit(&moves_the_mark), IsOk());
  ASSERT_EQ(CountOf(path, "SELECT upto FROM audit_index_upto"), 2 * lag + 10 + lag / 2);

  // No index of a purged entry, and every other one.
  const std::vector<IndexRow> posted = PostedIndex(path);
  EXPECT_EQ(posted, ExpectedIndex(path));
  const std::vector<IndexRow> purged_rows =
      IndexRowsOf(path, "SELECT 0, '', idx FROM audit_entries WHERE purged = 1");
  ASSERT_FALSE(purged_rows.empty());
  for (const IndexRow& row : posted) {
    EXPECT_FALSE(std::binary_search(purged_rows.begin(), purged_rows.end(),
                                    IndexRow{0, "", std::get<2>(row)}))
        << "index " << std::get<2>(row) << " is purged";
  }
}

// Migration 14 re-keys the Merkle nodes by one integer: every node keeps
// its hash, and the next append extends the migrated tree.
TEST(SqliteStoreAuditTest, MigrationFourteenKeepsEveryMerkleNode) {
  const std::string current_path = TempDbPath("migrate14_current.db");
  const std::string old_path = TempDbPath("migrate14_old.db");
  {
    auto current = SqliteStore::Open(current_path, {});
    ASSERT_THAT(current, IsOk());
    AuditEntries batch = IndexedEntries(37);
    ASSERT_THAT((*current)->AppendAudit(&batch), IsOk());
  }
  // The same log as a siltad before migration 14 stored it.
  ASSERT_NO_FATAL_FAILURE(MakeOldLog(old_path, 13, current_path, kCopyToAuditTree));
  auto current = SqliteStore::Open(current_path, {});
  ASSERT_THAT(current, IsOk());
  auto migrated = SqliteStore::Open(old_path, {});
  ASSERT_THAT(migrated, IsOk());
  auto before = (*current)->ReadAuditNodesFrom(0);
  auto after = (*migrated)->ReadAuditNodesFrom(0);
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->size(), 37u + 18u + 9u + 4u + 2u + 1u) << "every perfect subtree of 37 leaves";
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].first, (*before)[i].first);
    EXPECT_EQ((*after)[i].second, (*before)[i].second);
  }
  EXPECT_THAT((*migrated)->ReadAuditNodes({{0, 37}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("missing")));
  AuditEntries more = IndexedEntries(1);
  ASSERT_THAT((*migrated)->AppendAudit(&more), IsOk());
  EXPECT_THAT((*migrated)->ReadAuditNodes({{0, 37}, {1, 18}}), IsOk());
  EXPECT_EQ(CountOf(old_path, "SELECT COUNT(*) FROM audit_merkle"), 37 + 18 + 9 + 4 + 2 + 1 + 2);
}

}  // namespace
}  // namespace silta::store

namespace silta::store {
namespace {

// After the last ack the ciphertext is purged: its bytes are gone from the
// database file, not left in a free page.
TEST(SqliteStoreMessagesTest, APurgedBodyLeavesNoBytesInTheFile) {
  const std::string path = TempDbPath("purge.db");
  const std::string marker = "ciphertext-that-must-not-survive-its-purge";
  {
    auto store = SqliteStore::Open(path, {});
    ASSERT_THAT(store, IsOk());
    MessageRecord m = MakeMessage("purged");
    for (int i = 0; i < 200; ++i) {  // several overflow pages
      m.body->add_fields()->set_ciphertext(absl::StrCat(marker, i));
    }
    ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
    const DeliveryRecord acked = FirstDelivery(m, v1::ACKED);
    ASSERT_THAT((*store)->UpdateDeliveries({acked}, Audit(v1::MESSAGE_ACKED)), IsOk());
    auto stored = (*store)->GetMessage(m.sender_org_id, m.message_id);
    ASSERT_THAT(stored, IsOk());
    ASSERT_FALSE((*stored)->body.has_value());
  }  // closed: the WAL is checkpointed into the file and removed

  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find(marker), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
}

// The WAL is copied into the database file while the store is open (by
// its checkpoint thread, not the committer), so that it does not grow
// without bound.
TEST(SqliteStoreMessagesTest, TheWalIsCheckpointedWhileTheStoreIsOpen) {
  const std::string path = TempDbPath("checkpoint.db");
  auto store = SqliteStore::Open(path, {});
  ASSERT_THAT(store, IsOk());
  const uintmax_t before = std::filesystem::file_size(path);
  for (int i = 0; i < 240; ++i) {  // 240 × 80 KiB: more than 4000 pages of 4 KiB
    MessageRecord m = MakeMessage(absl::StrCat("bulk-", i));
    m.body->add_fields()->set_ciphertext(std::string(80 * 1024, static_cast<char>('a' + i % 26)));
    ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  }
  // A checkpoint runs once a commit leaves 4000 frames in the WAL; the
  // database file then holds the pages committed by then (a page written
  // twice is one page there), at least 8 MiB of these bodies.
  const uintmax_t grown = before + 8 * 1024 * 1024;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (std::filesystem::file_size(path) < grown && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GE(std::filesystem::file_size(path), grown) << "the WAL's pages reached the database file";
}

TEST(SqliteStoreMessagesTest, MigrationSixKeysExistingMessagesBySender) {
  const std::string path = TempDbPath("migrate6.db");
  ASSERT_NO_FATAL_FAILURE(MakeOldSchema(path, 5));
  // A message and its delivery as an older siltad stored them.
  ASSERT_NO_FATAL_FAILURE(
      ExecOn(path,
             "PRAGMA foreign_keys=ON;"
             "INSERT INTO messages VALUES('old-id','police-hame','',x'00',1,"
             "1000000000000,x'0a00',x'');"
             "INSERT INTO deliveries VALUES('old-d','old-id','hml-youth',1,0,0,1);"));

  auto store = SqliteStore::Open(path, {});

  ASSERT_THAT(store, IsOk());
  auto m = (*store)->GetMessage("police-hame", "old-id");
  ASSERT_THAT(m, IsOk());
  ASSERT_TRUE(m->has_value());
  ASSERT_EQ((*m)->deliveries.size(), 1u);
  EXPECT_EQ((*m)->deliveries[0].message_id, "old-id");
  auto d = (*store)->GetDelivery("old-d");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ((*d)->sender_org_id, "police-hame");
}

// Migration 15 moves the bodies kept to message_bodies and drops the
// column: a message stored before it is still delivered, expired and
// purged, and one purged before it is still removed at retention.
TEST(SqliteStoreMessagesTest, MigrationFifteenKeepsTheBodiesNotYetPurged) {
  const std::string path = TempDbPath("migrate15.db");
  ASSERT_NO_FATAL_FAILURE(MakeOldSchema(path, 14));
  v1::SealedMessage kept;
  kept.mutable_header()->set_message_id("kept");
  kept.add_fields()->set_ciphertext(std::string(9000, 'c'));  // overflow pages
  // A message still to be delivered and one purged, as siltad stored
  // them before migration 15.
  ASSERT_NO_FATAL_FAILURE(ExecOn(
      path, absl::StrCat("INSERT INTO messages(message_id, sender_org_id, case_id, content_hash, "
                         "accepted_at_us, expires_at_us, body, receipt) VALUES"
                         "('police-hame/kept', 'police-hame', '', x'00', 1, 5000000, x'",
                         absl::BytesToHexString(kept.SerializeAsString()),
                         "', x''),"
                         "('police-hame/purged', 'police-hame', '', x'00', 1, 5000000, NULL, x'');"
                         "INSERT INTO deliveries(delivery_id, message_id, recipient_org_id, "
                         "state, attempts, next_attempt_us, updated_at_us) VALUES"
                         "('kept-d', 'police-hame/kept', 'hml-youth', 1, 0, 0, 1),"
                         "('purged-d', 'police-hame/purged', 'hml-youth', 3, 1, 0, 1);")));

  auto store = SqliteStore::Open(path, {});

  ASSERT_THAT(store, IsOk());
  auto m = (*store)->GetMessage("police-hame", "kept");
  ASSERT_THAT(m, IsOk());
  ASSERT_TRUE(m->has_value());
  ASSERT_TRUE((*m)->body.has_value());
  EXPECT_EQ((*m)->body->SerializeAsString(), kept.SerializeAsString());
  auto purged = (*store)->GetMessage("police-hame", "purged");
  ASSERT_THAT(purged, IsOk());
  ASSERT_TRUE(purged->has_value());
  EXPECT_FALSE((*purged)->body.has_value());
  auto unfinished = (*store)->UnfinishedDeliveries(/*now_us=*/2);
  ASSERT_THAT(unfinished, IsOk());
  ASSERT_EQ(unfinished->size(), 1u);
  EXPECT_EQ((*unfinished)[0].delivery.delivery_id, "kept-d");
  // Retention removes only the message whose body is gone.
  EXPECT_THAT((*store)->PurgeOldMessages(/*accepted_before_us=*/2), IsOkAndHolds(1u));
  // At expiry the kept body is purged with its delivery.
  auto expired = (*store)->ExpireMessages(/*now_us=*/5000000, nullptr);
  ASSERT_THAT(expired, IsOk());
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].delivery_id, "kept-d");
  m = (*store)->GetMessage("police-hame", "kept");
  ASSERT_THAT(m, IsOk());
  ASSERT_TRUE(m->has_value());
  EXPECT_FALSE((*m)->body.has_value());
  EXPECT_THAT((*store)->PurgeOldMessages(/*accepted_before_us=*/2), IsOkAndHolds(1u));
  EXPECT_EQ(CountOf(path, "SELECT COUNT(*) FROM messages"), 0);
  EXPECT_EQ(CountOf(path, "SELECT COUNT(*) FROM message_bodies"), 0);
}

// Migration 11 re-keys the Merkle nodes (by the last leaf they cover) and
// drops audit_by_time: a log written before it reads back the same nodes,
// and its times are still found.
TEST(SqliteStoreAuditTest, MigrationElevenKeepsEveryMerkleNodeAndTheTimes) {
  const std::string current_path = TempDbPath("migrate11_current.db");
  const std::string old_path = TempDbPath("migrate11_old.db");
  std::vector<int64_t> times;
  {
    auto current = SqliteStore::Open(current_path, {});
    ASSERT_THAT(current, IsOk());
    for (int i = 0; i < 37; ++i) {
      ASSERT_THAT((*current)->AppendAudit(Audit(v1::CONFIG_RELOADED)), IsOk());
      absl::SleepFor(absl::Microseconds(50));
    }
    auto entries = (*current)->ReadAuditRange(0, 37);
    ASSERT_THAT(entries, IsOk());
    for (const v1::AuditEntry& e : *entries) {
      times.push_back(e.at().seconds() * 1000000 + e.at().nanos() / 1000);
    }
  }
  // The same log as a siltad before migration 11 stored it.
  ASSERT_NO_FATAL_FAILURE(MakeOldLog(
      old_path, 10, current_path,
      "INSERT INTO audit_nodes(level, idx, hash) "
      "SELECT node & 63, (((node >> 6) + 1) >> (node & 63)) - 1, hash FROM current.audit_merkle;"));
  auto current = SqliteStore::Open(current_path, {});
  ASSERT_THAT(current, IsOk());

  auto migrated = SqliteStore::Open(old_path, {});

  ASSERT_THAT(migrated, IsOk());
  auto before = (*current)->ReadAuditNodesFrom(0);
  auto after = (*migrated)->ReadAuditNodesFrom(0);
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->size(), 37u + 18u + 9u + 4u + 2u + 1u) << "every perfect subtree of 37 leaves";
  ASSERT_EQ(after->size(), before->size());
  for (size_t i = 0; i < after->size(); ++i) {
    EXPECT_EQ((*after)[i].first.level, (*before)[i].first.level);
    EXPECT_EQ((*after)[i].first.index, (*before)[i].first.index);
    EXPECT_EQ((*after)[i].second, (*before)[i].second);
  }
  auto high = (*migrated)->ReadAuditNodesFrom(4);
  ASSERT_THAT(high, IsOk());
  EXPECT_EQ(high->size(), 2u + 1u);
  EXPECT_THAT((*migrated)->ReadAuditNodes({{5, 0}, {2, 8}, {0, 36}}), IsOk());
  EXPECT_THAT((*migrated)->ReadAuditNodes({{0, 37}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("missing")));
  // Each entry's time finds it; a time between two entries finds the later.
  for (size_t i = 0; i < times.size(); ++i) {
    EXPECT_THAT((*migrated)->FirstAuditIndexAt(times[i]), IsOkAndHolds(i));
  }
  EXPECT_THAT((*migrated)->FirstAuditIndexAt(times[10] + 1), IsOkAndHolds(11u));
  EXPECT_THAT((*migrated)->FirstAuditIndexAt(0), IsOkAndHolds(0u));
  EXPECT_THAT((*migrated)->FirstAuditIndexAt(times.back() + 1), IsOkAndHolds(37u));
  // The next append extends the migrated tree.
  ASSERT_THAT((*migrated)->AppendAudit(Audit(v1::CONFIG_RELOADED)), IsOk());
  EXPECT_THAT((*migrated)->ReadAuditNodes({{0, 37}, {1, 18}}), IsOk());
}

}  // namespace
}  // namespace silta::store
