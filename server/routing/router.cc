#include "server/routing/router.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "server/common/logging.h"
#include "server/consent/request_link.h"
#include "server/routing/message_audit.h"
#include "server/routing/message_checks.h"
#include "silta/v1/payloads.pb.h"

namespace silta::routing {
namespace {

using common::ToTime;
using common::ToTimestamp;

using crypto::kJustificationPath;
// Tolerated difference between the sender's clock (header.created_at) and
// the key bundle's validity, which the sender's own clock also set.
constexpr absl::Duration kClockSkew = absl::Minutes(5);
// When something a delivery decision needs cannot be read, it is retried
// after this long (the message stays pending; nothing is decided without it).
constexpr absl::Duration kDecisionRetry = absl::Seconds(5);

// Deliveries one Ack call may confirm.
constexpr size_t kMaxAckBatch = 1000;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

std::string ContentHash(const v1::SealedMessage& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  const auto digest = crypto::Sha256(bytes);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

// The person a message is about: its case's subject, or a notification's
// outside a case (empty for an anonymous consultation).
std::string SubjectRefOf(const std::optional<v1::Case>& c, const store::MessageRecord& m) {
  return c.has_value() ? c->subject_ref() : m.subject_ref;
}

// The claimed basis if it is a notification (policy), else nullptr.
const v1::StatutoryBasis* NotificationBasis(const v1::Policy& policy, absl::string_view code) {
  const v1::StatutoryBasis* b = code.empty() ? nullptr : policy::FindStatute(policy, code);
  return b != nullptr && b->notification() ? b : nullptr;
}

// Whether the receipt permitted `path` to `recipient_org_id` at Send.
bool PermittedAtSend(const v1::DeliveryReceipt& receipt, absl::string_view recipient_org_id,
                     absl::string_view path) {
  return std::any_of(receipt.decisions().begin(), receipt.decisions().end(),
                     [&](const v1::Decision& d) {
                       return d.recipient_org_id() == recipient_org_id && d.field_path() == path &&
                              d.verdict() == v1::PERMIT;
                     });
}

// Runs `start(done)`, an ...Async call, and waits for its `done`.
template <typename T, typename Start>
absl::StatusOr<T> Wait(Start start) {
  absl::Notification finished;
  absl::StatusOr<T> result;
  start([&](absl::StatusOr<T> r) {
    result = std::move(r);
    finished.Notify();
  });
  finished.WaitForNotification();
  return result;
}

absl::Status OtherContent(absl::string_view message_id) {
  return absl::AlreadyExistsError(absl::StrCat(
      "message ", message_id, " was already sent by you with other content; use a new id"));
}

}  // namespace

Router::Router(store::Store* store, const orgs::OrgRegistry* orgs, orgs::KeyDirectory* keys,
               cases::CaseRegistry* cases, const cases::SubjectRefs* subject_refs,
               const consent::PolicyHolder* policy, const consent::DecisionEngine* engine,
               RouterOptions options, common::Clock clock)
    : store_(store),
      orgs_(orgs),
      keys_(keys),
      cases_(cases),
      subject_refs_(subject_refs),
      policy_(policy),
      engine_(engine),
      options_(options),
      clock_(std::move(clock)) {}

Router::~Router() {
  stop_.Notify();
  {
    absl::MutexLock lock(&wake_mu_);
    wake_cv_.SignalAll();
  }
  if (ticker_.joinable()) ticker_.join();
  // The store outlives the router, and calls back into it when a write the
  // router queued is committed: wait for the last of those.
  absl::MutexLock lock(&in_flight_mu_);
  in_flight_mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &in_flight_));
}

std::shared_ptr<void> Router::InFlight() {
  absl::MutexLock lock(&in_flight_mu_);
  ++in_flight_;
  return std::shared_ptr<void>(nullptr, [this](void*) {
    absl::MutexLock lock(&in_flight_mu_);
    --in_flight_;
  });
}

