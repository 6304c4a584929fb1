#include "lib/audit/log_entry.h"

#include "gtest/gtest.h"
#include "lib/common/time_util.h"

namespace silta::audit {
namespace {

TEST(SequenceTest, NumbersEntriesInOrderAndKeepsLogOrderTimeOrder) {
  const absl::Time t0 = absl::FromUnixSeconds(1780000000);
  LogTail tail{.size = 41, .last_at_us = absl::ToUnixMicros(t0)};
  v1::AuditEntry later = NewEntry(v1::CASE_CREATED, t0 + absl::Seconds(1), "police-hame");
  // The clock stepped back: the entry is stamped with the last entry's time.
  v1::AuditEntry earlier = NewEntry(v1::CASE_CREATED, t0 - absl::Seconds(5), "police-hame");

  Sequence(later, tail);
  Sequence(earlier, tail);

  EXPECT_EQ(later.index(), 41u);
  EXPECT_EQ(earlier.index(), 42u);
  EXPECT_EQ(tail.size, 43u);
  EXPECT_EQ(common::ToTime(later.at()), t0 + absl::Seconds(1));
  EXPECT_EQ(common::ToTime(earlier.at()), t0 + absl::Seconds(1));
  EXPECT_EQ(tail.last_at_us, absl::ToUnixMicros(t0 + absl::Seconds(1)));
}

}  // namespace
}  // namespace silta::audit
