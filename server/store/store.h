// File: server/store/store.h
//
// The storage interface of siltad. Two implementations: SQLite (embedded,
// one instance; store/sqlite/) and PostgreSQL (several instances; a later
// issue). Callers see protos and absl::Status, never SQL or driver types.
//
// Implementations are expected to be thread-safe. Every mutating call is
// durable (fsynced) when it returns OK. Errors:
//   NOT_FOUND          the row does not exist (where noted)
//   ALREADY_EXISTS     a unique key is taken
//   UNAVAILABLE        transient database failure (busy, I/O); safe to retry
//   INTERNAL           corrupt data or a broken invariant
//
// The audit log: every mutating call takes the audit entries that record
// its state change (`AuditEntries* audit`) and appends them — index
// assigned, Merkle tree nodes updated — in the same transaction as the
// change: either both are stored or neither. On success each entry's
// `index` is set. Entry times never go backwards: an entry stamped before
// the previous one gets the previous one's time, so log order is time order.
#ifndef SILTA_SERVER_STORE_STORE_H_
#define SILTA_SERVER_STORE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/audit/merkle.h"
#include "lib/common/histogram.h"
#include "server/store/change_sequence.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/case.pb.h"
#include "silta/v1/common.pb.h"
#include "silta/v1/consent.pb.h"
#include "silta/v1/message.pb.h"
#include "silta/v1/org.pb.h"

namespace silta::store {

using AuditEntries = std::vector<v1::AuditEntry>;

// Filters of QueryAudit; set ones must all match.
struct AuditQuery {
  std::string case_id;
  std::string subject_ref;
  std::string org_id;                     // actor or counterpart
  // If set: only entries with it as actor, or as counterpart when of one of
  // `counterpart_types` (audit::VisibleTo).
  std::string visible_to_org;
  std::vector<v1::AuditEventType> counterpart_types;
  std::vector<v1::AuditEventType> types;  // empty = all
  int64_t from_us = 0;                    // inclusive; 0 = no bound
  int64_t until_us = 0;                   // exclusive; 0 = no bound
  uint64_t after_index = 0;               // paging: entries with index >= this
  uint32_t limit = 100;
};

// One recipient's delivery of one message.
struct DeliveryRecord {
  std::string delivery_id;
  std::string sender_org_id;  // with message_id, the message (ids are unique per sender)
  std::string message_id;
  std::string recipient_org_id;
  v1::RecipientState state = v1::PENDING;
  uint32_t attempts = 0;
  int64_t next_attempt_us = 0;  // when an unacked delivery is due again
  int64_t updated_at_us = 0;
};

// Called on the store's committer thread when a write queued with an
// ...Async method is committed or has failed, with its audit entries (their
// indices set). It must not block; it may call the store.
using WriteDone = std::function<void(absl::Status status, AuditEntries audit)>;

// An unfinished delivery and when its message was accepted (start-up).
struct UnfinishedDelivery {
  DeliveryRecord delivery;
  int64_t accepted_us = 0;
};

// How the store's group commits went since it was opened (for /metrics):
// writes per committed transaction, and each commit's time, the fsync
// included.
struct CommitStats {
  common::Histogram batch_writes;
  common::Histogram commit_seconds;
};

// An accepted message: metadata kept for the audit retention period, the
// sealed body only until every recipient has acknowledged it (or expiry).
struct MessageRecord {
  std::string message_id;
  std::string sender_org_id;
  std::string case_id;
  // A notification sent outside a case: the person it is about (the
  // subject_ref of SendRequest.subject), and the case a recipient later
  // attached it to (LinkNotification). Both empty for other messages.
  std::string subject_ref;
  std::string linked_case_id;
  std::string content_hash;  // SHA-256 of the deterministic serialization as sent
  int64_t accepted_at_us = 0;
  int64_t expires_at_us = 0;
  std::optional<v1::SealedMessage> body;  // nullopt once purged
  v1::DeliveryReceipt receipt;
  std::vector<DeliveryRecord> deliveries;
};

// A sender's restriction of one message's entries in the subject report.
struct ReportRestriction {
  std::string sender_org_id;
  std::string message_id;
  std::string subject_ref;
  std::string ground;       // a RestrictionGround code of the policy
  int64_t review_at_us = 0;  // left out while now < review_at
  int64_t set_at_us = 0;
};

// ---- Several instances on one database (PostgreSQL). ----

// A change of a decision input, or of the message path, committed by
// another instance on the same database.
struct ChangeNotice {
  enum Kind : char {
    kOrg = 'o',            // key: org_id
    kCase = 'c',           // key: case_id; empty: any (a retention purge)
    kConsentRecord = 'r',  // key: record id; subject_ref: whose
    kKeyBundles = 'k',     // key: org_id
  };
  Kind kind = kOrg;
  std::string key;
  std::string subject_ref;
};

// A change of the message path committed by another instance on the same
// database: a message accepted (its unfinished deliveries join this
// instance's queues, for a recipient whose stream is here), deliveries
// marked DELIVERED (due here again only after the ack timeout) or finished
// (acked, expired, nothing permitted: gone from the queues).
struct PathNotice {
  enum Kind : char { kAccepted = 'm', kDelivered = 'd', kFinished = 'f' };
  Kind kind = kAccepted;
  std::vector<std::string> ids;  // kAccepted: sender_org_id, message_id; else delivery ids
};

// What an instance does with the changes other instances commit: keeps its
// in-memory state (org registry, consent engine) in step with the
// database. Called on a thread of the store, one call at a time, in commit
// order, each inside a ChangeSequence::Change (so no delivery decides on a
// half-applied change). Neither may block for long or call back into
// FollowOthers.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Another instance committed `notice`: read what it touched again. An
  // error (the database unreachable) makes the store reload everything
  // until ReloadAll succeeds.
  virtual absl::Status Apply(const ChangeNotice& notice) = 0;
  // Notices may have been missed (the connection that receives them was
  // lost): read everything again. An error is retried (and until it
  // succeeds, no delivery decides: Settled() stays kUnsettled).
  virtual absl::Status ReloadAll() = 0;
  // Another instance committed `notice` (outside any Change: the message
  // path is no decision input).
  virtual void OnPath(const PathNotice& notice) = 0;
  // Path notices may have been missed (the store has just begun to listen,
  // or listens again): read the unfinished deliveries again.
  virtual absl::Status CatchUpPath() = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The schema version the database is at (the highest applied migration).
  virtual absl::StatusOr<int> SchemaVersion() = 0;

