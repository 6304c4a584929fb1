// File: server/store/sql/sql_store.h
//
// Store written once in SQL, over sql::Connection, for both databases:
// SQLite (store/sqlite/, embedded, one instance) and PostgreSQL
// (store/postgres/, several instances on one database). A subclass opens
// the connections, brings its schema's migrations and says how a write
// transaction begins; everything else (the statements, the audit log's
// appends in the transaction of each change, the group committer of the
// message path) is here.
//
// Thread-safe: one connection for writing, serialised by a mutex, and the
// subclass's connections for reading. Messages, delivery marks and acks are
// written by one committer thread in group commits (docs/message-path.md).
#ifndef SILTA_SERVER_STORE_SQL_SQL_STORE_H_
#define SILTA_SERVER_STORE_SQL_SQL_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/store/read_cache.h"
#include "server/store/sql/connection.h"
#include "server/store/store.h"

namespace silta::store {

class CommitterPriority;

// One schema step. Each runs once, in its own transaction, in version
// order, at start-up; the applied versions are recorded in the table
// schema_migrations. Never edit a released migration: add a new one.
struct Migration {
  int version;                    // 1, 2, 3, ... without gaps
  absl::string_view description;  // what it does, for the migrations table
  absl::string_view sql;          // one or more statements
};

// Tests only: called inside every audited transaction at
// "after_state_change" (before the audit entries are appended) and
// "after_audit" (before COMMIT); an error rolls the transaction back, as a
// crash or I/O error at that point would. Also at "get_case" before a case
// is read (a read that fails).
using FaultInjection = std::function<absl::Status(absl::string_view point)>;

class SqlStore : public Store {
 public:
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  // Transactions that committed queued writes (group commits) so far.
  int64_t GroupCommitsForTest() {
    absl::MutexLock lock(&stats_mu_);
    return static_cast<int64_t>(commit_stats_.batch_writes.count());
  }

  // How far the audit log's index by org, subject and case (audit_postings)
  // may fall behind the log: a commit indexes the entries after its mark
  // once there are this many, in one batch, and a query reads those few
  // from the log itself.
  static constexpr uint64_t kAuditIndexLag = 256;
  // How long writes that may linger (acks, releases no one waits for) wait
  // for a durable one to ride its commit (see CommitLoop).
  static constexpr absl::Duration kLinger = absl::Milliseconds(5);

