// The subject disclosure report and the steering-group indicators over a
// scripted history of audit entries.
#include "server/audit/reports.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/audit/log_entry.h"
#include "lib/common/time_util.h"

namespace silta::audit {
namespace {

using ::testing::ElementsAre;

const absl::Time kOct = absl::FromCivil(absl::CivilDay(2026, 10, 1), absl::UTCTimeZone());

v1::Organization Org(const std::string& id, v1::OrgKind kind, const std::string& region,
                     const std::string& name) {
  v1::Organization o;
  o.set_org_id(id);
  o.set_kind(kind);
  o.set_region(region);
  o.set_display_name(name);
  return o;
}

OrgLookup Orgs() {
  static const std::map<std::string, v1::Organization> orgs = {
      {"police-oulu", Org("police-oulu", v1::POLICE, "oulu", "Oulun poliisi")},
      {"police-hame", Org("police-hame", v1::POLICE, "hame", "Hämeen poliisi")},
      {"wba-social", Org("wba-social", v1::WELLBEING_AREA, "oulu", "Sosiaalipalvelut")},
      {"hml-youth", Org("hml-youth", v1::MUNICIPAL_YOUTH, "oulu", "Nuorisopalvelut")},
      {"asenne-ry", Org("asenne-ry", v1::NGO, "oulu", "Asenne ry")},
      {"rise-prison", Org("rise-prison", v1::PRISON, "oulu", "Vankila")},
  };
  return [](absl::string_view id) -> std::optional<v1::Organization> {
    auto it = orgs.find(std::string(id));
    if (it == orgs.end()) return std::nullopt;
    return it->second;
  };
}

v1::Policy PolicyWithGrounds() {
  v1::Policy p;
  v1::StatutoryBasis* lsl = p.add_statutory_bases();
  lsl->set_code("lsl_25");
  lsl->set_citation("lastensuojelulaki 25 §");
  v1::RestrictionGround* ground = p.add_restriction_grounds();
  ground->set_code("crime_investigation");
  ground->set_citation("tietosuojalaki 34 § 1 mom 3 k");
  ground->set_max_review_days(180);
  return p;
}

class History {
 public:
  v1::AuditEntry& Add(v1::AuditEventType type, absl::Time at, const std::string& actor) {
    entries_.push_back(NewEntry(type, at, actor));
    entries_.back().set_index(entries_.size() - 1);
    return entries_.back();
  }
  const std::vector<v1::AuditEntry>& entries() const { return entries_; }

