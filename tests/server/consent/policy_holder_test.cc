#include "server/consent/policy_holder.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::consent {
namespace {

using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

v1::Policy Parse(const char* text) {
  v1::Policy policy;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &policy));
  return policy;
}

constexpr const char* kMinimal = R"pb(
  categories { category: CATEGORY_IDENTITY sensitivity: NORMAL identifying: true }
  purposes { code: "referral" }
)pb";

TEST(PolicyHolderTest, InvalidReplacementKeepsOldPolicy) {
  PolicyHolder holder(Parse(kMinimal));
  v1::Policy bad = Parse(kMinimal);
  bad.clear_purposes();

  EXPECT_THAT(holder.Replace(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purposes")));
  EXPECT_EQ(holder.Get()->purposes_size(), 1);
}

}  // namespace
}  // namespace silta::consent