  absl::StatusOr<int> SchemaVersion() override;
  absl::Status Ping() override;
  absl::StatusOr<std::string> ClaimSetting(absl::string_view name,
                                           absl::string_view value) override;
  absl::Status InsertOrg(const v1::Organization& org, AuditEntries* audit) override;
  absl::Status UpdateOrg(const v1::Organization& org, AuditEntries* audit) override;
  absl::StatusOr<std::optional<v1::Organization>> GetOrg(absl::string_view org_id) override;
  absl::StatusOr<std::vector<v1::Organization>> ListOrgs() override;
  absl::Status CreateCase(const v1::Case& c, const v1::CaseEvent& event,
                          AuditEntries* audit) override;
  absl::Status UpdateCase(const v1::Case& c, const v1::CaseEvent& event,
                          AuditEntries* audit) override;
  absl::StatusOr<std::shared_ptr<const v1::Case>> GetCase(absl::string_view case_id) override;
  absl::StatusOr<std::optional<v1::Case>> FindOpenCase(absl::string_view subject_ref) override;
  absl::StatusOr<std::vector<v1::Case>> ListCasesForOrg(absl::string_view org_id,
                                                        v1::CaseState state, uint32_t offset,
                                                        uint32_t limit) override;
  absl::StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(absl::string_view case_id) override;
  absl::Status InsertConsent(const v1::Consent& consent, AuditEntries* audit) override;
  absl::Status InsertRefusal(const v1::Refusal& refusal, AuditEntries* audit) override;
  absl::Status InsertAssessment(const v1::CompetenceAssessment& assessment,
                                AuditEntries* audit) override;
  absl::Status AppendConsentEvent(absl::string_view record_id, const v1::ConsentEvent& event,
                                  AuditEntries* audit) override;
  absl::StatusOr<ConsentRecords> ListConsentRecords(absl::string_view subject_ref) override;
  absl::StatusOr<ConsentRecords> GetConsentRecord(absl::string_view record_id) override;
  absl::Status PublishKeyBundle(const v1::KeyBundle& bundle, AuditEntries* audit) override;
  absl::StatusOr<KeyBundles> ListKeyBundles(absl::string_view org_id,
                                            bool include_retired) override;
  absl::Status InsertMessage(const MessageRecord& message, AuditEntries* audit) override;
  void InsertMessageAsync(std::shared_ptr<const MessageRecord> message, std::string serialized_body,
                          AuditEntries audit, WriteDone done,
                          std::optional<uint64_t> decided_at) override;
  absl::StatusOr<std::optional<MessageRecord>> GetMessage(absl::string_view sender_org_id,
                                                          absl::string_view message_id) override;
  absl::StatusOr<std::vector<UnfinishedDelivery>> UnfinishedDeliveries(int64_t now_us) override;
  absl::Status UpdateDelivery(const DeliveryRecord& delivery, AuditEntries* audit) override;
  absl::Status UpdateDeliveries(const std::vector<DeliveryRecord>& deliveries,
                                AuditEntries* audit) override;
  void UpdateDeliveriesAsync(std::vector<DeliveryRecord> deliveries, AuditEntries audit,
                             WriteDone done, std::optional<uint64_t> decided_at) override;
  absl::StatusOr<std::vector<DeliveryRecord>> ExpireMessages(int64_t now_us,
                                                             const ExpiryAudit& audit_for) override;
  absl::Status LinkMessageToCase(absl::string_view sender_org_id, absl::string_view message_id,
                                 absl::string_view case_id, AuditEntries* audit) override;
  absl::Status PutReportRestriction(const ReportRestriction& restriction,
                                    AuditEntries* audit) override;
  absl::StatusOr<std::vector<ReportRestriction>> ListReportRestrictions(
      absl::string_view subject_ref) override;
  absl::StatusOr<uint64_t> PurgeAuditEntries(const std::vector<v1::AuditEventType>& types,
                                             const std::vector<v1::AuditEventType>& except_types,
                                             int64_t before_us, uint32_t limit) override;
  absl::StatusOr<uint64_t> PurgeClosedCases(int64_t closed_before_us) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> PurgeEndedConsentRecords(
      int64_t ended_before_us) override;
  absl::StatusOr<uint64_t> PurgeOldMessages(int64_t accepted_before_us) override;
  absl::StatusOr<std::optional<DeliveryRecord>> GetDelivery(absl::string_view delivery_id) override;
  CommitStats ReadCommitStats() override;
  absl::Status AppendAudit(AuditEntries* audit) override;
  absl::StatusOr<uint64_t> AuditSize() override;
  absl::StatusOr<std::vector<v1::AuditEntry>> ReadAuditRange(uint64_t begin, uint64_t end) override;
  absl::StatusOr<uint64_t> FirstAuditIndexAt(int64_t at_us) override;
  absl::StatusOr<std::vector<v1::AuditEntry>> QueryAudit(const AuditQuery& query) override;
  absl::StatusOr<std::vector<std::string>> ReadAuditNodes(
      const std::vector<audit::NodeId>& nodes) override;
  absl::StatusOr<std::vector<std::pair<audit::NodeId, std::string>>> ReadAuditNodesFrom(
      int min_level) override;
  absl::Status InsertTreeHead(const v1::SignedTreeHead& head) override;
  absl::StatusOr<std::optional<v1::SignedTreeHead>> LatestTreeHead() override;

