// Every statutory basis of deploy/policy.example.textproto against a table
// written out by hand from the statutes (docs/consent-model.md cites them):
// for every sender kind, recipient kind and category, with and without a
// justification and the reply link, the engine permits exactly what the
// table says, and a basis overrides a refusal only there.
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "lib/policy/policy.h"
#include "server/consent/engine.h"
#include "tests/testing/policy_fixture.h"

namespace silta::consent {
namespace {

using ::silta::testing::ExamplePolicy;
using ::silta::testing::MakeOrg;

struct Basis {
  std::string code;
  std::set<v1::OrgKind> senders;
  std::set<v1::OrgKind> recipients;
  std::set<v1::Category> categories;
  bool justification;
  bool needs_request_link;
  // A notification the law requires without delay: not bound to case
  // membership, and sendable outside any case.
  bool notification = false;
};

// Written from the statutes, not copied from the policy file.
const std::vector<Basis>& Table() {
  using enum v1::OrgKind;
  static const auto* table = new std::vector<Basis>{
      // lastensuojelulaki 25 § 1-2 mom: the obliged and anyone else, to social services.
      {"lsl_25",
       {WELLBEING_AREA, POLICE, PROBATION, PRISON, MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION, NGO},
       {WELLBEING_AREA},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_CHILD_WELFARE,
        v1::CATEGORY_CRIMINAL_OFFENCE, v1::CATEGORY_SENTENCE_ENFORCEMENT, v1::CATEGORY_FAMILY,
        v1::CATEGORY_FREE_TEXT, v1::CATEGORY_THIRD_PARTY},
       true,
       false,
       true},
      // 25 § 3 mom: the obliged (other than the police itself) to the police.
      {"lsl_25_3",
       {WELLBEING_AREA, PROBATION, PRISON, MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION, NGO},
       {POLICE},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_CHILD_WELFARE,
        v1::CATEGORY_CRIMINAL_OFFENCE, v1::CATEGORY_SENTENCE_ENFORCEMENT, v1::CATEGORY_FAMILY,
        v1::CATEGORY_FREE_TEXT, v1::CATEGORY_THIRD_PARTY},
       true,
       false,
       true},
      // 25 c §: the advance notification, by the obliged of 25 §.
      {"lsl_25c",
       {WELLBEING_AREA, POLICE, PROBATION, PRISON, MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION, NGO},
       {WELLBEING_AREA},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_CHILD_WELFARE,
        v1::CATEGORY_FAMILY, v1::CATEGORY_FREE_TEXT},
       true,
       false,
       true},
      // sosiaalihuoltolaki 35 § 1-2 mom: the obliged list; youth services is not on it.
      {"shl_35",
       {WELLBEING_AREA, POLICE, PROBATION, PRISON, EMPLOYMENT, EDUCATION},
       {WELLBEING_AREA},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_SOCIAL_WELFARE,
        v1::CATEGORY_SERVICE_RELATIONSHIP, v1::CATEGORY_FREE_TEXT},
       true,
       false,
       true},
      // 35 § 3 mom: anyone else may.
      {"shl_35_3",
       {MUNICIPAL_YOUTH, NGO},
       {WELLBEING_AREA},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_SOCIAL_WELFARE,
        v1::CATEGORY_SERVICE_RELATIONSHIP, v1::CATEGORY_FREE_TEXT},
       true,
       false,
       true},
      // nuorisolaki 11 § (1.8.2021): identity and contact details only, to outreach youth work.
      {"nuorisolaki_11",
       {EDUCATION, EMPLOYMENT, POLICE, PROBATION, PRISON, WELLBEING_AREA},
       {MUNICIPAL_YOUTH},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT},
       false,
       false},
      // 812/2000 18 § 3 mom: social welfare to the police, on a threat of violence.
      {"threat_to_life",
       {WELLBEING_AREA},
       {POLICE},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_SOCIAL_WELFARE,
        v1::CATEGORY_CHILD_WELFARE, v1::CATEGORY_MENTAL_HEALTH, v1::CATEGORY_SUBSTANCE_USE,
        v1::CATEGORY_FAMILY, v1::CATEGORY_FREE_TEXT, v1::CATEGORY_THIRD_PARTY},
       true,
       false},
      // lsl 41 §, 812/2000 20 §: anyone, to social welfare, only answering its request.
      // The notifications and these two may name others involved (THIRD_PARTY).
      {"information_on_request",
       {WELLBEING_AREA, POLICE, PROBATION, PRISON, MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION, NGO},
       {WELLBEING_AREA},
       {v1::CATEGORY_IDENTITY, v1::CATEGORY_CONTACT, v1::CATEGORY_SERVICE_RELATIONSHIP,
        v1::CATEGORY_SOCIAL_WELFARE, v1::CATEGORY_CHILD_WELFARE, v1::CATEGORY_HEALTH,
        v1::CATEGORY_MENTAL_HEALTH, v1::CATEGORY_SUBSTANCE_USE, v1::CATEGORY_CRIMINAL_OFFENCE,
        v1::CATEGORY_SENTENCE_ENFORCEMENT, v1::CATEGORY_EDUCATION_EMPLOYMENT, v1::CATEGORY_HOUSING,
        v1::CATEGORY_FAMILY, v1::CATEGORY_FREE_TEXT, v1::CATEGORY_THIRD_PARTY},
       true,
       true},
  };
  return *table;
}

