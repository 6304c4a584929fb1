// File: server/routing/message_audit.h
//
// The audit entries of a message's life (docs/operations.md "Audit log"):
//   at Send      MESSAGE_ACCEPTED (sender; every category sent), then per
//                recipient one STATUTORY_BASIS_USED per statute that permits
//                fields, and one FIELD_WITHHELD per determining rule of the
//                denied fields;
//   at delivery  per recipient one MESSAGE_DELIVERED per basis (rule +
//                consent id / statute) of the fields it gets — the
//                disclosures — and FIELD_WITHHELD for fields permitted at
//                Send but no longer (a withdrawn consent, a removed member);
//   at Ack       MESSAGE_ACKED by the recipient;
//   at expiry    MESSAGE_EXPIRED per recipient that never acknowledged;
//   at a link    NOTIFICATION_LINKED when a recipient attaches a
//                notification sent outside a case to a case.
// `subject_ref` is the case's subject, or a notification's outside a case
// (empty for an anonymous consultation).
// The sender is the actor of every entry but Ack, the recipient the
// counterpart. Entries carry categories, never field paths or values.
#ifndef SILTA_SERVER_ROUTING_MESSAGE_AUDIT_H_
#define SILTA_SERVER_ROUTING_MESSAGE_AUDIT_H_

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "server/store/store.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/case.pb.h"
#include "silta/v1/config.pb.h"
#include "silta/v1/message.pb.h"

namespace silta::routing {

// Entries of an accepted message, MESSAGE_ACCEPTED first.
store::AuditEntries AcceptanceEntries(const v1::SealedMessage& message,
                                      absl::string_view subject_ref,
                                      const v1::DeliveryReceipt& receipt, const v1::Policy& policy,
                                      absl::Time now);

// Entries of one delivery to `recipient_org_id`: `permitted` are the
// decisions (PERMIT) of the fields delivered, `revoked` those permitted at
// Send and denied now.
store::AuditEntries DeliveryEntries(const store::MessageRecord& message,
                                    absl::string_view subject_ref,
                                    const std::vector<v1::Decision>& permitted,
                                    const std::vector<v1::Decision>& revoked, uint32_t attempt,
                                    const v1::Policy& policy, absl::Time now);

// MESSAGE_ACKED by the recipient.
v1::AuditEntry AckEntry(const store::MessageRecord& message, absl::string_view subject_ref,
                        absl::string_view recipient_org_id, absl::Time now);

// NOTIFICATION_LINKED: `linker_org_id` attached the notification `message`
// (sent outside a case) to case `c`, which makes it visible to the case's
// coordinator (the counterpart). `permitted` are the categories the linker
// received.
v1::AuditEntry LinkEntry(const store::MessageRecord& message, const v1::Case& c,
                         absl::string_view linker_org_id, const v1::ActingUser& acting_user,
                         const std::vector<v1::Category>& permitted, absl::Time now);

// MESSAGE_EXPIRED for one recipient, by siltad.
v1::AuditEntry ExpiryEntry(const store::MessageRecord& message, absl::string_view recipient_org_id,
                           absl::Time now);

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_MESSAGE_AUDIT_H_
