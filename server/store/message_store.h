// File: server/store/message_store.h
//
// Accepted messages and their deliveries (the group committer's writes),
// and the restrictions of messages' entries in subject reports.
//
// Part of Store (store.h), which says how errors are reported and how every
// mutating call appends its audit entries in its own transaction.
#ifndef SILTA_SERVER_STORE_MESSAGE_STORE_H_
#define SILTA_SERVER_STORE_MESSAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/common/histogram.h"
#include "server/store/audit_store.h"
#include "silta/v1/message.pb.h"

namespace silta::store {

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

// From a WriteDone: runs `then` on the committer's thread once every
// WriteDone of the batch has run, in the order asked. The answers callers
// wait for go out first, and what may come a moment later (a new message's
// delivery handed over in the commit) after them. Not for what must precede
// an answer of the same batch (a redelivery before the answer to its ack).
// Elsewhere it runs `then` at once.
void AfterTheAnswers(std::function<void()> then);

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
  std::string ground;        // a RestrictionGround code of the policy
  int64_t review_at_us = 0;  // left out while now < review_at
  int64_t set_at_us = 0;
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

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
  // and `done` gets ABORTED. `serialized_body`: message->body serialized,
  // if the caller has it already (the router has, from the content hash);
  // empty, the store serializes it.
  virtual void InsertMessageAsync(std::shared_ptr<const MessageRecord> message,
                                  std::string serialized_body, AuditEntries audit, WriteDone done,
                                  std::optional<uint64_t> decided_at) = 0;
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

  // Deletes the metadata (receipt, deliveries) of messages accepted before
  // `accepted_before_us` whose ciphertext is already gone, and restrictions
  // reviewed before it. Returns how many messages.
  virtual absl::StatusOr<uint64_t> PurgeOldMessages(int64_t accepted_before_us) = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_MESSAGE_STORE_H_
