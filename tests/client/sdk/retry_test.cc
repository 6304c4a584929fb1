// When the SDK calls again (client/sdk/retry.h), driven through
// CallWithRetry with scripted attempts: which codes are retried, for which
// calls, how many times, and with waits that grow. The retry-after that a
// real siltad sends is tested in tests/integration/sdk_clients_test.cc.
#include "client/sdk/retry.h"

#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace silta::sdk {
namespace {

// Attempts that return `codes` one after the other (then OK), counting them.
struct Script {
  std::vector<grpc::StatusCode> codes;
  int attempts = 0;

  Attempt AsAttempt() {
    return [this](grpc::ClientContext* context) {
      EXPECT_GT(context->deadline(), std::chrono::system_clock::now());
      const int n = attempts++;
      if (n >= static_cast<int>(codes.size())) return grpc::Status::OK;
      return grpc::Status(codes[n], "scripted failure");
    };
  }
};

RetryPolicy Quick(int max_attempts) {
  return RetryPolicy{.max_attempts = max_attempts,
                     .initial_backoff = absl::Milliseconds(20),
                     .max_backoff = absl::Milliseconds(80)};
}

TEST(RetryTest, UnavailableIsRetriedForIdempotentCallsUntilItSucceeds) {
  Script script{.codes = {grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::UNAVAILABLE}};
  const absl::Status status =
      CallWithRetry(Quick(5), Idempotency::kIdempotent, absl::Seconds(5), script.AsAttempt());
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(script.attempts, 3);
}

TEST(RetryTest, UnavailableIsReturnedAfterMaxAttempts) {
  Script script{.codes = std::vector<grpc::StatusCode>(10, grpc::StatusCode::UNAVAILABLE)};
  const absl::Time start = absl::Now();
  const absl::Status status =
      CallWithRetry(Quick(4), Idempotency::kIdempotent, absl::Seconds(5), script.AsAttempt());
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "scripted failure");
  EXPECT_EQ(script.attempts, 4);
  // Waits of at least 10, 20 and 40 ms (half of 20, 40, 80 ms): it backs off.
  EXPECT_GE(took, absl::Milliseconds(70));
}

TEST(RetryTest, AWriteThatIsNotIdempotentIsNotRepeatedAfterUnavailable) {
  Script script{.codes = {grpc::StatusCode::UNAVAILABLE}};
  const absl::Status status =
      CallWithRetry(Quick(5), Idempotency::kNotIdempotent, absl::Seconds(5), script.AsAttempt());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(script.attempts, 1);
}

TEST(RetryTest, ResourceExhaustedWithoutARetryAfterIsNotRetried) {
  // Only a rate-limit refusal says when to come back; any other
  // RESOURCE_EXHAUSTED (a reader too slow, a message too big) is final.
  Script script{.codes = {grpc::StatusCode::RESOURCE_EXHAUSTED}};
  const absl::Status status =
      CallWithRetry(Quick(5), Idempotency::kIdempotent, absl::Seconds(5), script.AsAttempt());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(script.attempts, 1);
}

TEST(RetryTest, OtherErrorsAreReturnedAtOnce) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::PERMISSION_DENIED,
        grpc::StatusCode::UNAUTHENTICATED, grpc::StatusCode::FAILED_PRECONDITION,
        grpc::StatusCode::NOT_FOUND, grpc::StatusCode::DEADLINE_EXCEEDED,
        grpc::StatusCode::INTERNAL}) {
    Script script{.codes = {code}};
    const absl::Status status =
        CallWithRetry(Quick(5), Idempotency::kIdempotent, absl::Seconds(5), script.AsAttempt());
    EXPECT_EQ(static_cast<int>(status.code()), static_cast<int>(code));
    EXPECT_EQ(script.attempts, 1) << status;
  }
}

TEST(RetryTest, OneAttemptPolicyNeverRetries) {
  Script script{.codes = {grpc::StatusCode::UNAVAILABLE}};
  const absl::Status status =
      CallWithRetry(Quick(1), Idempotency::kIdempotent, absl::Seconds(5), script.AsAttempt());
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(script.attempts, 1);
}

}  // namespace
}  // namespace silta::sdk
