#include "server/identity/call_limiter.h"

#include <algorithm>
#include <utility>

namespace silta::identity {

bool CallLimiter::Take(Bucket& bucket, double per_second, double burst, absl::Time now) {
  const double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - bucket.updated));
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * per_second);
  bucket.updated = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

bool CallLimiter::AdmitCall(absl::string_view org_id) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  Bucket& bucket = calls_.try_emplace(org_id, Bucket{options_.call_burst, now}).first->second;
  return Take(bucket, options_.calls_per_second, options_.call_burst, now);
}

std::optional<uint64_t> CallLimiter::RecordRefusal(absl::string_view org_id) {
  const absl::Time now = clock_();
  absl::MutexLock lock(&mu_);
  Bucket& bucket =
      refusals_.try_emplace(org_id, Bucket{options_.recorded_refusal_burst, now}).first->second;
  if (!Take(bucket, options_.recorded_refusals_per_second, options_.recorded_refusal_burst, now)) {
    ++bucket.unrecorded;
    return std::nullopt;
  }
  return std::exchange(bucket.unrecorded, 0);
}

CallLimiter::HetuAdmission CallLimiter::AdmitHetuCall(absl::string_view org_id) {
  const absl::Time now = clock_();
  const double quota = options_.hetu_calls_per_hour;
  HetuAdmission out;
  absl::MutexLock lock(&mu_);
  Bucket& bucket = hetu_.try_emplace(org_id, Bucket{quota, now}).first->second;
  out.admitted = Take(bucket, quota / 3600.0, quota, now);
  out.remaining = bucket.tokens;
  if (bucket.tokens >= 0.5 * quota) bucket.alerted = false;
  if (!bucket.alerted && bucket.tokens <= 0.2 * quota) {
    bucket.alerted = true;
    out.alert = true;
    absl::MutexLock alerts(&alerts_mu_);
    ++hetu_alerts_;
  }
  return out;
}

uint64_t CallLimiter::hetu_alerts() const {
  absl::MutexLock lock(&alerts_mu_);
  return hetu_alerts_;
}

}  // namespace silta::identity
