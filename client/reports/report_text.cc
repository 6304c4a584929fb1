#include "client/reports/report_text.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "lib/common/time_util.h"

namespace silta::reports {
namespace {

std::string BasisText(const v1::Disclosure& d) {
  switch (d.basis()) {
    case v1::RULE_CONSENT:
      return absl::StrCat("consent ", d.basis_reference());
    case v1::RULE_STATUTE:
      return absl::StrCat("law: ", d.basis_reference());
    case v1::RULE_REFUSAL:
      return absl::StrCat("refusal ", d.basis_reference());
    default:
      return RuleText(d.basis());
  }
}

std::string OutcomeText(const v1::Disclosure& d) {
  if (d.withheld()) return "withheld";
  std::string text = d.confirmed() ? "received (confirmed)" : "sent, receipt not confirmed";
  if (d.attempts() > 1) absl::StrAppend(&text, ", ", d.attempts(), " delivery attempts");
  return text;
}

// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace

std::string RuleText(v1::RuleKind rule) {
  if (rule == v1::RULE_KIND_UNSPECIFIED) return "";
  std::string name = v1::RuleKind_Name(rule);
  return absl::AsciiStrToLower(name.substr(5));  // drop "RULE_"
}

std::string TimeText(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", common::ToTime(ts), absl::UTCTimeZone());
}

bool ParseDateOrTime(const std::string& text, absl::TimeZone date_zone, absl::Time* out) {
  return absl::ParseTime(absl::RFC3339_full, text, out, nullptr) ||
         absl::ParseTime("%Y-%m-%d", text, date_zone, out, nullptr);
}

std::string CategoryText(v1::Category category) {
  std::string name = v1::Category_Name(category);
  if (absl::StartsWith(name, "CATEGORY_")) name = name.substr(9);
  return absl::AsciiStrToLower(name);
}

std::string CategoriesText(const google::protobuf::RepeatedField<int>& categories) {
  std::vector<std::string> names;
  for (int c : categories) names.push_back(CategoryText(static_cast<v1::Category>(c)));
  return absl::StrJoin(names, ",");
}

SubjectReportText DescribeSubjectReport(const v1::SubjectReportResponse& report) {
  SubjectReportText text;
  int disclosed = 0;
  for (const v1::Disclosure& d : report.disclosures()) {
    disclosed += !d.withheld();
    text.disclosures.push_back({TimeText(d.at()), d.from_org(), d.to_org(),
                                CategoriesText(d.categories()), d.purpose(), BasisText(d),
                                OutcomeText(d), d.withheld()});
  }
  text.receipts = absl::StrCat(
      report.confirmed_receipts(), " of ", disclosed,
      " disclosures were confirmed received by the recipient's system; the others were sent "
      "but their arrival was not confirmed.");
  for (const v1::ReportEvent& e : report.events()) {
    std::string what = absl::AsciiStrToLower(v1::AuditEventType_Name(e.type()));
    std::replace(what.begin(), what.end(), '_', ' ');
    text.events.push_back(
        {TimeText(e.at()), e.by_org(), what, e.other_org(), e.purpose(), e.detail()});
  }
  for (const v1::LeftOutController& c : report.left_out_controllers()) {
    text.notes.push_back(absl::StrCat(c.entries(), " entries of ", c.org(),
                                      " are left out: their own law governs access to them; ",
                                      c.ask(), "."));
  }
  for (const v1::RestrictionNotice& r : report.restrictions()) {
    text.notes.push_back(absl::StrCat(r.entries(), " entries are restricted under ", r.ground(),
                                      " until ", TimeText(r.review_at()),
                                      ", when the restriction is reviewed."));
  }
  if (report.forbidden_to_guardian_left_out()) {
    text.notes.push_back(
        "Information the young person has forbidden disclosing to a guardian is left out "
        "(812/2000 11 \u00a7 2 mom, potilaslaki 9 \u00a7 2 mom).");
  }
  return text;
}

std::string IndicatorValueText(const v1::IndicatorCell& cell) {
  if (cell.suppressed() || !cell.has_value()) return "<5";
  const double v = cell.value();
  return v == static_cast<double>(static_cast<int64_t>(v)) ? absl::StrCat(static_cast<int64_t>(v))
                                                           : absl::StrCat(v);
}

std::string IndicatorsCsv(const v1::IndicatorsResponse& response) {
  std::string csv = "month,region,indicator,label,value\n";
  for (const v1::Indicator& t : response.indicators()) {
    for (const v1::IndicatorCell& c : t.cells()) {
      absl::StrAppend(&csv, CsvField(response.month()), ",", CsvField(response.region()), ",",
                      CsvField(t.name()), ",", CsvField(c.label()), ",", IndicatorValueText(c),
                      "\n");
    }
  }
  return csv;
}

}  // namespace silta::reports
