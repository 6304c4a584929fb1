// File: lib/crypto/canonical_bytes.h
//
// The building blocks of every byte string Silta signs or hashes
// (docs/wire-format.md §1): big-endian integers, length-prefixed strings,
// SHA-256 as a 32-byte string and timestamps as Unix microseconds. One
// implementation, so the sealed-message manifest and the audit entry encode
// the same way.
#ifndef SILTA_LIB_CRYPTO_CANONICAL_BYTES_H_
#define SILTA_LIB_CRYPTO_CANONICAL_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"

namespace silta::crypto {

// u32(v): 4 bytes, big-endian.
void PutU32(std::string* out, uint32_t v);
// u64(v): 8 bytes, big-endian.
void PutU64(std::string* out, uint64_t v);
// LP(x) = u32(len(x)) ‖ x.
void PutLp(std::string* out, absl::string_view bytes);
// SHA-256 of `data` as a 32-byte string.
std::string Sha256String(absl::string_view data);
// micros(t): seconds·10⁶ + nanos/1000 (nanos truncated).
uint64_t Micros(const google::protobuf::Timestamp& ts);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_CANONICAL_BYTES_H_
