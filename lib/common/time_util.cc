#include "lib/common/time_util.h"

namespace silta::common {

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const int64_t us = absl::ToUnixMicros(t);
  google::protobuf::Timestamp ts;
  int64_t seconds = us / 1000000;
  int64_t micros = us % 1000000;
  if (micros < 0) {  // before 1970: nanos must be non-negative
    micros += 1000000;
    --seconds;
  }
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>(micros * 1000));
  return ts;
}

absl::Time ToTime(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace silta::common
