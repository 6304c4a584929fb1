#include "client/sdk/retry.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "lib/common/retry_after.h"

namespace silta::sdk {
namespace {

// The retry-after siltad sent with a refusal, if any.
std::optional<absl::Duration> RetryAfter(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto it = trailers.find(common::kRetryAfterMetadata);
  if (it == trailers.end()) return std::nullopt;
  return common::ParseRetryAfter(absl::string_view(it->second.data(), it->second.size()));
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status CallWithRetry(const RetryPolicy& policy, Idempotency idempotency,
                           absl::Duration timeout, const Attempt& attempt) {
  absl::BitGen jitter;
  absl::Duration backoff = policy.initial_backoff;
  grpc::Status status;
  for (int n = 1;; ++n) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    status = attempt(&context);
    if (status.ok() || n >= policy.max_attempts) break;
    absl::Duration wait = absl::ZeroDuration();
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      const std::optional<absl::Duration> after = RetryAfter(context);
      if (!after.has_value() || *after > policy.max_retry_after) break;
      wait = *after;
    } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE ||
               idempotency != Idempotency::kIdempotent) {
      break;
    }
    const double fraction = absl::Uniform(jitter, 0.5, 1.0);
    wait = std::max(wait, backoff * fraction);
    backoff = std::min(backoff * 2, policy.max_backoff);
    absl::SleepFor(wait);
  }
  return FromGrpcStatus(status);
}

}  // namespace silta::sdk
