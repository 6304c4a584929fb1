// File: lib/crypto/primitives.h
//
// The primitives Silta builds on, as small pure functions over OpenSSL 3.0
// EVP: SHA-256, HKDF-SHA256 (extract and expand, RFC 5869), the AEADs
// (AES-128/256-GCM, ChaCha20-Poly1305), X25519 (RFC 7748) and Ed25519
// (RFC 8032, pure). Each is tested against its RFC vectors in
// tests/vectors/. Keys are raw bytes: 32-byte X25519 and Ed25519 private
// keys (for Ed25519 the RFC 8032 seed) in SecretData, public keys as bytes.
//
// Errors: INVALID_ARGUMENT for wrong sizes, INVALID_ARGUMENT "authentication
// failed" when an AEAD tag or signature does not verify, INTERNAL when
// OpenSSL fails.
#ifndef SILTA_LIB_CRYPTO_PRIMITIVES_H_
#define SILTA_LIB_CRYPTO_PRIMITIVES_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/crypto/secret_data.h"

namespace silta::crypto {

inline constexpr size_t kSha256Size = 32;
inline constexpr size_t kX25519KeySize = 32;
inline constexpr size_t kEd25519KeySize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;
inline constexpr size_t kAeadNonceSize = 12;
inline constexpr size_t kAeadTagSize = 16;

// SHA-256 of `data`.
std::array<uint8_t, kSha256Size> Sha256(absl::string_view data);

// HKDF-Extract(salt, ikm) with SHA-256; an empty salt means HashLen zeros.
absl::StatusOr<SecretData> HkdfExtract(absl::string_view salt, const SecretData& ikm);
// HKDF-Expand(prk, info, length) with SHA-256; length ≤ 255 * 32.
absl::StatusOr<SecretData> HkdfExpand(const SecretData& prk, absl::string_view info, size_t length);

// AEAD algorithms (the HPKE AEAD ids).
enum class Aead : uint16_t { kAes128Gcm = 1, kAes256Gcm = 2, kChaCha20Poly1305 = 3 };
// Key size of `aead` in bytes.
size_t AeadKeySize(Aead aead);
// ciphertext || tag.
absl::StatusOr<std::string> AeadSeal(Aead aead, const SecretData& key, absl::string_view nonce,
                                     absl::string_view aad, absl::string_view plaintext);
// Verifies the tag (constant time inside OpenSSL) and decrypts.
absl::StatusOr<std::string> AeadOpen(Aead aead, const SecretData& key, absl::string_view nonce,
                                     absl::string_view aad, absl::string_view ciphertext);

// Like AeadOpen, for plaintexts that are key material (wrapped field keys):
// the result never sits in a std::string.
absl::StatusOr<SecretData> AeadOpenSecret(Aead aead, const SecretData& key, absl::string_view nonce,
                                          absl::string_view aad, absl::string_view ciphertext);

// An X25519 or Ed25519 key pair.
struct KeyPair {
  SecretData private_key;  // 32 bytes
  std::string public_key;  // 32 bytes
};

absl::StatusOr<KeyPair> GenerateX25519KeyPair();
absl::StatusOr<std::string> X25519PublicKey(const SecretData& private_key);
// X25519(k, u). Rejects an all-zero result (a low-order peer key).
absl::StatusOr<SecretData> X25519(const SecretData& private_key, absl::string_view peer_public);

absl::StatusOr<KeyPair> GenerateEd25519KeyPair();
absl::StatusOr<std::string> Ed25519PublicKey(const SecretData& private_key);
absl::StatusOr<std::string> Ed25519Sign(const SecretData& private_key, absl::string_view message);
// OK if `signature` is valid for `message` under `public_key`.
absl::Status Ed25519Verify(absl::string_view public_key, absl::string_view message,
                           absl::string_view signature);
// OK if `public_key` is a canonical encoding of an Ed25519 point on the
// curve that is not of small order (order 1, 2, 4 or 8); INVALID_ARGUMENT
// saying which otherwise. Key bundles are checked with it at publication
// and by every SDK before they are trusted.
absl::Status CheckEd25519PublicKey(absl::string_view public_key);
// OK if `public_key` is a canonical X25519 u-coordinate (top bit clear,
// below 2^255 - 19) of a point that is not of low order; INVALID_ARGUMENT
// otherwise. No one could send to a bundle carrying such a key.
absl::Status CheckX25519PublicKey(absl::string_view public_key);

// The raw 32-byte key of an Ed25519 private key in PEM (PKCS#8, as written
// by `openssl genpkey -algorithm ed25519`). INVALID_ARGUMENT otherwise.
absl::StatusOr<SecretData> Ed25519PrivateKeyFromPem(absl::string_view pem);
// The raw 32-byte key of an Ed25519 public key in PEM (SubjectPublicKeyInfo,
// as written by `openssl pkey -pubout`). INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_PRIMITIVES_H_
