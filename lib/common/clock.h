// File: lib/common/clock.h
//
// The one time source of the components that decide with time: consent
// validity and ages, case and delivery expiry, rate limits, key and tree
// head dates, reports. Each takes a Clock (siltad passes SystemClock());
// a test passes its own and puts the component at any moment: a birthday,
// a review date, a notification's deadline. The fake is a lambda over a
// time the test owns (below; RegistryFixture's now_).
//
// Real time stays real where nothing is decided with it: when background
// threads next wake, how long a call took (metrics), log timestamps and
// gRPC deadlines.
//
// Example:
//   absl::Time now = absl::FromUnixSeconds(1790000000);
//   cases::CaseRegistry cases(..., [&now] { return now; });
//   now += absl::Hours(25);
#ifndef SILTA_LIB_COMMON_CLOCK_H_
#define SILTA_LIB_COMMON_CLOCK_H_

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace silta::common {

// Returns the current time. Must be callable from any thread.
using Clock = std::function<absl::Time()>;

// The system's real time.
inline Clock SystemClock() { return [] { return absl::Now(); }; }

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_CLOCK_H_
