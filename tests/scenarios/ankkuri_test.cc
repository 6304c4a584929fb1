// Scenario: Helsinki's Ankkuri team (DESIGN.md §1). Police refer a
// 15-year-old to social services; the team adds the psychiatric nurse's
// unit and youth services; the guardian consented to social-welfare and
// education data for youth services and health data for psychiatry, and
// refused health data to the police. One message with mixed fields reaches
// each member with exactly its permitted fields. A child-welfare
// notification from police goes through under lastensuojelulaki 25 §
// without consent, and is flagged in the audit log and the subject report.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(AnkkuriScenario, EachMemberGetsItsFieldsAndTheNotificationIsEvidence) {
  World world("ankkuri");
  for (const char* org : {"police-hame", "wba-social", "wba-psychiatry", "hml-youth"}) {
    world.Keys(org);
  }
  // Police open the case and refer the youth to social services.
  const std::string case_id = world.OpenCase("police-hame", {"wba-social"}, kYouth15);
  world.AddMember("police-hame", case_id, "wba-psychiatry");
  world.AddMember("police-hame", case_id, "hml-youth");
  world.ConsentTo(kYouth15, {v1::CATEGORY_SOCIAL_WELFARE, v1::CATEGORY_EDUCATION_EMPLOYMENT},
                  "hml-youth", {"referral"});
  world.ConsentTo(kYouth15,
                  {v1::CATEGORY_SOCIAL_WELFARE, v1::CATEGORY_HEALTH, v1::CATEGORY_MENTAL_HEALTH},
                  "wba-psychiatry", {"referral"});
  world.ConsentTo(kYouth15,
                  {v1::CATEGORY_SOCIAL_WELFARE, v1::CATEGORY_EDUCATION_EMPLOYMENT,
                   v1::CATEGORY_HEALTH, v1::CATEGORY_MENTAL_HEALTH},
                  "police-hame", {"referral"});
  world.Refuse(kYouth15, {v1::CATEGORY_HEALTH, v1::CATEGORY_MENTAL_HEALTH}, "police-hame");

  // Social services write to the whole team.
  v1::Referral mixed;
  mixed.set_support_needs("needs a support person after school");           // SOCIAL_WELFARE
  mixed.set_education_employment("9th grade, often absent");                // EDUCATION
  mixed.set_mental_health_notes("psychiatric nurse's assessment pending");  // MENTAL_HEALTH
  v1::SendResponse sent;
  ASSERT_TRUE(world
                  .Send("wba-social",
                        world.Seal("wba-social", case_id, mixed,
                                   {"police-hame", "wba-psychiatry", "hml-youth"}),
                        &sent)
                  .ok());
  const auto open = [&](const std::string& org) {
    auto delivery = world.Receive(org);
    EXPECT_TRUE(delivery.has_value()) << org;
    v1::Referral got;
    if (!delivery.has_value()) return got;
    EXPECT_TRUE(world.Open("wba-social", org, *delivery, &got).ok()) << org;
    EXPECT_TRUE(world.Ack(org, delivery->delivery_id()).ok());
    return got;
  };
  const v1::Referral youth = open("hml-youth");
  EXPECT_EQ(youth.support_needs(), mixed.support_needs());
  EXPECT_EQ(youth.education_employment(), mixed.education_employment());
  EXPECT_THAT(youth.mental_health_notes(), IsEmpty());
  const v1::Referral psychiatry = open("wba-psychiatry");
  EXPECT_EQ(psychiatry.mental_health_notes(), mixed.mental_health_notes());
  EXPECT_EQ(psychiatry.support_needs(), mixed.support_needs());
  EXPECT_THAT(psychiatry.education_employment(), IsEmpty());
  const v1::Referral police = open("police-hame");
  EXPECT_EQ(police.support_needs(), mixed.support_needs());
  EXPECT_EQ(police.education_employment(), mixed.education_employment());
  EXPECT_THAT(police.mental_health_notes(), IsEmpty()) << "the refusal overrides the consent";

  // The child-welfare notification needs no consent: lastensuojelulaki 25 §.
  v1::ChildWelfareNotification notification;
  notification.set_concern("found alone in the metro at 2 a.m.");
  notification.set_urgent(true);
  ASSERT_TRUE(world
                  .Send("police-hame",
                        world.Seal("police-hame", case_id, notification, {"wba-social"}, "lsl_25",
                                   "patrol report 2026-10-12"),
                        &sent)
                  .ok());
  auto delivery = world.Receive("wba-social");
  ASSERT_TRUE(delivery.has_value());
  v1::ChildWelfareNotification received;
  ASSERT_TRUE(world.Open("police-hame", "wba-social", *delivery, &received).ok());
  EXPECT_EQ(received.concern(), notification.concern());
  ASSERT_TRUE(world.Ack("wba-social", delivery->delivery_id()).ok());

  // The audit log flags it, with the law and the justification...
  CommandResult r = world.Siltactl(
      "wba-dpo", {"audit", "query", "--case", case_id, "--type", "STATUTORY_BASIS_USED", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("lastensuojelulaki (417/2007) 25 §"),
                              HasSubstr("\"justification_present\":true")));
  // ... and so does the young person's report, with every withholding.
  r = world.Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--include-law-enforcement", "--worker", "registrar-1"},
                     std::string(kYouth15) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr("law: lastensuojelulaki (417/2007) 25 §"), HasSubstr("withheld"),
                    HasSubstr("refusal"), HasSubstr("mental_health")));
  EXPECT_THAT(r.output, Not(HasSubstr(kYouth15)));
  EXPECT_THAT(world.siltad().Log(), Not(HasSubstr(kYouth15)));
}

}  // namespace
}  // namespace silta::testing
