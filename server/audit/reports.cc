#include "server/audit/reports.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/audit/log_entry.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/policy/policy.h"
#include "server/cases/age.h"
#include "server/consent/engine.h"

namespace silta::audit {
namespace {

constexpr absl::string_view kReferral = "silta.v1.Referral";
constexpr absl::string_view kMeetingInvite = "silta.v1.MeetingInvite";
constexpr absl::string_view kTotal = "total";

absl::Time At(const v1::AuditEntry& e) { return common::ToTime(e.at()); }

std::string OrgName(const OrgLookup& orgs, absl::string_view org_id) {
  std::optional<v1::Organization> org = orgs(org_id);
  return org.has_value() && !org->display_name().empty() ? org->display_name()
                                                         : std::string(org_id);
}

// The organisations whose own laws govern the subject's access to their
// entries, and whom to ask.
bool LawEnforcement(const std::optional<v1::Organization>& org) {
  return org.has_value() &&
         (org->kind() == v1::POLICE || org->kind() == v1::PROBATION || org->kind() == v1::PRISON);
}

std::string AskText(const v1::Organization& org) {
  return org.kind() == v1::POLICE
             ? absl::StrCat("ask ", org.display_name(),
                            " (laki henkilötietojen käsittelystä poliisitoimessa 616/2019; "
                            "laki henkilötietojen käsittelystä rikosasioissa 1054/2018)")
             : absl::StrCat("ask ", org.display_name(),
                            " (Rikosseuraamuslaitos; laki henkilötietojen käsittelystä "
                            "Rikosseuraamuslaitoksessa 1301/2021)");
}

std::string KindLabel(const std::optional<v1::Organization>& org) {
  return org.has_value() ? v1::OrgKind_Name(org->kind()) : "UNKNOWN";
}

bool InRegion(const std::optional<v1::Organization>& org, absl::string_view region) {
  return region.empty() || (org.has_value() && org->region() == region);
}

v1::IndicatorCell Cell(std::string label, double value) {
  v1::IndicatorCell c;
  c.set_label(std::move(label));
  c.set_value(value);
  return c;
}

// A count table from label → count, labels in order, with a total.
v1::Indicator CountTable(std::string name, const std::map<std::string, int>& counts,
                         bool with_total) {
  v1::Indicator t;
  t.set_name(std::move(name));
  int total = 0;
  for (const auto& [label, n] : counts) {
    *t.add_cells() = Cell(label, n);
    total += n;
  }
  if (with_total) *t.add_cells() = Cell(std::string(kTotal), total);
  SuppressSmallCells(&t);
  return t;
}

void Suppress(v1::IndicatorCell* c) {
  c->clear_value();
  c->set_suppressed(true);
}

}  // namespace

std::vector<v1::Category> ForbiddenToGuardian(const std::vector<v1::Refusal>& refusals,
                                              absl::Time now) {
  std::vector<v1::Category> out;
  for (const v1::Refusal& r : refusals) {
    const bool names_guardian =
        std::any_of(r.recipients().begin(), r.recipients().end(),
                    [](const v1::Recipient& t) { return t.has_guardian() && t.guardian(); });
    if (!names_guardian) continue;
    if (r.has_valid_from() && common::ToTime(r.valid_from()) > now) continue;
    if (r.has_valid_until() && common::ToTime(r.valid_until()) <= now) continue;
    if (consent::WithdrawnAt(r.history()) <= now) continue;
    for (int c : r.categories()) out.push_back(static_cast<v1::Category>(c));
  }
  return out;
}

const std::vector<v1::AuditEventType>& SubjectReportEventTypes() {
  static const auto* types = new std::vector<v1::AuditEventType>{
      v1::EXISTING_CASE_CHECKED,   v1::CASE_CREATED,    v1::CASE_MEMBER_ADDED,
      v1::CASE_MEMBER_REMOVED,     v1::COORDINATOR_TRANSFERRED, v1::CASE_CLOSED,
      v1::CONSENTS_LISTED,         v1::NOTIFICATION_LINKED,     v1::SUBJECT_REPORT_PRODUCED,
      v1::ACCESS_REFUSED};
  return *types;
}

const std::vector<v1::AuditEventType>& SubjectAreaEventTypes() {
  static const auto* types = new std::vector<v1::AuditEventType>{
      v1::MESSAGE_ACCEPTED,    v1::MESSAGE_DELIVERED, v1::CASE_CREATED,
      v1::CASE_MEMBER_ADDED,   v1::NOTIFICATION_LINKED, v1::CONSENT_GIVEN,
      v1::REFUSAL_RECORDED,    v1::COMPETENCE_ASSESSED};
  return *types;
}

std::set<std::string> SubjectAreas(const std::vector<v1::AuditEntry>& entries,
                                   const OrgLookup& orgs) {
  const std::vector<v1::AuditEventType>& types = SubjectAreaEventTypes();
  std::set<std::string> areas;
  for (const v1::AuditEntry& e : entries) {
    if (std::find(types.begin(), types.end(), e.type()) == types.end()) continue;
    for (const std::string* org_id : {&e.actor_org_id(), &e.counterpart_org_id()}) {
      if (org_id->empty()) continue;
      const std::optional<v1::Organization> org = orgs(*org_id);
      if (org.has_value() && !org->region().empty()) areas.insert(org->region());
    }
  }
  return areas;
}

v1::SubjectReportResponse BuildSubjectReport(const std::vector<v1::AuditEntry>& unsorted,
                                             const v1::Policy& policy, const OrgLookup& orgs,
                                             const SubjectReportOptions& options) {
  v1::SubjectReportResponse report;
  std::vector<const v1::AuditEntry*> entries;
  for (const v1::AuditEntry& e : unsorted) entries.push_back(&e);
  std::sort(entries.begin(), entries.end(), [](const v1::AuditEntry* a, const v1::AuditEntry* b) {
    return a->index() < b->index();
  });
  // Receipts the recipients confirmed: (sender, message, recipient) of each
  // ack (message ids are unique per sender only).
  std::set<std::tuple<std::string, std::string, std::string>> acked;
  for (const v1::AuditEntry* e : entries) {
    if (e->type() == v1::MESSAGE_ACKED) {
      acked.emplace(e->counterpart_org_id(), e->message_id(), e->actor_org_id());
    }
  }
  // Restrictions in force, by (sender, message).
  std::map<std::pair<std::string, std::string>, const store::ReportRestriction*> restricted;
  for (const store::ReportRestriction& r : options.restrictions) {
    if (options.now < absl::FromUnixMicros(r.review_at_us)) {
      restricted[{r.sender_org_id, r.message_id}] = &r;
    }
  }
  std::map<std::pair<std::string, int64_t>, uint32_t> restricted_counts;  // (ground, review)
  std::map<std::string, uint32_t> law_enforcement_counts;                // org id → entries
  // Whether an entry stays in: not restricted, not law enforcement's.
  const auto kept = [&](const v1::AuditEntry& e) {
    for (const std::string* org_id : {&e.actor_org_id(), &e.counterpart_org_id()}) {
      if (!options.include_law_enforcement && LawEnforcement(orgs(*org_id))) {
        ++law_enforcement_counts[*org_id];
        return false;
      }
    }
    if (!e.message_id().empty()) {
      auto it = restricted.find({e.actor_org_id(), e.message_id()});
      if (it != restricted.end()) {
        ++restricted_counts[{it->second->ground, it->second->review_at_us}];
        return false;
      }
    }
    return true;
  };
  // The categories left after the guardian cut; nullopt if none is left.
  const auto categories_of =
      [&](const v1::AuditEntry& e) -> std::optional<google::protobuf::RepeatedField<int>> {
    google::protobuf::RepeatedField<int> categories;
    for (int c : e.categories()) {
      if (std::find(options.left_out.begin(), options.left_out.end(), c) ==
          options.left_out.end()) {
        categories.Add(c);
      }
    }
    if (categories.empty() && !e.categories().empty()) return std::nullopt;
    return categories;
  };
  const std::vector<v1::AuditEventType>& event_types = SubjectReportEventTypes();
  // A delivery handed out again (after a lost connection or ack) is one
  // disclosure with several attempts, listed at its first.
  std::map<std::tuple<std::string, std::string, std::string, int, std::string>, v1::Disclosure*>
      first;
  for (const v1::AuditEntry* e : entries) {
    const bool delivered = e->type() == v1::MESSAGE_DELIVERED;
    const bool line = delivered || e->type() == v1::FIELD_WITHHELD;
    const bool event =
        std::find(event_types.begin(), event_types.end(), e->type()) != event_types.end();
    if (!line && !event) continue;
    // The guardian's cut first: what the young person forbade is not even
    // counted among the entries left out below.
    std::optional<google::protobuf::RepeatedField<int>> categories = categories_of(*e);
    if (!categories.has_value() || !kept(*e)) continue;
    if (event) {
      v1::ReportEvent* ev = report.add_events();
      *ev->mutable_at() = e->at();
      ev->set_type(e->type());
      ev->set_by_org(e->actor_org_id().empty() ? "siltad" : OrgName(orgs, e->actor_org_id()));
      if (!e->counterpart_org_id().empty()) {
        ev->set_other_org(OrgName(orgs, e->counterpart_org_id()));
      }
      ev->set_purpose(e->purpose());
      ev->set_detail(e->detail());
      continue;
    }
    const auto key = std::make_tuple(e->actor_org_id(), e->message_id(), e->counterpart_org_id(),
                                     static_cast<int>(e->rule()), e->rule_id());
    if (delivered && !e->message_id().empty()) {
      if (auto it = first.find(key); it != first.end()) {
        it->second->set_attempts(it->second->attempts() + 1);
        continue;
      }
    }
    v1::Disclosure* d = report.add_disclosures();
    *d->mutable_at() = e->at();
    d->set_from_org(OrgName(orgs, e->actor_org_id()));
    d->set_to_org(OrgName(orgs, e->counterpart_org_id()));
    *d->mutable_categories() = *std::move(categories);
    d->set_purpose(e->purpose());
    d->set_basis(e->rule());
    d->set_basis_reference(e->rule() == v1::RULE_STATUTE && !e->statute_citation().empty()
                               ? e->statute_citation()
                               : e->rule_id());
    d->set_withheld(!delivered);
    if (delivered) {
      d->set_attempts(1);
      d->set_confirmed(
          acked.contains({e->actor_org_id(), e->message_id(), e->counterpart_org_id()}));
      if (!e->message_id().empty()) first.emplace(key, d);
    }
  }
  for (const v1::Disclosure& d : report.disclosures()) {
    if (d.confirmed()) report.set_confirmed_receipts(report.confirmed_receipts() + 1);
  }
  for (const auto& [org_id, count] : law_enforcement_counts) {
    const std::optional<v1::Organization> org = orgs(org_id);
    v1::LeftOutController* c = report.add_left_out_controllers();
    c->set_org(OrgName(orgs, org_id));
    c->set_kind(org->kind());
    c->set_entries(count);
    c->set_ask(AskText(*org));
  }
  for (const auto& [ground_review, count] : restricted_counts) {
    v1::RestrictionNotice* n = report.add_restrictions();
    const v1::RestrictionGround* ground =
        policy::FindRestrictionGround(policy, ground_review.first);
    n->set_ground(ground != nullptr ? ground->citation() : ground_review.first);
    *n->mutable_review_at() = common::ToTimestamp(absl::FromUnixMicros(ground_review.second));
    n->set_entries(count);
  }
  return report;
}

absl::StatusOr<std::pair<absl::Time, absl::Time>> ParseMonth(absl::string_view month) {
  int year = 0;
  int mon = 0;
  if (month.size() != 7 || month[4] != '-' || !absl::SimpleAtoi(month.substr(0, 4), &year) ||
      !absl::SimpleAtoi(month.substr(5, 2), &mon) || year < 2000 || year > 9999 || mon < 1 ||
      mon > 12) {
    return absl::InvalidArgumentError(
        absl::StrCat("month: must be YYYY-MM, e.g. 2026-10 (got \"", month, "\")"));
  }
  const absl::Time start = absl::FromCivil(absl::CivilMonth(year, mon), absl::UTCTimeZone());
  const absl::Time end = absl::FromCivil(absl::CivilMonth(year, mon) + 1, absl::UTCTimeZone());
  return std::make_pair(start, end);
}

void SuppressSmallCells(v1::Indicator* table) {
  const int n = table->cells_size();
  if (n == 0) return;
  const bool has_total = table->cells(n - 1).label() == kTotal;
  const int parts = has_total ? n - 1 : n;
  int suppressed = 0;
  for (int i = 0; i < n; ++i) {
    v1::IndicatorCell* c = table->mutable_cells(i);
    if (c->has_value() && c->value() < kMinPublishedCount) {
      Suppress(c);
      if (i < parts) ++suppressed;
    }
  }
  if (!has_total || table->cells(n - 1).suppressed() || suppressed != 1) return;
  // One suppressed part and a published total: total minus the published
  // parts would reveal it. Suppress the smallest published part too.
  int smallest = -1;
  for (int i = 0; i < parts; ++i) {
    const v1::IndicatorCell& c = table->cells(i);
    if (c.suppressed()) continue;
    if (smallest < 0 || c.value() < table->cells(smallest).value()) smallest = i;
  }
  Suppress(table->mutable_cells(smallest >= 0 ? smallest : n - 1));
}

v1::IndicatorsResponse ComputeIndicators(const std::vector<v1::AuditEntry>& unsorted,
                                         const OrgLookup& orgs, absl::string_view month,
                                         absl::Time start, absl::Time end,
                                         absl::string_view region) {
  std::vector<const v1::AuditEntry*> entries;
  for (const v1::AuditEntry& e : unsorted) entries.push_back(&e);
  std::sort(entries.begin(), entries.end(), [](const v1::AuditEntry* a, const v1::AuditEntry* b) {
    return a->index() < b->index();
  });
  const auto in_month = [&](const v1::AuditEntry& e) { return At(e) >= start && At(e) < end; };

  std::map<std::string, int> referrals;
  std::map<std::string, absl::Time> first_referral;  // case → time, if in the month
  std::map<std::string, absl::Time> first_invite;    // case → time
  std::set<std::string> cases_referred_before;
  std::map<std::string, std::set<std::string>> open_members;  // case → member orgs, at month end
  int transfers = 0;
  std::map<std::string, int> consents = {{"given", 0}, {"withdrawn", 0}};
  std::map<std::string, int> withheld;

  for (const v1::AuditEntry* e : entries) {
    const std::optional<v1::Organization> actor = orgs(e->actor_org_id());
    switch (e->type()) {
      case v1::MESSAGE_ACCEPTED:
        if (e->payload_type() == kReferral && !e->case_id().empty()) {
          if (At(*e) < start) cases_referred_before.insert(e->case_id());
          if (in_month(*e) && !cases_referred_before.contains(e->case_id()) &&
              InRegion(actor, region)) {
            first_referral.emplace(e->case_id(), At(*e));
          }
        }
        if (e->payload_type() == kReferral && in_month(*e) && InRegion(actor, region)) {
          ++referrals[KindLabel(actor)];
        }
        if (e->payload_type() == kMeetingInvite && !e->case_id().empty()) {
          first_invite.emplace(e->case_id(), At(*e));
        }
        break;
      case v1::CASE_CREATED:
        if (At(*e) < end) open_members[e->case_id()].insert(e->actor_org_id());
        break;
      case v1::CASE_MEMBER_ADDED:
        if (At(*e) < end) open_members[e->case_id()].insert(e->counterpart_org_id());
        break;
      case v1::CASE_MEMBER_REMOVED:
        if (At(*e) < end) open_members[e->case_id()].erase(e->counterpart_org_id());
        break;
      case v1::CASE_CLOSED:
        if (At(*e) < end) open_members.erase(e->case_id());
        break;
      case v1::COORDINATOR_TRANSFERRED:
        if (in_month(*e) && InRegion(actor, region)) ++transfers;
        break;
      case v1::CONSENT_GIVEN:
        if (in_month(*e) && InRegion(actor, region)) ++consents["given"];
        break;
      case v1::CONSENT_WITHDRAWN:
        if (in_month(*e) && InRegion(actor, region)) ++consents["withdrawn"];
        break;
      case v1::FIELD_WITHHELD:
        if (in_month(*e) && InRegion(actor, region)) {
          for (int c : e->categories()) ++withheld[v1::Category_Name(static_cast<v1::Category>(c))];
        }
        break;
      default:
        break;
    }
  }

  v1::IndicatorsResponse response;
  response.set_month(std::string(month));
  response.set_region(std::string(region));
  *response.add_indicators() = CountTable("referrals_by_referring_org_kind", referrals, true);

  std::vector<double> days;
  for (const auto& [case_id, referred] : first_referral) {
    auto invite = first_invite.find(case_id);
    if (invite == first_invite.end() || invite->second < referred) continue;
    days.push_back(absl::ToDoubleHours(invite->second - referred) / 24.0);
  }
  std::sort(days.begin(), days.end());
  v1::Indicator median;
  median.set_name("days_referral_to_first_invite");
  v1::IndicatorCell* m = median.add_cells();
  m->set_label("median_days");
  v1::IndicatorCell* count = median.add_cells();
  count->set_label("cases");
  count->set_value(static_cast<double>(days.size()));
  if (static_cast<int>(days.size()) < kMinPublishedCount) {
    Suppress(m);
    Suppress(count);
  } else {
    const size_t n = days.size();
    const double value = n % 2 == 1 ? days[n / 2] : (days[n / 2 - 1] + days[n / 2]) / 2.0;
    m->set_value(std::round(value * 10.0) / 10.0);
  }
  *response.add_indicators() = std::move(median);

  std::map<std::string, int> memberships;
  for (const auto& [case_id, members] : open_members) {
    for (const std::string& org_id : members) {
      const std::optional<v1::Organization> org = orgs(org_id);
      if (InRegion(org, region)) ++memberships[KindLabel(org)];
    }
  }
  *response.add_indicators() = CountTable("open_cases_by_member_org_kind", memberships, true);
  *response.add_indicators() =
      CountTable("coordinator_transfers", {{std::string(kTotal), transfers}}, false);
  *response.add_indicators() = CountTable("consents", consents, false);
  *response.add_indicators() = CountTable("withheld_fields_by_category", withheld, true);
  return response;
}

absl::StatusOr<std::vector<v1::AuditEntry>> ReportService::ReadAll(store::AuditQuery query) {
  std::vector<v1::AuditEntry> out;
  query.limit = 1000;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> page, store_->QueryAudit(query));
    const bool more = page.size() == query.limit;
    if (!page.empty()) query.after_index = page.back().index() + 1;
    for (v1::AuditEntry& e : page) out.push_back(std::move(e));
    if (!more) return out;
  }
}