 private:
  std::vector<v1::AuditEntry> entries_;
};

TEST(SubjectReportTest, ListsDisclosuresWithholdingsAndOtherProcessing) {
  History h;
  auto& consent = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(1), "wba-social");
  consent.set_counterpart_org_id("hml-youth");
  consent.set_message_id("m-1");
  consent.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
  consent.set_purpose("referral");
  consent.set_rule(v1::RULE_CONSENT);
  consent.set_rule_id("0193-consent");
  auto& withheld = h.Add(v1::FIELD_WITHHELD, kOct + absl::Hours(1), "wba-social");
  withheld.set_counterpart_org_id("hml-youth");
  withheld.set_message_id("m-1");
  withheld.add_categories(v1::CATEGORY_HEALTH);
  withheld.set_rule(v1::RULE_REFUSAL);
  withheld.set_rule_id("0193-refusal");
  auto& notification = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(2), "asenne-ry");
  notification.set_counterpart_org_id("wba-social");
  notification.set_message_id("m-2");
  notification.add_categories(v1::CATEGORY_CHILD_WELFARE);
  notification.set_rule(v1::RULE_STATUTE);
  notification.set_rule_id("lsl_25");
  notification.set_statute_citation("lastensuojelulaki 25 §");
  auto& to_police = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(3), "wba-social");
  to_police.set_counterpart_org_id("police-oulu");
  to_police.set_message_id("m-3");
  to_police.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
  auto& from_prison = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(3), "rise-prison");
  from_prison.set_counterpart_org_id("wba-social");
  from_prison.set_message_id("m-4");
  from_prison.add_categories(v1::CATEGORY_CRIMINAL_OFFENCE);
  h.Add(v1::MESSAGE_ACCEPTED, kOct + absl::Hours(1), "wba-social");  // not listed
  // Other processing.
  auto& check = h.Add(v1::EXISTING_CASE_CHECKED, kOct + absl::Hours(5), "hml-youth");
  check.set_purpose("referral");
  check.set_detail("refused");
  auto& added = h.Add(v1::CASE_MEMBER_ADDED, kOct + absl::Hours(6), "wba-social");
  added.set_counterpart_org_id("asenne-ry");
  h.Add(v1::CONSENTS_LISTED, kOct + absl::Hours(7), "wba-social").set_detail("records=2");
  h.Add(v1::EXISTING_CASE_CHECKED, kOct + absl::Hours(8), "police-oulu").set_detail("found");
  // The NGO restricted its notification while the police investigate.
  const std::vector<store::ReportRestriction> restrictions = {
      {.sender_org_id = "asenne-ry",
       .message_id = "m-2",
       .subject_ref = "s",
       .ground = "crime_investigation",
       .review_at_us = absl::ToUnixMicros(kOct + absl::Hours(24 * 90)),
       .set_at_us = absl::ToUnixMicros(kOct + absl::Hours(3))}};

  v1::SubjectReportResponse r = BuildSubjectReport(
      h.entries(), PolicyWithGrounds(), Orgs(),
      {.now = kOct + absl::Hours(24 * 30), .restrictions = restrictions});
  ASSERT_EQ(r.disclosures_size(), 2);
  EXPECT_EQ(r.disclosures(0).from_org(), "Sosiaalipalvelut");
  EXPECT_EQ(r.disclosures(0).to_org(), "Nuorisopalvelut");
  EXPECT_EQ(r.disclosures(0).basis(), v1::RULE_CONSENT);
  EXPECT_EQ(r.disclosures(0).basis_reference(), "0193-consent");
  EXPECT_EQ(r.disclosures(0).purpose(), "referral");
  EXPECT_FALSE(r.disclosures(0).withheld());
  EXPECT_TRUE(r.disclosures(1).withheld());
  EXPECT_THAT(r.disclosures(1).categories(), ElementsAre(v1::CATEGORY_HEALTH));
  // Existence checks, membership, listings; the police's check is theirs.
  ASSERT_EQ(r.events_size(), 3);
  EXPECT_EQ(r.events(0).type(), v1::EXISTING_CASE_CHECKED);
  EXPECT_EQ(r.events(0).by_org(), "Nuorisopalvelut");
  EXPECT_EQ(r.events(0).detail(), "refused");
  EXPECT_EQ(r.events(1).type(), v1::CASE_MEMBER_ADDED);
  EXPECT_EQ(r.events(1).other_org(), "Asenne ry");
  EXPECT_EQ(r.events(2).type(), v1::CONSENTS_LISTED);
  // Whom to ask for the rest.
  ASSERT_EQ(r.left_out_controllers_size(), 2);
  EXPECT_EQ(r.left_out_controllers(0).org(), "Oulun poliisi");
  EXPECT_EQ(r.left_out_controllers(0).kind(), v1::POLICE);
  EXPECT_EQ(r.left_out_controllers(0).entries(), 2u);
  EXPECT_THAT(r.left_out_controllers(0).ask(), ::testing::HasSubstr("616/2019"));
  EXPECT_EQ(r.left_out_controllers(1).org(), "Vankila");
  EXPECT_EQ(r.left_out_controllers(1).entries(), 1u);
  ASSERT_EQ(r.restrictions_size(), 1);
  EXPECT_EQ(r.restrictions(0).ground(), "tietosuojalaki 34 § 1 mom 3 k");
  EXPECT_EQ(r.restrictions(0).entries(), 1u);
  EXPECT_EQ(common::ToTime(r.restrictions(0).review_at()), kOct + absl::Hours(24 * 90));

  // When the law-enforcement controllers agreed, their entries are in.
  r = BuildSubjectReport(h.entries(), PolicyWithGrounds(), Orgs(),
                         {.now = kOct + absl::Hours(24 * 30),
                          .include_law_enforcement = true,
                          .restrictions = restrictions});
  EXPECT_EQ(r.disclosures_size(), 4);
  EXPECT_EQ(r.events_size(), 4);
  EXPECT_EQ(r.left_out_controllers_size(), 0);

  // After the review date the restriction no longer holds.
  r = BuildSubjectReport(h.entries(), PolicyWithGrounds(), Orgs(),
                         {.now = kOct + absl::Hours(24 * 91), .restrictions = restrictions});
  ASSERT_EQ(r.disclosures_size(), 3);
  EXPECT_EQ(r.disclosures(2).basis_reference(), "lastensuojelulaki 25 §");
  EXPECT_EQ(r.restrictions_size(), 0);
}

