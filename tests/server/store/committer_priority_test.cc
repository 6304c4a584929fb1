#include "server/store/sql/committer_priority.h"

#include <sys/resource.h>

#include <cerrno>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// The nice values a CommitterPriority asked for, on a thread whose own is
// getpriority's (0 for the test).
struct Recorder {
  std::vector<int> asked;
  int refuse_below = -100;  // nice values below this are refused (EACCES)
  CommitterPriority::SetNice Set() {
    return [this](int nice) {
      asked.push_back(nice);
      return nice < refuse_below ? EACCES : 0;
    };
  }
};

int Own() { return getpriority(PRIO_PROCESS, 0); }

TEST(CommitterPriorityTest, TriesTheRaisedValueOnceAtStartAndGoesBack) {
  Recorder r;
  CommitterPriority priority(Own() - 5, r.Set());

  EXPECT_THAT(r.asked, ElementsAre(Own() - 5, Own()));
  EXPECT_TRUE(priority.allowed());
  EXPECT_FALSE(priority.raised());
}

TEST(CommitterPriorityTest, RaisedWhileWritesQueueUpAndLoweredWhenTheyDoNot) {
  Recorder r;
  CommitterPriority priority(Own() - 5, r.Set());
  r.asked.clear();

  priority.Observe(1);
  priority.Observe(CommitterPriority::kRaiseAt - 1);
  EXPECT_THAT(r.asked, IsEmpty()) << "keeping up: left as it is";
  EXPECT_FALSE(priority.raised());

  priority.Observe(CommitterPriority::kRaiseAt);
  EXPECT_THAT(r.asked, ElementsAre(Own() - 5));
  EXPECT_TRUE(priority.raised());

  // Between the two thresholds it stays as it is: no call per batch.
  priority.Observe(CommitterPriority::kRaiseAt + 20);
  priority.Observe(CommitterPriority::kLowerAt + 1);
  EXPECT_THAT(r.asked, ElementsAre(Own() - 5));
  EXPECT_TRUE(priority.raised());

  priority.Observe(CommitterPriority::kLowerAt);
  EXPECT_THAT(r.asked, ElementsAre(Own() - 5, Own()));
  EXPECT_FALSE(priority.raised());

  priority.Observe(CommitterPriority::kLowerAt - 1);
  EXPECT_THAT(r.asked, ElementsAre(Own() - 5, Own()));
}

TEST(CommitterPriorityTest, RefusedAtStartItNeverTriesAgain) {
  Recorder r;
  r.refuse_below = Own();
  CommitterPriority priority(Own() - 5, r.Set());

  EXPECT_FALSE(priority.allowed());
  priority.Observe(CommitterPriority::kRaiseAt * 10);
  EXPECT_THAT(r.asked, ElementsAre(Own() - 5)) << "one try, at start";
  EXPECT_FALSE(priority.raised());
}

TEST(CommitterPriorityTest, AValueNotAheadOfItsOwnAsksForNothing) {
  for (int value : {Own(), Own() + 3}) {
    Recorder r;
    CommitterPriority priority(value, r.Set());

    priority.Observe(CommitterPriority::kRaiseAt * 10);
    EXPECT_THAT(r.asked, IsEmpty()) << value;
    EXPECT_FALSE(priority.raised());
  }
}

}  // namespace
}  // namespace silta::store
