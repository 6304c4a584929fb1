// File: server/routing/router.h
//
// Store-and-forward of sealed messages (DESIGN.md §7):
//   Send      authenticate (done by the service) → validate the header and
//             fields → verify the sender's signature with its published key
//             bundle → decide every (recipient, field) → drop the wrapped
//             keys of denied pairs → store message, decisions and
//             deliveries in one fsynced transaction → receipt.
//   delivery  re-decide every field for the recipient at delivery time
//             (consent may have been withdrawn, a member removed), redact,
//             mark DELIVERED with an ack deadline; unacked deliveries are
//             due again after the deadline (at-least-once).
//   Ack       marks ACKED; once every recipient is done the ciphertext is
//             purged and only metadata stays.
//   expiry    unfinished deliveries of expired messages become
//             EXPIRED_UNDELIVERED (the sender sees a dead letter). A
//             notification (a basis marked so) expires after its basis's
//             notification_ttl_hours, and its expiry is an alert.
//   notification outside a case: SendRequest.subject names the person
//             (kept as subject_ref); only the notification basis decides.
//             A recipient may link it to a case of that person
//             (LinkNotification), which shows it to the coordinator.
// Same message id and content: the original receipt; same id, other
// content: ALREADY_EXISTS.
//
// Errors: INVALID_ARGUMENT naming the field, PERMISSION_DENIED,
// FAILED_PRECONDITION, ALREADY_EXISTS, NOT_FOUND, UNAVAILABLE. Thread-safe.
//
// One job per file: router.cc (lifetime, recovery, the decision shared by
// Send and delivery), message_checks.cc (validation), router_accept.cc
// (Send), router_delivery.cc (taking, acks, releases, status),
// router_wakeups.cc (the ticker and subscribers' wake-ups),
// router_expiry.cc (expiry, each tick), router_notifications.cc (linking a
// notification to a case); router_internal.h has their shared helpers.
#ifndef SILTA_SERVER_ROUTING_ROUTER_H_
#define SILTA_SERVER_ROUTING_ROUTER_H_

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "server/cases/case_registry.h"
#include "server/cases/subject_refs.h"
#include "server/common/listeners.h"
#include "server/consent/engine.h"
#include "server/consent/policy_holder.h"
#include "server/identity/caller.h"
#include "server/orgs/key_directory.h"
#include "server/orgs/registry.h"
#include "server/routing/delivery_queues.h"
#include "server/routing/outgoing_delivery.h"
#include "server/routing/path_stats.h"
#include "server/store/store.h"
#include "silta/v1/message.pb.h"

namespace silta::routing {

struct RouterOptions {
  absl::Duration message_ttl = absl::Hours(24 * 14);
  absl::Duration ack_timeout = absl::Seconds(60);
  int max_recipients = 32;
  int max_fields = 64;
  // How often expiry and redelivery are checked.
  absl::Duration tick = absl::Seconds(1);
};

class Router {
 public:

  // All pointers must outlive the router.
  Router(store::Store* store, const orgs::OrgRegistry* orgs, orgs::KeyDirectory* keys,
         cases::CaseRegistry* cases, const cases::SubjectRefs* subject_refs,
         const consent::PolicyHolder* policy, const consent::DecisionEngine* engine,
         RouterOptions options, common::Clock clock = common::SystemClock());
  // Stops the background ticker, and waits for the completions of the
  // writes it queued.
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Loads the store's unfinished deliveries into the delivery queues (those
  // not queued yet): at start-up, before any call is served, and with
  // several instances whenever their notices may have been missed. An
  // error if they cannot be read (siltad must not start without them).
  absl::Status Recover();

  // Starts the ticker thread (expiry, and waking subscribers for redelivery).
  void Start();

  // One tick (expiry, wake-ups) now, without the thread.
  void TickForTest() { Tick(); }

  // Send, and `done` with the receipt once the message is durable (or with
  // the error). `done` runs on the calling thread for a refusal or a
  // repeated Send, else on the store's committer thread; it must not block.
  // The receipt is the stored message's own, shared and read-only (it keeps
  // the message in memory while it is held): the answer is written from it,
  // not from a copy. A repeated Send's is the one read back.
  using Receipt = std::shared_ptr<const v1::DeliveryReceipt>;
  using SendDone = std::function<void(absl::StatusOr<Receipt>)>;
  // The request is taken by value: its message moves into the stored record.
  void SendAsync(const identity::Caller& caller, v1::SendRequest request, SendDone done);
  // SendAsync, waiting for the result.
  absl::StatusOr<v1::SendResponse> Send(const identity::Caller& caller,
                                        const v1::SendRequest& request);
  // Ack, and `done` once the acks are committed (as SendAsync).
  using AckDone = std::function<void(absl::StatusOr<v1::AckResponse>)>;
  void AckAsync(const identity::Caller& caller, const v1::AckRequest& request, AckDone done);
  // AckAsync, waiting for the result.
  absl::StatusOr<v1::AckResponse> Ack(const identity::Caller& caller,
                                      const v1::AckRequest& request);
  absl::StatusOr<v1::GetMessageStatusResponse> GetMessageStatus(
      const identity::Caller& caller, const v1::GetMessageStatusRequest& request);
  // Attaches a notification sent outside a case, which the caller received,
  // to a case of the same person of which the caller is a member.
  absl::StatusOr<v1::LinkNotificationResponse> LinkNotification(
      const identity::Caller& caller, const v1::LinkNotificationRequest& request);

