// What only the PostgreSQL store does, against a real PostgreSQL 15 the
// test starts itself. The contract both stores keep is tested by the
// STORE_CONTRACT suites (tests/CMakeLists.txt) on each.
#include "server/store/postgres/postgres_store.h"

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/merkle.h"
#include "tests/testing/audit_batch.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_rows.h"
#include "tests/testing/test_store.h"

namespace silta::store {
namespace {

using ::silta::testing::Audit;
using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::MakeOrg;
using ::silta::testing::PostgresServer;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

// Each test has a database of its own on the process's server
// (tests/testing/test_store.h).
class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> made = testing::NewTestPostgresDatabase();
    ASSERT_THAT(made, IsOk());
    conninfo_ = *made;
  }
  static PostgresServer& Server() { return *testing::TestPostgresServer(); }

  std::string conninfo_;
};

TEST_F(PostgresStoreTest, AFreshDatabaseIsMigratedOnceAndKeepsItsRows) {
  {
    auto store = PostgresStore::Open(conninfo_, {});
    ASSERT_THAT(store, IsOk());
    EXPECT_THAT((*store)->SchemaVersion(), IsOkAndHolds(PostgresMigrations().back().version));
    ASSERT_THAT((*store)->InsertOrg(MakeOrg("asenne-ry"), Audit()), IsOk());
  }
  auto reopened = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(reopened, IsOk());
  EXPECT_THAT((*reopened)->SchemaVersion(), IsOkAndHolds(PostgresMigrations().back().version));
  auto org = (*reopened)->GetOrg("asenne-ry");
  ASSERT_THAT(org, IsOk());
  ASSERT_TRUE(org->has_value());
  EXPECT_EQ((*org)->display_name(), "Test asenne-ry");
  EXPECT_THAT((*reopened)->AuditSize(), IsOkAndHolds(1u));
}

TEST_F(PostgresStoreTest, ADatabaseOfANewerSchemaIsRefused) {
  ASSERT_THAT(PostgresStore::Open(conninfo_, {}), IsOk());
  auto db = PgConnection::Connect(conninfo_);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Exec("INSERT INTO schema_migrations VALUES (999, 'from the future', 0)"),
              IsOk());
  EXPECT_THAT(PostgresStore::Open(conninfo_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

// An exclusive store has the database to itself: a second is refused
// until the first is gone.
TEST_F(PostgresStoreTest, AnExclusiveStoreRefusesASecondUntilItIsGone) {
  PostgresOptions alone;
  alone.exclusive = true;
  auto first = PostgresStore::Open(conninfo_, alone);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(PostgresStore::Open(conninfo_, alone),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("another siltad")));
  EXPECT_THAT(PostgresStore::Open(conninfo_, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("another siltad")));
  first->reset();
  EXPECT_THAT(PostgresStore::Open(conninfo_, alone), IsOk());
}

// The audit log stays one log when two stores write to one database at
// once: consecutive indices, and a tree whose root is the root of the
// entries as stored.
TEST_F(PostgresStoreTest, TwoWritersOnOneDatabaseKeepOneOrderedLog) {
  auto a = PostgresStore::Open(conninfo_, {});
  auto b = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  constexpr int kEach = 60;
  auto append = [](Store* store, const std::string& actor) {
    for (int i = 0; i < kEach; ++i) {
      AuditEntries entries = {audit::NewEntry(v1::CONFIG_RELOADED, absl::Now(), actor)};
      EXPECT_THAT(store->AppendAudit(&entries), IsOk());
    }
  };
  std::thread from_a(append, a->get(), "instance-a");
  std::thread from_b(append, b->get(), "instance-b");
  from_a.join();
  from_b.join();

  ASSERT_THAT((*a)->AuditSize(), IsOkAndHolds(2u * kEach));
  auto entries = (*b)->ReadAuditRange(0, 2 * kEach);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 2u * kEach);
  std::vector<std::string> leaves;
  for (size_t i = 0; i < entries->size(); ++i) {
    EXPECT_EQ((*entries)[i].index(), i);
    leaves.push_back(audit::EntryLeafHash((*entries)[i]));
  }
  auto root = audit::RootHash(2 * kEach, [&](const std::vector<audit::NodeId>& nodes) {
    return (*a)->ReadAuditNodes(nodes);
  });
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(audit::RootFromRange(0, leaves, 2 * kEach, {}), IsOkAndHolds(*root));
}

// What a feed is told, for the tests: the notices, in order.
class RecordingFeed final : public ChangeFeed {
 public:
  absl::Status Apply(const ChangeNotice& notice) override {
    absl::MutexLock lock(&mu_);
    applied_.push_back(absl::StrCat(std::string(1, notice.kind), " ", notice.key));
    return absl::OkStatus();
  }
  absl::Status ReloadAll() override {
    absl::MutexLock lock(&mu_);
    ++reloads_;
    return absl::OkStatus();
  }
  absl::Status CatchUpPath() override {
    absl::MutexLock lock(&mu_);
    ++catch_ups_;
    return absl::OkStatus();
  }
  void OnPath(const PathNotice& notice) override {
    absl::MutexLock lock(&mu_);
    path_.push_back(absl::StrCat(std::string(1, notice.kind), " ", absl::StrJoin(notice.ids, " ")));
  }
  // Waits up to 10 s for `done` to hold.
  bool Await(const std::function<bool(const RecordingFeed&)>& done) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        if (done(*this)) return true;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }

  mutable absl::Mutex mu_;
  std::vector<std::string> applied_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> path_ ABSL_GUARDED_BY(mu_);
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
  int catch_ups_ ABSL_GUARDED_BY(mu_) = 0;
};

