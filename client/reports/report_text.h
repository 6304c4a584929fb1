// File: client/reports/report_text.h
//
// The wording of the audit log's reports, in English: siltactl's terminal
// tables, Markdown and CSV, and the auditor's console's indicators CSV.
// The console words the subject report in the user's language in the page
// (client/console/web/i18n.js), in English the same as here; its test
// compares the two. Metadata only: never a HETU, a name or a field value.
#ifndef SILTA_CLIENT_REPORTS_REPORT_TEXT_H_
#define SILTA_CLIENT_REPORTS_REPORT_TEXT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/repeated_field.h"
#include "google/protobuf/timestamp.pb.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/consent.pb.h"
#include "silta/v1/options.pb.h"

namespace silta::reports {

// "2026-10-01 08:00:00 UTC".
std::string TimeText(const google::protobuf::Timestamp& ts);
// Parses a time as a user types it: RFC 3339 ("2026-10-01T00:00:00Z"), or
// a date ("2026-10-01"), read as that day's midnight in `date_zone`.
// siltactl reads dates in UTC, as it prints times; the auditor's console
// in the browser's machine's zone, as it shows days. False if neither.
bool ParseDateOrTime(const std::string& text, absl::TimeZone date_zone, absl::Time* out);
// "mental_health".
std::string CategoryText(v1::Category category);
// Categories as "health,mental_health".
std::string CategoriesText(const google::protobuf::RepeatedField<int>& categories);
// A deciding rule as "default_deny"; "" if unset.
std::string RuleText(v1::RuleKind rule);

// One line of the subject report, in words.
struct DisclosureLine {
  std::string when, from, to, information, purpose, basis, outcome;
  bool withheld = false;
};
// Other processing of the subject's data, in words.
struct EventLine {
  std::string when, by, what, other_party, purpose, detail;
};
// The whole subject report, in words.
struct SubjectReportText {
  std::vector<DisclosureLine> disclosures;
  // How many disclosures the recipients confirmed.
  std::string receipts;
  std::vector<EventLine> events;
  // What was left out, and why.
  std::vector<std::string> notes;
};
SubjectReportText DescribeSubjectReport(const v1::SubjectReportResponse& report);

// An indicator cell's value: "<5" when suppressed, never the number.
std::string IndicatorValueText(const v1::IndicatorCell& cell);
// The month's indicators as CSV: month,region,indicator,label,value.
std::string IndicatorsCsv(const v1::IndicatorsResponse& response);

}  // namespace silta::reports

#endif  // SILTA_CLIENT_REPORTS_REPORT_TEXT_H_
