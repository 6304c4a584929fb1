#include "lib/crypto/hpke.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/crypto/random.h"

namespace silta::crypto {
namespace {

constexpr uint16_t kKemX25519HkdfSha256 = 0x0020;
constexpr uint16_t kKdfHkdfSha256 = 0x0001;
constexpr size_t kNh = 32;       // HKDF-SHA256 output
constexpr size_t kNsecret = 32;  // DHKEM(X25519) shared secret
constexpr absl::string_view kVersionLabel = "HPKE-v1";

// I2OSP(n, w): big-endian, w bytes.
std::string I2osp(uint64_t n, size_t w) {
  std::string out(w, '\0');
  // Bytes beyond the eighth from the right are zero (shifting a 64-bit value
  // by 64 or more is undefined).
  for (size_t i = 0; i < w && i < sizeof(n); ++i) {
    out[w - 1 - i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  return out;
}

std::string KemSuiteId() { return absl::StrCat("KEM", I2osp(kKemX25519HkdfSha256, 2)); }

std::string HpkeSuiteId(Aead aead) {
  return absl::StrCat("HPKE", I2osp(kKemX25519HkdfSha256, 2), I2osp(kKdfHkdfSha256, 2),
                      I2osp(static_cast<uint16_t>(aead), 2));
}

// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm)
absl::StatusOr<SecretData> LabeledExtract(absl::string_view suite_id, absl::string_view salt,
                                          absl::string_view label, absl::string_view ikm) {
  // ikm is the DH value or the PSK: the labeled input is key material too,
  // so it is assembled in SecretData, never in a std::string.
  const std::string prefix = absl::StrCat(kVersionLabel, suite_id, label);
  SecretData labeled(prefix.size() + ikm.size());
  std::copy(prefix.begin(), prefix.end(), labeled.data());
  std::copy(ikm.begin(), ikm.end(), labeled.data() + prefix.size());
  return HkdfExtract(salt, labeled);
}

// LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label ||
// info, L)
absl::StatusOr<SecretData> LabeledExpand(absl::string_view suite_id, const SecretData& prk,
                                         absl::string_view label, absl::string_view info,
                                         size_t length) {
  return HkdfExpand(prk, absl::StrCat(I2osp(length, 2), kVersionLabel, suite_id, label, info),
                    length);
}

// DHKEM ExtractAndExpand(dh, kem_context).
absl::StatusOr<SecretData> ExtractAndExpand(const SecretData& dh, absl::string_view kem_context) {
  const std::string suite_id = KemSuiteId();
  absl::StatusOr<SecretData> eae_prk = LabeledExtract(suite_id, "", "eae_prk", View(dh));
  if (!eae_prk.ok()) return eae_prk.status();
  return LabeledExpand(suite_id, *eae_prk, "shared_secret", kem_context, kNsecret);
}

absl::Status CheckPsk(HpkeMode mode, const HpkePsk& psk) {
  const bool has_psk = !psk.psk.empty();
  const bool has_id = !psk.psk_id.empty();
  if (has_psk != has_id) {
    return absl::InvalidArgumentError("HPKE: psk and psk_id must both be set or both be empty");
  }
  if (mode == HpkeMode::kBase && has_psk) {
    return absl::InvalidArgumentError("HPKE: base mode takes no psk");
  }
  if (mode == HpkeMode::kPsk && !has_psk) {
    return absl::InvalidArgumentError("HPKE: psk mode needs psk and psk_id");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<HpkeContext>> HpkeContext::KeySchedule(
    HpkeMode mode, Aead aead, std::string enc, const SecretData& shared_secret,
    absl::string_view info, const HpkePsk& psk) {
  if (absl::Status s = CheckPsk(mode, psk); !s.ok()) return s;
  const std::string suite_id = HpkeSuiteId(aead);
  absl::StatusOr<SecretData> psk_id_hash = LabeledExtract(suite_id, "", "psk_id_hash", psk.psk_id);
  if (!psk_id_hash.ok()) return psk_id_hash.status();
  absl::StatusOr<SecretData> info_hash = LabeledExtract(suite_id, "", "info_hash", info);
  if (!info_hash.ok()) return info_hash.status();
  const std::string context =
      absl::StrCat(I2osp(static_cast<uint8_t>(mode), 1), View(*psk_id_hash), View(*info_hash));
  absl::StatusOr<SecretData> secret =
      LabeledExtract(suite_id, View(shared_secret), "secret", View(psk.psk));
  if (!secret.ok()) return secret.status();
  absl::StatusOr<SecretData> key =
      LabeledExpand(suite_id, *secret, "key", context, AeadKeySize(aead));
  absl::StatusOr<SecretData> base_nonce =
      LabeledExpand(suite_id, *secret, "base_nonce", context, kAeadNonceSize);
  absl::StatusOr<SecretData> exporter = LabeledExpand(suite_id, *secret, "exp", context, kNh);
  if (!key.ok()) return key.status();
  if (!base_nonce.ok()) return base_nonce.status();
  if (!exporter.ok()) return exporter.status();
  return std::unique_ptr<HpkeContext>(new HpkeContext(
      aead, std::move(enc), *std::move(key), std::string(View(*base_nonce)), *std::move(exporter)));
}

absl::StatusOr<std::unique_ptr<HpkeContext>> HpkeContext::SetupSenderWithEphemeralKeyForTest(
    HpkeMode mode, Aead aead, absl::string_view recipient_public_key, absl::string_view info,
    const SecretData& ephemeral_private_key, const HpkePsk& psk) {
  absl::StatusOr<SecretData> dh = X25519(ephemeral_private_key, recipient_public_key);
  if (!dh.ok()) return dh.status();
  absl::StatusOr<std::string> enc = X25519PublicKey(ephemeral_private_key);
  if (!enc.ok()) return enc.status();
  absl::StatusOr<SecretData> shared =
      ExtractAndExpand(*dh, absl::StrCat(*enc, recipient_public_key));
  if (!shared.ok()) return shared.status();
  return KeySchedule(mode, aead, *std::move(enc), *shared, info, psk);
}

absl::StatusOr<std::unique_ptr<HpkeContext>> HpkeContext::SetupBaseSender(
    Aead aead, absl::string_view recipient_public_key, absl::string_view info) {
  absl::StatusOr<KeyPair> ephemeral = GenerateX25519KeyPair();
  if (!ephemeral.ok()) return ephemeral.status();
  return SetupSenderWithEphemeralKeyForTest(HpkeMode::kBase, aead, recipient_public_key, info,
                                            ephemeral->private_key, HpkePsk{});
}

absl::StatusOr<std::unique_ptr<HpkeContext>> HpkeContext::SetupRecipient(
    HpkeMode mode, Aead aead, absl::string_view encapsulated_key,
    const SecretData& recipient_private_key, absl::string_view info, const HpkePsk& psk) {
  absl::StatusOr<SecretData> dh = X25519(recipient_private_key, encapsulated_key);
  if (!dh.ok()) return dh.status();
  absl::StatusOr<std::string> pk_r = X25519PublicKey(recipient_private_key);
  if (!pk_r.ok()) return pk_r.status();
  absl::StatusOr<SecretData> shared = ExtractAndExpand(*dh, absl::StrCat(encapsulated_key, *pk_r));
  if (!shared.ok()) return shared.status();
  return KeySchedule(mode, aead, std::string(encapsulated_key), *shared, info, psk);
}

absl::StatusOr<std::unique_ptr<HpkeContext>> HpkeContext::SetupBaseRecipient(
    Aead aead, absl::string_view encapsulated_key, const SecretData& recipient_private_key,
    absl::string_view info) {
  return SetupRecipient(HpkeMode::kBase, aead, encapsulated_key, recipient_private_key, info,
                        HpkePsk{});
}

std::string HpkeContext::NextNonce() const {
  std::string nonce = base_nonce_;
  const std::string seq = I2osp(seq_, kAeadNonceSize);
  for (size_t i = 0; i < kAeadNonceSize; ++i) nonce[i] = static_cast<char>(nonce[i] ^ seq[i]);
  return nonce;
}

absl::StatusOr<std::string> HpkeContext::Seal(absl::string_view aad, absl::string_view plaintext) {
  if (seq_ == UINT64_MAX) return absl::FailedPreconditionError("HPKE sequence number exhausted");
  absl::StatusOr<std::string> ct = AeadSeal(aead_, key_, NextNonce(), aad, plaintext);
  if (ct.ok()) ++seq_;
  return ct;
}

absl::StatusOr<std::string> HpkeContext::Open(absl::string_view aad, absl::string_view ciphertext) {
  if (seq_ == UINT64_MAX) return absl::FailedPreconditionError("HPKE sequence number exhausted");
  absl::StatusOr<std::string> pt = AeadOpen(aead_, key_, NextNonce(), aad, ciphertext);
  if (pt.ok()) ++seq_;
  return pt;
}

absl::StatusOr<SecretData> HpkeContext::Export(absl::string_view exporter_context,
                                               size_t length) const {
  return LabeledExpand(HpkeSuiteId(aead_), exporter_secret_, "sec", exporter_context, length);
}

}  // namespace silta::crypto
