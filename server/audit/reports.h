// File: server/audit/reports.h
//
// Reports computed from the audit log's metadata only:
//
// * the subject disclosure report (Act 703/2023 § 11 style): every
//   disclosure about one young person (MESSAGE_DELIVERED: when, from which
//   org to which, which categories, for which purpose, on which basis),
//   every withholding (FIELD_WITHHELD), and the other processing of the
//   person's data (existence checks, case membership and coordinator
//   changes, consent listings, linked notifications). Left out, and said
//   so: entries a sender restricted on a legal ground until a review date;
//   entries to or from the police, probation and prison services unless
//   asked for (their own laws govern access: the report names whom to ask);
//   for a guardian, what the young person forbade disclosing to a guardian.
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
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "server/cases/subject_refs.h"
#include "server/consent/policy_holder.h"
#include "server/identity/caller.h"
#include "server/orgs/registry.h"
#include "server/store/store.h"
#include "silta/v1/audit.pb.h"

namespace silta::audit {

// Cells below this are suppressed ("<5").
inline constexpr int kMinPublishedCount = 5;

using OrgLookup = std::function<std::optional<v1::Organization>(absl::string_view org_id)>;

// How a subject report is cut.
struct SubjectReportOptions {
  absl::Time now;
  // Categories the young person forbade disclosing to a guardian (for a
  // guardian's request): removed from every line; a line left with none is
  // dropped.
  std::vector<v1::Category> left_out;
  // Keep entries to or from POLICE, PROBATION and PRISON.
  bool include_law_enforcement = false;
  // Senders' restrictions; those with review_at after `now` leave their
  // message's disclosure lines out.
  std::vector<store::ReportRestriction> restrictions;
};

// The report from a subject's entries (any order): MESSAGE_DELIVERED,
// MESSAGE_ACKED and FIELD_WITHHELD make the disclosure lines, the types of
// SubjectReportEventTypes() the events; others are ignored.
v1::SubjectReportResponse BuildSubjectReport(const std::vector<v1::AuditEntry>& entries,
                                             const v1::Policy& policy, const OrgLookup& orgs,
                                             const SubjectReportOptions& options);

// The event types the subject report lists as other processing.
const std::vector<v1::AuditEventType>& SubjectReportEventTypes();

// The event types that tie a person to the organisations that processed
// their data: messages about them (senders and recipients), their cases
// (coordinators and members), linked notifications, and the registrars that
// recorded their consents, refusals and competence assessments. Existence
// checks, listings and reports do not count: anyone could make themselves a
// person's area by asking.
const std::vector<v1::AuditEventType>& SubjectAreaEventTypes();

// The regions (wellbeing areas) of the organisations that processed the
// subject's data, from their entries of SubjectAreaEventTypes(): the
// actors' and counterparts' regions. Orgs without a region add none.
std::set<std::string> SubjectAreas(const std::vector<v1::AuditEntry>& entries,
                                   const OrgLookup& orgs);

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
      const consent::PolicyHolder* policy, const orgs::OrgRegistry* orgs,
      common::Clock clock = common::SystemClock())
      : store_(store),
        subject_refs_(subject_refs),
        policy_(policy),
        orgs_(orgs),
        clock_(std::move(clock)) {}

  // Audited as SUBJECT_REPORT_PRODUCED (the registrar and worker, the
  // subject_ref, and the requester in detail), so the subject can see who
  // asked. Only a registrar of the subject's own wellbeing area may run it:
  // its org's region must be one of SubjectAreas(); otherwise
  // PERMISSION_DENIED, with the same message whether the person has data
  // elsewhere or none, audited as ACCESS_REFUSED with the subject_ref (so
  // the attempt shows in the person's report). A guardian's or
  // representative's request is refused once the subject is 18
  // (FAILED_PRECONDITION), and before that leaves out what the young
  // person forbade disclosing to a guardian.
  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(const identity::Caller& caller,
                                                          const v1::SubjectReportRequest& request);
  absl::StatusOr<v1::IndicatorsResponse> Indicators(const v1::IndicatorsRequest& request);
  // The sender restricts its message's lines in the subject report (see
  // AuditService.RestrictInSubjectReport): INVALID_ARGUMENT for an unknown
  // ground or a review date past its max_review_days, NOT_FOUND if the
  // caller sent no such message, FAILED_PRECONDITION for a message about no
  // one. Audited as SUBJECT_ACCESS_RESTRICTED.
  absl::StatusOr<v1::RestrictInSubjectReportResponse> RestrictInSubjectReport(
      const identity::Caller& caller, const v1::RestrictInSubjectReportRequest& request);

 private:
  // Every entry matching `query`, following pages.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAll(store::AuditQuery query);
  // OK if the caller's region is one of the subject's areas; otherwise
  // records the attempt and returns PERMISSION_DENIED (see SubjectReport).
  absl::Status CheckSubjectsArea(const identity::Caller& caller, const std::string& subject_ref,
                                 const v1::ActingUser& acting_user, absl::Time now);

  store::Store* const store_;
  const cases::SubjectRefs* const subject_refs_;
  const consent::PolicyHolder* const policy_;
  const orgs::OrgRegistry* const orgs_;
  const common::Clock clock_;
};

}  // namespace silta::audit

#endif  // SILTA_SERVER_AUDIT_REPORTS_H_
