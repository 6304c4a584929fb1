// File: server/identity/caller.h
//
// Who is calling: the organisation the verified certificate names, as the
// Authenticator established it. The domain code (consent, cases, routing,
// audit) takes a Caller and never sees gRPC.
#ifndef SILTA_SERVER_IDENTITY_CALLER_H_
#define SILTA_SERVER_IDENTITY_CALLER_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/identity/spiffe_id.h"
#include "silta/v1/common.pb.h"

namespace silta::identity {

// The authenticated caller of one RPC.
struct Caller {
  SpiffeId spiffe_id;
  v1::Organization org;  // snapshot at the time of the call
};

// Checks the acting user of a change: worker_id 1-128 printable characters.
inline absl::Status ValidateActingUser(const v1::ActingUser& user) {
  constexpr size_t kMaxWorkerId = 128;
  if (user.worker_id().empty() || user.worker_id().size() > kMaxWorkerId) {
    return absl::InvalidArgumentError(
        absl::StrCat("acting_user.worker_id: required, 1-", kMaxWorkerId,
                     " characters (the worker's id in your own directory, never a HETU)"));
  }
  for (char c : user.worker_id()) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("acting_user.worker_id: printable ASCII only");
    }
  }
  return absl::OkStatus();
}

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_CALLER_H_
