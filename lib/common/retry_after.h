// File: lib/common/retry_after.h
//
// How siltad tells a client when to call again. A call refused because the
// organisation is over a rate limit (RESOURCE_EXHAUSTED, refused before the
// broker did anything) carries the trailing metadata
//   silta-retry-after-ms: <milliseconds>
// the time after which the same call can be admitted. The SDK waits at
// least that long before it retries (client/sdk/retry.h). No other status
// carries it. docs/wire-format.md §11 documents it.
//
// Example (server):
//   absl::Status refused = absl::ResourceExhaustedError("...");
//   common::SetRetryAfter(&refused, absl::Seconds(6));  // becomes the metadata
// Example (client):
//   std::optional<absl::Duration> wait = common::ParseRetryAfter(value);
#ifndef SILTA_LIB_COMMON_RETRY_AFTER_H_
#define SILTA_LIB_COMMON_RETRY_AFTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace silta::common {

inline constexpr char kRetryAfterMetadata[] = "silta-retry-after-ms";

// The metadata value for `wait`, rounded up to whole milliseconds (≥ 1).
inline std::string RetryAfterValue(absl::Duration wait) {
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)));
  return absl::StrCat(ms < 1 ? 1 : ms);
}

// The wait a metadata value names; nullopt if it is not a whole number of
// milliseconds between 0 and one day.
inline std::optional<absl::Duration> ParseRetryAfter(absl::string_view value) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms) || ms < 0 || ms > 24 * 3600 * 1000) return std::nullopt;
  return absl::Milliseconds(ms);
}

// Inside siltad, a refusal carries its wait as a payload of the
// absl::Status until the service layer turns it into the metadata above.
inline constexpr char kRetryAfterPayload[] = "type.silta/retry-after-ms";

inline void SetRetryAfter(absl::Status* status, absl::Duration wait) {
  status->SetPayload(kRetryAfterPayload, absl::Cord(RetryAfterValue(wait)));
}

inline std::optional<absl::Duration> RetryAfterOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kRetryAfterPayload);  // absl::optional
  if (!payload.has_value()) return std::nullopt;
  return ParseRetryAfter(std::string(*payload));
}

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_RETRY_AFTER_H_
