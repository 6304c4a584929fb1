// File: client/console/console_api.h
//
// The answers of the console's JSON API (proto/silta/console/console.proto),
// read from siltad through a LogReader. Entries always come with their
// inclusion proofs against one freshly signed head, for the page to check.
// The HTTP side (who may ask, headers, JSON) is console_server.cc.
//
// Thread-safe.
#ifndef SILTA_CLIENT_CONSOLE_CONSOLE_API_H_
#define SILTA_CLIENT_CONSOLE_CONSOLE_API_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/console/head_book.h"
#include "client/console/log_reader.h"
#include "silta/console/console.pb.h"
#include "silta/v1/audit.pb.h"

namespace silta::console {

// Most entries a page of the entries table holds.
inline constexpr uint32_t kMaxEntriesPage = 200;
// Most entries counted for the overview, and shown in one case timeline.
inline constexpr uint64_t kMaxCounted = 200000;
inline constexpr uint64_t kMaxTimeline = 5000;

class ConsoleApi {
 public:
  ConsoleApi(const LogReader* reader, HeadBook* heads, absl::TimeZone zone)
      : reader_(reader), heads_(heads), zone_(zone) {}

  // The log's size, its latest head and how it relates to the heads seen
  // before, and counts per event type today, this week and this month.
  absl::StatusOr<Overview> GetOverview(absl::Time now) const;

  // One page of entries, newest first, that match `filters` (a
  // QueryEntriesRequest: its filters and page_token; page_size at most
  // kMaxEntriesPage), each with its inclusion proof.
  absl::StatusOr<ProvenEntries> GetEntries(v1::QueryEntriesRequest filters) const;

  // One case's entries in log order, and the consents, refusals and
  // their withdrawals about its young person in between.
  absl::StatusOr<ProvenEntries> GetCaseTimeline(const std::string& case_id) const;

 private:
  // Proofs of `entries` against a fresh head.
  absl::StatusOr<ProvenEntries> Prove(std::vector<v1::AuditEntry> entries) const;
  // Every entry matching `request`, in log order, at most `limit`; *capped
  // is set if there were more.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAll(v1::QueryEntriesRequest request,
                                                      uint64_t limit, bool* capped) const;

  const LogReader* reader_;
  HeadBook* heads_;
  const absl::TimeZone zone_;
};

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_CONSOLE_API_H_
