// File: server/identity/call_limiter.h
//
// Per-organisation limits on what calls may cost the broker: a token bucket
// of calls per organisation (limits.calls_per_second_per_org and
// call_burst_per_org), and a smaller one for how many of its refused calls
// are written to the audit log one by one, so that a client hammering with
// a suspended or wrong-role certificate cannot flood the evidence. The
// refusals in between are counted, and the next recorded one says how many.
//
// Keys are the org ids of verified certificates (registered or not); "" is
// one shared key for certificates without a usable SPIFFE id.
//
// Example:
//   CallLimiter limiter({.calls_per_second = 1000, .call_burst = 2000});
//   if (!limiter.AdmitCall(org_id)) return RESOURCE_EXHAUSTED;
//   if (std::optional<uint64_t> skipped = limiter.RecordRefusal(org_id)) {
//     // audit this refusal, noting *skipped unrecorded ones before it
//   }
//
// Thread-safe.
#ifndef SILTA_SERVER_IDENTITY_CALL_LIMITER_H_
#define SILTA_SERVER_IDENTITY_CALL_LIMITER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"

namespace silta::identity {

class CallLimiter {
 public:
  struct Options {
    double calls_per_second = 1000;
    double call_burst = 2000;
    double recorded_refusals_per_second = 5;
    double recorded_refusal_burst = 10;
    // Calls that take a HETU (role_table TakesHetu): a bucket of this many,
    // refilled over an hour.
    double hetu_calls_per_hour = 600;
  };
  // What AdmitHetuCall decided.
  struct HetuAdmission {
    bool admitted = false;
    // True once per crossing: the org has used 80% of its quota.
    bool alert = false;
    double remaining = 0;
  };

  explicit CallLimiter(Options options, common::Clock clock = common::SystemClock())
      : options_(options), clock_(std::move(clock)) {}

  // Takes one call from `org_id`'s bucket; false if it is empty.
  bool AdmitCall(absl::string_view org_id);

  // For a refused call of `org_id`: the number of its refusals that were
  // not recorded since the last recorded one if this one is to be recorded
  // (audited and logged), or nullopt if it is only counted.
  std::optional<uint64_t> RecordRefusal(absl::string_view org_id);

  // Takes one call that takes a HETU from `org_id`'s hourly quota.
  HetuAdmission AdmitHetuCall(absl::string_view org_id);

  double calls_per_second() const { return options_.calls_per_second; }
  double hetu_calls_per_hour() const { return options_.hetu_calls_per_hour; }
  // How long a refused caller waits at most before its bucket holds a call
  // again: the time one token takes to refill. Sent to the client as
  // silta-retry-after-ms (lib/common/retry_after.h).
  absl::Duration CallRetryAfter() const { return absl::Seconds(1 / options_.calls_per_second); }
  absl::Duration HetuRetryAfter() const {
    return absl::Seconds(3600 / options_.hetu_calls_per_hour);
  }
  // Alerts raised so far (for the metrics endpoint).
  uint64_t hetu_alerts() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
    uint64_t unrecorded = 0;  // refusals counted but not recorded since the last recorded one
    bool alerted = false;     // HETU quota: alert raised, not yet refilled past half
  };
  // Refills `bucket` for the time since its last use and takes one token.
  static bool Take(Bucket& bucket, double per_second, double burst, absl::Time now);

  const Options options_;
  const common::Clock clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> calls_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> refusals_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Bucket> hetu_ ABSL_GUARDED_BY(mu_);
  mutable absl::Mutex alerts_mu_;
  uint64_t hetu_alerts_ ABSL_GUARDED_BY(alerts_mu_) = 0;
};

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_CALL_LIMITER_H_
