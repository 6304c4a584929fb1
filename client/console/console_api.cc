#include "client/console/console_api.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"

namespace silta::console {
namespace {

// Local midnight of `now`'s day, Monday of its week, the 1st of its month.
struct Periods {
  absl::Time day, week, month;
};

Periods PeriodsOf(absl::Time now, absl::TimeZone zone) {
  const absl::CivilDay day = absl::ToCivilDay(now, zone);
  const int weekday = static_cast<int>(absl::GetWeekday(day));  // Monday = 0
  const absl::CivilDay monday = day - weekday;
  const absl::CivilMonth month(day);
  return {zone.At(absl::CivilSecond(day)).pre, zone.At(absl::CivilSecond(monday)).pre,
          zone.At(absl::CivilSecond(month)).pre};
}

}  // namespace

absl::StatusOr<std::vector<v1::AuditEntry>> ConsoleApi::ReadAll(v1::QueryEntriesRequest request,
                                                                uint64_t limit,
                                                                bool* capped) const {
  *capped = false;
  request.set_page_size(1000);
  std::vector<v1::AuditEntry> all;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(v1::QueryEntriesResponse page, reader_->QueryEntries(request));
    for (v1::AuditEntry& e : *page.mutable_entries()) {
      if (all.size() == limit) {
        *capped = true;
        return all;
      }
      all.push_back(std::move(e));
    }
    if (page.next_page_token().empty()) return all;
    request.set_page_token(page.next_page_token());
  }
}

absl::StatusOr<Overview> ConsoleApi::GetOverview(absl::Time now) const {
  Overview overview;
  SILTA_ASSIGN_OR_RETURN(*overview.mutable_head(), reader_->TreeHead());
  SILTA_ASSIGN_OR_RETURN(*overview.mutable_history(), heads_->Check(overview.head(), *reader_));
  const Periods periods = PeriodsOf(now, zone_);
  *overview.mutable_today_from() = common::ToTimestamp(periods.day);
  *overview.mutable_week_from() = common::ToTimestamp(periods.week);
  *overview.mutable_month_from() = common::ToTimestamp(periods.month);
  v1::QueryEntriesRequest request;
  *request.mutable_from() = common::ToTimestamp(std::min(periods.week, periods.month));
  bool capped = false;
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                         ReadAll(request, kMaxCounted, &capped));
  overview.set_counts_capped(capped);
  std::map<int, EventCount> counts;
  for (const v1::AuditEntry& e : entries) {
    const absl::Time at = common::ToTime(e.at());
    EventCount& count = counts[e.type()];
    count.set_type(e.type());
    if (at >= periods.day) count.set_today(count.today() + 1);
    if (at >= periods.week) count.set_week(count.week() + 1);
    if (at >= periods.month) count.set_month(count.month() + 1);
  }
  for (auto& [type, count] : counts) *overview.add_counts() = std::move(count);
  return overview;
}

absl::StatusOr<ProvenEntries> ConsoleApi::Prove(std::vector<v1::AuditEntry> entries) const {
  ProvenEntries proven;
  // The head is read after the entries, so that it covers every one.
  SILTA_ASSIGN_OR_RETURN(*proven.mutable_head(), reader_->TreeHead());
  for (v1::AuditEntry& e : entries) {
    ProvenEntry* item = proven.add_entries();
    absl::StatusOr<v1::InclusionProof> proof =
        reader_->InclusionProof(e.index(), proven.head().tree_size());
    if (proof.ok()) {
      *item->mutable_path() = std::move(*proof->mutable_path());
    } else {
      // The page shows the entry as not verified, with the reason.
      item->set_proof_error(std::string(proof.status().message()));
    }
    *item->mutable_entry() = std::move(e);
  }
  return proven;
}

absl::StatusOr<ProvenEntries> ConsoleApi::GetEntries(v1::QueryEntriesRequest filters) const {
  if (filters.page_size() == 0) filters.set_page_size(50);
  if (filters.page_size() > kMaxEntriesPage) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxEntriesPage, " entries a page"));
  }
  filters.set_newest_first(true);
  SILTA_ASSIGN_OR_RETURN(v1::QueryEntriesResponse page, reader_->QueryEntries(filters));
  std::vector<v1::AuditEntry> entries(std::make_move_iterator(page.mutable_entries()->begin()),
                                      std::make_move_iterator(page.mutable_entries()->end()));
  SILTA_ASSIGN_OR_RETURN(ProvenEntries proven, Prove(std::move(entries)));
  proven.set_next_page_token(page.next_page_token());
  return proven;
}

absl::StatusOr<ProvenEntries> ConsoleApi::GetCaseTimeline(const std::string& case_id) const {
  if (case_id.empty()) return absl::InvalidArgumentError("case_id: give the case's id");
  v1::QueryEntriesRequest by_case;
  by_case.set_case_id(case_id);
  bool capped = false;
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries,
                         ReadAll(by_case, kMaxTimeline, &capped));
  if (entries.empty()) {
    return absl::NotFoundError(
        absl::StrCat("no entries of case ", case_id, " that this certificate may see"));
  }
  // Consents and refusals are recorded about the person, not the case:
  // add those about the case's young person from the case's span.
  std::set<std::string> refs;
  for (const v1::AuditEntry& e : entries) {
    if (!e.subject_ref().empty()) refs.insert(e.subject_ref());
  }
  std::set<uint64_t> seen;
  for (const v1::AuditEntry& e : entries) seen.insert(e.index());
  for (const std::string& ref : refs) {
    v1::QueryEntriesRequest consents;
    consents.set_subject_ref(ref);
    for (v1::AuditEventType type :
         {v1::CONSENT_GIVEN, v1::CONSENT_WITHDRAWN, v1::REFUSAL_RECORDED, v1::REFUSAL_WITHDRAWN,
          v1::COMPETENCE_ASSESSED, v1::COMPETENCE_ASSESSMENT_WITHDRAWN}) {
      consents.add_types(type);
    }
    *consents.mutable_until() =
        common::ToTimestamp(common::ToTime(entries.back().at()) + absl::Microseconds(1));
    bool more = false;
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> about,
                           ReadAll(consents, kMaxTimeline, &more));
    for (v1::AuditEntry& e : about) {
      if (seen.insert(e.index()).second) entries.push_back(std::move(e));
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const v1::AuditEntry& a, const v1::AuditEntry& b) { return a.index() < b.index(); });
  return Prove(std::move(entries));
}

}  // namespace silta::console
