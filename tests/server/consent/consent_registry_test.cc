#include "server/consent/consent_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::consent {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::kAdult;
using ::silta::testing::kYouth15;
using ::silta::testing::kYouth17;
using ::silta::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class ConsentRegistryTest : public silta::testing::RegistryFixture {
 protected:
  v1::RecordConsentRequest ConsentRequest(const std::string& hetu, v1::Category category,
                                          const std::string& recipient_org) {
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(v1::GUARDIAN);
    c->add_purposes("service_coordination");
    c->add_categories(category);
    c->add_recipients()->set_org_id(recipient_org);
    for (v1::OrgKind kind : {v1::WELLBEING_AREA, v1::POLICE, v1::MUNICIPAL_YOUTH, v1::NGO}) {
      c->add_disclosers()->set_org_kind(kind);
    }
    *c->mutable_valid_until() = Ts(now_ + absl::Hours(24 * 180));
    c->set_evidence_ref("form-2026-117");
    *request.mutable_acting_user() = Worker("registrar-1");
    return request;
  }

  // Previews one field of `category` from `sender` to `recipient` in case `c`.
  v1::Decision Preview(const std::string& sender, const v1::Case& c, const std::string& recipient,
                       v1::Category category, const std::string& statute = "",
                       const std::string& purpose = "service_coordination") {
    v1::PreviewDisclosureRequest request;
    request.set_case_id(c.case_id());
    request.set_purpose(purpose);
    request.add_recipient_org_ids(recipient);
    v1::DraftField* f = request.add_fields();
    f->set_path("field");
    f->set_category(category);
    request.set_statutory_basis(statute);
    request.set_has_justification(!statute.empty());
    auto response = consents_->PreviewDisclosure(As(sender), request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() && response->decisions_size() == 1 ? response->decisions(0) : v1::Decision();
  }
};

TEST_F(ConsentRegistryTest, RegistrarConsentPermitsThenWithdrawalDenies) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"hml-youth"});
  EXPECT_EQ(Preview("wba-social", c, "hml-youth", v1::CATEGORY_SOCIAL_WELFARE).verdict(), v1::DENY);

  auto recorded = consents_->RecordConsent(
      As("wba-registrar"), ConsentRequest(kYouth15, v1::CATEGORY_SOCIAL_WELFARE, "hml-youth"));
  ASSERT_THAT(recorded, IsOk());
  const v1::Decision permitted = Preview("wba-social", c, "hml-youth", v1::CATEGORY_SOCIAL_WELFARE);
  EXPECT_EQ(permitted.verdict(), v1::PERMIT);
  EXPECT_EQ(permitted.rule_id(), recorded->consent().consent_id());
  EXPECT_EQ(permitted.field_path(), "field");

  now_ += absl::Minutes(5);
  v1::WithdrawConsentRequest withdraw;
  withdraw.set_record_id(recorded->consent().consent_id());
  *withdraw.mutable_acting_user() = Worker("registrar-1");
  ASSERT_THAT(consents_->WithdrawConsent(As("wba-registrar"), withdraw), IsOk());

  EXPECT_EQ(Preview("wba-social", c, "hml-youth", v1::CATEGORY_SOCIAL_WELFARE).verdict(), v1::DENY);
  EXPECT_THAT(consents_->WithdrawConsent(As("wba-registrar"), withdraw),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already")));
}

