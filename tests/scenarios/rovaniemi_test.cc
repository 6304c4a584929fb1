// Scenario: Rovaniemi's NGO coaching (DESIGN.md §1). A 17-year-old, after
// a competence assessment, consents to coaching data going to an NGO for
// six months, then withdraws part of it; a message queued before the
// withdrawal arrives without the withdrawn fields.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(RovaniemiScenario, AWithdrawalReachesAMessageAlreadyQueued) {
  World world("rovaniemi");
  for (const char* org : {"hml-youth", "asenne-ry"}) world.Keys(org);
  const std::string case_id = world.OpenCase("hml-youth", {"asenne-ry"}, kYouth17);
  const absl::Duration six_months = absl::Hours(24 * 183);
  // A professional assessed the 17-year-old able to decide on coaching;
  // from then on her own consent counts (812/2000 10-11 §).
  world.Assess(kYouth17, {v1::CATEGORY_EDUCATION_EMPLOYMENT, v1::CATEGORY_SOCIAL_WELFARE},
               {"youth_coaching"});
  world.ConsentTo(kYouth17, {v1::CATEGORY_EDUCATION_EMPLOYMENT}, "asenne-ry", {"youth_coaching"},
                  v1::SUBJECT, six_months);
  const std::string welfare =
      world.ConsentTo(kYouth17, {v1::CATEGORY_SOCIAL_WELFARE}, "asenne-ry", {"youth_coaching"},
                      v1::SUBJECT, six_months);

  // The youth worker sends coaching data; the NGO is not connected yet.
  v1::Referral coaching;
  coaching.set_education_employment("wants to finish vocational school");
  coaching.set_support_needs("lives alone since September");
  v1::SendResponse sent;
  ASSERT_TRUE(
      world
          .Send("hml-youth",
                world.Seal("hml-youth", case_id, coaching, {"asenne-ry"}, "", "", "youth_coaching"),
                &sent)
          .ok());
  int permitted_at_send = 0;
  for (const auto& d : sent.receipt().decisions()) permitted_at_send += d.verdict() == v1::PERMIT;
  EXPECT_EQ(permitted_at_send, 2);

  // The young person withdraws the social-welfare consent before delivery.
  world.Withdraw(welfare);
  auto delivery = world.Receive("asenne-ry");
  ASSERT_TRUE(delivery.has_value());
  EXPECT_EQ(delivery->withheld_field_count(), 1u);
  v1::Referral got;
  ASSERT_TRUE(world.Open("hml-youth", "asenne-ry", *delivery, &got).ok());
  EXPECT_EQ(got.education_employment(), coaching.education_employment());
  EXPECT_THAT(got.support_needs(), IsEmpty());
  ASSERT_TRUE(world.Ack("asenne-ry", delivery->delivery_id()).ok());

  // The log says why: withheld at delivery, under the withdrawn consent.
  const CommandResult r = world.Siltactl(
      "wba-dpo", {"audit", "query", "--case", case_id, "--type", "FIELD_WITHHELD", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("at_delivery"));
  EXPECT_THAT(r.output, HasSubstr("CATEGORY_SOCIAL_WELFARE"));
}

}  // namespace
}  // namespace silta::testing