absl::Status ReportService::CheckSubjectsArea(const identity::Caller& caller,
                                              const std::string& subject_ref,
                                              const v1::ActingUser& acting_user, absl::Time now) {
  const std::string& region = caller.org.region();
  if (region.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "your organisation (", caller.org.org_id(),
        ") has no region in the organisation registry, so Silta cannot tell whether you are "
        "the registrar of the person's wellbeing area; an administrator sets it in the "
        "registry file (region: \"...\")"));
  }
  store::AuditQuery query;
  query.subject_ref = subject_ref;
  query.types = SubjectAreaEventTypes();
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, ReadAll(query));
  if (SubjectAreas(entries, [this](absl::string_view id) { return orgs_->Find(id); })
          .contains(region)) {
    return absl::OkStatus();
  }
  // The same answer whether the person has data in another area or none:
  // a registrar elsewhere learns nothing about them. The attempt is
  // evidence the person sees in their own report.
  v1::AuditEntry refused = NewEntry(v1::ACCESS_REFUSED, now, caller.org.org_id(), acting_user);
  refused.set_subject_ref(subject_ref);
  refused.set_detail(absl::StrCat("/silta.v1.AuditService/SubjectReport not_subjects_area region=",
                                  region));
  store::AuditEntries audit = {std::move(refused)};
  SILTA_RETURN_IF_ERROR(store_->AppendAudit(&audit));
  return absl::PermissionDeniedError(absl::StrCat(
      "subject: no organisation of your region (", region,
      ") has processed this person's data in Silta; the report is produced by the registrar "
      "of a wellbeing area whose organisations did (laki sosiaali- ja terveydenhuollon "
      "asiakastietojen käsittelystä 703/2023). The attempt is recorded"));
}

