// File: lib/crypto/random.h
//
// The one wrapper around the OpenSSL CSPRNG (RAND_bytes), and identifiers
// built on it.
#ifndef SILTA_LIB_CRYPTO_RANDOM_H_
#define SILTA_LIB_CRYPTO_RANDOM_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "lib/crypto/secret_data.h"

namespace silta::crypto {

// Fills `out` with cryptographically secure random bytes. INTERNAL if the
// CSPRNG fails (never silently weak).
absl::Status RandomBytes(absl::Span<uint8_t> out);

// The same CSPRNG's bytes, for many small draws on a hot path: the
// identifiers and audit salts of every message. OpenSSL 3.0 spends about
// 3 µs on each RAND_bytes call however few bytes it gives, and a message
// takes ten such draws; this one refills a per-thread buffer 512 bytes at a
// time and wipes each byte it hands out. A child process never reuses its
// parent's buffer (fork() discards every thread's buffer in the child).
// Not for keys, which draw with RandomBytes or RandomSecret.
absl::Status RandomBytesForIds(absl::Span<uint8_t> out);

// A new random secret of `size` bytes.
absl::StatusOr<SecretData> RandomSecret(size_t size);

// A UUID version 7 (RFC 9562): 48-bit Unix milliseconds of `now`, then 74
// random bits; lower-case canonical text form. Sorts by creation time.
absl::StatusOr<std::string> NewUuidV7(absl::Time now);

// True if `text` is a canonical lower-case UUID (any version).
bool IsCanonicalUuid(absl::string_view text);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_RANDOM_H_