void Router::Start() {
  ticker_ = std::thread([this] {
    absl::Time next_tick = absl::Now() + options_.tick;
    while (!stop_.HasBeenNotified()) {
      std::vector<std::string> orgs;
      bool all = false;
      {
        absl::MutexLock lock(&wake_mu_);
        while (wake_pending_.empty() && !wake_all_ && !stop_.HasBeenNotified() &&
               absl::Now() < next_tick) {
          wake_cv_.WaitWithDeadline(&wake_mu_, next_tick);
        }
        orgs.swap(wake_pending_);
        all = wake_all_;
        wake_all_ = false;
      }
      if (stop_.HasBeenNotified()) break;
      if (absl::Now() >= next_tick) {
        Tick();  // wakes everyone
        next_tick = absl::Now() + options_.tick;
      } else if (all || !orgs.empty()) {
        Wake(all ? std::vector<std::string>() : orgs);
      }
    }
  });
}

void Router::ScheduleWake(const std::vector<std::string>& org_ids) {
  absl::MutexLock lock(&wake_mu_);
  if (org_ids.empty()) {
    wake_all_ = true;
  } else {
    wake_pending_.insert(wake_pending_.end(), org_ids.begin(), org_ids.end());
  }
  wake_cv_.Signal();
}

absl::Status Router::Recover() {
  const absl::Time now = clock_();
  absl::StatusOr<std::vector<store::UnfinishedDelivery>> unfinished =
      store_->UnfinishedDeliveries(absl::ToUnixMicros(now));
  if (!unfinished.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot read the unfinished deliveries: ", unfinished.status().message()));
  }
  for (store::UnfinishedDelivery& u : *unfinished) {
    queues_.Add({std::move(u.delivery), nullptr}, u.accepted_us, now);
  }
  common::Log(common::LogLevel::kInfo, "delivery_queues_loaded",
              {{"deliveries", absl::StrCat(unfinished->size())}});
  return absl::OkStatus();
}

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
      });
}

void Router::Tick() {
  const absl::Time now = clock_();
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  absl::StatusOr<std::vector<store::DeliveryRecord>> expired = store_->ExpireMessages(
      absl::ToUnixMicros(now),
      [&](const store::DeliveryRecord& d, const store::MessageRecord& m) -> store::AuditEntries {
        // An undelivered notification is an alert: the law wanted it
        // delivered without delay. The sender sees EXPIRED_UNDELIVERED.
        if (NotificationBasis(*policy, m.receipt.statutory_basis()) != nullptr) {
          undelivered_notifications_.fetch_add(1, std::memory_order_relaxed);
          common::Log(common::LogLevel::kError, "notification_undelivered",
                      {{"message_id", m.message_id},
                       {"sender_org_id", m.sender_org_id},
                       {"recipient_org_id", d.recipient_org_id},
                       {"statutory_basis", m.receipt.statutory_basis()}});
        }
        return {ExpiryEntry(m, d.recipient_org_id, now)};
      });
  if (!expired.ok()) {
    common::Log(common::LogLevel::kError, "message_expiry_failed",
                {{"error", std::string(expired.status().message())}});
  } else if (!expired->empty()) {
    for (const store::DeliveryRecord& d : *expired) queues_.Forget(d.delivery_id);
    common::Log(common::LogLevel::kInfo, "deliveries_expired",
                {{"count", absl::StrCat(expired->size())}});
  }
  queues_.Advance(now);
  Wake({});  // every subscriber: redeliveries may be due
}

int Router::AddWakeListener(absl::string_view org_id, WakeListener listener) {
  return listeners_.Add(org_id, std::move(listener));
}

void Router::RemoveWakeListener(int id) { listeners_.Remove(id); }

void Router::Wake(const std::vector<std::string>& org_ids) {
  for (const WakeListener& listener : listeners_.Of(org_ids)) listener();
}