absl::StatusOr<v1::SubjectReportResponse> ReportService::SubjectReport(
    const identity::Caller& caller, const v1::SubjectReportRequest& request) {
  if (request.acting_user().worker_id().empty()) {
    return absl::InvalidArgumentError(
        "acting_user.worker_id: the registrar's worker acting for the subject is required");
  }
  const v1::ReportRequester requester = request.requester();
  if (requester == v1::REPORT_REQUESTER_UNSPECIFIED || !v1::ReportRequester_IsValid(requester)) {
    return absl::InvalidArgumentError(
        "requester: say who asked for the report: REQUESTER_SUBJECT, REQUESTER_GUARDIAN or "
        "REQUESTER_REPRESENTATIVE");
  }
  SILTA_ASSIGN_OR_RETURN(cases::SubjectRefs::Subject subject,
                         subject_refs_->Resolve(request.subject().hetu()));
  const std::string& subject_ref = subject.ref;
  const absl::Time now = clock_();
  SILTA_RETURN_IF_ERROR(CheckSubjectsArea(caller, subject_ref, request.acting_user(), now));
  std::vector<v1::Category> left_out;
  const bool for_guardian = requester != v1::REQUESTER_SUBJECT;
  if (for_guardian) {
    const std::optional<bool> adult = cases::IsAdultAt(subject.birth_date, now);
    if (!adult.has_value()) return cases::CheckFinnishTime();
    if (*adult) {
      return absl::FailedPreconditionError(
          "requester: the young person is 18 or older; only they (or someone they authorise "
          "as REQUESTER_SUBJECT's agent) may have the report");
    }
    SILTA_ASSIGN_OR_RETURN(store::Store::ConsentRecords records,
                           store_->ListConsentRecords(subject_ref));
    left_out = ForbiddenToGuardian(records.refusals, now);
  }
  store::AuditQuery query;
  query.subject_ref = subject_ref;
  query.types = {v1::MESSAGE_DELIVERED, v1::FIELD_WITHHELD, v1::MESSAGE_ACKED};
  for (v1::AuditEventType type : SubjectReportEventTypes()) query.types.push_back(type);
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, ReadAll(query));
  SubjectReportOptions options;
  options.now = now;
  options.left_out = std::move(left_out);
  options.include_law_enforcement = request.include_law_enforcement();
  SILTA_ASSIGN_OR_RETURN(options.restrictions, store_->ListReportRestrictions(subject_ref));
  v1::AuditEntry produced =
      NewEntry(v1::SUBJECT_REPORT_PRODUCED, now, caller.org.org_id(), request.acting_user());
  produced.set_subject_ref(subject_ref);
  produced.set_detail(absl::StrCat(v1::ReportRequester_Name(requester),
                                   request.include_law_enforcement() ? " law_enforcement" : ""));
  store::AuditEntries audit = {std::move(produced)};
  SILTA_RETURN_IF_ERROR(store_->AppendAudit(&audit));
  v1::SubjectReportResponse report = BuildSubjectReport(
      entries, *policy_->Get(), [this](absl::string_view id) { return orgs_->Find(id); }, options);
  report.set_forbidden_to_guardian_left_out(for_guardian);
  return report;
}

