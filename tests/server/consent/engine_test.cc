#include "server/consent/engine.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/policy_fixture.h"

namespace silta::consent {
namespace {

using ::silta::testing::ExamplePolicy;
using ::silta::testing::MakeOrg;

const absl::Time kT0 = absl::FromUnixSeconds(1790000000);  // 2026-09-21

google::protobuf::Timestamp Ts(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  ts.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(ts.seconds()))));
  return ts;
}

struct Orgs {
  v1::Organization police = MakeOrg("police-hame", v1::POLICE);
  v1::Organization social = MakeOrg("wba-social", v1::WELLBEING_AREA);
  v1::Organization psych = MakeOrg("wba-psychiatry", v1::WELLBEING_AREA);
  v1::Organization youth = MakeOrg("hml-youth", v1::MUNICIPAL_YOUTH);
  v1::Organization ngo = MakeOrg("asenne-ry", v1::NGO);
  v1::Organization school = MakeOrg("school", v1::EDUCATION);
  v1::Organization suspended = [] {
    v1::Organization org = MakeOrg("suspended-wba", v1::WELLBEING_AREA);
    org.set_state(v1::SUSPENDED);
    return org;
  }();
};

v1::Recipient ToOrg(const std::string& id) {
  v1::Recipient r;
  r.set_org_id(id);
  return r;
}
v1::Recipient ToKind(v1::OrgKind kind) {
  v1::Recipient r;
  r.set_org_kind(kind);
  return r;
}

// Birth dates of the test subjects: "subj-1", "subj-2", "s1" and "s" are
// adults; "minor" is 16 at kT0; "s2" likewise; "s3" turns 18 at midnight
// Finnish time after kT0 (2026-09-22 00:00 EEST = 2026-09-21 21:00 UTC).
std::string BirthDateOf(const std::string& subject) {
  if (subject == "minor" || subject == "s2") return "2010-03-01";
  if (subject == "s3") return "2008-09-22";
  if (subject == "unknown-age") return "";
  return "1990-01-01";
}

v1::Recipient ToGuardian() {
  v1::Recipient r;
  r.set_guardian(true);
  return r;
}

// Every organisation kind, as disclosers.
google::protobuf::RepeatedPtrField<v1::Recipient> AnySender() {
  google::protobuf::RepeatedPtrField<v1::Recipient> all;
  for (int k = 1; v1::OrgKind_IsValid(k); ++k) all.Add()->set_org_kind(static_cast<v1::OrgKind>(k));
  return all;
}

template <typename Record>
Record From(Record record, std::vector<v1::Recipient> disclosers) {
  record.clear_disclosers();
  for (v1::Recipient& d : disclosers) *record.add_disclosers() = std::move(d);
  return record;
}

template <typename Record>
Record By(Record record, v1::GrantorKind grantor) {
  record.set_grantor(grantor);
  return record;
}

v1::CompetenceAssessment MakeAssessment(const std::string& id, const std::string& subject,
                                        v1::Category category, const std::string& purpose,
                                        absl::Time at,
                                        absl::Time until = absl::InfiniteFuture()) {
  v1::CompetenceAssessment a;
  a.set_assessment_id(id);
  a.set_subject_ref(subject);
  a.set_subject_birth_date(BirthDateOf(subject));
  a.add_categories(category);
  a.add_purposes(purpose);
  a.mutable_assessed_by()->set_worker_id("dr-1");
  *a.mutable_assessed_at() = Ts(at);
  if (until != absl::InfiniteFuture()) *a.mutable_valid_until() = Ts(until);
  v1::ConsentEvent* given = a.add_history();
  given->set_type(v1::GIVEN);
  *given->mutable_at() = Ts(at);
  return a;
}

// A consent by the subject (an adult unless the subject says otherwise)
// that every kind of sender may disclose.
v1::Consent MakeConsent(const std::string& id, const std::string& subject, v1::Category category,
                        v1::Recipient recipient, const std::string& purpose, absl::Time from,
                        absl::Time until, const std::string& case_id = "") {
  v1::Consent c;
  c.set_consent_id(id);
  c.set_subject_ref(subject);
  c.set_subject_birth_date(BirthDateOf(subject));
  c.set_grantor(v1::SUBJECT);
  *c.mutable_disclosers() = AnySender();
  c.add_categories(category);
  *c.add_recipients() = recipient;
  c.add_purposes(purpose);
  c.set_case_id(case_id);
  *c.mutable_valid_from() = Ts(from);
  *c.mutable_valid_until() = Ts(until);
  v1::ConsentEvent* given = c.add_history();
  given->set_type(v1::GIVEN);
  *given->mutable_at() = Ts(from);
  return c;
}

v1::Refusal MakeRefusal(const std::string& id, const std::string& subject, v1::Category category,
                        v1::Recipient recipient, absl::Time from,
                        absl::Time until = absl::InfiniteFuture()) {
  v1::Refusal r;
  r.set_refusal_id(id);
  r.set_subject_ref(subject);
  r.set_subject_birth_date(BirthDateOf(subject));
  r.set_grantor(v1::SUBJECT);
  r.add_categories(category);
  *r.add_recipients() = recipient;
  *r.mutable_valid_from() = Ts(from);
  if (until != absl::InfiniteFuture()) *r.mutable_valid_until() = Ts(until);
  v1::ConsentEvent* given = r.add_history();
  given->set_type(v1::GIVEN);
  *given->mutable_at() = Ts(from);
  return r;
}

