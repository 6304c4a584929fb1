// File: server/store/case_store.h
//
// Cases, their members and events.
//
// Part of Store (store.h), which says how errors are reported and how every
// mutating call appends its audit entries in its own transaction.
#ifndef SILTA_SERVER_STORE_CASE_STORE_H_
#define SILTA_SERVER_STORE_CASE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/audit_store.h"
#include "silta/v1/case.pb.h"

namespace silta::store {

class CaseStore {
 public:
  virtual ~CaseStore() = default;

  // Each mutation stores the case and its event atomically.

  // Inserts a new case (members from member_org_ids) and its CASE_OPENED
  // event. FAILED_PRECONDITION if the subject already has an open case (the
  // store enforces one open case per subject); ALREADY_EXISTS for a taken id.
  virtual absl::Status CreateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) = 0;

  // Replaces an existing case (members included) and appends `event`.
  // NOT_FOUND if absent.
  virtual absl::Status UpdateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) = 0;

  // The case, or null. Shared with the store's cache, so read-only (a
  // message reads its case at send, at each delivery and at each ack).
  virtual absl::StatusOr<std::shared_ptr<const v1::Case>> GetCase(absl::string_view case_id) = 0;

  // The subject's open case, or nullopt.
  virtual absl::StatusOr<std::optional<v1::Case>> FindOpenCase(absl::string_view subject_ref) = 0;

  // Cases `org_id` is a member of, newest first; state UNSPECIFIED = all.
  virtual absl::StatusOr<std::vector<v1::Case>> ListCasesForOrg(absl::string_view org_id,
                                                                v1::CaseState state,
                                                                uint32_t offset,
                                                                uint32_t limit) = 0;

  // A case's events, oldest first.
  virtual absl::StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(absl::string_view case_id) = 0;

  // Deletes cases closed before `closed_before_us`, with their members and
  // events. Returns how many cases.
  virtual absl::StatusOr<uint64_t> PurgeClosedCases(int64_t closed_before_us) = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_CASE_STORE_H_