// Issue #12 item 7: "delivered" in the report means a receipt the
// recipient confirmed; a delivery handed out again is one disclosure.
TEST(SubjectReportTest, CountsConfirmedReceiptsOnceAndSaysWhatWasOnlySent) {
  History h;
  for (int attempt = 1; attempt <= 2; ++attempt) {  // handed out twice (a crash between)
    auto& d = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(attempt), "police-oulu");
    d.set_counterpart_org_id("hml-youth");
    d.set_message_id("m-1");
    d.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
    d.set_rule(v1::RULE_CONSENT);
    d.set_rule_id("0193-consent");
    d.set_detail(absl::StrCat("attempt=", attempt));
  }
  auto& ack = h.Add(v1::MESSAGE_ACKED, kOct + absl::Hours(3), "hml-youth");
  ack.set_message_id("m-1");
  ack.set_counterpart_org_id("police-oulu");
  auto& unconfirmed = h.Add(v1::MESSAGE_DELIVERED, kOct + absl::Hours(4), "police-oulu");
  unconfirmed.set_counterpart_org_id("wba-social");
  unconfirmed.set_message_id("m-2");
  unconfirmed.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
  // An ack of another message by the same org confirms nothing here, nor
  // does one of another sender's message with the same id.
  h.Add(v1::MESSAGE_ACKED, kOct + absl::Hours(5), "wba-social").set_message_id("m-1");
  auto& other_sender = h.Add(v1::MESSAGE_ACKED, kOct + absl::Hours(5), "wba-social");
  other_sender.set_message_id("m-2");
  other_sender.set_counterpart_org_id("hml-youth");

  const v1::SubjectReportResponse r =
      BuildSubjectReport(h.entries(), PolicyWithGrounds(), Orgs(),
                         {.now = kOct + absl::Hours(6), .include_law_enforcement = true});

  ASSERT_EQ(r.disclosures_size(), 2);
  EXPECT_EQ(r.disclosures(0).to_org(), "Nuorisopalvelut");
  EXPECT_EQ(r.disclosures(0).attempts(), 2u);
  EXPECT_TRUE(r.disclosures(0).confirmed());
  EXPECT_EQ(r.disclosures(1).to_org(), "Sosiaalipalvelut");
  EXPECT_EQ(r.disclosures(1).attempts(), 1u);
  EXPECT_FALSE(r.disclosures(1).confirmed());
  EXPECT_EQ(r.confirmed_receipts(), 1u);
}

const v1::IndicatorCell& CellOf(const v1::IndicatorsResponse& r, const std::string& table,
                                const std::string& label) {
  for (const auto& t : r.indicators()) {
    if (t.name() != table) continue;
    for (const auto& c : t.cells()) {
      if (c.label() == label) return c;
    }
  }
  static const v1::IndicatorCell* missing = new v1::IndicatorCell();
  ADD_FAILURE() << table << "/" << label << " missing";
  return *missing;
}

