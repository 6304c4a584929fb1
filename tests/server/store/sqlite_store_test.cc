#include "server/store/sqlite/sqlite_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/audit_batch.h"
#include "tests/testing/status_matchers.h"

namespace silta::store {
namespace {

using ::silta::testing::Audit;
using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
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

v1::Organization MakeOrg(const std::string& id) {
  v1::Organization org;
  org.set_org_id(id);
  org.set_display_name("Test " + id);
  org.set_kind(v1::NGO);
  org.add_roles(v1::AGENCY);
  org.add_roles(v1::AUDITOR);
  org.set_state(v1::ACTIVE);
  org.set_region("oulu");
  org.mutable_created_at()->set_seconds(1700000000);
  org.mutable_updated_at()->set_seconds(1700000001);
  return org;
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

TEST(SqliteStoreTest, OrgRoundTripsEveryField) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());
  const v1::Organization org = MakeOrg("rise-prison");

  ASSERT_THAT((*store)->InsertOrg(org, Audit()), IsOk());
  auto read = (*store)->GetOrg("rise-prison");

  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->SerializeAsString(), org.SerializeAsString());
}

TEST(SqliteStoreTest, InsertingTakenIdIsAlreadyExists) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertOrg(MakeOrg("a"), Audit()), IsOk());

  EXPECT_THAT((*store)->InsertOrg(MakeOrg("a"), Audit()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
}

TEST(SqliteStoreTest, UpdatingUnknownOrgIsNotFound) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());

  EXPECT_THAT((*store)->UpdateOrg(MakeOrg("ghost"), Audit()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ghost")));
}

TEST(SqliteStoreTest, ListsOrgsInIdOrder) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());
  for (const char* id : {"c", "a", "b"}) ASSERT_THAT((*store)->InsertOrg(MakeOrg(id), Audit()), IsOk());

  auto orgs = (*store)->ListOrgs();

  ASSERT_THAT(orgs, IsOk());
  ASSERT_EQ(orgs->size(), 3u);
  EXPECT_EQ((*orgs)[0].org_id(), "a");
  EXPECT_EQ((*orgs)[2].org_id(), "c");
}

TEST(SqliteStoreTest, UnopenableFileIsUnavailableWithHint) {
  EXPECT_THAT(SqliteStore::Open("/nonexistent-dir/silta.db", {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("directory exists")));
}

}  // namespace
}  // namespace silta::store

