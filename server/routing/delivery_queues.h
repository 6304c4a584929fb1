// File: server/routing/delivery_queues.h
//
// The unfinished deliveries, in memory, one queue per recipient org
// (DESIGN.md §7 "Delivery queues in memory"). The store stays the record:
// every state change is committed there first, and the queues are rebuilt
// from it at start-up. What the queues save is the store read per
// delivery: a committed Send feeds them its deliveries with the message,
// and a subscriber takes ready ones without asking the store.
//
// A delivery is in one of three places:
//   ready    due now, in its org's queue, oldest first;
//   waiting  until a time: an ack deadline (DELIVERED), or a retry;
//            Advance() moves it to ready when the time comes;
//   taken    handed to a stream by Take(), until Schedule() or Forget().
// Forget() removes one wherever it is (acked, expired, nothing permitted);
// a Schedule() of a delivery forgotten while taken is ignored, so an ack
// that overtakes a redelivery is never undone.
//
// Memory is bounded: at most `max_held_messages` deliveries hold their
// message; beyond that a delivery keeps only its record, and the message
// is read back from the store when it is taken (message == nullptr).
//
// Thread-safe.
#ifndef SILTA_SERVER_ROUTING_DELIVERY_QUEUES_H_
#define SILTA_SERVER_ROUTING_DELIVERY_QUEUES_H_

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/store.h"

namespace silta::routing {

// One recipient organisation's unfinished deliveries: PENDING, or
// DELIVERED and not yet acked. What an operator watches, as RabbitMQ's
// queue view shows a queue's depth and the age of its head.
struct RecipientBacklog {
  std::string recipient_org_id;
  uint64_t deliveries = 0;
  int64_t oldest_accepted_us = 0;  // when the oldest one's message was accepted
};

// One delivery in memory, with its message when held.
struct QueuedDelivery {
  store::DeliveryRecord record;
  std::shared_ptr<const store::MessageRecord> message;  // nullptr: read it from the store
};

class DeliveryQueues {
 public:
  explicit DeliveryQueues(size_t max_held_messages = 15000)
      : max_held_messages_(max_held_messages) {}
  DeliveryQueues(const DeliveryQueues&) = delete;
  DeliveryQueues& operator=(const DeliveryQueues&) = delete;

  // An unfinished delivery (a committed Send's, or the store's at start-up),
  // due at record.next_attempt_us (ready at once if that has passed).
  // `accepted_us`: when its message was accepted (the backlog's age).
  void Add(QueuedDelivery d, int64_t accepted_us, absl::Time now);

  // Up to `limit` ready deliveries of `org`, oldest first, now taken.
  std::vector<QueuedDelivery> Take(absl::string_view org, size_t limit);

  // Whether `org` has deliveries ready now.
  bool HasReady(absl::string_view org) const;

  // A known delivery, updated, due again at `at` (after it was taken: an
  // ack deadline or a retry; a release: now). Ignored if it was forgotten
  // meanwhile.
  void Schedule(QueuedDelivery d, absl::Time at, absl::Time now);

  // Removes a delivery wherever it is; false if it was not known.
  bool Forget(absl::string_view delivery_id);

  // A known delivery, for Ack and Release.
  std::optional<QueuedDelivery> Find(absl::string_view delivery_id) const;

  // Makes the deliveries whose time has come ready; the orgs they are for.
  std::vector<std::string> Advance(absl::Time now);

  // Per recipient org, the deliveries known and the oldest's acceptance.
  std::vector<RecipientBacklog> Backlog() const;

  size_t size() const;

 private:
  enum class Where { kReady, kWaiting, kTaken };
  struct Entry {
    QueuedDelivery d;
    int64_t accepted_us = 0;
    uint64_t seq = 0;  // arrival order: the order of the ready queue
    Where where = Where::kReady;
    int64_t at_us = 0;  // kWaiting: when it becomes ready
  };

  void MakeReadyLocked(const std::string& id, Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WaitLocked(const std::string& id, Entry& e, int64_t at_us)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnlinkLocked(const std::string& id, const Entry& e) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void HoldLocked(QueuedDelivery& d) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_held_messages_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Per org: ready deliveries by arrival.
  absl::flat_hash_map<std::string, std::map<uint64_t, std::string>> ready_ ABSL_GUARDED_BY(mu_);
  // Waiting deliveries by the time they become ready.
  std::set<std::pair<int64_t, std::string>> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  size_t held_ ABSL_GUARDED_BY(mu_) = 0;  // entries holding their message
};

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_DELIVERY_QUEUES_H_