TEST_F(ConsentRegistryTest, HistoryIsAppendOnly) {
  auto recorded = consents_->RecordConsent(
      As("wba-registrar"), ConsentRequest(kYouth15, v1::CATEGORY_HEALTH, "wba-psychiatry"));
  ASSERT_THAT(recorded, IsOk());
  v1::WithdrawConsentRequest withdraw;
  withdraw.set_record_id(recorded->consent().consent_id());
  *withdraw.mutable_acting_user() = Worker("registrar-2");
  ASSERT_THAT(consents_->WithdrawConsent(As("wba-registrar"), withdraw), IsOk());
  v1::ListSubjectConsentsRequest list;
  list.mutable_subject()->set_hetu(kYouth15);
  *list.mutable_acting_user() = Worker();

  auto listed = consents_->ListSubjectConsents(As("wba-registrar"), list);

  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->consents_size(), 1);
  const v1::Consent& c = listed->consents(0);
  ASSERT_EQ(c.history_size(), 2);
  EXPECT_EQ(c.history(0).type(), v1::GIVEN);
  EXPECT_EQ(c.history(0).recorded_by().worker_id(), "registrar-1");
  EXPECT_EQ(c.history(1).type(), v1::WITHDRAWN);
  EXPECT_EQ(c.history(1).recorded_by().worker_id(), "registrar-2");
  EXPECT_EQ(c.evidence_ref(), "form-2026-117");
  // Reading them is processing of the person's data: it is in the log,
  // under their subject_ref, for their report (issue #13 §6).
  store::AuditQuery q;
  q.types = {v1::CONSENTS_LISTED};
  auto entries = store_->QueryAudit(q);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].actor_org_id(), "wba-registrar");
  EXPECT_EQ((*entries)[0].subject_ref(), *refs_->RefFor(kYouth15));
  EXPECT_EQ((*entries)[0].detail(), "records=1");
}

