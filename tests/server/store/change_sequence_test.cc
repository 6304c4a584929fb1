#include "server/store/change_sequence.h"

#include <optional>

#include "gtest/gtest.h"

namespace silta::store {
namespace {

TEST(ChangeSequenceTest, ATokenHoldsUntilAChangeBegins) {
  ChangeSequence changes;
  const uint64_t token = changes.Settled();
  EXPECT_TRUE(changes.Unchanged(token));
  {
    const ChangeSequence::Change change = changes.Begin();
    EXPECT_FALSE(changes.Unchanged(token)) << "begun, not yet ended: already moved";
  }
  EXPECT_FALSE(changes.Unchanged(token));
  EXPECT_TRUE(changes.Unchanged(changes.Settled()));
}

TEST(ChangeSequenceTest, ADecisionTakenWhileAChangeIsUnderWayNeverHolds) {
  ChangeSequence changes;
  std::optional<ChangeSequence::Change> change(changes.Begin());
  const uint64_t token = changes.Settled();
  EXPECT_EQ(token, ChangeSequence::kUnsettled);
  EXPECT_FALSE(changes.Unchanged(token));
  change.reset();
  EXPECT_FALSE(changes.Unchanged(token)) << "it may have seen half of the change";
}

TEST(ChangeSequenceTest, AMovedChangeEndsOnce) {
  ChangeSequence changes;
  {
    ChangeSequence::Change first = changes.Begin();
    ChangeSequence::Change moved(std::move(first));
  }
  const uint64_t token = changes.Settled();
  EXPECT_NE(token, ChangeSequence::kUnsettled) << "one begin, one end";
  EXPECT_TRUE(changes.Unchanged(token));
}

TEST(ChangeSequenceTest, WhenSettledRunsAtOnceWithoutAChangeElseWhenTheLastEnds) {
  ChangeSequence changes;
  int calls = 0;
  changes.CallWhenSettled([&] { ++calls; });
  EXPECT_EQ(calls, 1) << "nothing under way: at once";

  std::optional<ChangeSequence::Change> first(changes.Begin());
  std::optional<ChangeSequence::Change> second(changes.Begin());
  changes.CallWhenSettled([&] { ++calls; });
  EXPECT_EQ(calls, 1);
  first.reset();
  EXPECT_EQ(calls, 1) << "one change is still under way";
  second.reset();
  EXPECT_EQ(calls, 2);
  { const ChangeSequence::Change third = changes.Begin(); }
  EXPECT_EQ(calls, 2) << "called once";
}

}  // namespace
}  // namespace silta::store