absl::StatusOr<v1::RestrictInSubjectReportResponse> ReportService::RestrictInSubjectReport(
    const identity::Caller& caller, const v1::RestrictInSubjectReportRequest& request) {
  if (request.acting_user().worker_id().empty()) {
    return absl::InvalidArgumentError("acting_user.worker_id: required");
  }
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  const v1::RestrictionGround* ground = policy::FindRestrictionGround(*policy, request.ground());
  if (ground == nullptr) {
    std::vector<std::string> codes;
    for (const v1::RestrictionGround& g : policy->restriction_grounds()) codes.push_back(g.code());
    return absl::InvalidArgumentError(
        absl::StrCat("ground: not a restriction ground of the policy; use one of: ",
                     codes.empty() ? std::string("(none configured)") : absl::StrJoin(codes, ", ")));
  }
  if (!request.has_review_at()) {
    return absl::InvalidArgumentError("review_at: required (a restriction is always reviewed)");
  }
  const absl::Time now = clock_();
  const absl::Time review_at = common::ToTime(request.review_at());
  if (review_at > now + absl::Hours(24) * ground->max_review_days()) {
    return absl::InvalidArgumentError(
        absl::StrCat("review_at: at most ", ground->max_review_days(), " days from now for ",
                     ground->code(), "; review it then and restrict again if it still applies"));
  }
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> m,
                         store_->GetMessage(caller.org.org_id(), request.message_id()));
  if (!m.has_value()) {
    return absl::NotFoundError(absl::StrCat("you sent no message ", request.message_id()));
  }
  std::string subject_ref = m->subject_ref;
  if (!m->case_id.empty()) {
    SILTA_ASSIGN_OR_RETURN(std::shared_ptr<const v1::Case> c, store_->GetCase(m->case_id));
    if (c == nullptr) return absl::InternalError("a message without its case");
    subject_ref = c->subject_ref();
  }
  if (subject_ref.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "message ", request.message_id(), " is about no one (an anonymous consultation)"));
  }
  store::ReportRestriction restriction{.sender_org_id = caller.org.org_id(),
                                       .message_id = request.message_id(),
                                       .subject_ref = subject_ref,
                                       .ground = ground->code(),
                                       .review_at_us = absl::ToUnixMicros(review_at),
                                       .set_at_us = absl::ToUnixMicros(now)};
  v1::AuditEntry entry =
      NewEntry(v1::SUBJECT_ACCESS_RESTRICTED, now, caller.org.org_id(), request.acting_user());
  entry.set_subject_ref(subject_ref);
  entry.set_case_id(m->case_id);
  entry.set_message_id(request.message_id());
  entry.set_rule_id(ground->code());
  entry.set_statute_citation(ground->citation());
  entry.set_detail(absl::StrCat(
      "review=", absl::FormatTime("%Y-%m-%d", review_at, absl::UTCTimeZone())));
  store::AuditEntries audit = {std::move(entry)};
  SILTA_RETURN_IF_ERROR(store_->PutReportRestriction(restriction, &audit));
  v1::RestrictInSubjectReportResponse response;
  response.set_audit_index(audit.front().index());
  return response;
}