absl::Status Router::ValidateMessage(const identity::Caller& caller, const v1::SealedMessage& m,
                                     const v1::Policy& policy) const {
  return CheckSealedMessage(
      m, caller.org.org_id(), policy,
      [&](absl::string_view org_id) { return orgs_->Find(org_id).has_value(); },
      MessageLimits{.max_recipients = options_.max_recipients, .max_fields = options_.max_fields});
}

v1::Decision Router::Decide(const v1::MessageHeader& header, const std::optional<v1::Case>& c,
                            absl::string_view outside_case_subject_ref,
                            const v1::Organization& sender, const v1::Organization& recipient,
                            const v1::SealedField& field, bool has_justification,
                            bool answers_request, absl::Time at, const v1::Policy& policy) const {
  consent::DecisionQuery query =
      consent::QueryInCase(c, outside_case_subject_ref, sender, recipient, header.purpose(),
                           field.category(), at, header.statutory_basis(), has_justification);
  query.answers_recipient_request = answers_request;
  v1::Decision d = engine_->Decide(query, policy);
  d.set_field_path(field.path());
  return d;
}

absl::StatusOr<bool> Router::AnswersRequest(const v1::MessageHeader& header,
                                            absl::string_view recipient_org_id,
                                            const v1::Policy& policy) const {
  return consent::AnswersRecipientRequest(*store_, policy, header.statutory_basis(),
                                          header.sender_org_id(), recipient_org_id,
                                          header.payload_type(), header.reply_to());
}

