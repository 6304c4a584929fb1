// Retention of the records beside the audit log (issue #13 §8): closed
// cases, ended consent records and old messages' metadata are deleted past
// their period over the real SQLite store; what is still open, in force or
// in transit stays.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/audit/audit_log.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::store {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::kAdult;
using ::silta::testing::kYouth15;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

class RetentionTest : public silta::testing::RegistryFixture {
 protected:
  // A consent of the guardian of the 15-year-old, valid for `days`.
  std::string Consent(int days) {
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(kYouth15);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(v1::GUARDIAN);
    c->add_purposes("referral");
    c->add_categories(v1::CATEGORY_SOCIAL_WELFARE);
    c->add_recipients()->set_org_id("hml-youth");
    c->add_disclosers()->set_org_kind(v1::WELLBEING_AREA);
    *c->mutable_valid_until() = Ts(now_ + absl::Hours(24) * days);
    c->set_evidence_ref("form");
    *request.mutable_acting_user() = Worker();
    auto recorded = consents_->RecordConsent(As("wba-registrar"), request);
    EXPECT_THAT(recorded, IsOk());
    return recorded.ok() ? recorded->consent().consent_id() : "";
  }

  // A message whose every delivery is done, so its ciphertext is gone.
  void FinishedMessage(const std::string& id) {
    MessageRecord m;
    m.message_id = id;
    m.sender_org_id = "police-hame";
    m.content_hash = "h";
    m.accepted_at_us = absl::ToUnixMicros(now_);
    m.expires_at_us = absl::ToUnixMicros(now_ + absl::Hours(24));
    m.body = v1::SealedMessage();
    DeliveryRecord d;
    d.delivery_id = id + "-d";
    d.sender_org_id = m.sender_org_id;
    d.message_id = id;
    d.recipient_org_id = "wba-social";
    d.state = v1::ACKED;
    m.deliveries.push_back(d);
    AuditEntries none;
    ASSERT_THAT(store_->InsertMessage(m, &none), IsOk());
  }
};

TEST_F(RetentionTest, ClosedCasesEndedConsentsAndOldMessagesGoTheRestStays) {
  const v1::Case closed = OpenCase("wba-social", kYouth15, {});
  v1::CloseCaseRequest close;
  close.set_case_id(closed.case_id());
  *close.mutable_acting_user() = Worker();
  ASSERT_THAT(cases_->CloseCase(As("wba-social"), close), IsOk());
  const v1::Case open = OpenCase("wba-social", kAdult, {});
  const std::string ended = Consent(1);
  const std::string running = Consent(400);
  FinishedMessage("01a00000-0000-7000-8000-000000000001");

  now_ += absl::Hours(24 * 2);
  FinishedMessage("01a00000-0000-7000-8000-000000000002");
  const int64_t cutoff = absl::ToUnixMicros(now_ - absl::Hours(1));

  EXPECT_THAT(store_->PurgeClosedCases(cutoff), IsOkAndHolds(1u));
  auto gone = store_->GetCase(closed.case_id());
  ASSERT_THAT(gone, IsOk());
  EXPECT_EQ(*gone, nullptr);
  auto kept = store_->GetCase(open.case_id());
  ASSERT_THAT(kept, IsOk());
  EXPECT_NE(*kept, nullptr);

  const std::string ref = *refs_->RefFor(kYouth15);
  EXPECT_THAT(store_->PurgeEndedConsentRecords(cutoff),
              IsOkAndHolds(ElementsAre(Pair(ref, ended))));
  auto left = store_->ListConsentRecords(ref);
  ASSERT_THAT(left, IsOk());
  ASSERT_EQ(left->consents.size(), 1u);
  EXPECT_EQ(left->consents[0].consent_id(), running);
  engine_->Forget(ref, ended);
  EXPECT_EQ(engine_->RecordCount(), 1u);

  EXPECT_THAT(store_->PurgeOldMessages(cutoff), IsOkAndHolds(1u));
  auto old = store_->GetMessage("police-hame", "01a00000-0000-7000-8000-000000000001");
  ASSERT_THAT(old, IsOk());
  EXPECT_FALSE(old->has_value());
  auto recent = store_->GetMessage("police-hame", "01a00000-0000-7000-8000-000000000002");
  ASSERT_THAT(recent, IsOk());
  EXPECT_TRUE(recent->has_value());

  // Nothing more to do the second time.
  EXPECT_THAT(store_->PurgeClosedCases(cutoff), IsOkAndHolds(0u));
  EXPECT_THAT(store_->PurgeEndedConsentRecords(cutoff), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(store_->PurgeOldMessages(cutoff), IsOkAndHolds(0u));
}

TEST(KeepDaysForTest, TheRuleNamingTheTypeElseTheDefaultElseForEver) {
  std::vector<v1::RetentionRule> rules(2);
  rules[0].add_types(v1::CASE_CLOSED);
  rules[0].set_keep_days(4383);
  rules[1].set_keep_days(730);
  EXPECT_EQ(audit::KeepDaysFor(rules, v1::CASE_CLOSED), 4383u);
  EXPECT_EQ(audit::KeepDaysFor(rules, v1::ACCESS_REFUSED), 730u);
  rules.pop_back();
  EXPECT_EQ(audit::KeepDaysFor(rules, v1::ACCESS_REFUSED), 0u);
  EXPECT_EQ(audit::KeepDaysFor({}, v1::CASE_CLOSED), 0u);
}

}  // namespace
}  // namespace silta::store
