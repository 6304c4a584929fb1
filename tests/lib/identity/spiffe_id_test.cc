#include "lib/identity/spiffe_id.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::identity {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SpiffeIdTest, ParsesOrgAndSystem) {
  absl::StatusOr<SpiffeId> id = ParseSpiffeId("spiffe://silta.test/org/police-hame/sys/case-mgmt");

  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(id->trust_domain, "silta.test");
  EXPECT_EQ(id->org_id, "police-hame");
  EXPECT_EQ(id->system, "case-mgmt");
}

class SpiffeIdRejectTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(SpiffeIdRejectTest, RejectsMalformedIdWithReason) {
  const auto& [uri, reason] = GetParam();

  EXPECT_THAT(ParseSpiffeId(uri), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(reason)));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, SpiffeIdRejectTest,
    ::testing::Values(std::make_pair("https://silta.test/org/a/sys/b", "not a spiffe:// URI"),
                      std::make_pair("SPIFFE://silta.test/org/a/sys/b", "not a spiffe:// URI"),
                      std::make_pair("spiffe://silta.test", "no path"),
                      std::make_pair("spiffe://Silta.Test/org/a/sys/b", "trust domain"),
                      std::make_pair("spiffe://user@silta.test/org/a/sys/b", "trust domain"),
                      std::make_pair("spiffe://silta.test:443/org/a/sys/b", "trust domain"),
                      std::make_pair("spiffe://.silta.test/org/a/sys/b", "trust domain"),
                      std::make_pair("spiffe://silta.test/org/a", "path is not"),
                      std::make_pair("spiffe://silta.test/org/a/sys/b/extra", "path is not"),
                      std::make_pair("spiffe://silta.test/orgs/a/sys/b", "path is not"),
                      std::make_pair("spiffe://silta.test/org//sys/b", "org id"),
                      std::make_pair("spiffe://silta.test/org/Police/sys/b", "org id"),
                      std::make_pair("spiffe://silta.test/org/a%2Fb/sys/b", "org id"),
                      std::make_pair("spiffe://silta.test/org/-a/sys/b", "org id"),
                      std::make_pair("spiffe://silta.test/org/a/sys/b?x=1", "system name"),
                      std::make_pair("spiffe://silta.test/org/a/sys/b#frag", "system name"),
                      std::make_pair("spiffe://silta.test/org/a/sys/", "system name")));

TEST(SpiffeIdTest, RejectsOverlongOrgId) {
  const std::string uri = "spiffe://silta.test/org/" + std::string(65, 'a') + "/sys/b";

  EXPECT_THAT(ParseSpiffeId(uri),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("org id")));
}

TEST(OrgIdTest, AcceptsBoundaryLengths) {
  EXPECT_TRUE(IsValidOrgId("a"));
  EXPECT_TRUE(IsValidOrgId(std::string(64, 'a')));
  EXPECT_FALSE(IsValidOrgId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidOrgId(""));
  EXPECT_FALSE(IsValidOrgId("a_b"));
}

}  // namespace
}  // namespace silta::identity
