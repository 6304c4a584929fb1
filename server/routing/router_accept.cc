#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "server/common/logging.h"
#include "server/routing/message_audit.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

using common::ToTime;
using common::ToTimestamp;

absl::StatusOr<Router::PreparedSend> Router::PrepareSend(const identity::Caller& caller,
                                                         v1::SendRequest& request) {
  const v1::SealedMessage& message = request.message();
  // Before any decision input is read (a disclosure at Send rests on it).
  const uint64_t decided_at = store_->changes().Settled();
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  SILTA_RETURN_IF_ERROR(ValidateMessage(caller, message, *policy));
  const v1::MessageHeader& header = message.header();
  const v1::StatutoryBasis* notification =
      internal::NotificationBasis(*policy, header.statutory_basis());
  // A notification outside a case names its person; the broker keeps only
  // the pseudonymous subject_ref.
  std::string outside_case_subject_ref;
  if (request.has_subject()) {
    if (!header.case_id().empty()) {
      return internal::Invalid(
          "subject", "a message in a case is about the case's person: leave subject unset");
    }
    if (notification == nullptr) {
      return internal::Invalid(
          "subject",
          absl::StrCat("only a notification may be sent about a person outside a case, "
                       "and ",
                       header.statutory_basis().empty()
                           ? std::string("no statutory basis is claimed")
                           : absl::StrCat(header.statutory_basis(), " is not a notification basis"),
                       "; claim one (e.g. lsl_25) or open a case and send it there"));
    }
    SILTA_ASSIGN_OR_RETURN(cases::SubjectRefs::Subject subject,
                           subject_refs_->Resolve(request.subject().hetu()));
    outside_case_subject_ref = std::move(subject.ref);
  }
  // A message without a case or a person (an anonymous consultation) may not
  // carry identifying data at all: it is refused whole, before anything is
  // stored.
  if (header.case_id().empty() && outside_case_subject_ref.empty()) {
    for (int i = 0; i < message.fields_size(); ++i) {
      const v1::SealedField& field = message.fields(i);
      const v1::CategoryPolicy* category = policy::FindCategory(*policy, field.category());
      if (category == nullptr || category->identifying()) {
        return internal::Invalid(
            absl::StrCat("fields[", i, "] (", field.path(), ")"),
            absl::StrCat(v1::Category_Name(field.category()),
                         " identifies the young person; a message without a case may "
                         "carry only non-identifying categories: leave the field out, "
                         "or open a case and send it there"));
      }
    }
  }
  std::string serialized;
  std::string hash = internal::ContentHash(message, &serialized);
  // The message moves into the record; `message` and `header` are not read after.
  const std::string message_id = header.message_id();
  absl::StatusOr<PreparedSend> prepared =
      PrepareNewSend(caller, std::move(*request.mutable_message()), policy, notification,
                     outside_case_subject_ref, hash, std::move(serialized), decided_at);
  if (prepared.ok()) return prepared;
  // Idempotency, per sender: a retried Send gets the original receipt, even
  // when it would be refused now (its created_at has grown old, the key it
  // was signed with is retired, the case is closed). Another sender's ids
  // are neither taken nor revealed. A new message's id is not looked up
  // before it is prepared: its INSERT finds a taken id (CommitSend).
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> existing,
                         store_->GetMessage(caller.org.org_id(), message_id));
  if (!existing.has_value()) return prepared.status();
  if (existing->content_hash == hash && existing->subject_ref == outside_case_subject_ref) {
    PreparedSend repeated;
    repeated.repeated = std::make_shared<const v1::DeliveryReceipt>(std::move(existing->receipt));
    return repeated;
  }
  return internal::OtherContent(message_id);
}