  // Stores `value` under `name` unless a value is stored there already;
  // returns the stored one. For what every siltad on the database must
  // share (the pepper's fingerprint, say): the first start records it, and
  // a later one with another value can tell.
  virtual absl::StatusOr<std::string> ClaimSetting(absl::string_view name,
                                                   absl::string_view value) = 0;

  // OK if the database answers a read now; UNAVAILABLE if it cannot be
  // reached (siltad's health follows it: ops/store_watch.h).
  virtual absl::Status Ping() = 0;

  // Inserts a new organisation. ALREADY_EXISTS if org_id is taken.
  virtual absl::Status InsertOrg(const v1::Organization& org, AuditEntries* audit) = 0;

  // Replaces an existing organisation's row. NOT_FOUND if absent.
  virtual absl::Status UpdateOrg(const v1::Organization& org, AuditEntries* audit) = 0;

  // Returns the organisation or std::nullopt if unknown.
  virtual absl::StatusOr<std::optional<v1::Organization>> GetOrg(absl::string_view org_id) = 0;

  // Returns every organisation ordered by org_id.
  virtual absl::StatusOr<std::vector<v1::Organization>> ListOrgs() = 0;

  // ---- Cases. Each mutation stores the case and its event atomically. ----

  // Inserts a new case (members from member_org_ids) and its CASE_OPENED
  // event. FAILED_PRECONDITION if the subject already has an open case (the
  // store enforces one open case per subject); ALREADY_EXISTS for a taken id.
  virtual absl::Status CreateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) = 0;

  // Replaces an existing case (members included) and appends `event`.
  // NOT_FOUND if absent.
  virtual absl::Status UpdateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) = 0;

  // The case, or nullopt.
  virtual absl::StatusOr<std::optional<v1::Case>> GetCase(absl::string_view case_id) = 0;

  // The subject's open case, or nullopt.
  virtual absl::StatusOr<std::optional<v1::Case>> FindOpenCase(absl::string_view subject_ref) = 0;

  // Cases `org_id` is a member of, newest first; state UNSPECIFIED = all.
  virtual absl::StatusOr<std::vector<v1::Case>> ListCasesForOrg(absl::string_view org_id,
                                                                v1::CaseState state,
                                                                uint32_t offset,
                                                                uint32_t limit) = 0;

  // A case's events, oldest first.
  virtual absl::StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(absl::string_view case_id) = 0;

  // ---- Consents, refusals and competence assessments: records plus
  // append-only events. ----

  // Inserts a consent whose history holds its GIVEN event. ALREADY_EXISTS
  // for a taken id.
  virtual absl::Status InsertConsent(const v1::Consent& consent, AuditEntries* audit) = 0;
  // Inserts a refusal whose history holds its GIVEN event.
  virtual absl::Status InsertRefusal(const v1::Refusal& refusal, AuditEntries* audit) = 0;
  // Inserts a competence assessment whose history holds its GIVEN event.
  virtual absl::Status InsertAssessment(const v1::CompetenceAssessment& assessment,
                                        AuditEntries* audit) = 0;
  // Appends an event to a consent's, refusal's or assessment's history.
  // NOT_FOUND if absent.
  virtual absl::Status AppendConsentEvent(absl::string_view record_id,
                                          const v1::ConsentEvent& event, AuditEntries* audit) = 0;

  // A subject's consents, refusals and competence assessments with full
  // histories; an empty subject_ref lists every subject's (engine rebuild
  // at start-up).
  struct ConsentRecords {
    std::vector<v1::Consent> consents;
    std::vector<v1::Refusal> refusals;
    std::vector<v1::CompetenceAssessment> assessments;
  };
  virtual absl::StatusOr<ConsentRecords> ListConsentRecords(absl::string_view subject_ref) = 0;
  // The one consent, refusal or assessment with this id (all vectors empty
  // if none).
  virtual absl::StatusOr<ConsentRecords> GetConsentRecord(absl::string_view record_id) = 0;

  // ---- Key bundles. ----

  // Stores a verified bundle as its org's current one and marks the org's
  // earlier bundles retired (they stay, to open old messages), atomically.
  // ALREADY_EXISTS if the key_id is taken.
  virtual absl::Status PublishKeyBundle(const v1::KeyBundle& bundle, AuditEntries* audit) = 0;
  // An org's bundles, newest first; retired ones only if asked.
  virtual absl::StatusOr<std::vector<v1::KeyBundle>> ListKeyBundles(absl::string_view org_id,
                                                                    bool include_retired) = 0;

  // ---- Messages and deliveries. ----

  // Stores an accepted message with its deliveries, durably (fsync) and
  // atomically. ALREADY_EXISTS if the sender used the message id already
  // (ids are unique per sender, not across senders). The index of the
  // first audit entry (MESSAGE_ACCEPTED) is stored as receipt.audit_index.
  virtual absl::Status InsertMessage(const MessageRecord& message, AuditEntries* audit) = 0;
  // InsertMessage without waiting: the message joins the next group commit,
  // and `done` is called once it is durable (or has failed), with the
  // entries and their indices. See WriteDone. `decided_at`: the message
  // discloses (a delivery marked DELIVERED) on a decision taken at that
  // token of changes(); if a change has begun since, nothing is written
  // and `done` gets ABORTED.
  virtual void InsertMessageAsync(std::shared_ptr<const MessageRecord> message, AuditEntries audit,
                                  WriteDone done, std::optional<uint64_t> decided_at) = 0;
  // The message `message_id` of `sender_org_id` with its deliveries, or nullopt.
  virtual absl::StatusOr<std::optional<MessageRecord>> GetMessage(absl::string_view sender_org_id,
                                                                  absl::string_view message_id) = 0;
  // Every delivery PENDING, or DELIVERED and not acked, of unexpired
  // messages whose body is kept, oldest message first: what the delivery
  // queues hold, read once at start-up.
  virtual absl::StatusOr<std::vector<UnfinishedDelivery>> UnfinishedDeliveries(int64_t now_us) = 0;
  // Sets a delivery's state (and attempts/next attempt). When every delivery
  // of the message is ACKED, EXPIRED_UNDELIVERED or NOTHING_PERMITTED, the
  // body is purged in the same transaction. NOT_FOUND if absent.
  virtual absl::Status UpdateDelivery(const DeliveryRecord& delivery, AuditEntries* audit) = 0;
  // The group commits of messages, delivery marks and acks so far.
  virtual CommitStats ReadCommitStats() = 0;
  // UpdateDelivery for several deliveries in one transaction (one fsync).
  virtual absl::Status UpdateDeliveries(const std::vector<DeliveryRecord>& deliveries,
                                        AuditEntries* audit) = 0;
  // UpdateDeliveries without waiting (durable before `done` only if one of
  // them is marked DELIVERED, as there). `done` is never called before this
  // returns, even for nothing to write. Changes that disclose nothing (acks,
  // releases) may wait a few milliseconds to share the next durable commit.
  // `decided_at` as for InsertMessageAsync: ABORTED, with nothing written,
  // if a decision input changed since.
  virtual void UpdateDeliveriesAsync(std::vector<DeliveryRecord> deliveries, AuditEntries audit,
                                     WriteDone done, std::optional<uint64_t> decided_at) = 0;
  // Moves the unfinished deliveries of messages expired at `now_us` to
  // EXPIRED_UNDELIVERED and purges their bodies; returns them. `audit_for`
  // makes the audit entries of each expired delivery (with its message),
  // appended in the same transaction.
  using ExpiryAudit =
      std::function<AuditEntries(const DeliveryRecord& delivery, const MessageRecord& message)>;
  virtual absl::StatusOr<std::vector<DeliveryRecord>> ExpireMessages(
      int64_t now_us, const ExpiryAudit& audit_for) = 0;
  // Attaches a notification sent outside a case to `case_id`, with its audit
  // entries, durably. FAILED_PRECONDITION if it is linked to a case already
  // (the caller checks first; this closes the race), NOT_FOUND if absent.
  virtual absl::Status LinkMessageToCase(absl::string_view sender_org_id,
                                         absl::string_view message_id, absl::string_view case_id,
                                         AuditEntries* audit) = 0;
  // Sets (or replaces) the restriction of a message's entries in the
  // subject report, with its audit entries, durably.
  virtual absl::Status PutReportRestriction(const ReportRestriction& restriction,
                                            AuditEntries* audit) = 0;
  // Every restriction recorded for a subject (in force or not).
  virtual absl::StatusOr<std::vector<ReportRestriction>> ListReportRestrictions(
      absl::string_view subject_ref) = 0;
  // A delivery by id, or nullopt.
  virtual absl::StatusOr<std::optional<DeliveryRecord>> GetDelivery(
      absl::string_view delivery_id) = 0;

  // ---- The audit log. ----

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
  // ---- Retention of the records beside the log (GDPR Art. 5(1)(e)). ----

  // Deletes cases closed before `closed_before_us`, with their members and
  // events. Returns how many cases.
  virtual absl::StatusOr<uint64_t> PurgeClosedCases(int64_t closed_before_us) = 0;
  // Deletes consents, refusals and competence assessments that ended (their
  // valid_until passed, or they were withdrawn) before `ended_before_us`,
  // with their events; returns (subject_ref, record id) of each.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  PurgeEndedConsentRecords(int64_t ended_before_us) = 0;
  // Deletes the metadata (receipt, deliveries) of messages accepted before
  // `accepted_before_us` whose ciphertext is already gone, and restrictions
  // reviewed before it. Returns how many messages.
  virtual absl::StatusOr<uint64_t> PurgeOldMessages(int64_t accepted_before_us) = 0;

  // Stores a signed tree head (idempotent for a size already stored).
  virtual absl::Status InsertTreeHead(const v1::SignedTreeHead& head) = 0;
  // The tree head of the largest size, or nullopt.
  virtual absl::StatusOr<std::optional<v1::SignedTreeHead>> LatestTreeHead() = 0;

  // ---- Decision inputs. ----

  // Every writer of something a delivery decision reads (consents, cases,
  // orgs, the policy) wraps its change in changes().Begin(), so that a
  // disclosure decided before it cannot commit after it
  // (change_sequence.h).
  ChangeSequence& changes() { return changes_; }

  // Starts telling `feed` what other instances on this database commit,
  // until StopFollowing() (which the owner calls before `feed` dies). A store
  // used by one instance only (SQLite; PostgreSQL in exclusive mode) has
  // nothing to follow: OK, and `feed` is never called.
  virtual absl::Status FollowOthers(ChangeFeed* feed) { return absl::OkStatus(); }
  virtual void StopFollowing() {}

 private:
  ChangeSequence changes_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_STORE_H_
