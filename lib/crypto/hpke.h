// File: lib/crypto/hpke.h
//
// HPKE (RFC 9180) with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, in base
// and PSK modes, with any of the three AEADs. OpenSSL 3.0 has no HPKE
// (OSSL_HPKE_* arrived in 3.2), so this composes the RFC's LabeledExtract /
// LabeledExpand from the primitives in primitives.h exactly as §4-§5 define
// them, and nothing more. The interface is shaped like Tink's HpkeContext so
// that OpenSSL's own can replace it when the platform moves to 3.2+. Silta
// uses base mode with AES-256-GCM (DESIGN.md §5); every RFC 9180 vector for
// the X25519/HKDF-SHA256 suites passes (tests/lib/crypto/hpke_test.cc).
//
// Example:
//   auto sender = HpkeContext::SetupBaseSender(Aead::kAes256Gcm, recipient_pub, info);
//   auto ct = (*sender)->Seal(aad, plaintext);             // seq 0
//   auto key = (*sender)->Export("field:referral.reason", 32);
//   auto recipient = HpkeContext::SetupBaseRecipient(Aead::kAes256Gcm,
//       (*sender)->encapsulated_key(), recipient_priv, info);
//
// Not thread-safe: a context has a sequence number.
#ifndef SILTA_LIB_CRYPTO_HPKE_H_
#define SILTA_LIB_CRYPTO_HPKE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/secret_data.h"

namespace silta::crypto {

enum class HpkeMode : uint8_t { kBase = 0, kPsk = 1 };

// The PSK-mode inputs; both empty in base mode, both non-empty in PSK mode.
struct HpkePsk {
  SecretData psk;
  std::string psk_id;
};

class HpkeContext {
 public:
  // Sender with a fresh ephemeral key. INVALID_ARGUMENT for a malformed
  // recipient key.
  static absl::StatusOr<std::unique_ptr<HpkeContext>> SetupBaseSender(
      Aead aead, absl::string_view recipient_public_key, absl::string_view info);
  // Recipient of `encapsulated_key`.
  static absl::StatusOr<std::unique_ptr<HpkeContext>> SetupBaseRecipient(
      Aead aead, absl::string_view encapsulated_key, const SecretData& recipient_private_key,
      absl::string_view info);

  // Base mode with the ephemeral private key given.
  // WARNING: `ephemeral_private_key` must be 32 fresh bytes from a CSPRNG and
  // never used twice; reusing it breaks HPKE's security. Exists so that a
  // caller with its own randomness source (golden vectors) can seal.
  static absl::StatusOr<std::unique_ptr<HpkeContext>> SetupBaseSenderWithEphemeralKey(
      Aead aead, absl::string_view recipient_public_key, absl::string_view info,
      const SecretData& ephemeral_private_key) {
    return SetupSenderWithEphemeralKeyForTest(HpkeMode::kBase, aead, recipient_public_key, info,
                                              ephemeral_private_key, HpkePsk{});
  }

  // Any mode, with the ephemeral private key given (known-answer tests only:
  // reusing an ephemeral key breaks HPKE's security).
  static absl::StatusOr<std::unique_ptr<HpkeContext>> SetupSenderWithEphemeralKeyForTest(
      HpkeMode mode, Aead aead, absl::string_view recipient_public_key, absl::string_view info,
      const SecretData& ephemeral_private_key, const HpkePsk& psk);
  // Any mode, recipient side.
  static absl::StatusOr<std::unique_ptr<HpkeContext>> SetupRecipient(
      HpkeMode mode, Aead aead, absl::string_view encapsulated_key,
      const SecretData& recipient_private_key, absl::string_view info, const HpkePsk& psk);

  HpkeContext(const HpkeContext&) = delete;
  HpkeContext& operator=(const HpkeContext&) = delete;

  // enc: the sender's ephemeral public key (32 bytes), to send along.
  const std::string& encapsulated_key() const { return enc_; }

  // Encrypts with the next nonce. FAILED_PRECONDITION once the sequence
  // number would overflow.
  absl::StatusOr<std::string> Seal(absl::string_view aad, absl::string_view plaintext);
  // Decrypts with the next nonce; INVALID_ARGUMENT "authentication failed"
  // if the tag does not verify (the sequence number then does not advance).
  absl::StatusOr<std::string> Open(absl::string_view aad, absl::string_view ciphertext);
  // Secret export (RFC 9180 §5.3): L bytes bound to `exporter_context`.
  absl::StatusOr<SecretData> Export(absl::string_view exporter_context, size_t length) const;

  // Jumps the sequence number (known-answer tests of later messages).
  void SetSequenceNumberForTest(uint64_t seq) { seq_ = seq; }

 private:
  HpkeContext(Aead aead, std::string enc, SecretData key, std::string base_nonce,
              SecretData exporter_secret)
      : aead_(aead),
        enc_(std::move(enc)),
        key_(std::move(key)),
        base_nonce_(std::move(base_nonce)),
        exporter_secret_(std::move(exporter_secret)) {}

  static absl::StatusOr<std::unique_ptr<HpkeContext>> KeySchedule(HpkeMode mode, Aead aead,
                                                                  std::string enc,
                                                                  const SecretData& shared_secret,
                                                                  absl::string_view info,
                                                                  const HpkePsk& psk);
  std::string NextNonce() const;

  const Aead aead_;
  const std::string enc_;
  const SecretData key_;
  const std::string base_nonce_;
  const SecretData exporter_secret_;
  uint64_t seq_ = 0;
};

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_HPKE_H_
