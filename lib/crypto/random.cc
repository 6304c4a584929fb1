#include "lib/crypto/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"

namespace silta::crypto {

absl::Status RandomBytes(absl::Span<uint8_t> out) {
  if (out.empty()) return absl::OkStatus();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    ERR_clear_error();
    return absl::InternalError("the system random number generator failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<SecretData> RandomSecret(size_t size) {
  SecretData secret(size);
  if (absl::Status s = RandomBytes(absl::MakeSpan(secret.data(), size)); !s.ok()) return s;
  return secret;
}

absl::StatusOr<std::string> NewUuidV7(absl::Time now) {
  std::array<uint8_t, 16> b{};
  if (absl::Status s = RandomBytes(absl::MakeSpan(b)); !s.ok()) return s;
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // variant 10
  return absl::StrFormat("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

bool IsCanonicalUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-'
             : !(absl::ascii_isdigit(text[i]) || (text[i] >= 'a' && text[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace silta::crypto
