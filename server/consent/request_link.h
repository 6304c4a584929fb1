// File: server/consent/request_link.h
//
// The link a basis for information on request needs (StatutoryBasis
// .only_in_reply_to_recipient_request, e.g. lastensuojelulaki 41 §): the
// message is an InformationResponse whose signed header.reply_to names an
// InformationRequest that the recipient itself sent to the sender. The
// request's payload type and recipients stay in its stored receipt after
// its ciphertext is purged.
#ifndef SILTA_SERVER_CONSENT_REQUEST_LINK_H_
#define SILTA_SERVER_CONSENT_REQUEST_LINK_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/message_store.h"
#include "silta/v1/config.pb.h"

namespace silta::consent {

inline constexpr absl::string_view kInformationRequestType = "silta.v1.InformationRequest";
inline constexpr absl::string_view kInformationResponseType = "silta.v1.InformationResponse";

// DecisionQuery.answers_recipient_request for a message claiming
// `statute_code`: false unless that basis of `policy` needs the link (then
// the store is not read). Otherwise whether a message of `payload_type` from
// `sender_org_id` replying to `reply_to` answers an InformationRequest that
// `recipient_org_id` sent to the sender: false without reply_to, for another
// payload type, or when no such request exists; an error only when the
// store cannot be read (the caller must then not decide).
absl::StatusOr<bool> AnswersRecipientRequest(store::MessageStore& store, const v1::Policy& policy,
                                             absl::string_view statute_code,
                                             absl::string_view sender_org_id,
                                             absl::string_view recipient_org_id,
                                             absl::string_view payload_type,
                                             absl::string_view reply_to);

}  // namespace silta::consent

#endif  // SILTA_SERVER_CONSENT_REQUEST_LINK_H_