  // What the path has done since start (for /metrics).
  // ---- Several siltad instances on one database (router_instances.cc). ----

  // What another instance committed on the message path: a message's
  // deliveries join the queues here, and its recipients' streams here are
  // woken; deliveries made there wait here for the ack timeout; finished
  // ones leave the queues.
  // (When notices may have been missed, Recover() adds what is missing.)
  void OnPathElsewhere(const store::PathNotice& notice);

  const PathStats& stats() const { return stats_; }
  // The unfinished deliveries per recipient (for /metrics).
  const DeliveryQueues& queues() const { return queues_; }

  // Notifications that expired undelivered since start (an alert).
  uint64_t undelivered_notifications() const {
    return undelivered_notifications_.load(std::memory_order_relaxed);
  }

  // The caller's due deliveries from its queue, re-checked and redacted,
  // then marked DELIVERED with the ack deadline now + ack_timeout (0: the
  // default); `done` gets them once the marks and their audit entries are
  // durable (evidence before disclosure), on the committer's thread, never
  // before this returns. False, and `done` is not called, when nothing is
  // ready, or while a decision input is changing (the caller's subscribers
  // are woken once it has changed). The calling thread decides (and may read a case or a message
  // the queue does not hold) but never writes or waits for a commit.
  using DeliveriesDone = std::function<void(absl::StatusOr<std::vector<OutgoingDelivery>>)>;
  bool TakeDueAsync(const identity::Caller& caller, absl::Duration ack_timeout, uint32_t limit,
                    DeliveriesDone done);
  // TakeDueAsync, waiting for the result: the deliveries as the stream
  // would write them.
  absl::StatusOr<std::vector<v1::Delivery>> TakeDue(const identity::Caller& caller,
                                                    absl::Duration ack_timeout, uint32_t limit);

  // Makes deliveries that were taken but not written (the stream closed)
  // due again at once instead of after the ack timeout. Does not wait.
  void Release(const identity::Caller& caller, const std::vector<std::string>& delivery_ids);

  // A stream that a subscriber reserved for a message about to be committed
  // (Subscriber::claim): the delivery's ack timeout (0: the default), and
  // where the delivery goes once it is durable. The router calls `done`
  // exactly once: with the delivery, or with none if the Send failed.
  struct DirectTake {
    absl::Duration ack_timeout;
    DeliveriesDone done;
  };
  // A recipient's open stream, as the router sees it.
  struct Subscriber {
    // Deliveries may have become due: after a Send for the org, on every
    // tick. Called on the router's own thread (never on the caller of Send,
    // so a Send returns as soon as its message is durable).
    std::function<void()> wake;
    // Called on a Send's thread before its message is committed, when the
    // org has nothing else ready: a stream that is not taking deliveries
    // reserves itself and returns a DirectTake; the message's delivery to
    // the org is then marked DELIVERED, with its evidence, in the Send's
    // own commit (one fsync from Send to the stream). nullopt: busy; the
    // delivery goes through the queue.
    std::function<std::optional<DirectTake>()> claim;
    // Whether the stream will take from its queue again without a wake: a
    // take or a write of it is under way, and its end takes more (or it is
    // ending). Asked on the committer's thread after a committed Send's
    // deliveries joined the queue; a wake-up is scheduled only for an org
    // with a stream that is not busy. Empty: never busy.
    std::function<bool()> busy;
  };
  int AddSubscriber(absl::string_view org_id, Subscriber subscriber);
  void RemoveSubscriber(int id);

