// The Store contract, run on both stores (SQLite, and PostgreSQL with
// SILTA_TEST_STORE=postgres: tests/testing/test_store.h). What only one
// store does is in sqlite_store_test and postgres_store_test.
#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/audit_batch.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_rows.h"
#include "tests/testing/test_store.h"

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

// A database file in a directory of this test run's own.
std::string TempDbPath(const std::string& name) {
  static const std::string dir = testing::MakeTempDir("store_contract");
  const std::string path = dir + "/" + name;
  std::filesystem::remove(path);
  return path;
}

TEST(StoreContractTest, OrgRoundTripsEveryField) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  const v1::Organization org = MakeOrg("rise-prison");

  ASSERT_THAT((*store)->InsertOrg(org, Audit()), IsOk());
  auto read = (*store)->GetOrg("rise-prison");

  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->SerializeAsString(), org.SerializeAsString());
}

TEST(StoreContractTest, InsertingTakenIdIsAlreadyExists) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  ASSERT_THAT((*store)->InsertOrg(MakeOrg("a"), Audit()), IsOk());

  EXPECT_THAT((*store)->InsertOrg(MakeOrg("a"), Audit()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
}

TEST(StoreContractTest, UpdatingUnknownOrgIsNotFound) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());

  EXPECT_THAT((*store)->UpdateOrg(MakeOrg("ghost"), Audit()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("ghost")));
}

TEST(StoreContractTest, ListsOrgsInIdOrder) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  for (const char* id : {"c", "a", "b"})
    ASSERT_THAT((*store)->InsertOrg(MakeOrg(id), Audit()), IsOk());

  auto orgs = (*store)->ListOrgs();

  ASSERT_THAT(orgs, IsOk());
  ASSERT_EQ(orgs->size(), 3u);
  EXPECT_EQ((*orgs)[0].org_id(), "a");
  EXPECT_EQ((*orgs)[2].org_id(), "c");
}

TEST(StoreGroupCommitTest, ConcurrentInsertsAllLandAndShareCommits) {
  auto store = testing::OpenTestStore(TempDbPath("group.db"), {});
  ASSERT_THAT(store, IsOk());
  constexpr int kThreads = 8, kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!(*store)
                 ->InsertMessage(MakeMessage(absl::StrCat("m-", t, "-", i)),
                                 Audit(v1::MESSAGE_ACCEPTED))
                 .ok())
          ++failures;
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

TEST(StoreGroupCommitTest, ATakenIdFailsOnlyItsOwnMessage) {
  auto store = testing::OpenTestStore(":memory:", {});
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
TEST(StoreMessagesTest, MessageIdsAreUniquePerSender) {
  auto store = testing::OpenTestStore(":memory:", {});
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

// Nothing is disclosed after a confirmed ack: a DELIVERED mark for a
// delivery already finished (acked by another instance, say) is refused,
// with its audit entries, and the ack stands.
TEST(StoreMessagesTest, ADeliveredMarkAfterTheAckIsRefused) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  MessageRecord m = MakeMessage("acked-first");
  m.deliveries.push_back(m.deliveries[0]);
  m.deliveries[1].delivery_id = "acked-first-other";
  m.deliveries[1].recipient_org_id = "wba-social";
  ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  DeliveryRecord d = FirstDelivery(m, v1::DELIVERED);
  ASSERT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_DELIVERED)), IsOk());
  d.state = v1::ACKED;
  ASSERT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_ACKED)), IsOk());
  auto size = (*store)->AuditSize();
  ASSERT_THAT(size, IsOk());

  d.state = v1::DELIVERED;
  d.attempts = 2;
  EXPECT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_DELIVERED)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("finished")));
  EXPECT_THAT(
      (*store)->GetDelivery(d.delivery_id),
      IsOkAndHolds(::testing::Optional(::testing::Field(&DeliveryRecord::state, v1::ACKED))));
  EXPECT_THAT((*store)->AuditSize(), IsOkAndHolds(*size));
  d.delivery_id = "no-such-delivery";
  EXPECT_THAT((*store)->UpdateDelivery(d, Audit(v1::MESSAGE_DELIVERED)),
              StatusIs(absl::StatusCode::kNotFound));
}