TEST(SubjectReportTest, ForAGuardianLeavesOutTheForbiddenCategoriesAndLinesLeftEmpty) {
  History h;
  v1::AuditEntry& both = h.Add(v1::MESSAGE_DELIVERED, kOct, "wba-social");
  both.set_counterpart_org_id("hml-youth");
  both.add_categories(v1::CATEGORY_MENTAL_HEALTH);
  both.add_categories(v1::CATEGORY_SOCIAL_WELFARE);
  v1::AuditEntry& only = h.Add(v1::FIELD_WITHHELD, kOct + absl::Hours(1), "wba-social");
  only.set_counterpart_org_id("police-hame");
  only.add_categories(v1::CATEGORY_MENTAL_HEALTH);

  const v1::SubjectReportResponse r = BuildSubjectReport(h.entries(), v1::Policy(), Orgs(),
                                                         {.now = kOct + absl::Hours(2),
                                                          .left_out = {v1::CATEGORY_MENTAL_HEALTH},
                                                          .include_law_enforcement = true});

  ASSERT_EQ(r.disclosures_size(), 1);
  EXPECT_THAT(r.disclosures(0).categories(), ElementsAre(v1::CATEGORY_SOCIAL_WELFARE));

  // Left out by default, the police's entry is not even counted for the
  // guardian: its only category is one the young person forbade.
  const v1::SubjectReportResponse by_default = BuildSubjectReport(
      h.entries(), v1::Policy(), Orgs(),
      {.now = kOct + absl::Hours(2), .left_out = {v1::CATEGORY_MENTAL_HEALTH}});
  EXPECT_EQ(by_default.disclosures_size(), 1);
  EXPECT_EQ(by_default.left_out_controllers_size(), 0);
}

TEST(SubjectReportTest, OnlyProhibitionsInForceNamingTheGuardianCount) {
  auto refusal = [](v1::Category category, bool guardian) {
    v1::Refusal r;
    r.add_categories(category);
    if (guardian) {
      r.add_recipients()->set_guardian(true);
    } else {
      r.add_recipients()->set_org_id("police-hame");
    }
    *r.mutable_valid_from() = common::ToTimestamp(kOct);
    return r;
  };
  std::vector<v1::Refusal> refusals = {refusal(v1::CATEGORY_MENTAL_HEALTH, true),
                                       refusal(v1::CATEGORY_HEALTH, false),
                                       refusal(v1::CATEGORY_SUBSTANCE_USE, true),
                                       refusal(v1::CATEGORY_FAMILY, true)};
  v1::ConsentEvent* lifted = refusals[2].add_history();
  lifted->set_type(v1::WITHDRAWN);
  *lifted->mutable_at() = common::ToTimestamp(kOct + absl::Hours(1));
  *refusals[3].mutable_valid_from() = common::ToTimestamp(kOct + absl::Hours(5));

  EXPECT_THAT(ForbiddenToGuardian(refusals, kOct + absl::Hours(2)),
              ElementsAre(v1::CATEGORY_MENTAL_HEALTH));
  EXPECT_THAT(ForbiddenToGuardian(refusals, kOct + absl::Minutes(30)),
              ElementsAre(v1::CATEGORY_MENTAL_HEALTH, v1::CATEGORY_SUBSTANCE_USE));
}