absl::StatusOr<Router::PreparedSend> Router::PrepareSend(const identity::Caller& caller,
                                                         const v1::SendRequest& request) {
  const v1::SealedMessage& message = request.message();
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  SILTA_RETURN_IF_ERROR(ValidateMessage(caller, message, *policy));
  const v1::MessageHeader& header = message.header();
  const v1::StatutoryBasis* notification = NotificationBasis(*policy, header.statutory_basis());
  // A notification outside a case names its person; the broker keeps only
  // the pseudonymous subject_ref.
  std::string outside_case_subject_ref;
  if (request.has_subject()) {
    if (!header.case_id().empty()) {
      return Invalid("subject",
                     "a message in a case is about the case's person: leave subject unset");
    }
    if (notification == nullptr) {
      return Invalid("subject",
                     absl::StrCat("only a notification may be sent about a person outside a case, "
                                  "and ",
                                  header.statutory_basis().empty()
                                      ? std::string("no statutory basis is claimed")
                                      : absl::StrCat(header.statutory_basis(),
                                                     " is not a notification basis"),
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
        return Invalid(absl::StrCat("fields[", i, "] (", field.path(), ")"),
                       absl::StrCat(v1::Category_Name(field.category()),
                                    " identifies the young person; a message without a case may "
                                    "carry only non-identifying categories: leave the field out, "
                                    "or open a case and send it there"));
      }
    }
  }
  const std::string hash = ContentHash(message);

  // Idempotency, per sender: a retried Send gets the original receipt.
  // Another sender's ids are neither taken nor revealed.
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> existing,
                         store_->GetMessage(caller.org.org_id(), header.message_id()));
  if (existing.has_value()) {
    if (existing->content_hash == hash && existing->subject_ref == outside_case_subject_ref) {
      PreparedSend repeated;
      repeated.receipt = std::move(existing->receipt);
      repeated.repeated = true;
      return repeated;
    }
    return OtherContent(header.message_id());
  }

  // A new message is signed now, with the sender's current key (or one
  // replaced moments ago), and sealed to each recipient's usable key.
  const absl::Time accepted = clock_();
  const absl::Time created = ToTime(header.created_at());
  if (created > accepted + kClockSkew || created < accepted - kClockSkew) {
    return Invalid("header.created_at",
                   absl::StrCat(absl::FormatTime(created, absl::UTCTimeZone()),
                                " is more than 5 minutes from the broker's clock (",
                                absl::FormatTime(accepted, absl::UTCTimeZone()),
                                "); set it when sealing and check the system clock"));
  }
  SILTA_ASSIGN_OR_RETURN(
      v1::KeyBundle sender_bundle,
      keys_->UsableBundle(caller.org.org_id(), header.sender_key_id(), accepted,
                          "header.sender_key_id"));
  const v1::KeyBundle* bundle = &sender_bundle;
  for (int i = 0; i < message.recipient_contexts_size(); ++i) {
    const v1::RecipientContext& rc = message.recipient_contexts(i);
    SILTA_RETURN_IF_ERROR(
        keys_->UsableBundle(rc.recipient_org_id(), rc.recipient_key_id(), accepted,
                            absl::StrCat("message.recipient_contexts[", i, "].recipient_key_id"))
            .status());
  }
  SILTA_ASSIGN_OR_RETURN(std::string manifest, crypto::ManifestBytes(header, message.fields(), {}));
  if (!crypto::Ed25519Verify(bundle->signing_public_key(), manifest, message.signature()).ok()) {
    return Invalid("message.signature", "does not verify with the sender's published signing key");
  }

  // The case: the sender must be a member of an open case.
  std::optional<v1::Case> c;
  if (!header.case_id().empty()) {
    SILTA_ASSIGN_OR_RETURN(v1::Case loaded, cases_->GetCaseForMember(caller, header.case_id()));
    if (loaded.state() != v1::OPEN) {
      return absl::FailedPreconditionError(absl::StrCat("case ", loaded.case_id(), " is closed"));
    }
    c = std::move(loaded);
  }

  // Decide every (recipient, field); keep wrapped keys only where permitted.
  const absl::Time now = clock_();
  const bool justified = crypto::HasJustification(message);
  v1::SealedMessage stored = message;
  v1::DeliveryReceipt receipt;
  receipt.set_message_id(header.message_id());
  *receipt.mutable_accepted_at() = ToTimestamp(now);
  store::MessageRecord record;
  record.message_id = header.message_id();
  record.sender_org_id = caller.org.org_id();
  record.case_id = header.case_id();
  record.subject_ref = outside_case_subject_ref;
  record.content_hash = hash;
  record.accepted_at_us = absl::ToUnixMicros(now);
  // A notification the law wants delivered without delay expires within
  // hours, so that an undelivered one is raised while it still matters.
  const absl::Duration ttl = notification != nullptr
                                 ? absl::Hours(notification->notification_ttl_hours())
                                 : options_.message_ttl;
  record.expires_at_us = absl::ToUnixMicros(now + ttl);
  std::vector<std::string> pending_recipients;
  receipt.set_payload_type(header.payload_type());
  receipt.set_statutory_basis(header.statutory_basis());
  for (const std::string& recipient_id : header.recipient_org_ids()) {
    const std::optional<v1::Organization> recipient = orgs_->Find(recipient_id);
    SILTA_ASSIGN_OR_RETURN(const bool answers, AnswersRequest(header, recipient_id, *policy));
    int permitted = 0;
    for (v1::SealedField& field : *stored.mutable_fields()) {
      v1::Decision d = Decide(header, c, outside_case_subject_ref, caller.org, *recipient, field,
                              justified, answers, now, *policy);
      const bool has_key = std::any_of(
          field.wrapped_keys().begin(), field.wrapped_keys().end(),
          [&](const v1::WrappedKey& k) { return k.recipient_org_id() == recipient_id; });
      if (d.verdict() == v1::PERMIT && has_key) {
        ++permitted;
      } else {
        auto* keys = field.mutable_wrapped_keys();
        keys->erase(std::remove_if(keys->begin(), keys->end(),
                                   [&](const v1::WrappedKey& k) {
                                     return k.recipient_org_id() == recipient_id;
                                   }),
                    keys->end());
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
    if (permitted > 0) pending_recipients.push_back(recipient_id);
  }
  store::AuditEntries audit = AcceptanceEntries(message, SubjectRefOf(c, record), receipt,
                                                *policy, now);
  record.body = std::move(stored);
  record.receipt = receipt;
  PreparedSend prepared;
  prepared.message = std::make_shared<const store::MessageRecord>(std::move(record));
  prepared.audit = std::move(audit);
  prepared.receipt = std::move(receipt);
  prepared.pending_recipients = std::move(pending_recipients);
  prepared.accepted = now;
  return prepared;
}

void Router::SendAsync(const identity::Caller& caller, const v1::SendRequest& request,
                       SendDone done) {
  absl::StatusOr<PreparedSend> prepared = PrepareSend(caller, request);
  if (!prepared.ok()) return done(prepared.status());
  if (prepared->repeated) {
    v1::SendResponse response;
    *response.mutable_receipt() = std::move(prepared->receipt);
    return done(std::move(response));
  }
  std::shared_ptr<const store::MessageRecord> held = prepared->message;
  store::AuditEntries audit = std::move(prepared->audit);
  // The receipt is given once the message is durable, on the committer's
  // thread; the gRPC thread that took the call is free meanwhile.
  store_->InsertMessageAsync(
      held, std::move(audit),
      [this, in_flight = InFlight(), prepared = *std::move(prepared),
       fields = request.message().fields_size(),
       done = std::move(done)](absl::Status status, store::AuditEntries entries) mutable {
        const store::MessageRecord& m = *prepared.message;
        if (absl::IsAlreadyExists(status)) {
          // The same id was committed meanwhile, by a retry that overtook
          // this one: the same content gets that receipt.
          return done(RepeatedSend(m));
        }
        if (!status.ok()) return done(status);
        prepared.receipt.set_audit_index(entries.front().index());
        // Its deliveries join their recipients' queues, with the message,
        // so that no delivery reads it back.
        for (const store::DeliveryRecord& d : m.deliveries) {
          if (d.state == v1::PENDING) {
            queues_.Add({d, prepared.message}, m.accepted_at_us, prepared.accepted);
          }
        }
        PathStats::Decisions decided;
        for (const v1::Decision& d : prepared.receipt.decisions()) {
          decided.Add(PathStats::kAtSend, d);
        }
        stats_.Accepted(decided);
        // Debug: each message is in the audit log and the path's metrics; a
        // line per message at info would cost the committer more than its
        // SQL for the message row (the JSON printer, measured).
        common::Log(common::LogLevel::kDebug, "message_accepted",
                    {{"message_id", m.message_id},
                     {"sender_org_id", m.sender_org_id},
                     {"case_id", m.case_id},
                     {"recipients", absl::StrCat(m.deliveries.size())},
                     {"fields", absl::StrCat(fields)}});
        ScheduleWake(prepared.pending_recipients);
        v1::SendResponse response;
        *response.mutable_receipt() = std::move(prepared.receipt);
        done(std::move(response));
      });
}

absl::StatusOr<v1::SendResponse> Router::RepeatedSend(const store::MessageRecord& m) const {
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> stored,
                         store_->GetMessage(m.sender_org_id, m.message_id));
  if (!stored.has_value() || stored->content_hash != m.content_hash ||
      stored->subject_ref != m.subject_ref) {
    return OtherContent(m.message_id);
  }
  v1::SendResponse response;
  *response.mutable_receipt() = std::move(stored->receipt);
  return response;
}

absl::StatusOr<v1::SendResponse> Router::Send(const identity::Caller& caller,
                                              const v1::SendRequest& request) {
  return Wait<v1::SendResponse>([&](std::function<void(absl::StatusOr<v1::SendResponse>)> done) {
    SendAsync(caller, request, std::move(done));
  });
}

bool Router::TakeDueAsync(const identity::Caller& caller, absl::Duration ack_timeout,
                          uint32_t limit, DeliveriesDone done) {
  const absl::Time now = clock_();
  if (ack_timeout <= absl::ZeroDuration()) ack_timeout = options_.ack_timeout;
  queues_.Advance(now);
  std::vector<QueuedDelivery> taken = queues_.Take(caller.org.org_id(), limit);
  if (taken.empty()) return false;
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  // What becomes of each taken delivery in memory once the store has
  // committed its new state: due again at `at`, or finished.
  struct Next {
    QueuedDelivery q;
    absl::Time at;
    bool finished = false;
  };
  std::vector<Next> next;
  std::vector<v1::Delivery> out;
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
    q.record.next_attempt_us = absl::ToUnixMicros(now + kDecisionRetry);
    q.record.updated_at_us = absl::ToUnixMicros(now);
    updates.push_back(q.record);
    next.push_back({std::move(q), now + kDecisionRetry});
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
    std::optional<v1::Case> c;
    if (!m.case_id.empty()) {
      // Without its case (subject, members) nothing about it can be decided.
      absl::StatusOr<v1::Case> loaded = cases_->GetCaseUnchecked(m.case_id);
      if (!loaded.ok()) {
        defer(std::move(q), loaded.status().message());
        continue;
      }
      c = *std::move(loaded);
    }
    const std::optional<v1::Organization> sender = orgs_->Find(m.sender_org_id);
    const bool justified = crypto::HasJustification(body);
    absl::StatusOr<bool> answers = AnswersRequest(body.header(), caller.org.org_id(), *policy);
    if (!answers.ok()) {
      defer(std::move(q), answers.status().message());
      continue;
    }
    // Re-decide at delivery: a withdrawn consent or removed member strips fields now.
    absl::flat_hash_set<std::string> permitted;
    std::vector<v1::Decision> permitted_decisions;
    std::vector<v1::Decision> revoked;
    for (const v1::SealedField& field : body.fields()) {
      if (!sender.has_value()) break;
      v1::Decision decision = Decide(body.header(), c, m.subject_ref, *sender, caller.org, field,
                                     justified, *answers, now, *policy);
      decided.Add(PathStats::kAtDelivery, decision);
      if (decision.verdict() == v1::PERMIT) {
        permitted.insert(field.path());
        permitted_decisions.push_back(std::move(decision));
      } else if (PermittedAtSend(m.receipt, caller.org.org_id(), field.path())) {
        revoked.push_back(std::move(decision));
      }
    }
    int withheld = 0;
    absl::StatusOr<v1::SealedMessage> redacted = crypto::RedactForRecipient(
        body, caller.org.org_id(),
        [&](absl::string_view, absl::string_view path) { return permitted.contains(path); },
        &withheld);
    if (!redacted.ok()) {
      defer(std::move(q), redacted.status().message());
      continue;
    }
    store::DeliveryRecord& d = q.record;
    d.updated_at_us = absl::ToUnixMicros(now);
    if (redacted->fields().empty()) {
      d.state = v1::NOTHING_PERMITTED;
      updates.push_back(d);
      for (v1::AuditEntry& e :
           DeliveryEntries(m, SubjectRefOf(c, m), {}, revoked, d.attempts, *policy, now)) {
        audit.push_back(std::move(e));
      }
      next.push_back({std::move(q), now, /*finished=*/true});
      continue;
    }
    // Only the fields the recipient can open are disclosed.
    permitted_decisions.erase(
        std::remove_if(permitted_decisions.begin(), permitted_decisions.end(),
                       [&](const v1::Decision& decision) {
                         return std::none_of(redacted->fields().begin(), redacted->fields().end(),
                                             [&](const v1::SealedField& f) {
                                               return f.path() == decision.field_path();
                                             });
                       }),
        permitted_decisions.end());
    d.state = v1::DELIVERED;
    ++d.attempts;
    ++(d.attempts == 1 ? first_attempts : later_attempts);
    for (v1::AuditEntry& e : DeliveryEntries(m, SubjectRefOf(c, m), permitted_decisions, revoked,
                                             d.attempts, *policy, now)) {
      audit.push_back(std::move(e));
    }
    d.next_attempt_us = absl::ToUnixMicros(now + ack_timeout);
    updates.push_back(d);
    v1::Delivery delivery;
    delivery.set_delivery_id(d.delivery_id);
    *delivery.mutable_message() = *std::move(redacted);
    delivery.set_withheld_field_count(static_cast<uint32_t>(withheld));
    delivery.set_attempt(d.attempts);
    out.push_back(std::move(delivery));
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
        if (!committed.ok()) {
          // Nothing changed in the store: every taken delivery is due
          // again, as it was, after the retry delay.
          for (Next& n : next) {
            std::optional<QueuedDelivery> before = queues_.Find(n.q.record.delivery_id);
            if (before.has_value()) queues_.Schedule(*std::move(before), now + kDecisionRetry, now);
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
      });
  return true;
}

absl::StatusOr<std::vector<v1::Delivery>> Router::TakeDue(const identity::Caller& caller,
                                                          absl::Duration ack_timeout,
                                                          uint32_t limit) {
  return Wait<std::vector<v1::Delivery>>([&](DeliveriesDone done) {
    if (!TakeDueAsync(caller, ack_timeout, limit, done)) done(std::vector<v1::Delivery>());
  });
}

absl::StatusOr<Router::PreparedAck> Router::PrepareAck(const identity::Caller& caller,
                                                       const v1::AckRequest& request) {
  // One id alone keeps the first round's errors; a batch reports per id.
  const bool batch = request.delivery_ids_size() > 0;
  const char* field = batch ? "delivery_ids" : "delivery_id";
  std::vector<std::string> ids;
  if (!batch || !request.delivery_id().empty()) ids.push_back(request.delivery_id());
  ids.insert(ids.end(), request.delivery_ids().begin(), request.delivery_ids().end());
  if (ids.size() > kMaxAckBatch) {
    return Invalid(field, absl::StrCat("at most ", kMaxAckBatch, " per call"));
  }
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : ids) {
    if (!crypto::IsCanonicalUuid(id)) return Invalid(field, "must be delivery_ids from Subscribe");
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
    // From the delivery queues when it is there (no store read), else from
    // the store (delivered before a restart, or already finished).
    std::optional<store::DeliveryRecord> d;
    std::shared_ptr<const store::MessageRecord> held;
    if (std::optional<QueuedDelivery> q = queues_.Find(id); q.has_value()) {
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
    std::optional<v1::Case> c;
    if (!m.case_id.empty()) {
      absl::StatusOr<v1::Case> loaded = cases_->GetCaseUnchecked(m.case_id);
      if (loaded.ok()) c = *std::move(loaded);
    }
    d->state = v1::ACKED;
    d->updated_at_us = absl::ToUnixMicros(now);
    audit.push_back(AckEntry(m, SubjectRefOf(c, m), caller.org.org_id(), now));
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
      });
}

