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
//   at expiry    MESSAGE_EXPIRED per recipient that never acknowledged.
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
                                      const std::optional<v1::Case>& c,
                                      const v1::DeliveryReceipt& receipt, const v1::Policy& policy,
                                      absl::Time now);

// Entries of one delivery to `recipient_org_id`: `permitted` are the
// decisions (PERMIT) of the fields delivered, `revoked` those permitted at
// Send and denied now.
store::AuditEntries DeliveryEntries(const store::MessageRecord& message,
                                    const std::optional<v1::Case>& c,
                                    const std::vector<v1::Decision>& permitted,
                                    const std::vector<v1::Decision>& revoked, uint32_t attempt,
                                    const v1::Policy& policy, absl::Time now);

// MESSAGE_ACKED by the recipient.
v1::AuditEntry AckEntry(const store::MessageRecord& message, const std::optional<v1::Case>& c,
                        absl::string_view recipient_org_id, absl::Time now);

// MESSAGE_EXPIRED for one recipient, by siltad.
v1::AuditEntry ExpiryEntry(const store::MessageRecord& message, absl::string_view recipient_org_id,
                           absl::Time now);

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_MESSAGE_AUDIT_H_