 private:
  // A Send checked and decided, ready to be stored (its receipt is the
  // record's); or, for a repeated Send of the same message, only the
  // original receipt.
  struct PreparedSend {
    Receipt repeated;
    std::shared_ptr<store::MessageRecord> message;
    // The record's body serialized, for the store; empty: the store
    // serializes it.
    std::string serialized_body;
    store::AuditEntries audit;
    // The person the message is about (for the delivery's audit entries).
    std::string subject_ref;
    std::shared_ptr<const v1::Policy> policy;
    absl::Time accepted;
    // The decision inputs' change sequence before any was read
    // (store::ChangeSequence::Settled): a disclosure in the Send's own
    // commit commits only while they are unchanged.
    uint64_t decided_at = 0;
    // Set by DiscloseAtSend when it decided a delivery: the deliveries and
    // the audit entries as they were before, to store the message undecided
    // when its inputs changed meanwhile.
    std::optional<std::vector<store::DeliveryRecord>> undecided;
    size_t acceptance_entries = 0;
  };
  // A delivery disclosed in its Send's own commit, and the stream it goes to.
  struct DirectDelivery {
    OutgoingDelivery delivery;
    DeliveriesDone done;
  };
  // Claims an idle stream of each recipient that has nothing else ready,
  // and marks the delivery to it DELIVERED in `prepared`, with its audit
  // entries, so that the Send's commit makes it durable.
  std::vector<DirectDelivery> DiscloseAtSend(PreparedSend& prepared, PathStats::Decisions& decided);
  // Commits a prepared Send with its direct deliveries, then joins its
  // deliveries to the queues and answers `done`. If a decision input
  // changed after the direct deliveries were decided, the message is
  // committed without them, and they go through the queue (decided again).
  void CommitSend(PreparedSend prepared, std::vector<DirectDelivery> direct,
                  PathStats::Decisions decided_at_delivery, int fields, SendDone done);
  // Moves the request's message into the prepared record (whether or not
  // it is prepared): the request is not read after.
  absl::StatusOr<PreparedSend> PrepareSend(const identity::Caller& caller,
                                           v1::SendRequest& request);
  // The checks and decisions of a message not stored before, by PrepareSend
  // once the request itself is valid; the message becomes the record's body.
  absl::StatusOr<PreparedSend> PrepareNewSend(const identity::Caller& caller,
                                              v1::SealedMessage message,
                                              std::shared_ptr<const v1::Policy> policy,
                                              const v1::StatutoryBasis* notification,
                                              const std::string& outside_case_subject_ref,
                                              std::string hash, std::string serialized,
                                              uint64_t decided_at);
  // The answer to a Send whose id turned out to be taken when it was
  // committed: the stored receipt if the content is the same.
  absl::StatusOr<Receipt> RepeatedSend(const store::MessageRecord& m) const;
  // An Ack checked: the response so far (ids rejected) and what to commit.
  struct PreparedAck {
    v1::AckResponse response;
    std::vector<store::DeliveryRecord> updates;
    store::AuditEntries audit;
  };
  absl::StatusOr<PreparedAck> PrepareAck(const identity::Caller& caller,
                                         const v1::AckRequest& request);
  absl::Status ValidateMessage(const identity::Caller& caller, const v1::SealedMessage& m,
                               const v1::Policy& policy) const;
  // Decision for one field to one recipient, now. `answers_request`: the
  // message answers the recipient's own InformationRequest (AnswersRequest).
  // `outside_case_subject_ref`: a notification's person when `c` is null.
  // `with_reason`: spell out the reason (consent::DecisionQuery).
  v1::Decision Decide(const v1::MessageHeader& header, const v1::Case* c,
                      absl::string_view outside_case_subject_ref, const v1::Organization& sender,
                      const v1::Organization& recipient, const v1::SealedField& field,
                      bool has_justification, bool answers_request, absl::Time at,
                      const v1::Policy& policy, bool with_reason) const;
  // Whether `header` answers an InformationRequest from `recipient_org_id`,
  // looked up only when its claimed basis needs it (false otherwise). An
  // error when the store cannot be read: the caller must not decide.
  absl::StatusOr<bool> AnswersRequest(const v1::MessageHeader& header,
                                      absl::string_view recipient_org_id,
                                      const v1::Policy& policy) const;
  // The response to a repeated link: the first link's audit index.
  absl::StatusOr<v1::LinkNotificationResponse> LinkResponse(const identity::Caller& caller,
                                                            const store::MessageRecord& m) const;
  // Queues a wake-up for the ticker thread (empty: everyone).
  // Taken deliveries whose marks were refused (one was finished by
  // another instance): each finished one leaves the queues, the others are
  // due again at once (router_instances.cc).
  void RecheckTaken(const std::vector<std::string>& delivery_ids, absl::Time now);
  void ScheduleWake(const std::vector<std::string>& org_ids);
  // Whether every stream of the org is busy (Subscriber::busy), or it has none.
  bool AllBusy(const std::string& org_id);
  // Calls the listeners of `org_ids` (empty: all) on this thread.
  void Wake(const std::vector<std::string>& org_ids);
  void Tick();

  store::Store* const store_;
  PathStats stats_;
  DeliveryQueues queues_;
  const orgs::OrgRegistry* const orgs_;
  orgs::KeyDirectory* const keys_;
  cases::CaseRegistry* const cases_;
  const cases::SubjectRefs* const subject_refs_;
  const consent::PolicyHolder* const policy_;
  const consent::DecisionEngine* const engine_;
  const RouterOptions options_;
  const common::Clock clock_;

  common::OrgListeners<Subscriber> listeners_;

  absl::Notification stop_;
  std::thread ticker_;
  // Orgs whose subscribers the ticker thread should wake.
  absl::Mutex wake_mu_;
  absl::CondVar wake_cv_;
  std::vector<std::string> wake_pending_ ABSL_GUARDED_BY(wake_mu_);
  bool wake_all_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::atomic<uint64_t> undelivered_notifications_{0};
  // Writes queued to the store whose completion has not run yet; held by
  // each completion (InFlight), awaited by the destructor.
  std::shared_ptr<void> InFlight();
  absl::Mutex in_flight_mu_;
  int in_flight_ ABSL_GUARDED_BY(in_flight_mu_) = 0;
};

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_ROUTER_H_
