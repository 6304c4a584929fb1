// Scenario: Oulu's collective-impact network (DESIGN.md §1). A prison,
// through probation, refers a young adult to the contact person's
// organisation; the contact person becomes the coordinator, invites five
// services to a network meeting, shares a service plan with tasks per
// organisation and receives follow-up status updates; the month's
// steering-group indicators show the referral with small counts suppressed.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kServices = {"rise-probation", "wba-social", "wba-psychiatry",
                                            "hml-youth", "police-hame"};

template <typename Payload>
Payload ReceiveOpenAck(World& world, const std::string& sender, const std::string& org) {
  Payload got;
  auto delivery = world.Receive(org);
  EXPECT_TRUE(delivery.has_value()) << org;
  if (!delivery.has_value()) return got;
  EXPECT_TRUE(world.Open(sender, org, *delivery, &got).ok()) << org;
  EXPECT_TRUE(world.Ack(org, delivery->delivery_id()).ok()) << org;
  return got;
}

TEST(CollectiveImpactScenario, ReferralMeetingPlanFollowUpAndIndicators) {
  World world("collective-impact");
  world.Keys("asenne-ry");
  world.Keys("rise-prison");
  for (const auto& org : kServices) world.Keys(org);

  // Probation opens the case for the prison's release planning.
  const std::string case_id =
      world.OpenCase("rise-probation", {"rise-prison", "asenne-ry"}, kAdult);
  // The young adult consents (as the subject) to what each service may get.
  // Offence and sentence data are not among it for the NGO: they go to a
  // recipient that is not an authority only under a law (GDPR Art. 10,
  // tietosuojalaki 7 §), and the registrar cannot record such a consent.
  world.ConsentTo(kAdult,
                  {v1::CATEGORY_SOCIAL_WELFARE, v1::CATEGORY_HOUSING, v1::CATEGORY_SERVICE_PLAN,
                   v1::CATEGORY_FREE_TEXT},
                  "asenne-ry", {"referral", "follow_up"}, v1::SUBJECT);
  {
    grpc::ClientContext context;
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(kAdult);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(v1::SUBJECT);
    c->add_purposes("referral");
    c->add_categories(v1::CATEGORY_SENTENCE_ENFORCEMENT);
    c->add_recipients()->set_org_id("asenne-ry");
    c->add_disclosers()->set_org_id("rise-probation");
    *c->mutable_valid_until() = common::ToTimestamp(absl::Now() + absl::Hours(24 * 30));
    c->set_evidence_ref("form-O8");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordConsentResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(world.Channel("wba-registrar"))
                                    ->RecordConsent(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::HasSubstr("never on consent alone"));
  }
  for (const auto& org : kServices) {
    world.ConsentTo(
        kAdult, {v1::CATEGORY_MEETING_LOGISTICS, v1::CATEGORY_SERVICE_PLAN, v1::CATEGORY_FREE_TEXT},
        org, {"network_meeting", "follow_up"}, v1::SUBJECT);
  }

  v1::Referral referral;
  referral.set_sentence_enforcement("released on parole in October");
  referral.set_housing("no address after release");
  referral.set_support_needs("needs a contact person");
  v1::SendResponse sent;
  ASSERT_TRUE(world
                  .Send("rise-probation",
                        world.Seal("rise-probation", case_id, referral, {"asenne-ry"}), &sent)
                  .ok());
  for (const v1::Decision& d : sent.receipt().decisions()) {
    if (d.field_path() != "sentence_enforcement") continue;
    EXPECT_EQ(d.verdict(), v1::DENY);
    EXPECT_THAT(d.reason(), ::testing::HasSubstr("never on consent alone"));
  }
  const v1::Referral got = ReceiveOpenAck<v1::Referral>(world, "rise-probation", "asenne-ry");
  EXPECT_EQ(got.housing(), referral.housing());
  EXPECT_TRUE(got.sentence_enforcement().empty());

  // The contact person's organisation takes the one-adult role and builds the network.
  {
    grpc::ClientContext context;
    v1::TransferCoordinatorRequest request;
    request.set_case_id(case_id);
    request.mutable_new_coordinator()->set_org_id("asenne-ry");
    request.mutable_new_coordinator()->set_worker_id("contact-person-1");
    request.set_reason("contact person agreed at release planning");
    request.mutable_acting_user()->set_worker_id("probation-officer-4");
    v1::TransferCoordinatorResponse response;
    ASSERT_TRUE(v1::CaseService::NewStub(world.Channel("rise-probation"))
                    ->TransferCoordinator(&context, request, &response)
                    .ok());
  }
  for (const auto& org : kServices) {
    if (org != "rise-probation") world.AddMember("asenne-ry", case_id, org);
  }

  v1::MeetingInvite invite;
  *invite.mutable_starts_at() = common::ToTimestamp(absl::Now() + absl::Hours(24 * 7));
  invite.set_duration_minutes(90);
  invite.set_location("Hämeenlinna, Asenne ry");
  for (const auto& org : kServices) invite.add_invited_org_ids(org);
  invite.set_agenda("housing first, then school");
  ASSERT_TRUE(
      world
          .Send("asenne-ry",
                world.Seal("asenne-ry", case_id, invite, kServices, "", "", "network_meeting"),
                &sent)
          .ok());
  for (const auto& org : kServices) {
    const auto got = ReceiveOpenAck<v1::MeetingInvite>(world, "asenne-ry", org);
    EXPECT_EQ(got.location(), invite.location()) << org;
    EXPECT_EQ(got.invited_org_ids_size(), 5) << org;
  }

  v1::ServicePlan plan;
  plan.set_goals("a home, and back to vocational school");
  for (const auto& org : kServices) {
    v1::ServiceTask* task = plan.add_tasks();
    task->set_owner_org_id(org);
    task->set_what(absl::StrCat("task for ", org));
  }
  ASSERT_TRUE(world
                  .Send("asenne-ry",
                        world.Seal("asenne-ry", case_id, plan, kServices, "", "", "follow_up"),
                        &sent)
                  .ok());
  for (const auto& org : kServices) {
    EXPECT_EQ(ReceiveOpenAck<v1::ServicePlan>(world, "asenne-ry", org).tasks_size(), 5) << org;
  }

  // Follow-up: youth services report their task done.
  v1::StatusUpdate update;
  update.set_task_index(3);
  update.set_task_done(true);
  update.set_note("found a supported flat");
  ASSERT_TRUE(
      world
          .Send("hml-youth",
                world.Seal("hml-youth", case_id, update, {"asenne-ry"}, "", "", "follow_up"), &sent)
          .ok());
  const auto status = ReceiveOpenAck<v1::StatusUpdate>(world, "hml-youth", "asenne-ry");
  EXPECT_TRUE(status.task_done());
  EXPECT_EQ(status.note(), update.note());

  // The steering group sees the month: one referral, by probation, shown as <5.
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  const CommandResult r = world.Siltactl(
      "wba-dpo", {"report", "indicators", "--month", month, "--region", "kanta-hame", "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("referrals_by_referring_org_kind,PROBATION,<5"));
  EXPECT_THAT(r.output, HasSubstr("referrals_by_referring_org_kind,total,<5"));
  EXPECT_THAT(r.output, HasSubstr("days_referral_to_first_invite,median_days,<5"));
  EXPECT_THAT(r.output, HasSubstr("coordinator_transfers,total,<5"));
  // Memberships of the open case: 7 organisations, most kinds below 5.
  EXPECT_THAT(r.output, HasSubstr("open_cases_by_member_org_kind,total,7"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr(kAdult)));
}

}  // namespace
}  // namespace silta::testing