 protected:
  // `writer`: the connection of every write, and of reads when the
  // subclass has no reader of its own.
  SqlStore(std::unique_ptr<sql::Connection> writer, FaultInjection fault_injection);

  // ---- The subclass's part. ----

  // Begins a write transaction on the writer. `durable`: its COMMIT must be
  // on disk when it returns (else it may be flushed a moment later: acks
  // and releases, which disclose nothing).
  virtual absl::Status BeginLocked(bool durable) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // After a transaction begun with BeginLocked has ended, `committed` or
  // not.
  virtual absl::Status EndedLocked(bool durable, bool committed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // Inside the transaction of a change to a decision input: tells the
  // other instances on the database, at its commit. Nothing by default
  // (one instance).
  virtual absl::Status PublishChangeLocked(const ChangeNotice& notice)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // Inside the transaction of a change of the message path: tells the
  // other instances on the database, at its commit. Nothing by default.
  virtual absl::Status PublishPathLocked(const PathNotice& notice)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // Inside the transaction of a write decided on this instance's in-memory
  // state: OK if that state reflects every change committed to the
  // database, else ABORTED. OK by default (one instance).
  virtual absl::Status AppliedEverythingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return absl::OkStatus();
  }
  // Clears the caches of rows of `kind` (another instance changed one).
  void ForgetCached(ChangeNotice::Kind kind);
  // A connection for reading, and the mutex to hold while it is used.
  struct Reader {
    absl::Mutex* mu;
    sql::Connection* db;
  };
  // The writer's, unless overridden.
  virtual Reader AcquireReader() ABSL_NO_THREAD_SAFETY_ANALYSIS { return {&mu_, db_}; }

  // At open: applies the migrations newer than the database's version.
  // `create_versions_table` creates schema_migrations if it is missing.
  absl::Status Migrate(const std::vector<Migration>& migrations,
                       absl::string_view create_versions_table);
  // At the end of open: the committer thread. With `nice`, it runs at that
  // nice value while writes queue up for it (committer_priority.h); when
  // the system refuses it, it logs committer_priority_not_set at start and
  // runs at the process's.
  void StartCommitter(std::optional<int> nice);
  // Commits what is queued and stops the committer. A subclass's
  // destructor calls it first: the committer calls the subclass's hooks.
  void StopCommitter();

  absl::Mutex mu_;  // the write connection (the committer, and other writes)
  sql::Connection* db_ ABSL_GUARDED_BY(mu_);  // writer_