TEST_F(ConsentRegistryTest, CoordinatorMayRecordButOtherAgenciesMayNot) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"police-hame"});
  v1::RecordConsentRequest request =
      ConsentRequest(kYouth15, v1::CATEGORY_EDUCATION_EMPLOYMENT, "police-hame");
  request.mutable_consent()->set_case_id(c.case_id());

  EXPECT_THAT(consents_->RecordConsent(As("police-hame"), request),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("coordinating")));
  EXPECT_THAT(consents_->RecordConsent(As("wba-social"), request), IsOk());
  // Another young person's case is not the coordinator's to record for.
  EXPECT_THAT(consents_->RecordConsent(
                  As("wba-social"), ConsentRequest(kYouth17, v1::CATEGORY_HEALTH, "police-hame")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(ConsentRegistryTest, RefusalOverridesConsentAndStatuteOverridesRefusal) {
  const v1::Case c = OpenCase("police-hame", kYouth15, {"wba-social", "wba-psychiatry"});
  ASSERT_THAT(consents_->RecordConsent(
                  As("wba-registrar"), ConsentRequest(kYouth15, v1::CATEGORY_CHILD_WELFARE, "wba-social")),
              IsOk());
  v1::RecordRefusalRequest refusal;
  refusal.mutable_subject()->set_hetu(kYouth15);
  refusal.mutable_refusal()->set_grantor(v1::GUARDIAN);
  refusal.mutable_refusal()->add_categories(v1::CATEGORY_CHILD_WELFARE);
  refusal.mutable_refusal()->add_recipients()->set_org_kind(v1::WELLBEING_AREA);
  refusal.mutable_refusal()->set_evidence_ref("refusal-form-3");
  *refusal.mutable_acting_user() = Worker();
  ASSERT_THAT(consents_->RecordRefusal(As("wba-registrar"), refusal), IsOk());

  const v1::Decision refused = Preview("police-hame", c, "wba-social", v1::CATEGORY_CHILD_WELFARE);
  const v1::Decision statute = Preview("police-hame", c, "wba-social", v1::CATEGORY_CHILD_WELFARE,
                                       "lsl_25", "child_welfare_notification");

  EXPECT_EQ(refused.verdict(), v1::DENY);
  EXPECT_EQ(refused.rule(), v1::RULE_REFUSAL);
  EXPECT_EQ(statute.verdict(), v1::PERMIT);
  EXPECT_EQ(statute.rule(), v1::RULE_STATUTE);
  EXPECT_THAT(statute.reason(), HasSubstr("lastensuojelulaki"));
}

TEST_F(ConsentRegistryTest, PreviewCoversEveryRecipientFieldPair) {
  const v1::Case c = OpenCase("police-hame", kYouth15, {"wba-social", "hml-youth"});
  ASSERT_THAT(consents_->RecordConsent(
                  As("wba-registrar"), ConsentRequest(kYouth15, v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth")),
              IsOk());
  v1::PreviewDisclosureRequest request;
  request.set_case_id(c.case_id());
  request.set_purpose("service_coordination");
  for (const char* r : {"wba-social", "hml-youth", "asenne-ry"}) request.add_recipient_org_ids(r);
  for (auto [path, category] : {std::pair{"education_employment", v1::CATEGORY_EDUCATION_EMPLOYMENT},
                                {"mental_health_notes", v1::CATEGORY_MENTAL_HEALTH}}) {
    v1::DraftField* f = request.add_fields();
    f->set_path(path);
    f->set_category(category);
  }

  auto preview = consents_->PreviewDisclosure(As("police-hame"), request);

  ASSERT_THAT(preview, IsOk());
  ASSERT_EQ(preview->decisions_size(), 6);
  int permits = 0;
  for (const v1::Decision& d : preview->decisions()) {
    if (d.verdict() == v1::PERMIT) {
      ++permits;
      EXPECT_EQ(d.recipient_org_id(), "hml-youth");
      EXPECT_EQ(d.field_path(), "education_employment");
    }
    if (d.recipient_org_id() == "asenne-ry") {
      EXPECT_EQ(d.rule(), v1::RULE_NOT_A_MEMBER);
    }
  }
  EXPECT_EQ(permits, 1);
}

TEST_F(ConsentRegistryTest, PreviewByNonMemberIsPermissionDenied) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::PreviewDisclosureRequest request;
  request.set_case_id(c.case_id());
  request.set_purpose("service_coordination");
  request.add_recipient_org_ids("wba-social");
  request.add_fields()->set_path("x");
  request.mutable_fields(0)->set_category(v1::CATEGORY_HEALTH);

  EXPECT_THAT(consents_->PreviewDisclosure(As("asenne-ry"), request),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(ConsentRegistryTest, AnonymousConsultationRefusesIdentifyingFields) {
  v1::PreviewDisclosureRequest request;
  request.set_purpose("expert_consultation");
  request.add_recipient_org_ids("asenne-ry");
  for (auto [path, category] : {std::pair{"question", v1::CATEGORY_FREE_TEXT},
                                {"name", v1::CATEGORY_IDENTITY}}) {
    v1::DraftField* f = request.add_fields();
    f->set_path(path);
    f->set_category(category);
  }

  auto preview = consents_->PreviewDisclosure(As("wba-social"), request);

  ASSERT_THAT(preview, IsOk());
  EXPECT_EQ(preview->decisions(0).verdict(), v1::PERMIT);
  EXPECT_EQ(preview->decisions(1).verdict(), v1::DENY);
  EXPECT_EQ(preview->decisions(1).rule(), v1::RULE_IDENTIFYING_WITHOUT_SUBJECT);
}

struct BadConsent {
  const char* name;
  void (*mutate)(v1::RecordConsentRequest*);
  const char* field;
};

class BadConsentTest : public ConsentRegistryTest,
                       public ::testing::WithParamInterface<BadConsent> {};

TEST_P(BadConsentTest, IsInvalidArgumentNamingFieldAndNothingIsStored) {
  v1::RecordConsentRequest request = ConsentRequest(kYouth15, v1::CATEGORY_HEALTH, "wba-psychiatry");
  GetParam().mutate(&request);

  const absl::Status status = consents_->RecordConsent(As("wba-registrar"), request).status();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().field)));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kYouth15.substr(0, 6))));
  auto all = store_->ListConsentRecords("");
  ASSERT_THAT(all, IsOk());
  EXPECT_TRUE(all->consents.empty());
  EXPECT_EQ(engine_->RecordCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadConsentTest,
    ::testing::Values(
        BadConsent{"InvalidHetu", [](v1::RecordConsentRequest* r) { r->mutable_subject()->set_hetu("150609B934Z"); }, "subject.hetu"},
        BadConsent{"UntilBeforeFrom", [](v1::RecordConsentRequest* r) {
                     r->mutable_consent()->mutable_valid_from()->set_seconds(1790000000 + 100);
                     r->mutable_consent()->mutable_valid_until()->set_seconds(1790000000);
                   }, "consent.valid_until"},
        BadConsent{"NoUntil", [](v1::RecordConsentRequest* r) { r->mutable_consent()->clear_valid_until(); }, "consent.valid_until"},
        BadConsent{"UnknownPurpose", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_purposes("marketing"); }, "consent.purposes[1]"},
        BadConsent{"UnknownCategory", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_categories(static_cast<v1::Category>(99)); }, "consent.categories[1]"},
        BadConsent{"UnspecifiedCategory", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_categories(v1::CATEGORY_UNSPECIFIED); }, "consent.categories[1]"},
        BadConsent{"UnknownOrg", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_recipients()->set_org_id("no-such-org"); }, "consent.recipients[1]"},
        BadConsent{"UnknownOrgKind", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_recipients()->set_org_kind(static_cast<v1::OrgKind>(42)); }, "consent.recipients[1]"},
        BadConsent{"UnspecifiedOrgKind", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_recipients()->set_org_kind(v1::ORG_KIND_UNSPECIFIED); }, "consent.recipients[1]"},
        BadConsent{"MinorAssessedCompetentIsNoLongerAccepted", [](v1::RecordConsentRequest* r) { r->mutable_consent()->set_grantor(v1::MINOR_ASSESSED_COMPETENT); }, "MINOR_ASSESSED_COMPETENT is no longer accepted"},
        BadConsent{"ThirdPartyData", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_categories(v1::CATEGORY_THIRD_PARTY); }, "consent.categories[1]: CATEGORY_THIRD_PARTY is released only under a statute"},
        BadConsent{"NoDisclosers", [](v1::RecordConsentRequest* r) { r->mutable_consent()->clear_disclosers(); }, "consent.disclosers: at least one discloser"},
        BadConsent{"UnknownDiscloser", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_disclosers()->set_org_id("no-such-org"); }, "consent.disclosers[4]"},
        BadConsent{"GuardianAsDiscloser", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_disclosers()->set_guardian(true); }, "consent.disclosers[4]"},
        BadConsent{"GuardianAsConsentRecipient", [](v1::RecordConsentRequest* r) { r->mutable_consent()->add_recipients()->set_guardian(true); }, "consent.recipients[1]"},
        BadConsent{"NoGrantor", [](v1::RecordConsentRequest* r) { r->mutable_consent()->clear_grantor(); }, "consent.grantor"},
        BadConsent{"NoEvidence", [](v1::RecordConsentRequest* r) { r->mutable_consent()->clear_evidence_ref(); }, "consent.evidence_ref"},
        BadConsent{"NoActingUser", [](v1::RecordConsentRequest* r) { r->clear_acting_user(); }, "acting_user.worker_id"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Who may consent, from the age (812/2000 10-11 §). ----

v1::RecordCompetenceAssessmentRequest AssessmentRequest(const std::string& hetu,
                                                        v1::Category category,
                                                        const std::string& purpose,
                                                        absl::Time assessed_at) {
  v1::RecordCompetenceAssessmentRequest request;
  request.mutable_subject()->set_hetu(hetu);
  v1::CompetenceAssessment* a = request.mutable_assessment();
  a->add_categories(category);
  a->add_purposes(purpose);
  a->mutable_assessed_by()->set_worker_id("dr-virtanen");
  *a->mutable_assessed_at() = common::ToTimestamp(assessed_at);
  a->set_evidence_ref("assessment-2026-42");
  request.mutable_acting_user()->set_worker_id("registrar-1");
  return request;
}

TEST_F(ConsentRegistryTest, AGuardianCannotGrantForAnAdult) {
  v1::RecordConsentRequest consent = ConsentRequest(kAdult, v1::CATEGORY_HEALTH, "wba-psychiatry");

  EXPECT_THAT(consents_->RecordConsent(As("wba-registrar"), consent),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("18 or older")));
  consent.mutable_consent()->set_grantor(v1::SUBJECT);
  EXPECT_THAT(consents_->RecordConsent(As("wba-registrar"), consent), IsOk());
}

