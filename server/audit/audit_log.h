// File: server/audit/audit_log.h
//
// The audit log as auditors see it: signed tree heads (periodic and on
// demand, Ed25519 log key from a file), inclusion and consistency proofs
// that read O(log n) stored nodes, queries with paging, and export
// planning. Appending is not here: every state change appends its own
// entries in its store transaction (store/store.h).
//
// Example:
//   SILTA_ASSIGN_OR_RETURN(auto log, AuditLog::Create(store, refs, key, {}));
//   log->Start();  // periodic tree heads
//   SILTA_ASSIGN_OR_RETURN(v1::SignedTreeHead head, log->TreeHead(/*fresh=*/true));
#ifndef SILTA_SERVER_AUDIT_AUDIT_LOG_H_
#define SILTA_SERVER_AUDIT_AUDIT_LOG_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "lib/crypto/secret_data.h"
#include "server/cases/subject_refs.h"
#include "server/identity/caller.h"
#include "server/store/audit_store.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/config.pb.h"

namespace silta::audit {

struct AuditLogOptions {
  // Between periodic tree heads (signed only if the log has grown).
  absl::Duration tree_head_interval = absl::Minutes(5);
  // The log's name in every signed tree head (config audit.log_id).
  std::string log_id = "silta-audit";
  common::Clock clock = common::SystemClock();
  // The retention rules in force (the policy's), read at each run; unset:
  // nothing is purged.
  std::function<std::vector<v1::RetentionRule>()> retention;
  // Between retention runs of the periodic thread.
  absl::Duration retention_interval = absl::Hours(1);
  // The retention of the records beside the log (closed cases, ended
  // consent records, old messages' metadata), run after the log's with the
  // same rules (KeepDaysFor); unset: only the log is purged.
  std::function<absl::Status(const std::vector<v1::RetentionRule>&, absl::Time)> retain_records;
};

// The entries an export holds: [begin, end) of the tree `head` commits to.
struct ExportPlan {
  v1::SignedTreeHead head;
  uint64_t begin = 0;
  uint64_t end = 0;
};

// The days `rules` keep entries of `type` (the rule naming it, else the
// rule without types); 0 means for ever, as when no rule applies.
uint32_t KeepDaysFor(const std::vector<v1::RetentionRule>& rules, v1::AuditEventType type);

class AuditLog {
 public:
  // Reads the Ed25519 log key from a PEM file that passes CheckSecretFile.
  static absl::StatusOr<crypto::SecretData> LoadLogKey(const std::string& path);

  // `store` and `subject_refs` must outlive the log. Loads the high Merkle
  // nodes (kCachedLevel and up) into memory in one range read, so that a
  // proof right after start-up reads only its low nodes from the store.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(store::AuditStore* store,
                                                          const cases::SubjectRefs* subject_refs,
                                                          crypto::SecretData log_key,
                                                          AuditLogOptions options);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Purges every entry past its rule's keep_days at `now` (a rule with
  // types covers them; the one without covers every other type; keep_days
  // 0 keeps for ever): its content is deleted and its leaf hash kept, so the
  // tree, later heads, proofs and exports still verify. Returns how many.
  absl::StatusOr<uint64_t> ApplyRetention(const std::vector<v1::RetentionRule>& rules,
                                          absl::Time now);

  // Starts / stops the periodic thread: tree heads, and retention runs.
  void Start();
  void Stop();

  // The latest stored tree head, or (fresh, or none stored yet) a newly
  // signed head of the current log.
  absl::StatusOr<v1::SignedTreeHead> TreeHead(bool fresh);
  // The raw public log key and its id.
  const std::string& public_key() const { return public_key_; }

  // RFC 6962 proofs against sizes the log has reached. INVALID_ARGUMENT
  // for impossible indices or sizes (naming them).
  absl::StatusOr<v1::InclusionProof> InclusionProof(uint64_t index, uint64_t tree_size);
  // InclusionProof for `caller`: an AUDITOR for any entry, anyone else only
  // for an entry it may read (VisibleTo); PERMISSION_DENIED otherwise.
  absl::StatusOr<v1::InclusionProof> InclusionProofFor(const identity::Caller& caller,
                                                       uint64_t index, uint64_t tree_size);
  absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t first_size, uint64_t second_size);

  // QueryEntries for `caller`: an AUDITOR sees every entry, anyone else
  // only entries with its own org as actor or counterpart.
  absl::StatusOr<v1::QueryEntriesResponse> Query(const identity::Caller& caller,
                                                 const v1::QueryEntriesRequest& request);

  // The entries of [from, until) and a fresh tree head covering them.
  absl::StatusOr<ExportPlan> PlanExport(const v1::ExportRequest& request);
  // Entries [begin, end) by index.
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadRange(uint64_t begin, uint64_t end);
  // The last chunk of an export: the head, the range proof and, if asked,
  // the consistency proof from `consistent_with_size`.
  absl::StatusOr<v1::ExportChunk> FinalChunk(const ExportPlan& plan, uint64_t consistent_with_size);

 private:
  AuditLog(store::AuditStore* store, const cases::SubjectRefs* subject_refs, crypto::SecretData key,
           std::string public_key, AuditLogOptions options);
  // Signs and stores a head of the current log.
  absl::StatusOr<v1::SignedTreeHead> SignCurrent();
  NodeReader Reader();

  // Perfect subtrees of at least 2^kCachedLevel leaves are cached in memory.
  static constexpr int kCachedLevel = 10;

  store::AuditStore* const store_;
  const cases::SubjectRefs* const subject_refs_;
  absl::Mutex cache_mu_;
  absl::flat_hash_map<std::pair<int, uint64_t>, std::string> node_cache_ ABSL_GUARDED_BY(cache_mu_);
  const crypto::SecretData log_key_;
  const std::string public_key_;
  const AuditLogOptions options_;
  absl::Mutex sign_mu_;  // one signer at a time
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace silta::audit

#endif  // SILTA_SERVER_AUDIT_AUDIT_LOG_H_