namespace silta::store {
namespace {

MessageRecord MakeMessage(const std::string& id) {
  MessageRecord m;
  m.message_id = id;
  m.sender_org_id = "police-hame";
  m.content_hash = std::string(32, 'h');
  m.accepted_at_us = 1;
  m.expires_at_us = 1000000000000;
  v1::SealedMessage body;
  body.mutable_header()->set_message_id(id);
  m.body = body;
  DeliveryRecord d;
  d.delivery_id = id + "-d";
  d.recipient_org_id = "hml-youth";
  m.deliveries.push_back(d);
  return m;
}

TEST(SqliteStoreGroupCommitTest, ConcurrentInsertsAllLandAndShareCommits) {
  auto store = SqliteStore::Open(TempDbPath("group.db"), {});
  ASSERT_THAT(store, IsOk());
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!(*store)->InsertMessage(MakeMessage(absl::StrCat("m-", t, "-", i)), Audit(v1::MESSAGE_ACCEPTED)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto m = (*store)->GetMessage("police-hame", absl::StrCat("m-", t, "-", i));
      ASSERT_THAT(m, IsOk());
      ASSERT_TRUE(m->has_value());
      EXPECT_EQ((*m)->deliveries.size(), 1u);
    }
  }
  // Eight writers waiting on fsync overlap: some commits carry several messages.
  EXPECT_LT((*store)->GroupCommitsForTest(), kThreads * kPerThread);
  std::printf("%d messages in %lld commits\n", kThreads * kPerThread,
              static_cast<long long>((*store)->GroupCommitsForTest()));
}

TEST(SqliteStoreGroupCommitTest, ATakenIdFailsOnlyItsOwnMessage) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertMessage(MakeMessage("dup"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());

  EXPECT_THAT((*store)->InsertMessage(MakeMessage("dup"), Audit(v1::MESSAGE_ACCEPTED)),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("dup")));
  EXPECT_THAT((*store)->InsertMessage(MakeMessage("fresh"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  auto fresh = (*store)->GetMessage("police-hame", "fresh");
  ASSERT_THAT(fresh, IsOk());
  EXPECT_TRUE(fresh->has_value());
}

// Issue #12 item 4: a message id is unique per sender (message.proto), so
// another sender's id is neither taken nor revealed.
TEST(SqliteStoreMessagesTest, MessageIdsAreUniquePerSender) {
  auto store = SqliteStore::Open(":memory:", {});
  ASSERT_THAT(store, IsOk());
  MessageRecord police = MakeMessage("same-id");
  MessageRecord social = MakeMessage("same-id");
  social.sender_org_id = "wba-social";
  social.deliveries[0].delivery_id = "social-d";

  ASSERT_THAT((*store)->InsertMessage(police, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  ASSERT_THAT((*store)->InsertMessage(social, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  EXPECT_THAT((*store)->InsertMessage(MakeMessage("same-id"), Audit(v1::MESSAGE_ACCEPTED)),
              StatusIs(absl::StatusCode::kAlreadyExists));

  auto of_social = (*store)->GetMessage("wba-social", "same-id");
  ASSERT_THAT(of_social, IsOk());
  ASSERT_TRUE(of_social->has_value());
  EXPECT_EQ((*of_social)->sender_org_id, "wba-social");
  EXPECT_EQ((*of_social)->message_id, "same-id");
  ASSERT_EQ((*of_social)->deliveries.size(), 1u);
  EXPECT_EQ((*of_social)->deliveries[0].delivery_id, "social-d");
  EXPECT_EQ((*of_social)->deliveries[0].sender_org_id, "wba-social");
  EXPECT_FALSE((*store)->GetMessage("hml-youth", "same-id")->has_value());
  auto unfinished = (*store)->UnfinishedDeliveries(1);
  ASSERT_THAT(unfinished, IsOk());
  std::vector<DeliveryRecord> due;
  for (const auto& u : *unfinished) {
    if (u.delivery.recipient_org_id == "hml-youth") due.push_back(u.delivery);
  }
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[1].sender_org_id, "wba-social");
  EXPECT_EQ(due[1].message_id, "same-id");
}

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
    DeliveryRecord acked = m.deliveries[0];
    acked.sender_org_id = m.sender_org_id;
    acked.message_id = m.message_id;
    acked.state = v1::ACKED;
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
  for (int i = 0; i < 60; ++i) {  // 60 × 80 KiB: more than 1000 pages of 4 KiB
    MessageRecord m = MakeMessage(absl::StrCat("bulk-", i));
    m.body->add_fields()->set_ciphertext(std::string(80 * 1024, static_cast<char>('a' + i % 26)));
    ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  }
  // A checkpoint runs once a commit leaves 1000 frames in the WAL; the
  // database file then holds the pages committed by then (a page written
  // twice is one page there), at least a megabyte of these bodies.
  const uintmax_t grown = before + 1024 * 1024;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (std::filesystem::file_size(path) < grown && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GE(std::filesystem::file_size(path), grown) << "the WAL's pages reached the database file";
}

TEST(SqliteStoreMessagesTest, MigrationSixKeysExistingMessagesBySender) {
  const std::string path = TempDbPath("migrate6.db");
  {
    std::vector<Migration> up_to_5(SqliteMigrations().begin(), SqliteMigrations().begin() + 5);
    ASSERT_EQ(up_to_5.back().version, 5);
    ASSERT_THAT(SqliteStore::OpenWithMigrationsForTest(path, {}, up_to_5), IsOk());
  }
  {
    // A message and its delivery as an older siltad stored them.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA foreign_keys=ON;"
                           "INSERT INTO messages VALUES('old-id','police-hame','',x'00',1,"
                           "1000000000000,x'0a00',x'');"
                           "INSERT INTO deliveries VALUES('old-d','old-id','hml-youth',1,0,0,1);",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

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
  {
    std::vector<Migration> up_to_10(SqliteMigrations().begin(), SqliteMigrations().begin() + 10);
    ASSERT_EQ(up_to_10.back().version, 10);
    ASSERT_THAT(SqliteStore::OpenWithMigrationsForTest(old_path, {}, up_to_10), IsOk());
    // The same log as a siltad before migration 11 stored it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old_path.c_str(), &db), SQLITE_OK);
    const std::string copy =
        absl::StrCat("ATTACH '", current_path, "' AS current;",
                     "INSERT INTO audit_entries SELECT * FROM current.audit_entries;",
                     "INSERT INTO audit_nodes(level, idx, hash) ",
                     "  SELECT level, ((pos + 1) >> level) - 1, hash FROM current.audit_tree;");
    ASSERT_EQ(sqlite3_exec(db, copy.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
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

// Cases and key bundles are cached (read_cache.h): a change must be seen by
// the next read, as if there were no cache.
TEST(SqliteStoreCacheTest, ACaseChangeIsSeenByTheNextRead) {
  auto store = SqliteStore::Open(TempDbPath("case_cache.db"), {});
  ASSERT_THAT(store, IsOk());
  v1::Case c;
  c.set_case_id("01890000-0000-7000-8000-000000000001");
  c.set_subject_ref("subject-1");
  c.set_state(v1::OPEN);
  c.add_member_org_ids("hml-youth");
  v1::CaseEvent opened;
  opened.set_case_id(c.case_id());
  opened.set_type(v1::CASE_OPENED);
  ASSERT_THAT((*store)->CreateCase(c, opened, Audit(v1::CASE_CREATED)), IsOk());
  const auto read_case = [&]() -> v1::Case {
    auto read = (*store)->GetCase(c.case_id());
    EXPECT_THAT(read, IsOk());
    const bool found = read.ok() && read->has_value();
    EXPECT_TRUE(found) << "the case is stored";
    return found ? **read : v1::Case();
  };
  EXPECT_EQ(read_case().member_org_ids_size(), 1);

  c.clear_member_org_ids();
  c.set_state(v1::CLOSED);
  v1::CaseEvent closed;
  closed.set_case_id(c.case_id());
  closed.set_type(v1::CASE_CLOSED_EVENT);
  ASSERT_THAT((*store)->UpdateCase(c, closed, Audit(v1::CASE_CLOSED)), IsOk());

  const v1::Case after = read_case();
  EXPECT_EQ(after.state(), v1::CLOSED);
  EXPECT_EQ(after.member_org_ids_size(), 0);
}

TEST(SqliteStoreCacheTest, APublishedKeyBundleIsSeenByTheNextRead) {
  auto store = SqliteStore::Open(TempDbPath("bundle_cache.db"), {});
  ASSERT_THAT(store, IsOk());
  v1::KeyBundle first;
  first.set_key_id("k1");
  first.set_org_id("hml-youth");
  ASSERT_THAT((*store)->PublishKeyBundle(first, Audit(v1::KEY_BUNDLE_PUBLISHED)), IsOk());
  auto bundles = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/true);
  ASSERT_THAT(bundles, IsOk());
  ASSERT_EQ(bundles->size(), 1u);

  v1::KeyBundle second = first;
  second.set_key_id("k2");
  ASSERT_THAT((*store)->PublishKeyBundle(second, Audit(v1::KEY_BUNDLE_PUBLISHED)), IsOk());

  bundles = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/true);
  ASSERT_THAT(bundles, IsOk());
  ASSERT_EQ(bundles->size(), 2u);
  EXPECT_EQ((*bundles)[0].key_id(), "k2");
  EXPECT_TRUE((*bundles)[1].retired());
  auto current = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/false);
  ASSERT_THAT(current, IsOk());
  ASSERT_EQ(current->size(), 1u);
  EXPECT_EQ((*current)[0].key_id(), "k2");
}

}  // namespace
}  // namespace silta::store