TEST_F(ConsentRegistryTest, AMinorsOwnConsentNeedsACompetenceAssessmentInForce) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"wba-psychiatry"});
  v1::RecordConsentRequest own =
      ConsentRequest(kYouth15, v1::CATEGORY_HEALTH, "wba-psychiatry");
  own.mutable_consent()->set_grantor(v1::SUBJECT);
  EXPECT_THAT(consents_->RecordConsent(As("wba-registrar"), own),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("under 18"), HasSubstr("CATEGORY_HEALTH"))));
  // An assessment for another purpose does not do.
  ASSERT_THAT(consents_->RecordCompetenceAssessment(
                  As("wba-registrar"), AssessmentRequest(kYouth15, v1::CATEGORY_HEALTH,
                                                         "youth_coaching", now_ - absl::Hours(1))),
              IsOk());
  EXPECT_THAT(consents_->RecordConsent(As("wba-registrar"), own),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto assessment = consents_->RecordCompetenceAssessment(
      As("wba-registrar"), AssessmentRequest(kYouth15, v1::CATEGORY_HEALTH, "service_coordination",
                                             now_ - absl::Hours(1)));
  ASSERT_THAT(assessment, IsOk());
  EXPECT_EQ(assessment->assessment().assessed_by_org_id(), "wba-registrar");
  ASSERT_THAT(consents_->RecordConsent(As("wba-registrar"), own), IsOk());
  EXPECT_EQ(Preview("wba-social", c, "wba-psychiatry", v1::CATEGORY_HEALTH).verdict(), v1::PERMIT);
  // The guardian no longer decides on this.
  EXPECT_THAT(consents_->RecordConsent(
                  As("wba-registrar"),
                  ConsentRequest(kYouth15, v1::CATEGORY_SOCIAL_WELFARE, "wba-psychiatry")),
              IsOk());

  // Ending the assessment ends the minor's say, at once.
  v1::WithdrawConsentRequest end;
  end.set_record_id(assessment->assessment().assessment_id());
  *end.mutable_acting_user() = Worker("registrar-1");
  ASSERT_THAT(consents_->WithdrawConsent(As("wba-registrar"), end), IsOk());
  const v1::Decision after = Preview("wba-social", c, "wba-psychiatry", v1::CATEGORY_HEALTH);
  EXPECT_EQ(after.verdict(), v1::DENY);
  EXPECT_THAT(after.reason(), HasSubstr("not assessed competent"));
  auto listed = consents_->ListSubjectConsents(As("wba-registrar"), [&] {
    v1::ListSubjectConsentsRequest r;
    r.mutable_subject()->set_hetu(kYouth15);
    *r.mutable_acting_user() = Worker("registrar-1");
    return r;
  }());
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->assessments_size(), 2);
  EXPECT_EQ(listed->assessments(0).history_size(), 2);  // newest first: given, withdrawn
}

