#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "server/common/logging.h"
#include "server/routing/message_audit.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

using common::ToTimestamp;

void Router::Release(const identity::Caller& caller, const std::vector<std::string>& delivery_ids) {
  std::vector<QueuedDelivery> released;
  std::vector<store::DeliveryRecord> records;
  const absl::Time now = clock_();
  for (const std::string& id : delivery_ids) {
    std::optional<QueuedDelivery> q = queues_.Find(id);
    if (!q.has_value() || q->record.recipient_org_id != caller.org.org_id() ||
        q->record.state != v1::DELIVERED) {
      continue;
    }
    q->record.next_attempt_us = absl::ToUnixMicros(now);
    records.push_back(q->record);
    released.push_back(*std::move(q));
  }
  if (records.empty()) return;
  // A release changes nothing anyone sees: no audit entries, no fsync, and
  // the caller (a stream ending) does not wait for it.
  store_->UpdateDeliveriesAsync(
      std::move(records), {},
      [this, in_flight = InFlight(), org = caller.org.org_id(), released = std::move(released),
       now](absl::Status status, store::AuditEntries) mutable {
        if (!status.ok()) {
          // They stay waiting for their ack deadline, after which they are due.
          common::Log(common::LogLevel::kWarn, "delivery_release_failed",
                      {{"org_id", org}, {"error", std::string(status.message())}});
          return;
        }
        for (QueuedDelivery& q : released) queues_.Schedule(std::move(q), now, now);
        ScheduleWake({org});
      },
      /*decided_at=*/std::nullopt);
}