absl::StatusOr<v1::AckResponse> Router::Ack(const identity::Caller& caller,
                                            const v1::AckRequest& request) {
  return Wait<v1::AckResponse>([&](std::function<void(absl::StatusOr<v1::AckResponse>)> done) {
    AckAsync(caller, request, std::move(done));
  });
}

absl::StatusOr<v1::GetMessageStatusResponse> Router::GetMessageStatus(
    const identity::Caller& caller, const v1::GetMessageStatusRequest& request) {
  if (!crypto::IsCanonicalUuid(request.message_id())) {
    return Invalid("message_id", "must be a message id you sent");
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

absl::StatusOr<v1::LinkNotificationResponse> Router::LinkNotification(
    const identity::Caller& caller, const v1::LinkNotificationRequest& request) {
  if (!identity::IsValidOrgId(request.sender_org_id())) {
    return Invalid("sender_org_id", "must be the notification's header.sender_org_id");
  }
  if (!crypto::IsCanonicalUuid(request.message_id())) {
    return Invalid("message_id", "must be the notification's header.message_id");
  }
  if (!crypto::IsCanonicalUuid(request.case_id())) {
    return Invalid("case_id", "must be the id of a case you are a member of");
  }
  // Only a recipient that was given the notification may link it; to anyone
  // else it does not exist.
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> m,
                         store_->GetMessage(request.sender_org_id(), request.message_id()));
  const auto received = [&](const store::DeliveryRecord& d) {
    return d.recipient_org_id == caller.org.org_id() &&
           (d.state == v1::DELIVERED || d.state == v1::ACKED);
  };
  if (!m.has_value() || std::none_of(m->deliveries.begin(), m->deliveries.end(), received)) {
    return absl::NotFoundError(absl::StrCat("no message ", request.message_id(), " of ",
                                            request.sender_org_id(), " was delivered to you"));
  }
  if (m->subject_ref.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "message ", request.message_id(),
        " is not a notification sent outside a case; only those are linked to a case"));
  }
  SILTA_ASSIGN_OR_RETURN(v1::Case c, cases_->GetCaseForMember(caller, request.case_id()));
  if (c.state() != v1::OPEN) {
    return absl::FailedPreconditionError(absl::StrCat("case ", c.case_id(), " is closed"));
  }
  if (c.subject_ref() != m->subject_ref) {
    return absl::FailedPreconditionError(absl::StrCat(
        "case ", c.case_id(), " is about another person than notification ", request.message_id(),
        "; link it to a case of the person it names"));
  }
  if (!m->linked_case_id.empty()) {
    if (m->linked_case_id != c.case_id()) {
      return absl::FailedPreconditionError(
          absl::StrCat("notification ", request.message_id(), " is already linked to case ",
                       m->linked_case_id));
    }
    return LinkResponse(caller, *m);
  }
  std::vector<v1::Category> permitted;
  for (const v1::Decision& d : m->receipt.decisions()) {
    if (d.recipient_org_id() == caller.org.org_id() && d.verdict() == v1::PERMIT &&
        std::find(permitted.begin(), permitted.end(), d.category()) == permitted.end()) {
      permitted.push_back(d.category());
    }
  }
  store::AuditEntries audit = {
      LinkEntry(*m, c, caller.org.org_id(), request.acting_user(), permitted, clock_())};
  const absl::Status linked = store_->LinkMessageToCase(request.sender_org_id(),
                                                        request.message_id(), c.case_id(), &audit);
  if (absl::IsFailedPrecondition(linked)) {
    // Linked by a concurrent call: to this case it is the same link.
    SILTA_ASSIGN_OR_RETURN(m, store_->GetMessage(request.sender_org_id(), request.message_id()));
    if (m.has_value() && m->linked_case_id == c.case_id()) return LinkResponse(caller, *m);
  }
  SILTA_RETURN_IF_ERROR(linked);
  common::Log(common::LogLevel::kInfo, "notification_linked",
              {{"message_id", request.message_id()},
               {"sender_org_id", request.sender_org_id()},
               {"org_id", caller.org.org_id()},
               {"case_id", c.case_id()}});
  v1::LinkNotificationResponse response;
  response.set_audit_index(audit.front().index());
  return response;
}

absl::StatusOr<v1::LinkNotificationResponse> Router::LinkResponse(
    const identity::Caller& caller, const store::MessageRecord& m) const {
  // The first link's entry, found in the caller's own view of the log.
  store::AuditQuery q;
  q.case_id = m.linked_case_id;
  q.types = {v1::NOTIFICATION_LINKED};
  q.limit = 1000;
  v1::LinkNotificationResponse response;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, store_->QueryAudit(q));
    for (const v1::AuditEntry& e : entries) {
      if (e.message_id() == m.message_id && e.detail() == "notifier=" + m.sender_org_id) {
        response.set_audit_index(e.index());
        return response;
      }
    }
    if (entries.size() < q.limit) break;
    q.after_index = entries.back().index() + 1;
  }
  return absl::InternalError(absl::StrCat("the link of notification ", m.message_id,
                                          " has no audit entry"));
}

}  // namespace silta::routing