TEST(StatuteTableTest, ThePolicyHasExactlyTheBasesOfTheTable) {
  const v1::Policy policy = ExamplePolicy();
  std::set<std::string> in_policy, in_table;
  for (const v1::StatutoryBasis& s : policy.statutory_bases()) in_policy.insert(s.code());
  for (const Basis& b : Table()) in_table.insert(b.code);
  EXPECT_EQ(in_policy, in_table);
  for (const v1::StatutoryBasis& s : policy.statutory_bases()) {
    EXPECT_FALSE(s.citation().empty()) << s.code();
    EXPECT_FALSE(s.description().empty()) << s.code();
    const auto row = std::find_if(Table().begin(), Table().end(),
                                  [&](const Basis& b) { return b.code == s.code(); });
    ASSERT_NE(row, Table().end());
    EXPECT_EQ(s.notification(), row->notification) << s.code();
    if (s.notification()) {
      // An undelivered notification must be raised within hours.
      EXPECT_GE(s.notification_ttl_hours(), 1u) << s.code();
      EXPECT_LE(s.notification_ttl_hours(), 8u) << s.code();
    }
  }
}

class StatuteTableTest : public ::testing::TestWithParam<Basis> {};

// Where the recipient stands: a member of the message's case, in the case
// but not a member, or the message is a notification sent outside any case.
enum Where { kMember, kNotAMember, kOutsideCase };

TEST_P(StatuteTableTest, PermitsExactlyItsScopeAndOverridesARefusalThere) {
  const Basis& basis = GetParam();
  const v1::Policy policy = ExamplePolicy();
  const absl::Time at = absl::FromUnixSeconds(1790000000);
  int permits = 0;
  for (int s = 1; v1::OrgKind_IsValid(s); ++s) {
    for (int r = 1; v1::OrgKind_IsValid(r); ++r) {
      const auto sender_kind = static_cast<v1::OrgKind>(s);
      const auto recipient_kind = static_cast<v1::OrgKind>(r);
      const v1::Organization sender = MakeOrg("sender", sender_kind);
      const v1::Organization recipient = MakeOrg("recipient", recipient_kind);
      // The subject refused everything to everyone: only the basis can permit.
      DecisionEngine engine;
      v1::Refusal refusal;
      refusal.set_refusal_id("r-all");
      refusal.set_subject_ref("subj");
      refusal.set_grantor(v1::SUBJECT);
      for (int c = 1; v1::Category_IsValid(c); ++c)
        refusal.add_categories(static_cast<v1::Category>(c));
      refusal.add_recipients()->set_org_kind(recipient_kind);
      engine.PutRefusal(refusal);
      for (int c = 1; v1::Category_IsValid(c); ++c) {
        const auto category = static_cast<v1::Category>(c);
        for (bool justified : {false, true}) {
          for (bool linked : {false, true}) {
            for (const Where where : {kMember, kNotAMember, kOutsideCase}) {
              DecisionQuery q;
              q.sender = &sender;
              q.recipient = &recipient;
              q.subject_ref = "subj";
              q.case_id = where == kOutsideCase ? "" : "case";
              q.outside_case = where == kOutsideCase;
              q.recipient_is_member = where == kMember;
              q.purpose = "child_welfare_notification";
              q.category = category;
              q.at = at;
              q.statute_code = basis.code;
              q.has_justification = justified;
              q.answers_recipient_request = linked;
              const bool in_scope = basis.senders.contains(sender_kind) &&
                                    basis.recipients.contains(recipient_kind) &&
                                    basis.categories.contains(category) &&
                                    (justified || !basis.justification) &&
                                    (linked || !basis.needs_request_link);
              const bool expected = in_scope && (where == kMember || basis.notification);
              const v1::Decision d = engine.Decide(q, policy);
              ASSERT_EQ(d.verdict() == v1::PERMIT, expected)
                  << basis.code << " from " << v1::OrgKind_Name(sender_kind) << " to "
                  << v1::OrgKind_Name(recipient_kind) << " " << v1::Category_Name(category)
                  << " justified=" << justified << " linked=" << linked << " where=" << where
                  << ": " << d.reason();
              if (expected) {
                ++permits;
                EXPECT_EQ(d.rule(), v1::RULE_STATUTE);
                EXPECT_EQ(d.rule_id(), basis.code);
              } else {
                EXPECT_EQ(d.rule(), where == kMember       ? v1::RULE_REFUSAL
                                    : where == kNotAMember ? v1::RULE_NOT_A_MEMBER
                                                           : v1::RULE_OUTSIDE_CASE)
                    << d.reason();
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(permits, 0);
}

INSTANTIATE_TEST_SUITE_P(Bases, StatuteTableTest, ::testing::ValuesIn(Table()),
                         [](const auto& info) { return info.param.code; });

}  // namespace
}  // namespace silta::consent