absl::StatusOr<Router::PreparedSend> Router::PrepareNewSend(
    const identity::Caller& caller, v1::SealedMessage message,
    std::shared_ptr<const v1::Policy> policy, const v1::StatutoryBasis* notification,
    const std::string& outside_case_subject_ref, std::string hash, std::string serialized,
    uint64_t decided_at) {
  const v1::MessageHeader& header = message.header();
  // A new message is signed now, with the sender's current key (or one
  // replaced moments ago), and sealed to each recipient's usable key.
  const absl::Time accepted = clock_();
  const absl::Time created = ToTime(header.created_at());
  if (created > accepted + internal::kClockSkew || created < accepted - internal::kClockSkew) {
    return internal::Invalid("header.created_at",
                             absl::StrCat(absl::FormatTime(created, absl::UTCTimeZone()),
                                          " is more than 5 minutes from the broker's clock (",
                                          absl::FormatTime(accepted, absl::UTCTimeZone()),
                                          "); set it when sealing and check the system clock"));
  }
  SILTA_ASSIGN_OR_RETURN(const std::shared_ptr<const v1::KeyBundle> bundle,
                         keys_->UsableBundle(caller.org.org_id(), header.sender_key_id(), accepted,
                                             "header.sender_key_id"));
  for (int i = 0; i < message.recipient_contexts_size(); ++i) {
    const v1::RecipientContext& rc = message.recipient_contexts(i);
    SILTA_RETURN_IF_ERROR(
        keys_
            ->UsableBundle(rc.recipient_org_id(), rc.recipient_key_id(), accepted,
                           absl::StrCat("message.recipient_contexts[", i, "].recipient_key_id"))
            .status());
  }
  SILTA_ASSIGN_OR_RETURN(std::string manifest, crypto::ManifestBytes(header, message.fields(), {}));
  if (!crypto::Ed25519Verify(bundle->signing_public_key(), manifest, message.signature()).ok()) {
    return internal::Invalid("message.signature",
                             "does not verify with the sender's published signing key");
  }

  // The case: the sender must be a member of an open case.
  std::shared_ptr<const v1::Case> c;
  if (!header.case_id().empty()) {
    SILTA_ASSIGN_OR_RETURN(c, cases_->GetCaseForMember(caller, header.case_id()));
    if (c->state() != v1::OPEN) {
      return absl::FailedPreconditionError(absl::StrCat("case ", c->case_id(), " is closed"));
    }
  }

  // Decide every (recipient, field); keep wrapped keys only where permitted.
  const absl::Time now = clock_();
  const bool justified = crypto::HasJustification(message);
  v1::DeliveryReceipt receipt;
  receipt.set_message_id(header.message_id());
  *receipt.mutable_accepted_at() = ToTimestamp(now);
  store::MessageRecord record;
  record.message_id = header.message_id();
  record.sender_org_id = caller.org.org_id();
  record.case_id = header.case_id();
  record.subject_ref = outside_case_subject_ref;
  record.content_hash = std::move(hash);
  record.accepted_at_us = absl::ToUnixMicros(now);
  // A notification the law wants delivered without delay expires within
  // hours, so that an undelivered one is raised while it still matters.
  const absl::Duration ttl = notification != nullptr
                                 ? absl::Hours(notification->notification_ttl_hours())
                                 : options_.message_ttl;
  record.expires_at_us = absl::ToUnixMicros(now + ttl);
  receipt.set_payload_type(header.payload_type());
  receipt.set_statutory_basis(header.statutory_basis());
  bool keys_dropped = false;
  for (const std::string& recipient_id : header.recipient_org_ids()) {
    const std::shared_ptr<const v1::Organization> recipient = orgs_->Get(recipient_id);
    if (recipient == nullptr) {  // checked in ValidateMessage; organisations are never removed
      return internal::Invalid("header.recipient_org_ids",
                               absl::StrCat(recipient_id, " is not registered"));
    }
    SILTA_ASSIGN_OR_RETURN(const bool answers, AnswersRequest(header, recipient_id, *policy));
    int permitted = 0;
    // The recipient's wrapped keys are dropped where it is denied (the
    // header, read here, is left as it is).
    for (v1::SealedField& field : *message.mutable_fields()) {
      v1::Decision d = Decide(header, c.get(), outside_case_subject_ref, caller.org, *recipient,
                              field, justified, answers, now, *policy, /*with_reason=*/true);
      const bool has_key = std::any_of(
          field.wrapped_keys().begin(), field.wrapped_keys().end(),
          [&](const v1::WrappedKey& k) { return k.recipient_org_id() == recipient_id; });
      if (d.verdict() == v1::PERMIT && has_key) {
        ++permitted;
      } else {
        auto* keys = field.mutable_wrapped_keys();
        const auto dropped = std::remove_if(
            keys->begin(), keys->end(),
            [&](const v1::WrappedKey& k) { return k.recipient_org_id() == recipient_id; });
        keys_dropped = keys_dropped || dropped != keys->end();
        keys->erase(dropped, keys->end());
        if (d.verdict() == v1::PERMIT) {
          d.set_verdict(v1::DENY);
          d.set_reason("permitted, but the sender sealed no key for this recipient");
        }
      }
      *receipt.add_decisions() = std::move(d);
    }
    store::DeliveryRecord delivery;
    SILTA_ASSIGN_OR_RETURN(delivery.delivery_id, crypto::NewUuidV7(now));
    delivery.sender_org_id = record.sender_org_id;
    delivery.message_id = record.message_id;
    delivery.recipient_org_id = recipient_id;
    delivery.state = permitted > 0 ? v1::PENDING : v1::NOTHING_PERMITTED;
    delivery.updated_at_us = record.accepted_at_us;
    record.deliveries.push_back(std::move(delivery));
  }
  PreparedSend prepared;
  prepared.subject_ref = internal::SubjectRefOf(c.get(), record);
  prepared.audit = AcceptanceEntries(message, prepared.subject_ref, receipt, *policy, now);
  record.body = std::move(message);
  record.receipt = std::move(receipt);
  // The bytes hashed are the body's as stored, unless a key was dropped.
  if (!keys_dropped) prepared.serialized_body = std::move(serialized);
  prepared.message = std::make_shared<store::MessageRecord>(std::move(record));
  prepared.policy = std::move(policy);
  prepared.accepted = now;
  prepared.decided_at = decided_at;
  return prepared;
}