bool Router::TakeDueAsync(const identity::Caller& caller, absl::Duration ack_timeout,
                          uint32_t limit, DeliveriesDone done) {
  const absl::Time now = clock_();
  if (ack_timeout <= absl::ZeroDuration()) ack_timeout = options_.ack_timeout;
  queues_.Advance(now);
  // Before any decision input is read: the marks commit only while none
  // has changed since (store::ChangeSequence).
  const uint64_t decided_at = store_->changes().Settled();
  if (decided_at == store::ChangeSequence::kUnsettled) {
    // One is under way: a decision now would be aborted at its commit.
    // The stream is woken to decide once it has ended.
    store_->changes().CallWhenSettled(
        [this, in_flight = InFlight(), org = caller.org.org_id()] { ScheduleWake({org}); });
    return false;
  }
  std::vector<QueuedDelivery> taken = queues_.Take(caller.org.org_id(), limit);
  if (taken.empty()) return false;
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  // The recipient as registered now (the stream's caller is as it was when
  // the stream opened).
  const std::shared_ptr<const v1::Organization> recipient = orgs_->Get(caller.org.org_id());
  // What becomes of each taken delivery in memory once the store has
  // committed its new state: due again at `at`, or finished.
  struct Next {
    QueuedDelivery q;
    absl::Time at;
    bool finished = false;
  };
  std::vector<Next> next;
  std::vector<OutgoingDelivery> out;
  std::vector<store::DeliveryRecord> updates;
  store::AuditEntries audit;
  PathStats::Decisions decided;
  uint64_t first_attempts = 0;
  uint64_t later_attempts = 0;
  // Fail closed: when something a decision needs cannot be read, the
  // delivery stays pending and is tried again later; nothing is decided
  // without it.
  const auto defer = [&](QueuedDelivery q, absl::string_view why) {
    common::Log(common::LogLevel::kWarn, "delivery_deferred",
                {{"message_id", q.record.message_id},
                 {"org_id", caller.org.org_id()},
                 {"error", std::string(why)}});
    q.record.next_attempt_us = absl::ToUnixMicros(now + internal::kDecisionRetry);
    q.record.updated_at_us = absl::ToUnixMicros(now);
    updates.push_back(q.record);
    next.push_back({std::move(q), now + internal::kDecisionRetry});
  };
  for (QueuedDelivery& q : taken) {
    if (q.message == nullptr || !q.message->body.has_value()) {
      // Not held in memory (the bound, or loaded at start-up): read it back.
      absl::StatusOr<std::optional<store::MessageRecord>> read =
          store_->GetMessage(q.record.sender_org_id, q.record.message_id);
      if (!read.ok()) {
        defer(std::move(q), read.status().message());
        continue;
      }
      if (!read->has_value() || !(*read)->body.has_value()) {
        next.push_back({std::move(q), now, /*finished=*/true});  // purged or expired
        continue;
      }
      q.message = std::make_shared<const store::MessageRecord>(**std::move(read));
    }
    const store::MessageRecord& m = *q.message;
    if (m.expires_at_us <= absl::ToUnixMicros(now)) {
      next.push_back({std::move(q), now, /*finished=*/true});  // the ticker marks it expired
      continue;
    }
    const v1::SealedMessage& body = *m.body;
    std::shared_ptr<const v1::Case> c;
    if (!m.case_id.empty()) {
      // Without its case (subject, members) nothing about it can be decided.
      absl::StatusOr<std::shared_ptr<const v1::Case>> loaded = cases_->GetCaseUnchecked(m.case_id);
      if (!loaded.ok()) {
        defer(std::move(q), loaded.status().message());
        continue;
      }
      c = *std::move(loaded);
    }
    const std::shared_ptr<const v1::Organization> sender = orgs_->Get(m.sender_org_id);
    const bool justified = crypto::HasJustification(body);
    absl::StatusOr<bool> answers = AnswersRequest(body.header(), caller.org.org_id(), *policy);
    if (!answers.ok()) {
      defer(std::move(q), answers.status().message());
      continue;
    }
    // Re-decide at delivery: a withdrawn consent or removed member strips
    // fields now. The reasons are left out: the sender's receipt has them
    // from the Send, and the audit entries take the verdict and the rule.
    absl::flat_hash_set<std::string> permitted;
    std::vector<v1::Decision> permitted_decisions;
    std::vector<v1::Decision> revoked;
    for (const v1::SealedField& field : body.fields()) {
      if (sender == nullptr || recipient == nullptr) break;
      v1::Decision decision = Decide(body.header(), c.get(), m.subject_ref, *sender, *recipient,
                                     field, justified, *answers, now, *policy,
                                     /*with_reason=*/false);
      decided.Add(PathStats::kAtDelivery, decision);
      if (decision.verdict() == v1::PERMIT) {
        permitted.insert(field.path());
        permitted_decisions.push_back(std::move(decision));
      } else if (internal::PermittedAtSend(m.receipt, caller.org.org_id(), field.path())) {
        revoked.push_back(std::move(decision));
      }
    }
    store::DeliveryRecord& d = q.record;
    absl::StatusOr<std::optional<OutgoingDelivery>> disclosed = internal::Disclose(
        q.message, internal::SubjectRefOf(c.get(), m), permitted, std::move(permitted_decisions),
        revoked, *policy, now, ack_timeout, d, audit);
    if (!disclosed.ok()) {
      defer(std::move(q), disclosed.status().message());
      continue;
    }
    updates.push_back(d);
    if (!disclosed->has_value()) {
      next.push_back({std::move(q), now, /*finished=*/true});
      continue;
    }
    ++(d.attempts == 1 ? first_attempts : later_attempts);
    out.push_back(**std::move(disclosed));
    next.push_back({std::move(q), now + ack_timeout});
  }
  // One commit marks the whole batch, with the evidence of every
  // disclosure, before any of it is written: the deliveries go to `done`
  // only from the commit's completion.
  store_->UpdateDeliveriesAsync(
      std::move(updates), std::move(audit),
      [this, in_flight = InFlight(), now, next = std::move(next), out = std::move(out),
       decided = std::move(decided), first_attempts, later_attempts,
       done = std::move(done)](absl::Status committed, store::AuditEntries) mutable {
        if (absl::IsAborted(committed)) {
          // A decision input changed after these were decided: nothing
          // was written; they are due again at once, to be decided anew.
          for (Next& n : next) {
            std::optional<QueuedDelivery> before = queues_.Find(n.q.record.delivery_id);
            if (before.has_value()) queues_.Schedule(*std::move(before), now, now);
          }
          return done(std::vector<OutgoingDelivery>());
        }
        if (absl::IsFailedPrecondition(committed)) {
          // One of them was finished by another siltad instance (acked
          // there) before its notice arrived here: nothing was written.
          // Finished ones leave the queues; the others are decided again.
          std::vector<std::string> ids;
          for (const Next& n : next) ids.push_back(n.q.record.delivery_id);
          RecheckTaken(ids, now);
          return done(std::vector<OutgoingDelivery>());
        }
        if (!committed.ok()) {
          // Nothing changed in the store: every taken delivery is due
          // again, as it was, after the retry delay.
          for (Next& n : next) {
            std::optional<QueuedDelivery> before = queues_.Find(n.q.record.delivery_id);
            if (before.has_value())
              queues_.Schedule(*std::move(before), now + internal::kDecisionRetry, now);
          }
          return done(committed);
        }
        for (Next& n : next) {
          if (n.finished) {
            queues_.Forget(n.q.record.delivery_id);
          } else {
            queues_.Schedule(std::move(n.q), n.at, now);
          }
        }
        stats_.Delivered(first_attempts, later_attempts, decided);
        done(std::move(out));
      },
      decided_at);
  return true;
}

