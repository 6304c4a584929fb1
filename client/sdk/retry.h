// File: client/sdk/retry.h
//
// When the SDK calls siltad again after a failed attempt:
//   UNAVAILABLE         siltad could not be reached, or is restarting.
//                       Retried only for calls that are safe to repeat
//                       (Idempotency::kIdempotent): reads, and writes that
//                       siltad makes idempotent, such as Send with the same
//                       message id. A write that is not (CreateCase,
//                       RecordConsent, ...) returns UNAVAILABLE to the caller,
//                       who checks what happened before trying again.
//   RESOURCE_EXHAUSTED  with silta-retry-after-ms (lib/common/retry_after.h):
//                       siltad refused the call before doing anything,
//                       because the organisation is over a rate limit.
//                       Retried for every call, never sooner than siltad
//                       said. A wait longer than max_retry_after is not
//                       waited for: the error returns at once.
// Nothing else is retried. Between attempts the SDK backs off
// exponentially with jitter, so that many clients do not return together.
// Each attempt has its own deadline (ConnectionOptions::timeout).
//
// Example:
//   RetryPolicy policy;  // the defaults suit an agency system
//   policy.max_attempts = 1;  // a tool that must not wait
#ifndef SILTA_CLIENT_SDK_RETRY_H_
#define SILTA_CLIENT_SDK_RETRY_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace silta::sdk {

struct RetryPolicy {
  // Attempts in all, the first one included (1: never retry).
  int max_attempts = 5;
  // The wait before the second attempt; each later wait doubles, up to
  // max_backoff. The wait actually taken is drawn from [w/2, w].
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // The longest silta-retry-after-ms the SDK waits for.
  absl::Duration max_retry_after = absl::Seconds(30);
};

// Whether a call may be sent again when its first attempt may have reached
// siltad.
enum class Idempotency { kIdempotent, kNotIdempotent };

// One attempt of a call on a fresh context that already has its deadline.
using Attempt = std::function<grpc::Status(grpc::ClientContext* context)>;

// Runs `attempt` until it succeeds, fails in a way that is not retried, or
// max_attempts is used up; returns the last status as absl::Status (same
// canonical codes and message).
absl::Status CallWithRetry(const RetryPolicy& policy, Idempotency idempotency,
                           absl::Duration timeout, const Attempt& attempt);

// absl::Status of a finished gRPC call (same canonical codes).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_RETRY_H_
