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

v1::Consent MakeConsent(const std::string& id, const std::string& subject, v1::Category category,
                        v1::Recipient recipient, const std::string& purpose, absl::Time from,
                        absl::Time until, const std::string& case_id = "") {
  v1::Consent c;
  c.set_consent_id(id);
  c.set_subject_ref(subject);
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
  return rows;
}

class DecisionTableTest : public ::testing::TestWithParam<Row> {};

TEST_P(DecisionTableTest, DecidesAsSpecified) {
  const Row& row = GetParam();
  DecisionEngine engine;
  for (const auto& c : row.consents) engine.PutConsent(c);
  for (const auto& r : row.refusals) engine.PutRefusal(r);
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

// ---- Randomised comparison with a deliberately naive reference. ----

struct NaiveRecord {
  bool refusal;
  std::string subject;
  int category;
  bool by_kind;
  int kind;
  std::string org;
  std::string purpose;
  std::string case_id;
  absl::Time from, until, withdrawn;
};

bool NaiveMatches(const NaiveRecord& r, const DecisionQuery& q) {
  if (r.subject != q.subject_ref || r.category != q.category) return false;
  if (!(q.at >= r.from && q.at < r.until && q.at < r.withdrawn)) return false;
  if (r.by_kind ? r.kind != q.recipient->kind() : r.org != q.recipient->org_id()) return false;
  if (r.refusal) return true;
  return r.purpose == q.purpose && (r.case_id.empty() || r.case_id == q.case_id);
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
  std::mt19937 rng(20261124);
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

  for (int round = 0; round < 200; ++round) {
    DecisionEngine engine;
    std::vector<NaiveRecord> naive;
    const int records = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < records; ++i) {
      NaiveRecord r;
      r.refusal = rng() % 3 == 0;
      r.subject = pick(subjects);
      r.category = 1 + static_cast<int>(rng() % 15);
      r.by_kind = rng() % 2 == 0;
      const v1::Organization* target = pick(orgs);
      r.kind = target->kind();
      r.org = target->org_id();
      r.purpose = pick(purposes);
      r.case_id = rng() % 2 == 0 ? "" : pick(cases);
      r.from = time_at(-static_cast<int>(rng() % 10));
      r.until = time_at(static_cast<int>(rng() % 10) - 3);
      if (r.until <= r.from) r.until = r.from + absl::Hours(1);
      r.withdrawn = rng() % 4 == 0 ? time_at(static_cast<int>(rng() % 6) - 3) : absl::InfiniteFuture();
      const std::string id = absl::StrCat("rec-", i);
      const v1::Recipient recipient = r.by_kind ? ToKind(static_cast<v1::OrgKind>(r.kind)) : ToOrg(r.org);
      if (r.refusal) {
        v1::Refusal rec = MakeRefusal(id, r.subject, static_cast<v1::Category>(r.category), recipient, r.from, r.until);
        if (r.withdrawn != absl::InfiniteFuture()) rec = Withdrawn(rec, r.withdrawn);
        engine.PutRefusal(rec);
      } else {
        v1::Consent rec = MakeConsent(id, r.subject, static_cast<v1::Category>(r.category), recipient,
                                      r.purpose, r.from, r.until, r.case_id);
        if (r.withdrawn != absl::InfiniteFuture()) rec = Withdrawn(rec, r.withdrawn);
        engine.PutConsent(rec);
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
      q.category = static_cast<v1::Category>(1 + rng() % 15);
      q.at = time_at(static_cast<int>(rng() % 12) - 6) + absl::Minutes(static_cast<int>(rng() % 2) * 30);
      q.statute_code = statute;
      q.has_justification = rng() % 2 == 0;

      bool refused = false, consented = false;
      for (const NaiveRecord& r : naive) {
        if (!NaiveMatches(r, q)) continue;
        (r.refusal ? refused : consented) = true;
      }
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
}

}  // namespace
}  // namespace silta::consent