TEST_F(ConsentRegistryTest, AssessmentsAreCheckedAndAudited) {
  const absl::Time earlier = now_ - absl::Hours(1);
  auto bad = [&](auto mutate) {
    v1::RecordCompetenceAssessmentRequest r =
        AssessmentRequest(kYouth15, v1::CATEGORY_HEALTH, "referral", earlier);
    mutate(&r);
    return consents_->RecordCompetenceAssessment(As("wba-registrar"), r).status();
  };
  EXPECT_THAT(bad([&](auto* r) { *r->mutable_assessment()->mutable_assessed_at() = Ts(now_ + absl::Hours(1)); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assessment.assessed_at")));
  EXPECT_THAT(bad([](auto* r) { r->mutable_assessment()->clear_assessed_at(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assessment.assessed_at")));
  EXPECT_THAT(bad([](auto* r) { r->mutable_assessment()->clear_assessed_by(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assessment.assessed_by")));
  EXPECT_THAT(bad([](auto* r) { r->mutable_assessment()->clear_purposes(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assessment.purposes")));
  EXPECT_THAT(bad([](auto* r) { r->mutable_assessment()->clear_evidence_ref(); }),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assessment.evidence_ref")));
  EXPECT_THAT(bad([](auto* r) { r->mutable_subject()->set_hetu(kAdult); }),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("18 or older")));
  EXPECT_THAT(consents_->RecordCompetenceAssessment(
                  As("police-hame"), AssessmentRequest(kYouth15, v1::CATEGORY_HEALTH, "referral",
                                                       earlier)),
              StatusIs(absl::StatusCode::kPermissionDenied));

  ASSERT_THAT(consents_->RecordCompetenceAssessment(
                  As("wba-registrar"),
                  AssessmentRequest(kYouth15, v1::CATEGORY_HEALTH, "referral", earlier)),
              IsOk());
  store::AuditQuery query;
  query.types = {v1::COMPETENCE_ASSESSED};
  auto entries = store_->QueryAudit(query);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].purpose(), "referral");
  EXPECT_EQ((*entries)[0].actor_org_id(), "wba-registrar");
}

TEST_F(ConsentRegistryTest, OnlyACompetentMinorMayForbidDisclosureToTheGuardian) {
  v1::RecordRefusalRequest prohibition;
  prohibition.mutable_subject()->set_hetu(kYouth15);
  v1::Refusal* r = prohibition.mutable_refusal();
  r->set_grantor(v1::SUBJECT);
  r->add_categories(v1::CATEGORY_MENTAL_HEALTH);
  r->add_recipients()->set_guardian(true);
  r->set_evidence_ref("prohibition-1");
  *prohibition.mutable_acting_user() = Worker("registrar-1");

  v1::RecordRefusalRequest by_guardian = prohibition;
  by_guardian.mutable_refusal()->set_grantor(v1::GUARDIAN);
  EXPECT_THAT(consents_->RecordRefusal(As("wba-registrar"), by_guardian),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("refusal.grantor")));
  v1::RecordRefusalRequest mixed = prohibition;
  mixed.mutable_refusal()->add_recipients()->set_org_id("police-hame");
  EXPECT_THAT(consents_->RecordRefusal(As("wba-registrar"), mixed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names only the guardian")));
  v1::RecordRefusalRequest adult = prohibition;
  adult.mutable_subject()->set_hetu(kAdult);
  EXPECT_THAT(consents_->RecordRefusal(As("wba-registrar"), adult),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("18 or older")));
  EXPECT_THAT(consents_->RecordRefusal(As("wba-registrar"), prohibition),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no competence assessment in force covers CATEGORY_MENTAL_HEALTH")));

  ASSERT_THAT(consents_->RecordCompetenceAssessment(
                  As("wba-registrar"), AssessmentRequest(kYouth15, v1::CATEGORY_MENTAL_HEALTH,
                                                         "referral", now_ - absl::Hours(1))),
              IsOk());
  auto recorded = consents_->RecordRefusal(As("wba-registrar"), prohibition);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_TRUE(recorded->refusal().recipients(0).guardian());
  EXPECT_FALSE(recorded->refusal().subject_birth_date().empty());
}

TEST_F(ConsentRegistryTest, EngineIsRebuiltFromTheStore) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"hml-youth"});
  ASSERT_THAT(consents_->RecordConsent(
                  As("wba-registrar"), ConsentRequest(kYouth15, v1::CATEGORY_SOCIAL_WELFARE, "hml-youth")),
              IsOk());
  ASSERT_THAT(consents_->RecordCompetenceAssessment(
                  As("wba-registrar"), AssessmentRequest(kYouth17, v1::CATEGORY_HEALTH, "referral",
                                                         now_ - absl::Hours(1))),
              IsOk());
  DecisionEngine rebuilt;
  ConsentRegistry restarted(store_.get(), orgs_.get(), refs_.get(), cases_.get(), policy_.get(),
                            &rebuilt, [this] { return now_; });

  ASSERT_THAT(restarted.LoadEngine(), IsOk());

  EXPECT_EQ(rebuilt.RecordCount(), 2u);
  EXPECT_TRUE(rebuilt.IsAssessedCompetent(
      *refs_->RefFor(kYouth17), v1::CATEGORY_HEALTH, "referral", now_))
      << "the assessment recorded below must come back from the store";
  v1::PreviewDisclosureRequest request;
  request.set_case_id(c.case_id());
  request.set_purpose("service_coordination");
  request.add_recipient_org_ids("hml-youth");
  request.add_fields()->set_path("x");
  request.mutable_fields(0)->set_category(v1::CATEGORY_SOCIAL_WELFARE);
  auto preview = restarted.PreviewDisclosure(As("wba-social"), request);
  ASSERT_THAT(preview, IsOk());
  EXPECT_EQ(preview->decisions(0).verdict(), v1::PERMIT);
}

}  // namespace
}  // namespace silta::consent
