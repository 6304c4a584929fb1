// File: server/identity/caller.h
//
// Who is calling: the organisation the verified certificate names, as the
// Authenticator established it. The domain code (consent, cases, routing,
// audit) takes a Caller and never sees gRPC.
#ifndef SILTA_SERVER_IDENTITY_CALLER_H_
#define SILTA_SERVER_IDENTITY_CALLER_H_

#include "lib/identity/spiffe_id.h"
#include "silta/v1/common.pb.h"

namespace silta::identity {

// The authenticated caller of one RPC.
struct Caller {
  SpiffeId spiffe_id;
  v1::Organization org;  // snapshot at the time of the call
};

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_CALLER_H_
