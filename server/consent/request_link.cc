#include "server/consent/request_link.h"

#include <algorithm>

#include "lib/policy/policy.h"

namespace silta::consent {

absl::StatusOr<bool> AnswersRecipientRequest(store::MessageStore& store, const v1::Policy& policy,
                                             absl::string_view statute_code,
                                             absl::string_view sender_org_id,
                                             absl::string_view recipient_org_id,
                                             absl::string_view payload_type,
                                             absl::string_view reply_to) {
  const v1::StatutoryBasis* basis = policy::FindStatute(policy, statute_code);
  if (basis == nullptr || !basis->only_in_reply_to_recipient_request()) return false;
  if (reply_to.empty() || payload_type != kInformationResponseType) return false;
  absl::StatusOr<std::optional<store::MessageRecord>> request =
      store.GetMessage(recipient_org_id, reply_to);
  if (!request.ok()) return request.status();
  if (!request->has_value()) return false;
  const store::MessageRecord& r = **request;
  const std::string& request_type = r.receipt.payload_type().empty() && r.body.has_value()
                                        ? r.body->header().payload_type()
                                        : r.receipt.payload_type();
  if (request_type != kInformationRequestType) return false;
  if (r.body.has_value()) {
    const auto& to = r.body->header().recipient_org_ids();
    return std::find(to.begin(), to.end(), sender_org_id) != to.end();
  }
  return std::any_of(r.receipt.decisions().begin(), r.receipt.decisions().end(),
                     [&](const v1::Decision& d) { return d.recipient_org_id() == sender_org_id; });
}

}  // namespace silta::consent
