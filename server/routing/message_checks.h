// File: server/routing/message_checks.h
//
// What Send checks of a sealed message before it looks at the store or the
// key directory: the header, the lengths the wire format fixes, one HPKE
// context per recipient, the wrapped keys, the fields against the payload
// schema, and the policy's purposes and statutory bases
// (docs/wire-format.md §5–§7). Pure, so that tests/fuzz can feed it
// hostile messages.
#ifndef SILTA_SERVER_ROUTING_MESSAGE_CHECKS_H_
#define SILTA_SERVER_ROUTING_MESSAGE_CHECKS_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "silta/v1/config.pb.h"
#include "silta/v1/message.pb.h"

namespace silta::routing {

struct MessageLimits {
  int max_recipients = 32;
  int max_fields = 64;
};

// Whether `org_id` is a registered organisation.
using IsRegistered = std::function<bool(absl::string_view org_id)>;

// OK if `m` is a well-formed message of `sender_org_id` that Send may go on
// to verify. INVALID_ARGUMENT "<field>: <what>" naming the first offending
// field; PERMISSION_DENIED if the header names another sender.
absl::Status CheckSealedMessage(const v1::SealedMessage& m, absl::string_view sender_org_id,
                                const v1::Policy& policy, const IsRegistered& is_registered,
                                const MessageLimits& limits);

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_MESSAGE_CHECKS_H_
