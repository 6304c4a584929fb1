#include "lib/crypto/canonical_bytes.h"

#include "absl/time/time.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"

namespace silta::crypto {

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

void PutLp(std::string* out, absl::string_view bytes) {
  PutU32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes.data(), bytes.size());
}

std::string Sha256String(absl::string_view data) {
  const auto d = Sha256(data);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

uint64_t Micros(const google::protobuf::Timestamp& ts) {
  return static_cast<uint64_t>(absl::ToUnixMicros(common::ToTime(ts)));
}

}  // namespace silta::crypto