absl::StatusOr<v1::IndicatorsResponse> ReportService::Indicators(
    const v1::IndicatorsRequest& request) {
  SILTA_ASSIGN_OR_RETURN(auto range, ParseMonth(request.month()));
  if (request.region().size() > 64) return absl::InvalidArgumentError("region: too long");
  // Membership needs the cases' whole history up to the month's end; the
  // other tables need the month itself, plus a year before it to tell a
  // case's first referral from a later one, and the invites after it.
  store::AuditQuery cases;
  cases.types = {v1::CASE_CREATED, v1::CASE_MEMBER_ADDED, v1::CASE_MEMBER_REMOVED, v1::CASE_CLOSED};
  cases.until_us = absl::ToUnixMicros(range.second);
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, ReadAll(cases));
  store::AuditQuery activity;
  activity.types = {v1::MESSAGE_ACCEPTED, v1::COORDINATOR_TRANSFERRED, v1::CONSENT_GIVEN,
                    v1::CONSENT_WITHDRAWN, v1::FIELD_WITHHELD};
  activity.from_us = absl::ToUnixMicros(range.first - absl::Hours(24 * 366));
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> recent, ReadAll(activity));
  for (v1::AuditEntry& e : recent) entries.push_back(std::move(e));
  return ComputeIndicators(
      entries, [this](absl::string_view id) { return orgs_->Find(id); }, request.month(),
      range.first, range.second, request.region());
}

}  // namespace silta::audit