TEST(SuppressionTest, SmallCellsAndTheCellThatWouldRevealThem) {
  v1::Indicator t;
  for (auto [label, value] : std::vector<std::pair<std::string, double>>{
           {"POLICE", 12}, {"PRISON", 3}, {"NGO", 7}, {"total", 22}}) {
    v1::IndicatorCell* c = t.add_cells();
    c->set_label(label);
    c->set_value(value);
  }
  SuppressSmallCells(&t);
  EXPECT_FALSE(t.cells(0).suppressed());
  EXPECT_TRUE(t.cells(1).suppressed());
  EXPECT_FALSE(t.cells(1).has_value());
  // 22 - 12 - 7 would give 3: the smallest published part goes too.
  EXPECT_TRUE(t.cells(2).suppressed());
  EXPECT_FALSE(t.cells(3).suppressed());
  EXPECT_EQ(t.cells(3).value(), 22);

  // Two small cells already hide each other; a small total is hidden.
  v1::Indicator two;
  for (auto [label, value] : std::vector<std::pair<std::string, double>>{
           {"A", 2}, {"B", 1}, {"C", 9}, {"total", 12}}) {
    v1::IndicatorCell* c = two.add_cells();
    c->set_label(label);
    c->set_value(value);
  }
  SuppressSmallCells(&two);
  EXPECT_TRUE(two.cells(0).suppressed());
  EXPECT_TRUE(two.cells(1).suppressed());
  EXPECT_FALSE(two.cells(2).suppressed());
  EXPECT_FALSE(two.cells(3).suppressed());

  // One part only: the total would repeat it.
  v1::Indicator lone;
  for (auto [label, value] : std::vector<std::pair<std::string, double>>{{"A", 3}, {"total", 3}}) {
    v1::IndicatorCell* c = lone.add_cells();
    c->set_label(label);
    c->set_value(value);
  }
  SuppressSmallCells(&lone);
  EXPECT_TRUE(lone.cells(0).suppressed());
  EXPECT_TRUE(lone.cells(1).suppressed());

  v1::Indicator big;
  for (auto [label, value] :
       std::vector<std::pair<std::string, double>>{{"A", 4}, {"B", 30}, {"total", 34}}) {
    v1::IndicatorCell* c = big.add_cells();
    c->set_label(label);
    c->set_value(value);
  }
  SuppressSmallCells(&big);
  EXPECT_TRUE(big.cells(0).suppressed());
  EXPECT_TRUE(big.cells(1).suppressed());  // else 34 - 30 = 4
  EXPECT_FALSE(big.cells(2).suppressed());
}

