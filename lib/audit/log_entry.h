// File: lib/audit/log_entry.h
//
// Audit log entries: building one, its canonical bytes (the Merkle leaf,
// docs/wire-format.md §8) and its leaf hash. Shared by siltad (which appends
// entries in the store transaction of the state change they record) and
// siltactl (which verifies exports offline).
//
// Example:
//   v1::AuditEntry e = audit::NewEntry(v1::CASE_CREATED, now, org_id, user);
//   e.set_case_id(case_id);
//   std::string leaf = audit::EntryLeafHash(e);
#ifndef SILTA_LIB_AUDIT_LOG_ENTRY_H_
#define SILTA_LIB_AUDIT_LOG_ENTRY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/common.pb.h"

namespace silta::audit {

// Who caused an event: the calling organisation and the worker its system
// named. An empty org_id is siltad itself (start-up, reload, expiry).
struct Actor {
  std::string org_id;
  v1::ActingUser user;
};

// An entry of `type` at `at` (truncated to microseconds, as encoded) by
// `actor_org_id` on behalf of `acting_user` (may be empty).
v1::AuditEntry NewEntry(v1::AuditEventType type, absl::Time at, absl::string_view actor_org_id,
                        const v1::ActingUser& acting_user = v1::ActingUser());
inline v1::AuditEntry NewEntry(v1::AuditEventType type, absl::Time at, const Actor& actor) {
  return NewEntry(type, at, actor.org_id, actor.user);
}

// Random bytes every new entry carries in its leaf.
inline constexpr size_t kEntrySaltSize = 16;

// The canonical bytes of an entry (its index included).
std::string CanonicalEntryBytes(const v1::AuditEntry& entry);

// DESIGN.md §8 "Who sees which entries", for an org that is not an
// auditor: every entry it is the actor of (as a sender, everything about
// its own messages), and as the counterpart only the types in
// CounterpartVisibleTypes (what it was given, never what was withheld from
// it or anything about a message of which it received nothing).
bool VisibleTo(const v1::AuditEntry& entry, absl::string_view org_id);
const std::vector<v1::AuditEventType>& CounterpartVisibleTypes();

// The end of the log, as a store reads it in the write transaction that
// appends to it.
struct LogTail {
  uint64_t size = 0;       // entries in the log: the next entry's index
  int64_t last_at_us = 0;  // the last entry's time
};

// Makes `entry` the next entry after `tail` and advances `tail`: sets its
// index, and its time to no earlier than the last entry's (log order is
// time order; a clock stepping back does not reorder the log).
void Sequence(v1::AuditEntry& entry, LogTail& tail);

// LeafHash(CanonicalEntryBytes(entry)).
std::string EntryLeafHash(const v1::AuditEntry& entry);

}  // namespace silta::audit

#endif  // SILTA_LIB_AUDIT_LOG_ENTRY_H_