template <typename Record>
Record Withdrawn(Record record, absl::Time at) {
  v1::ConsentEvent* e = record.add_history();
  e->set_type(v1::WITHDRAWN);
  *e->mutable_at() = Ts(at);
  return record;
}

// One row of the decision table.
struct Row {
  std::string name;
  std::vector<v1::Consent> consents;
  std::vector<v1::Refusal> refusals;
  std::vector<v1::CompetenceAssessment> assessments;
  // Query.
  const v1::Organization* sender;
  const v1::Organization* recipient;
  std::string subject = "subj-1";
  std::string case_id = "case-1";
  bool member = true;
  std::string purpose = "service_coordination";
  v1::Category category = v1::CATEGORY_SOCIAL_WELFARE;
  absl::Time at = kT0;
  std::string statute;
  bool justification = false;
  // Expected.
  v1::Verdict verdict;
  v1::RuleKind rule;
  std::string rule_id;
};

std::vector<Row> Rows() {
  static const Orgs* o = new Orgs;
  const absl::Time from = kT0 - absl::Hours(24);
  const absl::Time until = kT0 + absl::Hours(24);
  const v1::Consent social_to_youth = MakeConsent("c-youth", "subj-1", v1::CATEGORY_SOCIAL_WELFARE,
                                                  ToOrg("hml-youth"), "service_coordination", from, until);
  const v1::Consent health_to_police = MakeConsent("c-police", "subj-1", v1::CATEGORY_HEALTH,
                                                   ToKind(v1::POLICE), "service_coordination", from, until);
  const v1::Refusal no_health_to_police =
      MakeRefusal("r-police", "subj-1", v1::CATEGORY_HEALTH, ToKind(v1::POLICE), from);
  const v1::Refusal no_child_welfare_to_social =
      MakeRefusal("r-cw", "subj-1", v1::CATEGORY_CHILD_WELFARE, ToOrg("wba-social"), from);
  std::vector<Row> rows;
  auto row = [&](Row r) { rows.push_back(std::move(r)); };
  row({.name = "DefaultDenyWithoutRecords", .sender = &o->social, .recipient = &o->youth,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentPermitsInsideValidity", .consents = {social_to_youth}, .sender = &o->social,
       .recipient = &o->youth, .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-youth"});
  row({.name = "ValidFromIsInclusive", .consents = {social_to_youth}, .sender = &o->social,
       .recipient = &o->youth, .at = from, .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT,
       .rule_id = "c-youth"});
  row({.name = "JustBeforeValidFromIsDenied", .consents = {social_to_youth}, .sender = &o->social,
       .recipient = &o->youth, .at = from - absl::Nanoseconds(1), .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ValidUntilIsExclusive", .consents = {social_to_youth}, .sender = &o->social,
       .recipient = &o->youth, .at = until, .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "JustBeforeValidUntilIsPermitted", .consents = {social_to_youth},
       .sender = &o->social, .recipient = &o->youth, .at = until - absl::Microseconds(1),
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-youth"});
  row({.name = "WithdrawalEndsConsentAtItsTime",
       .consents = {Withdrawn(social_to_youth, kT0)}, .sender = &o->social,
       .recipient = &o->youth, .at = kT0, .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "BeforeWithdrawalConsentHeld", .consents = {Withdrawn(social_to_youth, kT0)},
       .sender = &o->social, .recipient = &o->youth, .at = kT0 - absl::Seconds(1),
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-youth"});
  row({.name = "RefusalOverridesConsent", .consents = {health_to_police},
       .refusals = {no_health_to_police}, .sender = &o->psych, .recipient = &o->police,
       .category = v1::CATEGORY_HEALTH, .verdict = v1::DENY, .rule = v1::RULE_REFUSAL,
       .rule_id = "r-police"});
  row({.name = "ExpiredRefusalNoLongerOverrides", .consents = {health_to_police},
       .refusals = {MakeRefusal("r-old", "subj-1", v1::CATEGORY_HEALTH, ToKind(v1::POLICE), from,
                                kT0)},
       .sender = &o->psych, .recipient = &o->police, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-police"});
  row({.name = "WithdrawnRefusalNoLongerOverrides", .consents = {health_to_police},
       .refusals = {Withdrawn(no_health_to_police, kT0 - absl::Seconds(1))}, .sender = &o->psych,
       .recipient = &o->police, .category = v1::CATEGORY_HEALTH, .verdict = v1::PERMIT,
       .rule = v1::RULE_CONSENT, .rule_id = "c-police"});
  row({.name = "StatuteOverridesRefusal", .refusals = {no_child_welfare_to_social},
       .sender = &o->police, .recipient = &o->social, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_CHILD_WELFARE, .statute = "lsl_25", .justification = true,
       .verdict = v1::PERMIT, .rule = v1::RULE_STATUTE, .rule_id = "lsl_25"});
  row({.name = "StatuteWithoutRequiredJustificationDoesNotApply",
       .refusals = {no_child_welfare_to_social}, .sender = &o->police, .recipient = &o->social,
       .purpose = "child_welfare_notification", .category = v1::CATEGORY_CHILD_WELFARE,
       .statute = "lsl_25", .justification = false, .verdict = v1::DENY,
       .rule = v1::RULE_REFUSAL, .rule_id = "r-cw"});
  row({.name = "StatuteOutsideItsCategoriesDoesNotApply", .sender = &o->police,
       .recipient = &o->social, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_MENTAL_HEALTH, .statute = "lsl_25", .justification = true,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "StatuteToWrongRecipientKindDoesNotApply", .sender = &o->police,
       .recipient = &o->ngo, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_CHILD_WELFARE, .statute = "lsl_25", .justification = true,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "StatuteFromWrongSenderKindDoesNotApply", .sender = &o->ngo,
       .recipient = &o->youth, .category = v1::CATEGORY_IDENTITY, .statute = "nuorisolaki_11",
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "StatuteWithoutJustificationRequirement", .sender = &o->school,
       .recipient = &o->youth, .category = v1::CATEGORY_IDENTITY, .statute = "nuorisolaki_11",
       .verdict = v1::PERMIT, .rule = v1::RULE_STATUTE, .rule_id = "nuorisolaki_11"});
  row({.name = "UnknownStatuteDoesNotApply", .sender = &o->police, .recipient = &o->social,
       .category = v1::CATEGORY_CHILD_WELFARE, .statute = "no_such_law", .justification = true,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentByKindCoversOrgOfThatKind", .consents = {health_to_police},
       .sender = &o->psych, .recipient = &o->police, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-police"});
  row({.name = "ConsentByKindDoesNotCoverOtherKinds", .consents = {health_to_police},
       .sender = &o->psych, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentByOrgIdCoversOnlyThatOrg", .consents = {social_to_youth},
       .sender = &o->social, .recipient = &o->ngo, .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "NonMemberIsDeniedDespiteConsent", .consents = {social_to_youth},
       .sender = &o->social, .recipient = &o->youth, .member = false, .verdict = v1::DENY,
       .rule = v1::RULE_NOT_A_MEMBER});
  row({.name = "ConsentForOtherPurposeDoesNotApply", .consents = {social_to_youth},
       .sender = &o->social, .recipient = &o->youth, .purpose = "youth_coaching",
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentScopedToOtherCaseDoesNotApply",
       .consents = {MakeConsent("c-scoped", "subj-1", v1::CATEGORY_SOCIAL_WELFARE,
                                ToOrg("hml-youth"), "service_coordination", from, until, "case-2")},
       .sender = &o->social, .recipient = &o->youth, .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentScopedToThisCaseApplies",
       .consents = {MakeConsent("c-scoped", "subj-1", v1::CATEGORY_SOCIAL_WELFARE,
                                ToOrg("hml-youth"), "service_coordination", from, until, "case-1")},
       .sender = &o->social, .recipient = &o->youth, .verdict = v1::PERMIT,
       .rule = v1::RULE_CONSENT, .rule_id = "c-scoped"});
  row({.name = "ConsentOfAnotherSubjectDoesNotApply", .consents = {social_to_youth},
       .sender = &o->social, .recipient = &o->youth, .subject = "subj-2", .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "SuspendedRecipientIsDeniedDespiteConsent",
       .consents = {MakeConsent("c-ngo", "subj-1", v1::CATEGORY_SOCIAL_WELFARE,
                                ToOrg("suspended-wba"), "service_coordination", from, until)},
       .sender = &o->social, .recipient = &o->suspended, .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "SuspendedRecipientIsDeniedEvenUnderStatute", .sender = &o->police,
       .recipient = &o->suspended, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_CHILD_WELFARE, .statute = "lsl_25", .justification = true,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsultationRefusesIdentifyingCategory", .sender = &o->social,
       .recipient = &o->ngo, .subject = "", .case_id = "", .member = false,
       .purpose = "expert_consultation", .category = v1::CATEGORY_IDENTITY, .verdict = v1::DENY,
       .rule = v1::RULE_IDENTIFYING_WITHOUT_SUBJECT});
  row({.name = "ConsultationRefusesContact", .sender = &o->social, .recipient = &o->ngo,
       .subject = "", .case_id = "", .member = false, .purpose = "expert_consultation",
       .category = v1::CATEGORY_CONTACT, .verdict = v1::DENY,
       .rule = v1::RULE_IDENTIFYING_WITHOUT_SUBJECT});
  row({.name = "ConsultationCarriesNonIdentifyingCategory", .sender = &o->social,
       .recipient = &o->ngo, .subject = "", .case_id = "", .member = false,
       .purpose = "expert_consultation", .category = v1::CATEGORY_FREE_TEXT,
       .verdict = v1::PERMIT, .rule = v1::RULE_POLICY});

  // ---- Disclosers: a consent names who may disclose (issue #13 §1). ----
  const v1::Consent psych_may_tell_social =
      From(MakeConsent("c-psych", "subj-1", v1::CATEGORY_HEALTH, ToOrg("wba-social"),
                       "service_coordination", from, until),
           {ToOrg("wba-psychiatry")});
  row({.name = "ConsentPermitsItsDiscloser", .consents = {psych_may_tell_social},
       .sender = &o->psych, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-psych"});
  row({.name = "ConsentDoesNotLetAnotherSenderDisclose", .consents = {psych_may_tell_social},
       .sender = &o->police, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "ConsentDiscloserByKind",
       .consents = {From(psych_may_tell_social, {ToKind(v1::WELLBEING_AREA)})},
       .sender = &o->psych, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-psych"});
  row({.name = "ConsentWithoutDisclosersPermitsNothing",
       .consents = {From(psych_may_tell_social, {})}, .sender = &o->psych,
       .recipient = &o->social, .category = v1::CATEGORY_HEALTH, .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "RefusalBoundToADiscloserSparesOthers",
       .consents = {From(psych_may_tell_social, {ToOrg("wba-psychiatry"), ToOrg("police-hame")})},
       .refusals = {From(MakeRefusal("r-from-police", "subj-1", v1::CATEGORY_HEALTH,
                                     ToOrg("wba-social"), from),
                         {ToKind(v1::POLICE)})},
       .sender = &o->psych, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-psych"});
  row({.name = "RefusalBoundToADiscloserDeniesIt",
       .consents = {From(psych_may_tell_social, {ToOrg("wba-psychiatry"), ToOrg("police-hame")})},
       .refusals = {From(MakeRefusal("r-from-police", "subj-1", v1::CATEGORY_HEALTH,
                                     ToOrg("wba-social"), from),
                         {ToKind(v1::POLICE)})},
       .sender = &o->police, .recipient = &o->social, .category = v1::CATEGORY_HEALTH,
       .verdict = v1::DENY, .rule = v1::RULE_REFUSAL, .rule_id = "r-from-police"});

  // ---- THIRD_PARTY: only a statute releases it (issue #13 §5). ----
  const v1::Consent third_party = MakeConsent("c-third", "subj-1", v1::CATEGORY_THIRD_PARTY,
                                              ToKind(v1::WELLBEING_AREA), "child_welfare_notification",
                                              from, until);
  row({.name = "NoConsentReleasesThirdPartyData", .consents = {third_party},
       .sender = &o->police, .recipient = &o->social, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_THIRD_PARTY, .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "AStatuteReleasesThirdPartyData", .consents = {third_party},
       .sender = &o->police, .recipient = &o->social, .purpose = "child_welfare_notification",
       .category = v1::CATEGORY_THIRD_PARTY, .statute = "lsl_25", .justification = true,
       .verdict = v1::PERMIT, .rule = v1::RULE_STATUTE, .rule_id = "lsl_25"});

  // ---- Criminal data to an NGO needs a statute (GDPR Art. 10, issue #13 §5). ----
  // A consent stored before the rule (RecordConsent now refuses it) counts
  // for nothing there; to an authority the same consent still permits.
  for (const v1::Category criminal :
       {v1::CATEGORY_CRIMINAL_OFFENCE, v1::CATEGORY_SENTENCE_ENFORCEMENT}) {
    const std::string name = criminal == v1::CATEGORY_CRIMINAL_OFFENCE ? "Offence" : "Sentence";
    const v1::Consent to_ngo =
        MakeConsent("c-crime-ngo", "subj-1", criminal, ToKind(v1::NGO), "referral", from, until);
    row({.name = name + "DataGoesToAnNgoNeverOnConsentAlone", .consents = {to_ngo},
         .sender = &o->police, .recipient = &o->ngo, .purpose = "referral", .category = criminal,
         .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
    const v1::Consent to_youth = MakeConsent("c-crime-youth", "subj-1", criminal,
                                             ToKind(v1::MUNICIPAL_YOUTH), "referral", from, until);
    row({.name = name + "DataGoesToAnAuthorityOnConsent", .consents = {to_youth},
         .sender = &o->police, .recipient = &o->youth, .purpose = "referral", .category = criminal,
         .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-crime-youth"});
  }

  // ---- Who may consent, from the age (issue #13 §2). "minor" is 16. ----
  const v1::Consent minor_own = MakeConsent("c-own", "minor", v1::CATEGORY_HEALTH,
                                            ToOrg("asenne-ry"), "youth_coaching", from, until);
  const v1::Consent guardians = By(MakeConsent("c-guardian", "minor", v1::CATEGORY_HEALTH,
                                               ToOrg("asenne-ry"), "youth_coaching", from, until),
                                   v1::GUARDIAN);
  const v1::CompetenceAssessment competent =
      MakeAssessment("a-1", "minor", v1::CATEGORY_HEALTH, "youth_coaching", from);
  const Row minor_base{.sender = &o->social, .recipient = &o->ngo, .subject = "minor",
                       .purpose = "youth_coaching", .category = v1::CATEGORY_HEALTH};
  auto minor_row = [&](Row r) {
    r.sender = minor_base.sender;
    r.recipient = minor_base.recipient;
    r.subject = minor_base.subject;
    r.purpose = minor_base.purpose;
    r.category = minor_base.category;
    row(std::move(r));
  };
  minor_row({.name = "MinorsOwnConsentWithoutAssessmentDoesNotCount", .consents = {minor_own},
             .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "MinorsOwnConsentCountsWithAssessment", .consents = {minor_own},
             .assessments = {competent}, .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT,
             .rule_id = "c-own"});
  minor_row({.name = "AssessmentForAnotherPurposeDoesNotCount", .consents = {minor_own},
             .assessments = {MakeAssessment("a-2", "minor", v1::CATEGORY_HEALTH, "referral",
                                            from)},
             .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "AssessmentForAnotherCategoryDoesNotCount", .consents = {minor_own},
             .assessments = {MakeAssessment("a-3", "minor", v1::CATEGORY_SUBSTANCE_USE,
                                            "youth_coaching", from)},
             .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "AssessmentNotYetMadeDoesNotCount", .consents = {minor_own},
             .assessments = {MakeAssessment("a-4", "minor", v1::CATEGORY_HEALTH,
                                            "youth_coaching", kT0 + absl::Seconds(1))},
             .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "WithdrawnAssessmentNoLongerCounts", .consents = {minor_own},
             .assessments = {Withdrawn(competent, kT0 - absl::Seconds(1))}, .verdict = v1::DENY,
             .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "GuardianConsentCountsForAMinor", .consents = {guardians},
             .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-guardian"});
  minor_row({.name = "GuardianConsentDoesNotCountWhereTheMinorIsCompetent",
             .consents = {guardians}, .assessments = {competent}, .verdict = v1::DENY,
             .rule = v1::RULE_DEFAULT_DENY});
  minor_row({.name = "CapableMinorsRefusalPrevailsOverGuardiansConsent", .consents = {guardians},
             .refusals = {MakeRefusal("r-own", "minor", v1::CATEGORY_HEALTH, ToKind(v1::NGO),
                                      from)},
             .assessments = {competent}, .verdict = v1::DENY, .rule = v1::RULE_REFUSAL,
             .rule_id = "r-own"});
  minor_row({.name = "MinorsRefusalCountsEvenWithoutAssessment", .consents = {guardians},
             .refusals = {MakeRefusal("r-own", "minor", v1::CATEGORY_HEALTH, ToKind(v1::NGO),
                                      from)},
             .verdict = v1::DENY, .rule = v1::RULE_REFUSAL, .rule_id = "r-own"});
  minor_row({.name = "GuardianRefusalDoesNotCountAgainstACompetentMinor",
             .consents = {minor_own},
             .refusals = {By(MakeRefusal("r-guardian", "minor", v1::CATEGORY_HEALTH,
                                         ToKind(v1::NGO), from),
                             v1::GUARDIAN)},
             .assessments = {competent}, .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT,
             .rule_id = "c-own"});
  minor_row({.name = "GuardianRefusalOverridesGuardianConsent", .consents = {guardians},
             .refusals = {By(MakeRefusal("r-guardian", "minor", v1::CATEGORY_HEALTH,
                                         ToKind(v1::NGO), from),
                             v1::GUARDIAN)},
             .verdict = v1::DENY, .rule = v1::RULE_REFUSAL, .rule_id = "r-guardian"});
  minor_row({.name = "GuardianProhibitionNamesNoOrganisation", .consents = {guardians},
             .refusals = {MakeRefusal("r-prohibit", "minor", v1::CATEGORY_HEALTH, ToGuardian(),
                                      from)},
             .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT, .rule_id = "c-guardian"});
  row({.name = "GuardianConsentDoesNotCountForAnAdult",
       .consents = {By(MakeConsent("c-guardian", "subj-1", v1::CATEGORY_HEALTH,
                                   ToOrg("asenne-ry"), "youth_coaching", from, until),
                       v1::GUARDIAN)},
       .sender = &o->social, .recipient = &o->ngo, .purpose = "youth_coaching",
       .category = v1::CATEGORY_HEALTH, .verdict = v1::DENY, .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "GuardianRefusalDoesNotCountForAnAdult",
       .consents = {MakeConsent("c-own", "subj-1", v1::CATEGORY_HEALTH, ToOrg("asenne-ry"),
                                "youth_coaching", from, until)},
       .refusals = {By(MakeRefusal("r-guardian", "subj-1", v1::CATEGORY_HEALTH, ToKind(v1::NGO),
                                   from),
                       v1::GUARDIAN)},
       .sender = &o->social, .recipient = &o->ngo, .purpose = "youth_coaching",
       .category = v1::CATEGORY_HEALTH, .verdict = v1::PERMIT, .rule = v1::RULE_CONSENT,
       .rule_id = "c-own"});
  row({.name = "UnknownAgeConsentDoesNotCount",
       .consents = {MakeConsent("c-old", "unknown-age", v1::CATEGORY_HEALTH, ToOrg("asenne-ry"),
                                "youth_coaching", from, until)},
       .sender = &o->social, .recipient = &o->ngo, .subject = "unknown-age",
       .purpose = "youth_coaching", .category = v1::CATEGORY_HEALTH, .verdict = v1::DENY,
       .rule = v1::RULE_DEFAULT_DENY});
  row({.name = "UnknownAgeGuardianRefusalStillCounts",
       .refusals = {By(MakeRefusal("r-old", "unknown-age", v1::CATEGORY_CHILD_WELFARE,
                                   ToOrg("wba-social"), from),
                       v1::GUARDIAN)},
       .sender = &o->police, .recipient = &o->social, .subject = "unknown-age",
       .category = v1::CATEGORY_CHILD_WELFARE, .verdict = v1::DENY, .rule = v1::RULE_REFUSAL,
       .rule_id = "r-old"});
  row({.name = "StatuteOverridesACompetentMinorsRefusal",
       .refusals = {MakeRefusal("r-own", "minor", v1::CATEGORY_CHILD_WELFARE, ToOrg("wba-social"),
                                from)},
       .assessments = {MakeAssessment("a-6", "minor", v1::CATEGORY_CHILD_WELFARE,
                                      "child_welfare_notification", from)},
       .sender = &o->police, .recipient = &o->social, .subject = "minor",
       .purpose = "child_welfare_notification", .category = v1::CATEGORY_CHILD_WELFARE,
       .statute = "lsl_25", .justification = true, .verdict = v1::PERMIT,
       .rule = v1::RULE_STATUTE, .rule_id = "lsl_25"});
  return rows;
}

class DecisionTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(DecisionTableTest, DecidesAsSpecified) {
  const Row& row = GetParam();
  DecisionEngine engine;
  for (const auto& c : row.consents) engine.PutConsent(c);
  for (const auto& r : row.refusals) engine.PutRefusal(r);
  for (const auto& a : row.assessments) engine.PutAssessment(a);
  DecisionQuery q;
  q.sender = row.sender;
  q.recipient = row.recipient;
  q.subject_ref = row.subject;
  q.case_id = row.case_id;
  q.recipient_is_member = row.member;
  q.purpose = row.purpose;
  q.category = row.category;
  q.at = row.at;
  q.statute_code = row.statute;
  q.has_justification = row.justification;

  const v1::Decision d = engine.Decide(q, ExamplePolicy());

  EXPECT_EQ(d.verdict(), row.verdict) << d.reason();
  EXPECT_EQ(d.rule(), row.rule) << d.reason();
  EXPECT_EQ(d.rule_id(), row.rule_id) << d.reason();
  EXPECT_EQ(d.recipient_org_id(), row.recipient->org_id());
  EXPECT_FALSE(d.reason().empty());

  // Decided again without its reason (the re-decision at delivery): the
  // same decision, the sentence left out.
  q.with_reason = false;
  const v1::Decision bare = engine.Decide(q, ExamplePolicy());
  EXPECT_EQ(bare.verdict(), d.verdict());
  EXPECT_EQ(bare.rule(), d.rule());
  EXPECT_EQ(bare.rule_id(), d.rule_id());
  EXPECT_EQ(bare.recipient_org_id(), d.recipient_org_id());
  EXPECT_EQ(bare.category(), d.category());
  EXPECT_EQ(bare.reason(), "");
}

INSTANTIATE_TEST_SUITE_P(Rules, DecisionTableTest, ::testing::ValuesIn(Rows()),
                         [](const auto& info) { return info.param.name; });

TEST(DecisionEngineTest, ReplacingARecordByIdKeepsOneRecord) {
  DecisionEngine engine;
  const absl::Time from = kT0 - absl::Hours(1);
  const v1::Consent c = MakeConsent("c", "s", v1::CATEGORY_HEALTH, ToKind(v1::POLICE),
                                    "service_coordination", from, kT0 + absl::Hours(1));
  engine.PutConsent(c);
  engine.PutConsent(Withdrawn(c, kT0));

  EXPECT_EQ(engine.RecordCount(), 1u);
}

// The 18th birthday, at midnight Finnish time: a guardian's consent counts
// until the last second before it, the young person's own from it.
TEST(DecisionEngineTest, TheEighteenthBirthdayHandsTheSayToTheYoungPerson) {
  const Orgs o;
  DecisionEngine engine;
  const absl::Time from = kT0 - absl::Hours(24 * 30);
  const absl::Time until = kT0 + absl::Hours(24 * 30);
  // "s3" is born 2008-09-22: 18 from 2026-09-22 00:00 EEST = 2026-09-21 21:00 UTC.
  const absl::Time birthday =
      absl::FromCivil(absl::CivilSecond(2026, 9, 21, 21, 0, 0), absl::UTCTimeZone());
  engine.PutConsent(By(MakeConsent("c-guardian", "s3", v1::CATEGORY_HEALTH, ToKind(v1::NGO),
                                   "youth_coaching", from, until),
                       v1::GUARDIAN));
  engine.PutConsent(MakeConsent("c-own", "s3", v1::CATEGORY_SOCIAL_WELFARE, ToKind(v1::NGO),
                                "youth_coaching", from, until));
  auto decide = [&](v1::Category category, absl::Time at) {
    DecisionQuery q;
    q.sender = &o.social;
    q.recipient = &o.ngo;
    q.subject_ref = "s3";
    q.case_id = "case-1";
    q.recipient_is_member = true;
    q.purpose = "youth_coaching";
    q.category = category;
    q.at = at;
    return engine.Decide(q, ExamplePolicy());
  };
  const absl::Time eve = birthday - absl::Seconds(1);

  EXPECT_EQ(decide(v1::CATEGORY_HEALTH, eve).verdict(), v1::PERMIT);
  EXPECT_EQ(decide(v1::CATEGORY_SOCIAL_WELFARE, eve).verdict(), v1::DENY);
  const v1::Decision guardian_after = decide(v1::CATEGORY_HEALTH, birthday);
  EXPECT_EQ(guardian_after.verdict(), v1::DENY);
  EXPECT_THAT(guardian_after.reason(), ::testing::HasSubstr("18 or older"));
  EXPECT_EQ(decide(v1::CATEGORY_SOCIAL_WELFARE, birthday).verdict(), v1::PERMIT);
}

TEST(DecisionEngineTest, ADeniedReasonNamesTheConsentThatNearlyApplied) {
  const Orgs o;
  DecisionEngine engine;
  engine.PutConsent(From(MakeConsent("c-psych", "subj-1", v1::CATEGORY_HEALTH, ToKind(v1::NGO),
                                     "youth_coaching", kT0 - absl::Hours(1), kT0 + absl::Hours(1)),
                         {ToOrg("wba-psychiatry")}));
  DecisionQuery q;
  q.sender = &o.police;
  q.recipient = &o.ngo;
  q.subject_ref = "subj-1";
  q.recipient_is_member = true;
  q.purpose = "youth_coaching";
  q.category = v1::CATEGORY_HEALTH;
  q.at = kT0;

  const v1::Decision d = engine.Decide(q, ExamplePolicy());

  EXPECT_EQ(d.verdict(), v1::DENY);
  EXPECT_THAT(d.reason(),
              ::testing::HasSubstr("consent c-psych does not name police-hame as a discloser"));
}

// ---- Randomised comparison with a deliberately naive reference. ----

struct NaiveRecord {
  enum Kind { kConsent, kRefusal, kAssessment } kind;
  std::string subject;
  int category;
  bool by_kind;
  int org_kind;
  std::string org;
  // Discloser: none (refusals: any sender), by kind or by org id.
  enum { kAnyDiscloser, kDiscloserKind, kDiscloserOrg } discloser;
  int discloser_kind;
  std::string discloser_org;
  v1::GrantorKind grantor;
  std::string purpose;
  std::string case_id;
  absl::Time from, until, withdrawn;
};

bool NaiveInForce(const NaiveRecord& r, absl::Time at) {
  return at >= r.from && at < r.until && at < r.withdrawn;
}

// Adulthood of the random test's subjects, written out by hand: s1 is an
// adult, s2 a minor, s3 turns 18 at 2026-09-21 21:00 UTC.
bool NaiveAdult(const std::string& subject, absl::Time at) {
  if (subject == "s1") return true;
  if (subject == "s2") return false;
  return at >= absl::FromUnixSeconds(1790024400);  // 2026-09-21T21:00:00Z
}

bool NaiveCompetent(const std::vector<NaiveRecord>& records, const DecisionQuery& q) {
  for (const NaiveRecord& a : records) {
    if (a.kind == NaiveRecord::kAssessment && a.subject == q.subject_ref &&
        a.category == q.category && a.purpose == q.purpose && NaiveInForce(a, q.at)) {
      return true;
    }
  }
  return false;
}

bool NaiveMatches(const NaiveRecord& r, const DecisionQuery& q) {
  if (r.kind == NaiveRecord::kAssessment) return false;
  if (r.subject != q.subject_ref || r.category != q.category) return false;
  if (!NaiveInForce(r, q.at)) return false;
  if (r.by_kind ? r.org_kind != q.recipient->kind() : r.org != q.recipient->org_id()) return false;
  switch (r.discloser) {
    case NaiveRecord::kAnyDiscloser:
      if (r.kind == NaiveRecord::kConsent) return false;  // a consent must name one
      break;
    case NaiveRecord::kDiscloserKind:
      if (r.discloser_kind != q.sender->kind()) return false;
      break;
    case NaiveRecord::kDiscloserOrg:
      if (r.discloser_org != q.sender->org_id()) return false;
      break;
  }
  if (r.kind == NaiveRecord::kRefusal) return true;
  return r.purpose == q.purpose && (r.case_id.empty() || r.case_id == q.case_id);
}

// Whether the grantor's word counts for the query.
bool NaiveCounts(const NaiveRecord& r, bool adult, bool competent) {
  if (r.grantor == v1::GUARDIAN) return !adult && !competent;
  return r.kind == NaiveRecord::kRefusal || adult || competent;
}

bool NaiveStatuteApplies(const v1::Policy& policy, const DecisionQuery& q) {
  for (const auto& s : policy.statutory_bases()) {
    if (s.code() != q.statute_code) continue;
    auto has = [](const auto& list, int v) { return std::find(list.begin(), list.end(), v) != list.end(); };
    return has(s.sender_kinds(), q.sender->kind()) && has(s.recipient_kinds(), q.recipient->kind()) &&
           has(s.categories(), q.category) && (!s.justification_required() || q.has_justification);
  }
  return false;
}

TEST(DecisionEngineRandomTest, AgreesWithNaiveReference) {
  std::mt19937 rng(20261202);
  const v1::Policy policy = ExamplePolicy();
  const Orgs o;
  const std::vector<const v1::Organization*> orgs = {&o.police, &o.social, &o.psych,
                                                     &o.youth, &o.ngo, &o.school};
  const std::vector<std::string> subjects = {"s1", "s2", "s3"};
  const std::vector<std::string> purposes = {"referral", "service_coordination", "youth_coaching"};
  const std::vector<std::string> statutes = {"", "lsl_25", "shl_35", "nuorisolaki_11"};
  const std::vector<std::string> cases = {"", "case-a", "case-b"};
  auto pick = [&](const auto& v) { return v[rng() % v.size()]; };
  auto time_at = [&](int hours) { return kT0 + absl::Hours(hours); };
  int permits = 0, refusal_denials = 0, statute_permits = 0;
  int competent_queries = 0, birthday_queries = 0;

  for (int round = 0; round < 500; ++round) {
    DecisionEngine engine;
    std::vector<NaiveRecord> naive;
    const int records = 1 + static_cast<int>(rng() % 16);
    for (int i = 0; i < records; ++i) {
      NaiveRecord r;
      const unsigned kind = rng() % 6;
      r.kind = kind < 2 ? NaiveRecord::kRefusal
               : kind < 5 ? NaiveRecord::kConsent
                          : NaiveRecord::kAssessment;
      r.subject = pick(subjects);
      r.category = 1 + static_cast<int>(rng() % 6);
      r.by_kind = rng() % 2 == 0;
      const v1::Organization* target = pick(orgs);
      r.org_kind = target->kind();
      r.org = target->org_id();
      const v1::Organization* discloser = pick(orgs);
      r.discloser = static_cast<decltype(r.discloser)>(rng() % 3);
      if (r.discloser == NaiveRecord::kAnyDiscloser && rng() % 4 != 0) {
        r.discloser = NaiveRecord::kDiscloserKind;
      }
      r.discloser_kind = discloser->kind();
      r.discloser_org = discloser->org_id();
      r.grantor = rng() % 2 == 0 ? v1::SUBJECT : v1::GUARDIAN;
      r.purpose = pick(purposes);
      r.case_id = rng() % 2 == 0 ? "" : pick(cases);
      r.from = time_at(-static_cast<int>(rng() % 10));
      r.until = time_at(static_cast<int>(rng() % 14) - 3);
      if (r.until <= r.from) r.until = r.from + absl::Hours(1);
      r.withdrawn = rng() % 4 == 0 ? time_at(static_cast<int>(rng() % 6) - 3) : absl::InfiniteFuture();
      const std::string id = absl::StrCat("rec-", i);
      const v1::Recipient recipient =
          r.by_kind ? ToKind(static_cast<v1::OrgKind>(r.org_kind)) : ToOrg(r.org);
      std::vector<v1::Recipient> disclosers;
      if (r.discloser == NaiveRecord::kDiscloserKind) {
        disclosers.push_back(ToKind(static_cast<v1::OrgKind>(r.discloser_kind)));
      } else if (r.discloser == NaiveRecord::kDiscloserOrg) {
        disclosers.push_back(ToOrg(r.discloser_org));
      }
      if (r.kind == NaiveRecord::kRefusal) {
        v1::Refusal rec = By(From(MakeRefusal(id, r.subject, static_cast<v1::Category>(r.category),
                                              recipient, r.from, r.until),
                                  disclosers),
                             r.grantor);
        if (r.withdrawn != absl::InfiniteFuture()) rec = Withdrawn(rec, r.withdrawn);
        engine.PutRefusal(rec);
      } else if (r.kind == NaiveRecord::kConsent) {
        v1::Consent rec = By(From(MakeConsent(id, r.subject, static_cast<v1::Category>(r.category),
                                              recipient, r.purpose, r.from, r.until, r.case_id),
                                  disclosers),
                             r.grantor);
        if (r.withdrawn != absl::InfiniteFuture()) rec = Withdrawn(rec, r.withdrawn);
        engine.PutConsent(rec);
      } else {
        v1::CompetenceAssessment rec =
            MakeAssessment(id, r.subject, static_cast<v1::Category>(r.category), r.purpose, r.from,
                           r.until);
        if (r.withdrawn != absl::InfiniteFuture()) rec = Withdrawn(rec, r.withdrawn);
        engine.PutAssessment(rec);
      }
      naive.push_back(r);
    }
    for (int query = 0; query < 100; ++query) {
      const std::string subject = pick(subjects);
      const std::string case_id = pick(cases);
      const std::string purpose = pick(purposes);
      const std::string statute = pick(statutes);
      DecisionQuery q;
      q.sender = pick(orgs);
      q.recipient = pick(orgs);
      q.subject_ref = subject;
      q.case_id = case_id;
      q.recipient_is_member = true;
      q.purpose = purpose;
      q.category = static_cast<v1::Category>(1 + rng() % 6);
      q.at = time_at(static_cast<int>(rng() % 16) - 6) + absl::Minutes(static_cast<int>(rng() % 2) * 30);
      q.statute_code = statute;
      q.has_justification = rng() % 2 == 0;

      bool refused = false, consented = false;
      const bool adult = NaiveAdult(subject, q.at);
      const bool competent = NaiveCompetent(naive, q);
      for (const NaiveRecord& r : naive) {
        if (!NaiveMatches(r, q) || !NaiveCounts(r, adult, competent)) continue;
        (r.kind == NaiveRecord::kRefusal ? refused : consented) = true;
      }
      if (competent && !adult) ++competent_queries;
      if (adult && subject == "s3") ++birthday_queries;
      const bool statute_applies = !statute.empty() && NaiveStatuteApplies(policy, q);
      const bool expected_permit = statute_applies || (!refused && consented);

      const v1::Decision d = engine.Decide(q, policy);

      ASSERT_EQ(d.verdict() == v1::PERMIT, expected_permit)
          << "round " << round << " query " << query << ": " << d.reason();
      if (d.verdict() == v1::PERMIT) {
        ++permits;
        // Never a permit without a matching permit, never against a refusal without a statute.
        EXPECT_TRUE(statute_applies || consented);
        if (refused) {
          EXPECT_EQ(d.rule(), v1::RULE_STATUTE);
          ++statute_permits;
        }
      } else if (d.rule() == v1::RULE_REFUSAL) {
        ++refusal_denials;
      }
    }
  }
  // The generator must exercise every branch for the comparison to mean anything.
  EXPECT_GT(permits, 100);
  EXPECT_GT(refusal_denials, 50);
  EXPECT_GT(statute_permits, 0);
  EXPECT_GT(competent_queries, 50);
  EXPECT_GT(birthday_queries, 100);
}

}  // namespace
}  // namespace silta::consent
