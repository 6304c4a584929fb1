// File: examples/agency-bridge/bridge.h
//
// The file exchange of agency-bridge (README.md):
//   outbox/*.json    envelopes the case-management system writes: what to
//                    send, to whom, in which case, and the payload
//   outbox/sent/     envelopes sent, each with <name>.receipt.json
//   outbox/failed/   envelopes refused, each with <name>.reason
//   inbox/*.json     messages received and opened, mode 600, one per
//                    message id; each is fsynced before its delivery is acked
//
// Nothing is lost: an envelope leaves outbox/ only when siltad has given a
// receipt or refused it for good (a refusal that a retry cannot change); if
// siltad is unreachable, it stays and is tried again. The sealed message is
// kept (outbox/.sealed/) until the receipt, so that a bridge restarted
// between Send and the move sends the same message id again, which siltad
// answers with the same receipt instead of a second message.
#ifndef SILTA_EXAMPLES_AGENCY_BRIDGE_BRIDGE_H_
#define SILTA_EXAMPLES_AGENCY_BRIDGE_BRIDGE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/sdk/client.h"

namespace bridge {

struct Directories {
  std::string outbox;
  std::string inbox;
};

// What one pass over the outbox did.
struct OutboxPass {
  int sent = 0;
  int failed = 0;
  int deferred = 0;  // left for the next pass: siltad unreachable or busy
};

// Creates outbox/, its sent/, failed/ and .sealed/, and inbox/ (mode 700).
absl::Status PrepareDirectories(const Directories& dirs);

// Sends every envelope in the outbox, oldest name first.
OutboxPass ProcessOutbox(silta::sdk::SiltaClient& client, const Directories& dirs);

// Receives for up to `wait`: every delivery it can open is written to the
// inbox, and at the end of the window all written ones are acked together. One it cannot open is
// not acked (it stays queued at siltad and is reported on stderr). Returns how many were written.
absl::StatusOr<int> ReceiveInbox(silta::sdk::SiltaClient& client, const Directories& dirs,
                                 absl::Duration wait);

}  // namespace bridge

#endif  // SILTA_EXAMPLES_AGENCY_BRIDGE_BRIDGE_H_