namespace internal {

absl::StatusOr<std::optional<OutgoingDelivery>> Disclose(
    const std::shared_ptr<const store::MessageRecord>& message, absl::string_view subject_ref,
    const absl::flat_hash_set<std::string>& permitted,
    std::vector<v1::Decision> permitted_decisions, const std::vector<v1::Decision>& revoked,
    const v1::Policy& policy, absl::Time now, absl::Duration ack_timeout, store::DeliveryRecord& d,
    store::AuditEntries& audit) {
  const store::MessageRecord& m = *message;
  const v1::SealedMessage& body = *m.body;
  SILTA_ASSIGN_OR_RETURN(crypto::Redaction redaction,
                         crypto::PlanRedaction(body, d.recipient_org_id,
                                               [&](absl::string_view, absl::string_view path) {
                                                 return permitted.contains(path);
                                               }));
  d.updated_at_us = absl::ToUnixMicros(now);
  if (redaction.fields.empty()) {
    d.state = v1::NOTHING_PERMITTED;
    for (v1::AuditEntry& e :
         DeliveryEntries(m, subject_ref, {}, revoked, d.attempts, policy, now)) {
      audit.push_back(std::move(e));
    }
    return std::optional<OutgoingDelivery>();
  }
  // Only the fields the recipient can open are disclosed.
  std::erase_if(permitted_decisions, [&](const v1::Decision& decision) {
    return std::none_of(redaction.fields.begin(), redaction.fields.end(),
                        [&](const crypto::Redaction::KeptField& k) {
                          return body.fields(k.field).path() == decision.field_path();
                        });
  });
  d.state = v1::DELIVERED;
  ++d.attempts;
  for (v1::AuditEntry& e :
       DeliveryEntries(m, subject_ref, permitted_decisions, revoked, d.attempts, policy, now)) {
    audit.push_back(std::move(e));
  }
  d.next_attempt_us = absl::ToUnixMicros(now + ack_timeout);
  // The body, kept alive by the record that holds it.
  return std::optional<OutgoingDelivery>(std::in_place, d.delivery_id, d.attempts,
                                         std::shared_ptr<const v1::SealedMessage>(message, &body),
                                         std::move(redaction));
}

}  // namespace internal

absl::StatusOr<std::vector<v1::Delivery>> Router::TakeDue(const identity::Caller& caller,
                                                          absl::Duration ack_timeout,
                                                          uint32_t limit) {
  SILTA_ASSIGN_OR_RETURN(std::vector<OutgoingDelivery> due,
                         internal::Wait<std::vector<OutgoingDelivery>>([&](DeliveriesDone done) {
                           if (!TakeDueAsync(caller, ack_timeout, limit, done)) {
                             done(std::vector<OutgoingDelivery>());
                           }
                         }));
  std::vector<v1::Delivery> out;
  for (const OutgoingDelivery& d : due) out.push_back(d.ToProto());
  return out;
}

