// File: server/routing/router_internal.h
//
// Helpers shared by the Router's files (router*.cc), not part of its
// interface: limits, error texts and small pure functions.
#ifndef SILTA_SERVER_ROUTING_ROUTER_INTERNAL_H_
#define SILTA_SERVER_ROUTING_ROUTER_INTERNAL_H_

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "lib/crypto/primitives.h"
#include "lib/policy/policy.h"
#include "server/routing/outgoing_delivery.h"
#include "server/store/store.h"
#include "silta/v1/case.pb.h"
#include "silta/v1/config.pb.h"
#include "silta/v1/message.pb.h"

namespace silta::routing::internal {

// Tolerated difference between the sender's clock (header.created_at) and
// the key bundle's validity, which the sender's own clock also set.
inline constexpr absl::Duration kClockSkew = absl::Minutes(5);
// When something a delivery decision needs cannot be read, it is retried
// after this long (the message stays pending; nothing is decided without it).
inline constexpr absl::Duration kDecisionRetry = absl::Seconds(5);

// Deliveries one Ack call may confirm.
inline constexpr size_t kMaxAckBatch = 1000;

inline absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// The SHA-256 of the message's deterministic serialization; the bytes
// hashed are left in `serialized`. They are a serialization of the message
// like any other (deterministic orders only the entries of maps), which the
// store may keep as it is.
inline std::string ContentHash(const v1::SealedMessage& m, std::string* serialized) {
  // Sized first, then written in one buffer (a growing string is copied
  // as it grows).
  const size_t size = m.ByteSizeLong();
  serialized->resize(size);
  {
    google::protobuf::io::ArrayOutputStream array(serialized->data(), static_cast<int>(size));
    google::protobuf::io::CodedOutputStream coded(&array);
    coded.SetSerializationDeterministic(true);
    m.SerializeWithCachedSizes(&coded);
  }
  const auto digest = crypto::Sha256(*serialized);
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

// The person a message is about: its case's subject, or a notification's
// outside a case (empty for an anonymous consultation).
inline std::string SubjectRefOf(const v1::Case* c, const store::MessageRecord& m) {
  return c != nullptr ? c->subject_ref() : m.subject_ref;
}

// The claimed basis if it is a notification (policy), else nullptr.
inline const v1::StatutoryBasis* NotificationBasis(const v1::Policy& policy,
                                                   absl::string_view code) {
  const v1::StatutoryBasis* b = code.empty() ? nullptr : policy::FindStatute(policy, code);
  return b != nullptr && b->notification() ? b : nullptr;
}

// Whether the receipt permitted `path` to `recipient_org_id` at Send.
inline bool PermittedAtSend(const v1::DeliveryReceipt& receipt, absl::string_view recipient_org_id,
                            absl::string_view path) {
  return std::any_of(receipt.decisions().begin(), receipt.decisions().end(),
                     [&](const v1::Decision& d) {
                       return d.recipient_org_id() == recipient_org_id && d.field_path() == path &&
                              d.verdict() == v1::PERMIT;
                     });
}

// The disclosure of `message` (which has a body) to its delivery `d`'s
// recipient, now: the body's redaction to the `permitted` field paths that
// were sealed to the recipient, written from the body when the stream
// writes it (OutgoingDelivery); `d` marked DELIVERED (one more attempt,
// due again at now + ack_timeout unless acked), or NOTHING_PERMITTED when
// no field is left (nullopt then); and the disclosure's audit entries
// appended to `audit` (`permitted_decisions`: the PERMITs, `revoked`:
// fields permitted at Send and denied now). An error, with nothing
// changed, if the body cannot be redacted.
absl::StatusOr<std::optional<OutgoingDelivery>> Disclose(
    const std::shared_ptr<const store::MessageRecord>& message, absl::string_view subject_ref,
    const absl::flat_hash_set<std::string>& permitted,
    std::vector<v1::Decision> permitted_decisions, const std::vector<v1::Decision>& revoked,
    const v1::Policy& policy, absl::Time now, absl::Duration ack_timeout, store::DeliveryRecord& d,
    store::AuditEntries& audit);

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

inline absl::Status OtherContent(absl::string_view message_id) {
  return absl::AlreadyExistsError(absl::StrCat(
      "message ", message_id, " was already sent by you with other content; use a new id"));
}

}  // namespace silta::routing::internal

#endif  // SILTA_SERVER_ROUTING_ROUTER_INTERNAL_H_
