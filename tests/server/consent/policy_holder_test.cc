#include "server/consent/policy_holder.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::consent {
namespace {

using ::silta::testing::ExamplePolicy;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PolicyHolderTest, InvalidReplacementKeepsOldPolicy) {
  const v1::Policy example = ExamplePolicy();
  ASSERT_GT(example.purposes_size(), 0);
  PolicyHolder holder(example);
  v1::Policy bad = example;
  bad.clear_purposes();

  EXPECT_THAT(holder.Replace(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purposes")));
  EXPECT_EQ(holder.Get()->purposes_size(), example.purposes_size());
}

}  // namespace
}  // namespace silta::consent