absl::StatusOr<Router::PreparedAck> Router::PrepareAck(const identity::Caller& caller,
                                                       const v1::AckRequest& request) {
  // One id alone keeps the first round's errors; a batch reports per id.
  const bool batch = request.delivery_ids_size() > 0;
  const char* field = batch ? "delivery_ids" : "delivery_id";
  std::vector<std::string> ids;
  if (!batch || !request.delivery_id().empty()) ids.push_back(request.delivery_id());
  ids.insert(ids.end(), request.delivery_ids().begin(), request.delivery_ids().end());
  if (ids.size() > internal::kMaxAckBatch) {
    return internal::Invalid(field, absl::StrCat("at most ", internal::kMaxAckBatch, " per call"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : ids) {
    if (!crypto::IsCanonicalUuid(id))
      return internal::Invalid(field, "must be delivery_ids from Subscribe");
  }
  v1::AckResponse response;
  const auto reject = [&](const std::string& id, std::string reason) {
    v1::AckRejection* r = response.add_rejected();
    r->set_delivery_id(id);
    r->set_reason(std::move(reason));
  };
  const absl::Time now = clock_();
  std::vector<store::DeliveryRecord> updates;
  store::AuditEntries audit;
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) continue;
    // From the delivery queues when it is there as delivered (no store
    // read), else from the store (delivered before a restart or by
    // another instance, or already finished).
    std::optional<store::DeliveryRecord> d;
    std::shared_ptr<const store::MessageRecord> held;
    if (std::optional<QueuedDelivery> q = queues_.Find(id);
        q.has_value() && q->record.state == v1::DELIVERED) {
      d = std::move(q->record);
      held = std::move(q->message);
    } else {
      SILTA_ASSIGN_OR_RETURN(d, store_->GetDelivery(id));
    }
    if (!d.has_value() || d->recipient_org_id != caller.org.org_id()) {
      if (!batch) return absl::NotFoundError(absl::StrCat("no delivery ", id, " to you"));
      reject(id, "not found");
      continue;
    }
    if (d->state == v1::ACKED) continue;
    if (d->state != v1::DELIVERED) {
      if (!batch) {
        return absl::FailedPreconditionError(
            absl::StrCat("delivery ", id, " is ", v1::RecipientState_Name(d->state)));
      }
      reject(id, v1::RecipientState_Name(d->state));
      continue;
    }
    if (held == nullptr) {
      SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> m,
                             store_->GetMessage(d->sender_org_id, d->message_id));
      if (!m.has_value()) return absl::InternalError("a delivery without its message");
      held = std::make_shared<const store::MessageRecord>(*std::move(m));
    }
    const store::MessageRecord& m = *held;
    std::shared_ptr<const v1::Case> c;
    if (!m.case_id.empty()) {
      absl::StatusOr<std::shared_ptr<const v1::Case>> loaded = cases_->GetCaseUnchecked(m.case_id);
      if (loaded.ok()) c = *std::move(loaded);
    }
    d->state = v1::ACKED;
    d->updated_at_us = absl::ToUnixMicros(now);
    audit.push_back(AckEntry(m, internal::SubjectRefOf(c.get(), m), caller.org.org_id(), now));
    updates.push_back(*std::move(d));
  }
  PreparedAck prepared;
  prepared.response = std::move(response);
  prepared.updates = std::move(updates);
  prepared.audit = std::move(audit);
  return prepared;
}

void Router::AckAsync(const identity::Caller& caller, const v1::AckRequest& request, AckDone done) {
  absl::StatusOr<PreparedAck> prepared = PrepareAck(caller, request);
  if (!prepared.ok()) return done(prepared.status());
  if (prepared->updates.empty()) return done(std::move(prepared->response));
  std::vector<std::string> ids;
  for (const store::DeliveryRecord& d : prepared->updates) ids.push_back(d.delivery_id);
  // Every ack of the call rides the next commit, with its evidence; then
  // they are finished, wherever they were in the queues (an ack that
  // overtakes a redelivery ends it too).
  store_->UpdateDeliveriesAsync(
      std::move(prepared->updates), std::move(prepared->audit),
      [this, in_flight = InFlight(), ids = std::move(ids), response = std::move(prepared->response),
       done = std::move(done)](absl::Status status, store::AuditEntries) mutable {
        if (!status.ok()) return done(status);
        for (const std::string& id : ids) queues_.Forget(id);
        stats_.Acked(ids.size());
        done(std::move(response));
      },
      /*decided_at=*/std::nullopt);
}

absl::StatusOr<v1::AckResponse> Router::Ack(const identity::Caller& caller,
                                            const v1::AckRequest& request) {
  return internal::Wait<v1::AckResponse>(
      [&](std::function<void(absl::StatusOr<v1::AckResponse>)> done) {
        AckAsync(caller, request, std::move(done));
      });
}

absl::StatusOr<v1::GetMessageStatusResponse> Router::GetMessageStatus(
    const identity::Caller& caller, const v1::GetMessageStatusRequest& request) {
  if (!crypto::IsCanonicalUuid(request.message_id())) {
    return internal::Invalid("message_id", "must be a message id you sent");
  }
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> m,
                         store_->GetMessage(caller.org.org_id(), request.message_id()));
  if (!m.has_value()) {
    return absl::NotFoundError(absl::StrCat("you sent no message ", request.message_id()));
  }
  v1::GetMessageStatusResponse response;
  for (const store::DeliveryRecord& d : m->deliveries) {
    v1::RecipientStatus* s = response.add_recipients();
    s->set_recipient_org_id(d.recipient_org_id);
    s->set_state(d.state);
    *s->mutable_updated_at() = ToTimestamp(absl::FromUnixMicros(d.updated_at_us));
    s->set_attempts(d.attempts);
  }
  return response;
}

}  // namespace silta::routing
