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

}  // namespace
}  // namespace silta::store