void Router::SendAsync(const identity::Caller& caller, v1::SendRequest request, SendDone done) {
  const int fields = request.message().fields_size();
  absl::StatusOr<PreparedSend> prepared = PrepareSend(caller, request);
  if (!prepared.ok()) return done(prepared.status());
  if (prepared->repeated != nullptr) return done(std::move(prepared->repeated));
  PathStats::Decisions decided_at_delivery;
  std::vector<DirectDelivery> direct;
  // A decision input was changing while this Send was decided: a hand-over
  // in its commit would not commit; its deliveries go through the queue.
  if (prepared->decided_at != store::ChangeSequence::kUnsettled) {
    direct = DiscloseAtSend(*prepared, decided_at_delivery);
  }
  CommitSend(*std::move(prepared), std::move(direct), std::move(decided_at_delivery), fields,
             std::move(done));
}

void Router::CommitSend(PreparedSend prepared, std::vector<DirectDelivery> direct,
                        PathStats::Decisions decided_at_delivery, int fields, SendDone done) {
  std::shared_ptr<const store::MessageRecord> held = prepared.message;
  std::string serialized_body = std::move(prepared.serialized_body);
  store::AuditEntries audit = std::move(prepared.audit);
  const std::optional<uint64_t> decided_at =
      prepared.undecided.has_value() ? std::optional<uint64_t>(prepared.decided_at) : std::nullopt;
  // The receipt is given once the message is durable, on the committer's
  // thread; the gRPC thread that took the call is free meanwhile.
  store_->InsertMessageAsync(
      held, std::move(serialized_body), std::move(audit),
      [this, in_flight = InFlight(), prepared = std::move(prepared), direct = std::move(direct),
       decided_at_delivery = std::move(decided_at_delivery), fields,
       done = std::move(done)](absl::Status status, store::AuditEntries entries) mutable {
        const store::MessageRecord& m = *prepared.message;
        if (!status.ok()) {
          // Nothing was disclosed: the reserved streams take from their queues again.
          for (DirectDelivery& d : direct) d.done(std::vector<OutgoingDelivery>());
        }
        if (absl::IsAborted(status) && prepared.undecided.has_value()) {
          // A consent, case, org or the policy changed after the direct
          // deliveries were decided: store the message without them; its
          // deliveries are decided again from the queue.
          prepared.message->deliveries = *std::move(prepared.undecided);
          prepared.undecided.reset();
          entries.resize(prepared.acceptance_entries);
          prepared.audit = std::move(entries);
          return CommitSend(std::move(prepared), {}, {}, fields, std::move(done));
        }
        if (absl::IsAlreadyExists(status)) {
          // The same id was committed meanwhile, by a retry that overtook
          // this one: the same content gets that receipt.
          return done(RepeatedSend(m));
        }
        if (!status.ok()) return done(status);
        // Before the record is queued, where other threads read it; they
        // never read this field.
        prepared.message->receipt.set_audit_index(entries.front().index());
        // Its deliveries join their recipients' queues, with the message,
        // so that no delivery reads it back; those disclosed in this commit
        // wait there for their ack.
        std::vector<std::string> to_wake;
        for (const store::DeliveryRecord& d : m.deliveries) {
          if (d.state == v1::PENDING) to_wake.push_back(d.recipient_org_id);
          if (d.state == v1::PENDING || d.state == v1::DELIVERED) {
            queues_.Add({d, prepared.message}, m.accepted_at_us, prepared.accepted);
          }
        }
        // Now that they are queued: an org whose streams are all busy takes
        // them when its take or write under way ends, without a wake-up (a
        // thread hand-over per message under load).
        std::erase_if(to_wake, [this](const std::string& org_id) { return AllBusy(org_id); });
        PathStats::Decisions decided;
        for (const v1::Decision& d : m.receipt.decisions()) decided.Add(PathStats::kAtSend, d);
        stats_.Accepted(decided);
        // The receipt first, then the deliveries handed over in this
        // commit, after the batch's other answers: each is a write on this
        // thread, and the receipt's is the shorter (docs/message-path-log.md,
        // "the order of a Send's completions"). A new message's delivery
        // can have no ack in this batch.
        done(Receipt(prepared.message, &prepared.message->receipt));
        if (!direct.empty()) {
          stats_.Delivered(direct.size(), 0, decided_at_delivery);
          store::AfterTheAnswers([in_flight, direct = std::move(direct)]() mutable {
            for (DirectDelivery& d : direct) {
              // Moved in, not through an initializer list, which would copy it.
              std::vector<OutgoingDelivery> one;
              one.push_back(std::move(d.delivery));
              d.done(std::move(one));
            }
          });
        }
        // Debug: each message is in the audit log and the path's metrics; a
        // line per message at info would cost the committer more than its
        // SQL for the message row (the JSON printer, measured).
        common::Log(common::LogLevel::kDebug, "message_accepted",
                    {{"message_id", m.message_id},
                     {"sender_org_id", m.sender_org_id},
                     {"case_id", m.case_id},
                     {"recipients", absl::StrCat(m.deliveries.size())},
                     {"fields", absl::StrCat(fields)}});
        if (!to_wake.empty()) ScheduleWake(to_wake);
      },
      decided_at);
}

