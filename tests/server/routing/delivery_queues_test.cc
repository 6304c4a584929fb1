// The delivery queues in memory (delivery_queues.h): order, due times,
// acks that overtake a redelivery, the bound on held messages, the backlog.
#include "server/routing/delivery_queues.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::routing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

QueuedDelivery Make(const std::string& id, const std::string& org, bool with_message = true,
                    absl::Time due = absl::InfinitePast()) {
  QueuedDelivery q;
  q.record.delivery_id = id;
  q.record.recipient_org_id = org;
  q.record.message_id = "m-" + id;
  q.record.state = v1::PENDING;
  q.record.next_attempt_us = due == absl::InfinitePast() ? 0 : absl::ToUnixMicros(due);
  if (with_message) q.message = std::make_shared<store::MessageRecord>();
  return q;
}

std::vector<std::string> Ids(const std::vector<QueuedDelivery>& v) {
  std::vector<std::string> out;
  for (const QueuedDelivery& q : v) out.push_back(q.record.delivery_id);
  return out;
}

TEST(DeliveryQueuesTest, EachOrgTakesItsOwnInArrivalOrderUpToTheLimit) {
  DeliveryQueues queues;
  queues.Add(Make("a1", "hml-youth"), 1, kNow);
  queues.Add(Make("b1", "wba-social"), 2, kNow);
  queues.Add(Make("a2", "hml-youth"), 3, kNow);
  queues.Add(Make("a3", "hml-youth"), 4, kNow);
  EXPECT_THAT(Ids(queues.Take("hml-youth", 2)), ElementsAre("a1", "a2"));
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), ElementsAre("a3"));
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), IsEmpty()) << "taken ones are not taken again";
  EXPECT_THAT(Ids(queues.Take("wba-social", 10)), ElementsAre("b1"));
  EXPECT_EQ(queues.size(), 4u) << "taken ones are still known until finished";
}

TEST(DeliveryQueuesTest, AnUnackedDeliveryIsDueAgainAtItsDeadlineInItsOldPlace) {
  DeliveryQueues queues;
  queues.Add(Make("a1", "hml-youth"), 1, kNow);
  queues.Add(Make("a2", "hml-youth"), 2, kNow);
  std::vector<QueuedDelivery> taken = queues.Take("hml-youth", 1);
  ASSERT_EQ(taken.size(), 1u);
  taken[0].record.state = v1::DELIVERED;
  queues.Schedule(taken[0], kNow + absl::Seconds(60), kNow);
  EXPECT_THAT(queues.Advance(kNow + absl::Seconds(59)), IsEmpty());
  EXPECT_THAT(queues.Advance(kNow + absl::Seconds(60)), ElementsAre("hml-youth"));
  const std::vector<QueuedDelivery> again = queues.Take("hml-youth", 10);
  EXPECT_THAT(Ids(again), ElementsAre("a1", "a2")) << "oldest first, as before";
  EXPECT_EQ(again[0].record.state, v1::DELIVERED) << "the updated record is kept";
}

TEST(DeliveryQueuesTest, ADeliveryDueLaterWaitsUntilThen) {
  DeliveryQueues queues;
  queues.Add(Make("a1", "hml-youth", true, kNow + absl::Seconds(5)), 1, kNow);
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), IsEmpty());
  queues.Advance(kNow + absl::Seconds(5));
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), ElementsAre("a1"));
}

TEST(DeliveryQueuesTest, AnAckThatOvertakesARedeliveryIsNotUndone) {
  DeliveryQueues queues;
  queues.Add(Make("a1", "hml-youth"), 1, kNow);
  std::vector<QueuedDelivery> taken = queues.Take("hml-youth", 1);
  // The ack of an earlier attempt finishes it while this one is taken.
  EXPECT_TRUE(queues.Forget("a1"));
  queues.Schedule(taken[0], kNow + absl::Seconds(60), kNow);
  queues.Advance(kNow + absl::Hours(1));
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), IsEmpty());
  EXPECT_FALSE(queues.Find("a1").has_value());
  EXPECT_FALSE(queues.Forget("a1"));
  EXPECT_EQ(queues.size(), 0u);
}

TEST(DeliveryQueuesTest, AForgottenDeliveryLeavesItsQueueWhereverItWas) {
  DeliveryQueues queues;
  queues.Add(Make("ready", "hml-youth"), 1, kNow);
  queues.Add(Make("waiting", "hml-youth", true, kNow + absl::Seconds(5)), 2, kNow);
  EXPECT_TRUE(queues.Forget("ready"));
  EXPECT_TRUE(queues.Forget("waiting"));
  queues.Advance(kNow + absl::Hours(1));
  EXPECT_THAT(Ids(queues.Take("hml-youth", 10)), IsEmpty());
  EXPECT_THAT(queues.Backlog(), IsEmpty());
}

TEST(DeliveryQueuesTest, OnlyTheBoundOfMessagesIsHeldTheRestIsReadBack) {
  DeliveryQueues queues(/*max_held_messages=*/2);
  for (int i = 0; i < 4; ++i) queues.Add(Make("d" + std::to_string(i), "hml-youth"), i, kNow);
  const std::vector<QueuedDelivery> taken = queues.Take("hml-youth", 10);
  ASSERT_EQ(taken.size(), 4u);
  EXPECT_NE(taken[0].message, nullptr);
  EXPECT_NE(taken[1].message, nullptr);
  EXPECT_EQ(taken[2].message, nullptr) << "beyond the bound: only the record";
  EXPECT_EQ(taken[3].message, nullptr);
  // A finished one makes room for a message read back.
  queues.Forget("d0");
  QueuedDelivery read_back = taken[2];
  read_back.message = std::make_shared<store::MessageRecord>();
  queues.Schedule(read_back, kNow, kNow);
  EXPECT_NE(queues.Find("d2")->message, nullptr);
  queues.Schedule(taken[3], kNow, kNow);
  EXPECT_EQ(queues.Find("d3")->message, nullptr);
}

TEST(DeliveryQueuesTest, TheBacklogCountsEveryUnfinishedDeliveryAndItsOldest) {
  DeliveryQueues queues;
  queues.Add(Make("a1", "hml-youth"), 100, kNow);
  queues.Add(Make("a2", "hml-youth"), 50, kNow);
  queues.Add(Make("b1", "wba-social"), 70, kNow);
  queues.Take("hml-youth", 1);  // taken ones count too
  const std::vector<RecipientBacklog> backlog = queues.Backlog();
  ASSERT_EQ(backlog.size(), 2u);
  EXPECT_EQ(backlog[0].recipient_org_id, "hml-youth");
  EXPECT_EQ(backlog[0].deliveries, 2u);
  EXPECT_EQ(backlog[0].oldest_accepted_us, 50);
  EXPECT_EQ(backlog[1].recipient_org_id, "wba-social");
  EXPECT_EQ(backlog[1].deliveries, 1u);
}

}  // namespace
}  // namespace silta::routing