// Fail closed across instances: a disclosure decided on one instance's
// in-memory state does not commit once another instance has committed a
// change of a decision input that this one has not applied, and nothing
// settles until it has.
TEST_F(PostgresStoreTest, AWriteDecidedBeforeAnotherInstancesChangeIsAborted) {
  auto a = PostgresStore::Open(conninfo_, {});
  auto b = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  const uint64_t decided_at = (*a)->changes().Settled();
  ASSERT_NE(decided_at, ChangeSequence::kUnsettled);

  ASSERT_THAT((*b)->InsertOrg(MakeOrg("changed-on-b"), Audit()), IsOk());
  absl::Notification written;
  absl::Status status;
  (*a)->InsertMessageAsync(
      std::make_shared<const MessageRecord>(testing::MakeMessage("decided-on-a")), "", {},
      [&](absl::Status s, AuditEntries) {
        status = std::move(s);
        written.Notify();
      },
      decided_at);
  written.WaitForNotification();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kAborted, HasSubstr("another siltad")));
  EXPECT_EQ((*a)->changes().Settled(), ChangeSequence::kUnsettled)
      << "a decision could be taken before B's change is applied";
  auto stored = (*a)->GetMessage("police-hame", "decided-on-a");
  ASSERT_THAT(stored, IsOk());
  EXPECT_FALSE(stored->has_value()) << "written although aborted";
}

// A follower hears the other instance's changes in commit order, and its
// own never; once applied, decisions settle and commit again.
TEST_F(PostgresStoreTest, AFollowerAppliesTheOtherInstancesChangesAndMessages) {
  auto a = PostgresStore::Open(conninfo_, {});
  auto b = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  RecordingFeed feed;
  ASSERT_THAT((*a)->FollowOthers(&feed), IsOk());
  {
    // Caught up once, before FollowOthers returned (siltad serves only
    // after that), and not again: the unfinished deliveries are read once.
    absl::MutexLock lock(&feed.mu_);
    EXPECT_EQ(feed.catch_ups_, 1);
  }
  absl::SleepFor(absl::Milliseconds(500));
  {
    absl::MutexLock lock(&feed.mu_);
    EXPECT_EQ(feed.catch_ups_, 1);
  }

  ASSERT_THAT((*a)->InsertOrg(MakeOrg("on-a"), Audit()), IsOk());
  ASSERT_THAT((*b)->InsertOrg(MakeOrg("on-b"), Audit()), IsOk());
  v1::Organization suspended = MakeOrg("on-b");
  suspended.set_state(v1::SUSPENDED);
  ASSERT_THAT((*b)->UpdateOrg(suspended, Audit()), IsOk());
  ASSERT_THAT((*b)->InsertMessage(testing::MakeMessage("sent-on-b"), Audit()), IsOk());

  ASSERT_TRUE(feed.Await(
      [](const RecordingFeed& f) { return f.applied_.size() == 2 && !f.path_.empty(); }));
  {
    absl::MutexLock lock(&feed.mu_);
    EXPECT_THAT(feed.applied_, ::testing::ElementsAre("o on-b", "o on-b"));
    EXPECT_THAT(feed.path_, ::testing::ElementsAre("m police-hame sent-on-b"));
    EXPECT_EQ(feed.reloads_, 0);
  }
  ASSERT_TRUE(feed.Await([&](const RecordingFeed&) {
    return (*a)->changes().Settled() != ChangeSequence::kUnsettled;
  }));
  EXPECT_THAT((*a)->InsertMessage(testing::MakeMessage("sent-on-a"), Audit()), IsOk());
  (*a)->StopFollowing();
}

// A follower whose connection is lost listens again and reads what it may
// have missed.
TEST_F(PostgresStoreTest, AFollowerCatchesUpAfterTheServerRestarts) {
  auto a = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(a, IsOk());
  RecordingFeed feed;
  ASSERT_THAT((*a)->FollowOthers(&feed), IsOk());
  ASSERT_TRUE(feed.Await([](const RecordingFeed& f) { return f.catch_ups_ == 1; }));

  ASSERT_THAT(Server().Stop(), IsOk());
  ASSERT_THAT(Server().Resume(), IsOk());

  EXPECT_TRUE(feed.Await([](const RecordingFeed& f) { return f.catch_ups_ >= 2; }))
      << "the follower did not listen again";
  (*a)->StopFollowing();
}

// A restart of the database fails what was under way, and the store
// connects again by itself: nothing written before is lost.
TEST_F(PostgresStoreTest, TheStoreConnectsAgainAfterTheServerRestarts) {
  auto store = PostgresStore::Open(conninfo_, {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertOrg(MakeOrg("before"), Audit()), IsOk());
  ASSERT_THAT(Server().Stop(), IsOk());
  EXPECT_THAT((*store)->InsertOrg(MakeOrg("while-down"), Audit()),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(Server().Resume(), IsOk());
  // Each connection sees that its server went away before it is used, and
  // connects again: the first calls after the restart succeed.
  EXPECT_THAT((*store)->InsertOrg(MakeOrg("after"), Audit()), IsOk());
  absl::StatusOr<std::vector<v1::Organization>> orgs = (*store)->ListOrgs();
  ASSERT_THAT(orgs, IsOk());
  ASSERT_EQ(orgs->size(), 2u);
  EXPECT_EQ((*orgs)[0].org_id(), "after");
  EXPECT_EQ((*orgs)[1].org_id(), "before");
  EXPECT_THAT((*store)->AuditSize(), IsOkAndHolds(2u));
}

TEST_F(PostgresStoreTest, AnUnreachableDatabaseIsUnavailableAtOpen) {
  EXPECT_THAT(PostgresStore::Open(absl::StrCat(conninfo_, " port=1"), {}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot connect")));
}

}  // namespace
}  // namespace silta::store
