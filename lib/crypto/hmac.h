// File: lib/crypto/hmac.h
//
// HMAC-SHA256 (RFC 2104 / FIPS 198-1) over OpenSSL 3 EVP_MAC. Checked
// against every RFC 4231 vector in tests/vectors/.
#ifndef SILTA_LIB_CRYPTO_HMAC_H_
#define SILTA_LIB_CRYPTO_HMAC_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/crypto/secret_data.h"

namespace silta::crypto {

inline constexpr size_t kHmacSha256Size = 32;

// HMAC-SHA256 of `data` under `key` (any length; RFC 2104 hashes long keys).
// INVALID_ARGUMENT for an empty key; INTERNAL if OpenSSL fails.
absl::StatusOr<std::array<uint8_t, kHmacSha256Size>> HmacSha256(const SecretData& key,
                                                                absl::string_view data);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_HMAC_H_