 private:
  // Runs `body` inside a transaction (BeginLocked ... COMMIT); rolls back
  // on error.
  absl::Status InTransactionLocked(const std::function<absl::Status()>& body, bool durable = true)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // InTransactionLocked(body, then AuditedLocked(audit)).
  absl::Status InAuditedTransactionLocked(const std::function<absl::Status()>& body,
                                          AuditEntries* audit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inside a transaction, after the state change: the fault points around
  // AppendAuditLocked.
  absl::Status AuditedLocked(AuditEntries* audit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Appends entries to the log and the Merkle tree (inside a transaction).
  absl::Status AppendAuditLocked(AuditEntries* audit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inside AppendAuditLocked's transaction: once the log of `log_size`
  // entries is kAuditIndexLag past the index's mark, indexes the entries
  // after it by org, subject and case (a posting row per term,
  // sql/audit_postings.h), and moves the mark.
  absl::Status IndexAuditLocked(uint64_t log_size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The index's mark (audit_index_upto): the entries below it are in the
  // index.
  static absl::StatusOr<uint64_t> AuditIndexedUpTo(sql::Connection* db);
  // Inside a transaction: the state changes, then their audit entries.
  absl::Status UpdateDeliveriesLocked(const std::vector<DeliveryRecord>& deliveries,
                                      AuditEntries* audit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteMembersLocked(const v1::Case& c) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Purges the body of `message_id` if every delivery is finished.
  absl::Status PurgeIfFinishedLocked(absl::string_view message_key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendCaseEventLocked(const v1::CaseEvent& event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status InsertConsentRecordLocked(absl::string_view id, absl::string_view subject_ref,
                                         int kind, const google::protobuf::Message& record,
                                         const v1::ConsentEvent& given, AuditEntries* audit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppendConsentEventLocked(absl::string_view record_id, const v1::ConsentEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records matching `where` ("subject_ref = ?" etc., bound to `value`),
  // with histories, in insertion order; one query on `db` (held).
  static absl::StatusOr<ConsentRecords> ConsentRecordsFrom(sql::Connection* db,
                                                           absl::string_view where,
                                                           absl::string_view value);
  absl::StatusOr<int> SchemaVersionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status InsertMessageLocked(const MessageRecord& message, absl::string_view serialized_body,
                                   AuditEntries* audit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status UpdateDeliveryLocked(const DeliveryRecord& delivery)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK unless a write decided at `decided_at` may no longer commit: ABORTED
  // if a decision input began to change since (checked with mu_ held, so
  // a change not begun yet commits after the write).
  absl::Status StillDecidedLocked(std::optional<uint64_t> decided_at)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A write waiting for the committer: `apply` runs with the connection
  // held, inside the batch's transaction, in a savepoint of its own.
  // `durable`: its commit must be fsynced before `done` is called.
  struct PendingWrite {
    std::function<absl::Status()> apply;
    bool durable = false;
    std::function<void(absl::Status)> done;
    // No one waits for it (an async ack or release): it may wait up to
    // kLinger for a durable write and ride that commit.
    bool may_linger = false;
  };
  // Lingering ends early once this many writes are queued.
  static constexpr size_t kLingerWrites = 64;
  // Queues a write for the committer thread.
  void Enqueue(PendingWrite write) ABSL_LOCKS_EXCLUDED(queue_mu_);
  // Calls the batch's `done`s, in the order their answers should go out.
  static void CompleteBatch(const std::vector<PendingWrite>& batch,
                            const std::vector<absl::Status>& statuses);
  // Queues `apply` and waits for its commit. On the committer thread (a
  // `done` that writes) it commits at once instead.
  absl::Status GroupCommit(std::function<absl::Status()> apply, bool durable)
      ABSL_LOCKS_EXCLUDED(mu_, queue_mu_);
  // The committer thread: commits everything queued in one transaction
  // while the next batch queues, then tells each writer, in the order they
  // queued.
  // `priority`: adjusted to each batch taken, if not null.
  void CommitLoop(CommitterPriority* priority);
  // One transaction for `batch`; each write's status.
  std::vector<absl::Status> CommitBatch(const std::vector<PendingWrite>& batch)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Holds a connection for reading (AcquireReader) while it lives.
  class ReadLock {
   public:
    explicit ReadLock(SqlStore* store) : reader_(store->AcquireReader()) { reader_.mu->Lock(); }
    ~ReadLock() { reader_.mu->Unlock(); }
    sql::Connection* db() const { return reader_.db; }

   private:
    Reader reader_;
  };

  const FaultInjection fault_injection_;
  std::unique_ptr<sql::Connection> writer_ ABSL_GUARDED_BY(mu_);
  absl::Mutex queue_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::vector<PendingWrite> write_queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  // Cases and key bundles, read on every message (read_cache.h); cleared by
  // every change to them, once it is committed.
  ReadCache<v1::Case> cases_cache_{10000};
  ReadCache<std::vector<v1::KeyBundle>> bundles_cache_{2000};
  // Queued writes that may not linger (durable, or someone waits).
  size_t urgent_queued_ ABSL_GUARDED_BY(queue_mu_) = 0;
  std::thread committer_;
  // Read by /metrics without waiting for a commit in progress.
  absl::Mutex stats_mu_ ABSL_ACQUIRED_AFTER(mu_);
  CommitStats commit_stats_ ABSL_GUARDED_BY(stats_mu_);
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQL_SQL_STORE_H_
