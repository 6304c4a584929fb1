// File: lib/common/time_util.h
//
// Conversions between absl::Time and google.protobuf.Timestamp, at
// microsecond precision (what the store keeps).
#ifndef SILTA_LIB_COMMON_TIME_UTIL_H_
#define SILTA_LIB_COMMON_TIME_UTIL_H_

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace silta::common {

// `t` truncated to whole microseconds.
google::protobuf::Timestamp ToTimestamp(absl::Time t);

// The instant of `ts`.
absl::Time ToTime(const google::protobuf::Timestamp& ts);

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_TIME_UTIL_H_
