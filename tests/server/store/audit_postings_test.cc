#include "server/store/sql/audit_postings.h"

#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::store {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AuditPostingsTest, ARowOfOneIndexHasNoGaps) {
  EXPECT_EQ(EncodePostingGaps({42}), "");
  EXPECT_THAT(DecodePosting(42, ""), IsOkAndHolds(ElementsAre(42u)));
}

TEST(AuditPostingsTest, IndexesComeBackAsTheyWentIn) {
  const uint64_t far = uint64_t{1} << 40;
  const std::vector<uint64_t> idxs = {0, 1, 2, 130, 131, 20000, far, far + 127, far + 128};
  const std::string gaps = EncodePostingGaps(idxs);
  // Gaps 1, 1, 128 (2 bytes), 1, 19869 (3 bytes), ... each a varint.
  EXPECT_EQ(gaps.substr(0, 4), std::string("\x01\x01\x80\x01", 4));
  EXPECT_THAT(DecodePosting(0, gaps), IsOkAndHolds(idxs));
}

TEST(AuditPostingsTest, CorruptGapsAreAnErrorNotIndexes) {
  // A varint cut short, a zero gap (an index twice), and a gap past the
  // largest index a row can hold (the store's columns are signed).
  EXPECT_THAT(DecodePosting(7, std::string("\x02\x80", 2)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("posting row at 7 is corrupt")));
  EXPECT_THAT(DecodePosting(7, std::string("\x02\x00", 2)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("corrupt")));
  const uint64_t top = std::numeric_limits<int64_t>::max();
  EXPECT_THAT(DecodePosting(top - 1, EncodePostingGaps({0, 1})), IsOk());
  EXPECT_THAT(DecodePosting(top, EncodePostingGaps({0, 1})),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("corrupt")));
  // A first index past it (a negative one read from the store).
  EXPECT_THAT(DecodePosting(static_cast<uint64_t>(int64_t{-1}), ""),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("corrupt")));
}

}  // namespace
}  // namespace silta::store