TEST(IndicatorsTest, AMonthOfOuluActivity) {
  History h;
  // Six referrals by Oulu police in October, one by the prison, one in September.
  for (int i = 0; i < 6; ++i) {
    auto& e = h.Add(v1::MESSAGE_ACCEPTED, kOct + absl::Hours(24 * i + 1), "police-oulu");
    e.set_payload_type("silta.v1.Referral");
    e.set_case_id("case-" + std::to_string(i));
  }
  auto& prison = h.Add(v1::MESSAGE_ACCEPTED, kOct + absl::Hours(30), "rise-prison");
  prison.set_payload_type("silta.v1.Referral");
  prison.set_case_id("case-prison");
  auto& september = h.Add(v1::MESSAGE_ACCEPTED, kOct - absl::Hours(30), "police-oulu");
  september.set_payload_type("silta.v1.Referral");
  september.set_case_id("case-old");
  // Meeting invites 2, 4, 6, 8, 10 days after five of the October referrals.
  for (int i = 0; i < 5; ++i) {
    auto& e = h.Add(v1::MESSAGE_ACCEPTED, kOct + absl::Hours(24 * i + 1) + absl::Hours(48 * (i + 1)),
                    "wba-social");
    e.set_payload_type("silta.v1.MeetingInvite");
    e.set_case_id("case-" + std::to_string(i));
  }
  // Cases: created with members; one closed in October.
  for (int i = 0; i < 6; ++i) {
    auto& c = h.Add(v1::CASE_CREATED, kOct + absl::Hours(24 * i), "wba-social");
    c.set_case_id("case-" + std::to_string(i));
    auto& m = h.Add(v1::CASE_MEMBER_ADDED, kOct + absl::Hours(24 * i), "wba-social");
    m.set_case_id("case-" + std::to_string(i));
    m.set_counterpart_org_id(i < 3 ? "asenne-ry" : "hml-youth");
  }
  h.Add(v1::CASE_CLOSED, kOct + absl::Hours(24 * 20), "wba-social").set_case_id("case-5");
  h.Add(v1::COORDINATOR_TRANSFERRED, kOct + absl::Hours(24 * 3), "wba-social");
  for (int i = 0; i < 7; ++i) h.Add(v1::CONSENT_GIVEN, kOct + absl::Hours(i), "wba-social");
  h.Add(v1::CONSENT_WITHDRAWN, kOct + absl::Hours(50), "wba-social");
  for (int i = 0; i < 6; ++i) {
    h.Add(v1::FIELD_WITHHELD, kOct + absl::Hours(i), "police-oulu")
        .add_categories(i < 5 ? v1::CATEGORY_HEALTH : v1::CATEGORY_CRIMINAL_OFFENCE);
  }

  auto month = ParseMonth("2026-10");
  ASSERT_TRUE(month.ok());
  const v1::IndicatorsResponse r =
      ComputeIndicators(h.entries(), Orgs(), "2026-10", month->first, month->second, "oulu");
  // Referrals: POLICE 6, PRISON 1 (<5); total 7 would reveal PRISON, so
  // POLICE goes too — only the total is published.
  EXPECT_TRUE(CellOf(r, "referrals_by_referring_org_kind", "PRISON").suppressed());
  EXPECT_TRUE(CellOf(r, "referrals_by_referring_org_kind", "POLICE").suppressed());
  EXPECT_EQ(CellOf(r, "referrals_by_referring_org_kind", "total").value(), 7);
  // Median of 2, 4, 6, 8, 10 days.
  EXPECT_EQ(CellOf(r, "days_referral_to_first_invite", "median_days").value(), 6);
  EXPECT_EQ(CellOf(r, "days_referral_to_first_invite", "cases").value(), 5);
  // Open at the month's end: cases 0-4; memberships WELLBEING_AREA 5,
  // NGO 3 (<5), MUNICIPAL_YOUTH 2 (<5), total 10.
  EXPECT_EQ(CellOf(r, "open_cases_by_member_org_kind", "WELLBEING_AREA").value(), 5);
  EXPECT_TRUE(CellOf(r, "open_cases_by_member_org_kind", "NGO").suppressed());
  EXPECT_TRUE(CellOf(r, "open_cases_by_member_org_kind", "MUNICIPAL_YOUTH").suppressed());
  EXPECT_EQ(CellOf(r, "open_cases_by_member_org_kind", "total").value(), 10);
  EXPECT_TRUE(CellOf(r, "coordinator_transfers", "total").suppressed());
  EXPECT_EQ(CellOf(r, "consents", "given").value(), 7);
  EXPECT_TRUE(CellOf(r, "consents", "withdrawn").suppressed());
  // HEALTH 5, CRIMINAL_OFFENCE 1 (<5): publishing HEALTH next to the total
  // 6 would reveal the 1, so only the total is shown.
  EXPECT_TRUE(CellOf(r, "withheld_fields_by_category", "CATEGORY_CRIMINAL_OFFENCE").suppressed());
  EXPECT_TRUE(CellOf(r, "withheld_fields_by_category", "CATEGORY_HEALTH").suppressed());
  EXPECT_EQ(CellOf(r, "withheld_fields_by_category", "total").value(), 6);

  // Another region sees none of Oulu's referrals.
  const v1::IndicatorsResponse hame =
      ComputeIndicators(h.entries(), Orgs(), "2026-10", month->first, month->second, "hame");
  EXPECT_TRUE(CellOf(hame, "referrals_by_referring_org_kind", "total").suppressed());
}

TEST(IndicatorsTest, MonthMustBeYearAndMonth) {
  EXPECT_TRUE(ParseMonth("2026-10").ok());
  EXPECT_FALSE(ParseMonth("2026-13").ok());
  EXPECT_FALSE(ParseMonth("10/2026").ok());
  EXPECT_FALSE(ParseMonth("").ok());
}

}  // namespace
}  // namespace silta::audit