// The body is kept while a delivery is unfinished, and purged with the
// last ack; a message permitted to no one is stored without it. The
// receipt stays.
TEST(StoreMessagesTest, TheBodyIsKeptUntilTheLastDeliveryIsFinished) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  MessageRecord m = MakeMessage("two-recipients");
  m.receipt.set_payload_type("referral");
  m.deliveries.push_back(m.deliveries[0]);
  m.deliveries[1].delivery_id = "two-recipients-other";
  m.deliveries[1].recipient_org_id = "wba-social";
  MessageRecord none = MakeMessage("permitted-to-no-one");
  none.deliveries[0].state = v1::NOTHING_PERMITTED;
  ASSERT_THAT((*store)->InsertMessage(m, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  ASSERT_THAT((*store)->InsertMessage(none, Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  const auto body_of = [&](const std::string& id) -> std::optional<v1::SealedMessage> {
    auto stored = (*store)->GetMessage("police-hame", id);
    if (!stored.ok() || !stored->has_value()) {
      ADD_FAILURE() << "message " << id << " not read back: " << stored.status();
      return std::nullopt;
    }
    EXPECT_EQ((*stored)->receipt.payload_type(), id == m.message_id ? "referral" : "");
    return (*stored)->body;
  };

  EXPECT_FALSE(body_of(none.message_id).has_value());
  ASSERT_TRUE(body_of(m.message_id).has_value());
  EXPECT_EQ(body_of(m.message_id)->header().message_id(), m.message_id);
  ASSERT_THAT((*store)->UpdateDelivery(FirstDelivery(m, v1::ACKED), Audit(v1::MESSAGE_ACKED)),
              IsOk());
  EXPECT_TRUE(body_of(m.message_id).has_value()) << "one delivery is unfinished";
  DeliveryRecord other = FirstDelivery(m, v1::ACKED);
  other.delivery_id = m.deliveries[1].delivery_id;
  other.recipient_org_id = m.deliveries[1].recipient_org_id;
  ASSERT_THAT((*store)->UpdateDelivery(other, Audit(v1::MESSAGE_ACKED)), IsOk());
  EXPECT_FALSE(body_of(m.message_id).has_value());
  auto unfinished = (*store)->UnfinishedDeliveries(1);
  ASSERT_THAT(unfinished, IsOk());
  EXPECT_TRUE(unfinished->empty());
}

// Cases and key bundles are cached (read_cache.h): a change must be seen by
// the next read, as if there were no cache.
TEST(StoreCacheTest, ACaseChangeIsSeenByTheNextRead) {
  auto store = testing::OpenTestStore(TempDbPath("case_cache.db"), {});
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
    const bool found = read.ok() && *read != nullptr;
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

TEST(StoreCacheTest, APublishedKeyBundleIsSeenByTheNextRead) {
  auto store = testing::OpenTestStore(TempDbPath("bundle_cache.db"), {});
  ASSERT_THAT(store, IsOk());
  v1::KeyBundle first;
  first.set_key_id("k1");
  first.set_org_id("hml-youth");
  ASSERT_THAT((*store)->PublishKeyBundle(first, Audit(v1::KEY_BUNDLE_PUBLISHED)), IsOk());
  auto bundles = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/true);
  ASSERT_THAT(bundles, IsOk());
  ASSERT_EQ((*bundles)->size(), 1u);

  v1::KeyBundle second = first;
  second.set_key_id("k2");
  ASSERT_THAT((*store)->PublishKeyBundle(second, Audit(v1::KEY_BUNDLE_PUBLISHED)), IsOk());

  bundles = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/true);
  ASSERT_THAT(bundles, IsOk());
  ASSERT_EQ((*bundles)->size(), 2u);
  EXPECT_EQ((**bundles)[0].key_id(), "k2");
  EXPECT_TRUE((**bundles)[1].retired());
  auto current = (*store)->ListKeyBundles("hml-youth", /*include_retired=*/false);
  ASSERT_THAT(current, IsOk());
  ASSERT_EQ((*current)->size(), 1u);
  EXPECT_EQ((**current)[0].key_id(), "k2");
}

}  // namespace
}  // namespace silta::store
