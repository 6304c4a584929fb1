// File: server/store/audit_store.h
//
// The audit log's storage: entries in log order, the Merkle tree's nodes
// (appended by audit::AppendLeaf against a node table, lib/audit/merkle.h),
// signed tree heads, and the purge of old entries' content.
//
// Part of Store (store.h), which says how errors are reported and how every
// mutating call appends its audit entries in its own transaction.
#ifndef SILTA_SERVER_STORE_AUDIT_STORE_H_
#define SILTA_SERVER_STORE_AUDIT_STORE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/audit/merkle.h"
#include "silta/v1/audit.pb.h"

namespace silta::store {

using AuditEntries = std::vector<v1::AuditEntry>;

// Filters of QueryAudit; set ones must all match.
struct AuditQuery {
  std::string case_id;
  std::string subject_ref;
  std::string org_id;  // actor or counterpart
  // If set: only entries with it as actor, or as counterpart when of one of
  // `counterpart_types` (audit::VisibleTo).
  std::string visible_to_org;
  std::vector<v1::AuditEventType> counterpart_types;
  std::vector<v1::AuditEventType> types;  // empty = all
  int64_t from_us = 0;                    // inclusive; 0 = no bound
  int64_t until_us = 0;                   // exclusive; 0 = no bound
  uint64_t after_index = 0;               // paging: entries with index >= this
  // Paging newest first: entries with index < before_index, newest first.
  bool newest_first = false;
  uint64_t before_index = std::numeric_limits<int64_t>::max();
  uint32_t limit = 100;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Appends entries that record no state change of their own (a refused
  // call, a reload, an existing-case check), durably.
  virtual absl::Status AppendAudit(AuditEntries* audit) = 0;
  // The number of entries.
  virtual absl::StatusOr<uint64_t> AuditSize() = 0;
  // Entries [begin, end) by index, oldest first.
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> ReadAuditRange(uint64_t begin,
                                                                     uint64_t end) = 0;
  // The index of the first entry at or after `at_us` (AuditSize() if none).
  virtual absl::StatusOr<uint64_t> FirstAuditIndexAt(int64_t at_us) = 0;
  // Entries matching `query`, in log order, at most query.limit.
  virtual absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(const AuditQuery& query) = 0;
  // Hashes of perfect Merkle subtrees (audit/merkle.h); INTERNAL if one is
  // missing. Reads O(1) rows per node, never the log.
  virtual absl::StatusOr<std::vector<std::string>> ReadAuditNodes(
      const std::vector<audit::NodeId>& nodes) = 0;
  // Every stored node of `min_level` or above with its hash, in one range
  // read (at most 2 · n / 2^min_level rows), to warm a cache at start-up.
  virtual absl::StatusOr<std::vector<std::pair<audit::NodeId, std::string>>> ReadAuditNodesFrom(
      int min_level) = 0;
  // Purges the entries before `before_us` whose type is in `types` (empty:
  // any) and not in `except_types`: each keeps only index, type, time and
  // its leaf hash (AuditEntry.purged_leaf_hash, from the tree's own leaf),
  // and drops out of every query. The tree is untouched, so heads and
  // proofs still verify. At most `limit` entries per call (the oldest);
  // returns how many were purged.
  virtual absl::StatusOr<uint64_t> PurgeAuditEntries(
      const std::vector<v1::AuditEventType>& types,
      const std::vector<v1::AuditEventType>& except_types, int64_t before_us, uint32_t limit) = 0;

  // Stores a signed tree head (idempotent for a size already stored).
  virtual absl::Status InsertTreeHead(const v1::SignedTreeHead& head) = 0;
  // The tree head of the largest size, or nullopt.
  virtual absl::StatusOr<std::optional<v1::SignedTreeHead>> LatestTreeHead() = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_AUDIT_STORE_H_
