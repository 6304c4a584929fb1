// ConnectionOptions::address as a gRPC target: one address as it is,
// several as one list the channel fails over along (issue #16).
#include "client/sdk/connection.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::sdk {
namespace {

using ::silta::testing::IsOkAndHolds;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ChannelTargetTest, OneAddressIsLeftToGrpcsResolver) {
  EXPECT_THAT(ChannelTarget("siltad.example:7443"), IsOkAndHolds("siltad.example:7443"));
}

TEST(ChannelTargetTest, SeveralAddressesBecomeOneListInTheOrderGiven) {
  EXPECT_THAT(ChannelTarget("127.0.0.3:7445, 127.0.0.1:7443,127.0.0.2:7444"),
              IsOkAndHolds("ipv4:127.0.0.3:7445,127.0.0.1:7443,127.0.0.2:7444"));
  EXPECT_THAT(ChannelTarget("[::1]:7443,[::1]:7444"), IsOkAndHolds("ipv6:[::1]:7443,[::1]:7444"));
}

TEST(ChannelTargetTest, AHostThatDoesNotResolveIsLeftOutWhileAnotherDoes) {
  EXPECT_THAT(ChannelTarget("nothing.invalid:7443,127.0.0.1:7444"),
              IsOkAndHolds("ipv4:127.0.0.1:7444"));
  EXPECT_THAT(ChannelTarget("nothing.invalid:7443,neither.invalid:7444"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("resolves")));
}

TEST(ChannelTargetTest, AnEntryWithoutAPortIsRefusedByName) {
  EXPECT_THAT(ChannelTarget("127.0.0.1:7443,siltad-2.example"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"siltad-2.example\"")));
  EXPECT_THAT(ChannelTarget("127.0.0.1:7443,[::1:7444"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unclosed")));
}

}  // namespace
}  // namespace silta::sdk
