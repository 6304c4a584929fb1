#include "lib/policy/policy.h"

#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace silta::policy {
namespace {

using ::silta::testing::IsOk;
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

TEST(ValidatePolicyTest, AcceptsMinimalPolicy) {
  EXPECT_THAT(ValidatePolicy(Parse(kMinimal)), IsOk());
}

TEST(ValidatePolicyTest, RejectsPolicyWithoutPurposes) {
  v1::Policy policy = Parse(kMinimal);
  policy.clear_purposes();
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purposes")));
}

TEST(ValidatePolicyTest, RejectsDuplicateCategory) {
  v1::Policy policy = Parse(kMinimal);
  *policy.add_categories() = policy.categories(0);
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("categories[1]: CATEGORY_IDENTITY is listed twice")));
}

TEST(ValidatePolicyTest, RejectsBadPurposeCode) {
  v1::Policy policy = Parse(kMinimal);
  policy.add_purposes()->set_code("Bad Code");
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purposes[1]")));
}

TEST(ValidatePolicyTest, RejectsStatuteWithoutCitation) {
  v1::Policy policy = Parse(kMinimal);
  v1::StatutoryBasis* basis = policy.add_statutory_bases();
  basis->set_code("lsl_25");
  basis->add_sender_kinds(v1::POLICE);
  basis->add_recipient_kinds(v1::WELLBEING_AREA);
  basis->add_categories(v1::CATEGORY_IDENTITY);
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("citation")));
}

v1::StatutoryBasis* AddBasis(v1::Policy* policy) {
  v1::StatutoryBasis* basis = policy->add_statutory_bases();
  basis->set_code("lsl_25");
  basis->set_citation("lastensuojelulaki 25 §");
  basis->add_sender_kinds(v1::POLICE);
  basis->add_recipient_kinds(v1::WELLBEING_AREA);
  basis->add_categories(v1::CATEGORY_IDENTITY);
  return basis;
}

// Issue #13 §4: an undelivered notification must be raised within hours.
TEST(ValidatePolicyTest, ANotificationNeedsATtlOfHoursAndOnlyANotificationHasOne) {
  v1::Policy policy = Parse(kMinimal);
  v1::StatutoryBasis* basis = AddBasis(&policy);
  basis->set_notification(true);
  EXPECT_THAT(ValidatePolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("notification_ttl_hours of 1-72")));
  basis->set_notification_ttl_hours(73);
  EXPECT_THAT(ValidatePolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument));
  basis->set_notification_ttl_hours(4);
  EXPECT_THAT(ValidatePolicy(policy), IsOk());
  basis->set_notification(false);
  EXPECT_THAT(ValidatePolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("only for a basis with notification")));
}

// Issue #13 §6: fixed deferral days are replaced by reviewed restrictions.
TEST(ValidatePolicyTest, DeferralDaysAreRefusedAndRestrictionGroundsAreReviewed) {
  v1::Policy policy = Parse(kMinimal);
  AddBasis(&policy)->set_subject_report_deferral_days(90);
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("restriction markers")));
  policy.mutable_statutory_bases(0)->set_subject_report_deferral_days(0);
  v1::RestrictionGround* ground = policy.add_restriction_grounds();
  ground->set_code("crime_investigation");
  ground->set_citation("tietosuojalaki 34 §");
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("never open-ended")));
  ground->set_max_review_days(180);
  EXPECT_THAT(ValidatePolicy(policy), IsOk());
  *policy.add_restriction_grounds() = *ground;
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
}

// Issue #13 §8: every retention rule names its source; a type has one rule.
TEST(ValidatePolicyTest, RetentionRulesNameTheirSourceAndEachTypeOnce) {
  v1::Policy policy = Parse(kMinimal);
  v1::RetentionRule* rule = policy.add_retention();
  rule->add_types(v1::MESSAGE_DELIVERED);
  rule->set_keep_days(4383);
  EXPECT_THAT(ValidatePolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("source is required")));
  rule->set_source("703/2023");
  EXPECT_THAT(ValidatePolicy(policy), IsOk());
  *policy.add_retention() = *rule;
  EXPECT_THAT(ValidatePolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("named by two retention rules")));
  policy.mutable_retention(1)->clear_types();
  EXPECT_THAT(ValidatePolicy(policy), IsOk());
  *policy.add_retention() = policy.retention(1);
  EXPECT_THAT(ValidatePolicy(policy), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("only one rule may leave types empty")));
}

}  // namespace
}  // namespace silta::policy