std::vector<Router::DirectDelivery> Router::DiscloseAtSend(PreparedSend& prepared,
                                                           PathStats::Decisions& decided) {
  std::vector<DirectDelivery> direct;
  store::MessageRecord& m = *prepared.message;
  for (store::DeliveryRecord& d : m.deliveries) {
    // Older deliveries to the org go first, through its queue.
    if (d.state != v1::PENDING || queues_.HasReady(d.recipient_org_id)) continue;
    std::optional<DirectTake> take;
    for (const Subscriber& s : listeners_.Of({d.recipient_org_id})) {
      take = s.claim();
      if (take.has_value()) break;
    }
    if (!take.has_value()) continue;
    // Decided a moment ago, at Send, with the same inputs as a delivery now.
    absl::flat_hash_set<std::string> permitted;
    std::vector<v1::Decision> permitted_decisions;
    for (const v1::Decision& decision : m.receipt.decisions()) {
      if (decision.recipient_org_id() != d.recipient_org_id) continue;
      decided.Add(PathStats::kAtDelivery, decision);
      if (decision.verdict() != v1::PERMIT) continue;
      permitted.insert(decision.field_path());
      permitted_decisions.push_back(decision);
    }
    const absl::Duration ack_timeout =
        take->ack_timeout > absl::ZeroDuration() ? take->ack_timeout : options_.ack_timeout;
    if (!prepared.undecided.has_value()) {
      prepared.undecided = m.deliveries;
      prepared.acceptance_entries = prepared.audit.size();
    }
    absl::StatusOr<std::optional<OutgoingDelivery>> disclosed = internal::Disclose(
        prepared.message, prepared.subject_ref, permitted, std::move(permitted_decisions), {},
        *prepared.policy, prepared.accepted, ack_timeout, d, prepared.audit);
    if (!disclosed.ok() || !disclosed->has_value()) {
      // Left pending (or nothing to disclose, recorded): the stream is free again.
      take->done(std::vector<OutgoingDelivery>());
      continue;
    }
    direct.push_back({**std::move(disclosed), std::move(take->done)});
  }
  return direct;
}

absl::StatusOr<Router::Receipt> Router::RepeatedSend(const store::MessageRecord& m) const {
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> stored,
                         store_->GetMessage(m.sender_org_id, m.message_id));
  if (!stored.has_value() || stored->content_hash != m.content_hash ||
      stored->subject_ref != m.subject_ref) {
    return internal::OtherContent(m.message_id);
  }
  return std::make_shared<const v1::DeliveryReceipt>(std::move(stored->receipt));
}

absl::StatusOr<v1::SendResponse> Router::Send(const identity::Caller& caller,
                                              const v1::SendRequest& request) {
  SILTA_ASSIGN_OR_RETURN(const Receipt receipt, internal::Wait<Receipt>([&](SendDone done) {
                           SendAsync(caller, request, std::move(done));
                         }));
  v1::SendResponse response;
  *response.mutable_receipt() = *receipt;
  return response;
}

}  // namespace silta::routing
