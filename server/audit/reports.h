// File: server/audit/reports.h
//
// Reports computed from the audit log's metadata only:
//
// * the subject disclosure report (Act 703/2023 § 11 style): every
//   disclosure about one young person (MESSAGE_DELIVERED: when, from which
//   org to which, which categories, for which purpose, on which basis) and
//   every withholding (FIELD_WITHHELD). Entries under a statutory basis the
//   policy marks deferrable (subject_report_deferral_days > 0) are left out
//   until that many days after the event; whenever the policy allows any
//   deferral the report says some entries may be deferred by law — always,
//   so that the sentence itself reveals nothing.
//
// * the steering-group indicators for one month and region (see
//   ComputeIndicators), with small-cell and complementary suppression.
//
// The pure functions take entries and lookups so that tests can script a
// history; ReportService wires them to the store.
#ifndef SILTA_SERVER_AUDIT_REPORTS_H_
#define SILTA_SERVER_AUDIT_REPORTS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/cases/subject_refs.h"
#include "server/consent/policy.h"
#include "server/identity/authenticator.h"
#include "server/identity/registry.h"
#include "server/store/store.h"
#include "silta/v1/audit.pb.h"

namespace silta::audit {

// Cells below this are suppressed ("<5").
inline constexpr int kMinPublishedCount = 5;

using OrgLookup = std::function<std::optional<v1::Organization>(absl::string_view org_id)>;

// The report from a subject's MESSAGE_DELIVERED and FIELD_WITHHELD entries
// (any order; others are ignored), as of `now`. Categories in `left_out`
// (what the young person forbade disclosing to a guardian, for a guardian's
// request) are removed from every line, and a line left with none is
// dropped.
v1::SubjectReportResponse BuildSubjectReport(const std::vector<v1::AuditEntry>& entries,
                                             const v1::Policy& policy, const OrgLookup& orgs,
                                             absl::Time now,
                                             const std::vector<v1::Category>& left_out = {});

// The categories of the guardian prohibitions (refusals naming the
// guardian) in force at `now` among `refusals`.
std::vector<v1::Category> ForbiddenToGuardian(const std::vector<v1::Refusal>& refusals,
                                              absl::Time now);

// [start, end) of a "YYYY-MM" month in UTC. INVALID_ARGUMENT otherwise.
absl::StatusOr<std::pair<absl::Time, absl::Time>> ParseMonth(absl::string_view month);

// The month's indicators, from every entry up to now (any order). An entry
// belongs to `region` (empty = all) by its actor org's region; open cases
// and memberships by the member org's region. Tables:
//   referrals_by_referring_org_kind     Referral messages accepted, by sender kind, + total
//   days_referral_to_first_invite       median days from a case's first Referral (in
//                                       the month) to its first MeetingInvite, + cases
//   open_cases_by_member_org_kind       memberships of cases open at the month's end,
//                                       by member kind, + total
//   coordinator_transfers               transfers in the month
//   consents                            given and withdrawn in the month
//   withheld_fields_by_category         FIELD_WITHHELD categories in the month, + total
v1::IndicatorsResponse ComputeIndicators(const std::vector<v1::AuditEntry>& entries,
                                         const OrgLookup& orgs, absl::string_view month,
                                         absl::Time start, absl::Time end,
                                         absl::string_view region);

// Suppresses every count cell below kMinPublishedCount; if the table's last
// cell is labelled "total", also makes sure no suppressed cell can be
// recovered from it: a lone suppressed cell takes the smallest published
// cell with it (or the total, if there is none), and a total below the
// threshold is suppressed. (The median table is not a count table:
// ComputeIndicators suppresses its median when it rests on fewer than
// kMinPublishedCount cases.)
void SuppressSmallCells(v1::Indicator* table);

// SubjectReport and Indicators over the store.
class ReportService {
 public:
  // All must outlive the service.
  ReportService(
      store::Store* store, const cases::SubjectRefs* subject_refs,
      const consent::PolicyHolder* policy, const identity::OrgRegistry* orgs,
      std::function<absl::Time()> clock = [] { return absl::Now(); })
      : store_(store),
        subject_refs_(subject_refs),
        policy_(policy),
        orgs_(orgs),
        clock_(std::move(clock)) {}

  // Audited as SUBJECT_REPORT_PRODUCED (the registrar and worker, the
  // subject_ref, and the requester in detail), so the subject can see who
  // asked. A guardian's or representative's request is refused once the
  // subject is 18 (FAILED_PRECONDITION), and before that leaves out what
  // the young person forbade disclosing to a guardian.
  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(const identity::Caller& caller,
                                                          const v1::SubjectReportRequest& request);
  absl::StatusOr<v1::IndicatorsResponse> Indicators(const v1::IndicatorsRequest& request);

 private:
  // Every entry matching `query`, following pages.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAll(store::AuditQuery query);

  store::Store* const store_;
  const cases::SubjectRefs* const subject_refs_;
  const consent::PolicyHolder* const policy_;
  const identity::OrgRegistry* const orgs_;
  const std::function<absl::Time()> clock_;
};

}  // namespace silta::audit

#endif  // SILTA_SERVER_AUDIT_REPORTS_H_
