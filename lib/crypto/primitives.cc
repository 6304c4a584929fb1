#include "lib/crypto/primitives.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <sodium.h>

#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/openssl_util.h"
#include "lib/crypto/random.h"

namespace silta::crypto {
namespace {

using internal::Bytes;
using internal::OpenSslError;

constexpr size_t kMaxHkdfOutput = 255 * kSha256Size;

absl::StatusOr<SecretData> Hkdf(int mode, absl::string_view salt, const SecretData& key,
                                absl::string_view info, size_t length) {
  internal::KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return OpenSslError("EVP_KDF_fetch(HKDF)");
  internal::KdfCtxPtr ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return OpenSslError("EVP_KDF_CTX_new");
  char digest[] = "SHA256";
  int kdf_mode = mode;
  OSSL_PARAM params[6];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &kdf_mode);
  params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  const_cast<uint8_t*>(key.data()), key.size());
  // RFC 5869: an absent salt is HashLen zero bytes.
  static constexpr std::array<uint8_t, kSha256Size> kZeroSalt{};
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    params[n++] =
        salt.empty()
            ? OSSL_PARAM_construct_octet_string(
                  OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(kZeroSalt.data()), kZeroSalt.size())
            : OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
                                                salt.size());
  } else {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<char*>(info.data()), info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretData out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return OpenSslError("EVP_KDF_derive(HKDF)");
  }
  return out;
}

const EVP_CIPHER* CipherFor(Aead aead) {
  switch (aead) {
    case Aead::kAes128Gcm:
      return EVP_aes_128_gcm();
    case Aead::kAes256Gcm:
      return EVP_aes_256_gcm();
    case Aead::kChaCha20Poly1305:
      return EVP_chacha20_poly1305();
  }
  return nullptr;
}

absl::Status CheckAeadInputs(Aead aead, const SecretData& key, absl::string_view nonce) {
  if (CipherFor(aead) == nullptr) return absl::InvalidArgumentError("unknown AEAD");
  if (key.size() != AeadKeySize(aead)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AEAD key must be ", AeadKeySize(aead), " bytes"));
  }
  if (nonce.size() != kAeadNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("AEAD nonce must be ", kAeadNonceSize, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<internal::PkeyPtr> RawPrivateKey(int type, const SecretData& key) {
  if (key.size() != 32) return absl::InvalidArgumentError("private key must be 32 bytes");
  internal::PkeyPtr pkey(EVP_PKEY_new_raw_private_key(type, nullptr, key.data(), key.size()));
  if (!pkey) return OpenSslError("EVP_PKEY_new_raw_private_key");
  return pkey;
}

// Once, for every thread (sodium_init is safe to call concurrently); -1
// means libsodium could not set itself up, and nothing is computed.
absl::Status SodiumReady() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) return absl::InternalError("libsodium failed to initialise");
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawPublicKey(const EVP_PKEY* pkey) {
  std::string out(32, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != 32) {
    return OpenSslError("EVP_PKEY_get_raw_public_key");
  }
  return out;
}

absl::StatusOr<KeyPair> Generate(int type) {
  absl::StatusOr<SecretData> random_seed = RandomSecret(32);
  if (!random_seed.ok()) return random_seed.status();
  SecretData seed = *std::move(random_seed);
  absl::StatusOr<internal::PkeyPtr> pkey = RawPrivateKey(type, seed);
  if (!pkey.ok()) return pkey.status();
  absl::StatusOr<std::string> pub = RawPublicKey(pkey->get());
  if (!pub.ok()) return pub.status();
  return KeyPair{std::move(seed), *std::move(pub)};
}

// SHA-256 fetched from the default provider once. With EVP_sha256(),
// OpenSSL 3.0 looks the algorithm up again in every EVP_Digest call (about
// 1% of siltad's CPU under load, for the forty-odd hashes of a message). An
// EVP_MD is immutable and may be used by any number of threads at once.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

}  // namespace

std::array<uint8_t, kSha256Size> Sha256(absl::string_view data) {
  std::array<uint8_t, kSha256Size> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, Sha256Md(), nullptr);
  return out;
}

absl::StatusOr<SecretData> HkdfExtract(absl::string_view salt, const SecretData& ikm) {
  return Hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, salt, ikm, "", kSha256Size);
}

absl::StatusOr<SecretData> HkdfExpand(const SecretData& prk, absl::string_view info,
                                      size_t length) {
  if (length == 0 || length > kMaxHkdfOutput) {
    return absl::InvalidArgumentError("HKDF-Expand length must be 1..8160");
  }
  return Hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, "", prk, info, length);
}

size_t AeadKeySize(Aead aead) { return aead == Aead::kAes128Gcm ? 16 : 32; }

absl::StatusOr<std::string> AeadSeal(Aead aead, const SecretData& key, absl::string_view nonce,
                                     absl::string_view aad, absl::string_view plaintext) {
  if (absl::Status s = CheckAeadInputs(aead, key, nonce); !s.ok()) return s;
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), CipherFor(aead), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, kAeadNonceSize, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(nonce)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1)) {
    return OpenSslError("AEAD seal setup");
  }
  std::string out(plaintext.size() + kAeadTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), o, &written, Bytes(plaintext),
                                              static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("AEAD seal");
  }
  int final_len = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), o + written, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kAeadTagSize,
                          o + written + final_len) != 1) {
    return OpenSslError("AEAD seal final");
  }
  return out;
}

namespace {

// Decrypts into `out` (ciphertext.size() - kAeadTagSize bytes, sized by the
// caller); wipes it when the tag does not verify.
absl::Status AeadOpenInto(Aead aead, const SecretData& key, absl::string_view nonce,
                          absl::string_view aad, absl::string_view ciphertext, uint8_t* o,
                          size_t body) {
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), CipherFor(aead), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, kAeadNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(nonce)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                         static_cast<int>(aad.size())) != 1)) {
    return OpenSslError("AEAD open setup");
  }
  int written = 0;
  if (body > 0 &&
      EVP_DecryptUpdate(ctx.get(), o, &written, Bytes(ciphertext), static_cast<int>(body)) != 1) {
    OPENSSL_cleanse(o, body);
    return OpenSslError("AEAD open");
  }
  std::string tag(ciphertext.substr(body));
  int final_len = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + written, &final_len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(o, body);
    return absl::InvalidArgumentError("authentication failed: AEAD tag does not verify");
  }
  return absl::OkStatus();
}

absl::Status CheckAeadOpenInputs(Aead aead, const SecretData& key, absl::string_view nonce,
                                 absl::string_view ciphertext) {
  if (absl::Status s = CheckAeadInputs(aead, key, nonce); !s.ok()) return s;
  if (ciphertext.size() < kAeadTagSize) {
    return absl::InvalidArgumentError("authentication failed: ciphertext shorter than the tag");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> AeadOpen(Aead aead, const SecretData& key, absl::string_view nonce,
                                     absl::string_view aad, absl::string_view ciphertext) {
  if (absl::Status s = CheckAeadOpenInputs(aead, key, nonce, ciphertext); !s.ok()) return s;
  std::string out(ciphertext.size() - kAeadTagSize, '\0');
  absl::Status opened = AeadOpenInto(aead, key, nonce, aad, ciphertext,
                                     reinterpret_cast<uint8_t*>(out.data()), out.size());
  if (!opened.ok()) return opened;
  return out;
}

absl::StatusOr<SecretData> AeadOpenSecret(Aead aead, const SecretData& key, absl::string_view nonce,
                                          absl::string_view aad, absl::string_view ciphertext) {
  if (absl::Status s = CheckAeadOpenInputs(aead, key, nonce, ciphertext); !s.ok()) return s;
  SecretData out(ciphertext.size() - kAeadTagSize);
  absl::Status opened = AeadOpenInto(aead, key, nonce, aad, ciphertext, out.data(), out.size());
  if (!opened.ok()) return opened;
  return out;
}

absl::StatusOr<KeyPair> GenerateX25519KeyPair() { return Generate(EVP_PKEY_X25519); }

absl::StatusOr<std::string> X25519PublicKey(const SecretData& private_key) {
  absl::StatusOr<internal::PkeyPtr> pkey = RawPrivateKey(EVP_PKEY_X25519, private_key);
  if (!pkey.ok()) return pkey.status();
  return RawPublicKey(pkey->get());
}

// The shared secret is libsodium's: HPKE computes one or two per recipient,
// and the RFC 7748 iterated vector a million (34 us a call against 64 us
// through OpenSSL 3.0's EVP keys on the CI machine kind). Besides the
// all-zero result it refuses the small-order points by name; both mean a
// low-order peer key.
absl::StatusOr<SecretData> X25519(const SecretData& private_key, absl::string_view peer_public) {
  if (peer_public.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("X25519 public key must be 32 bytes");
  }
  if (private_key.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("X25519 private key must be 32 bytes");
  }
  SILTA_RETURN_IF_ERROR(SodiumReady());
  SecretData shared(kX25519KeySize);
  if (crypto_scalarmult(shared.data(), private_key.data(), Bytes(peer_public)) != 0) {
    return absl::InvalidArgumentError("X25519 produced the all-zero value (low-order public key)");
  }
  return shared;
}

absl::StatusOr<KeyPair> GenerateEd25519KeyPair() { return Generate(EVP_PKEY_ED25519); }

absl::StatusOr<std::string> Ed25519PublicKey(const SecretData& private_key) {
  absl::StatusOr<internal::PkeyPtr> pkey = RawPrivateKey(EVP_PKEY_ED25519, private_key);
  if (!pkey.ok()) return pkey.status();
  return RawPublicKey(pkey->get());
}

absl::StatusOr<std::string> Ed25519Sign(const SecretData& private_key, absl::string_view message) {
  absl::StatusOr<internal::PkeyPtr> pkey = RawPrivateKey(EVP_PKEY_ED25519, private_key);
  if (!pkey.ok()) return pkey.status();
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string signature(kEd25519SignatureSize, '\0');
  size_t len = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey->get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     Bytes(message), message.size()) != 1 ||
      len != kEd25519SignatureSize) {
    return OpenSslError("Ed25519 sign");
  }
  return signature;
}

// Verification is libsodium's: siltad verifies a signature on every Send,
// and libsodium 1.0.18 does it in half the time of OpenSSL 3.0 (57-67 us
// against 124-132 us on the CI machine kind; docs/message-path-log.md). It is
// also the stricter of the two: besides S < L (RFC 8032 §5.1.7) it refuses
// non-canonical and small-order encodings of the key and of R, which no
// honest signer produces. Signing stays with OpenSSL, where the private key
// already lives.
absl::Status Ed25519Verify(absl::string_view public_key, absl::string_view message,
                           absl::string_view signature) {
  if (public_key.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  if (signature.size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError("authentication failed: Ed25519 signature must be 64 bytes");
  }
  SILTA_RETURN_IF_ERROR(SodiumReady());
  if (crypto_sign_verify_detached(Bytes(signature), Bytes(message), message.size(),
                                  Bytes(public_key)) != 0) {
    return absl::InvalidArgumentError("authentication failed: Ed25519 signature does not verify");
  }
  return absl::OkStatus();
}

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

absl::StatusOr<internal::PkeyPtr> ReadEd25519Pem(absl::string_view pem, bool private_key) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  internal::PkeyPtr pkey(private_key ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                     : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!pkey || EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not an Ed25519 ", private_key ? "private" : "public", " key in PEM (create one with ",
        private_key ? "`openssl genpkey -algorithm ed25519`" : "`openssl pkey -pubout`", ")"));
  }
  return pkey;
}

}  // namespace

absl::StatusOr<SecretData> Ed25519PrivateKeyFromPem(absl::string_view pem) {
  absl::StatusOr<internal::PkeyPtr> pkey = ReadEd25519Pem(pem, true);
  if (!pkey.ok()) return pkey.status();
  SecretData out(kEd25519KeySize);
  size_t len = kEd25519KeySize;
  if (EVP_PKEY_get_raw_private_key(pkey->get(), out.data(), &len) != 1 || len != kEd25519KeySize) {
    return OpenSslError("EVP_PKEY_get_raw_private_key");
  }
  return out;
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  absl::StatusOr<internal::PkeyPtr> pkey = ReadEd25519Pem(pem, false);
  if (!pkey.ok()) return pkey.status();
  return RawPublicKey(pkey->get());
}

namespace {

struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* c) const { BN_CTX_free(c); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

// Little-endian 32 bytes with the top bit cleared, as a BIGNUM.
BnPtr LittleEndian255(absl::string_view bytes) {
  unsigned char le[32];
  std::memcpy(le, bytes.data(), 32);
  le[31] &= 0x7f;
  return BnPtr(BN_lebin2bn(le, 32, nullptr));
}

BnPtr FromDecimal(const char* text) {
  BIGNUM* b = nullptr;
  BN_dec2bn(&b, text);
  return BnPtr(b);
}

// p = 2^255 - 19.
constexpr const char* kP =
    "57896044618658097711785492504343953926634992332820282019728792003956564819949";
// d = -121665/121666 mod p (RFC 8032 §5.1).
constexpr const char* kD =
    "37095705934669439343138083508754565189542113879843219016388785533085940283555";
// The y coordinate of the Ed25519 points of order 8 (the other is p - y).
constexpr const char* kOrder8Y =
    "2707385501144840649318225287225658788936804267575313519463743609750303402022";

}  // namespace

absl::Status CheckEd25519PublicKey(absl::string_view public_key) {
  if (public_key.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  const bool sign = (static_cast<uint8_t>(public_key[31]) & 0x80) != 0;
  std::unique_ptr<BN_CTX, BnCtxDeleter> ctx(BN_CTX_new());
  BnPtr p = FromDecimal(kP), d = FromDecimal(kD), y8 = FromDecimal(kOrder8Y);
  BnPtr y = LittleEndian255(public_key);
  BnPtr one(BN_new()), y2(BN_new()), u(BN_new()), v(BN_new()), v_inv(BN_new()), x2(BN_new()),
      exponent(BN_new()), legendre(BN_new()), minus(BN_new());
  if (!ctx || !p || !d || !y8 || !y || !one || !y2 || !u || !v || !x2 || !exponent || !legendre ||
      !minus || !v_inv) {
    return OpenSslError("Ed25519 public key check");
  }
  if (BN_cmp(y.get(), p.get()) >= 0) {
    return absl::InvalidArgumentError("Ed25519 public key is not canonical (y >= p)");
  }
  // Small order: y in {0, 1, p-1, y8, p-y8}.
  BN_one(one.get());
  bool small = BN_is_zero(y.get()) || BN_is_one(y.get());
  BN_sub(minus.get(), p.get(), one.get());
  small = small || BN_cmp(y.get(), minus.get()) == 0 || BN_cmp(y.get(), y8.get()) == 0;
  BN_sub(minus.get(), p.get(), y8.get());
  small = small || BN_cmp(y.get(), minus.get()) == 0;
  if (small) return absl::InvalidArgumentError("Ed25519 public key has small order");
  // On the curve: x^2 = (y^2 - 1) / (d y^2 + 1) must be a square mod p.
  if (BN_mod_sqr(y2.get(), y.get(), p.get(), ctx.get()) != 1 ||
      BN_mod_sub(u.get(), y2.get(), one.get(), p.get(), ctx.get()) != 1 ||
      BN_mod_mul(v.get(), d.get(), y2.get(), p.get(), ctx.get()) != 1 ||
      BN_mod_add(v.get(), v.get(), one.get(), p.get(), ctx.get()) != 1 ||
      BN_mod_inverse(v_inv.get(), v.get(), p.get(), ctx.get()) == nullptr ||
      BN_mod_mul(x2.get(), u.get(), v_inv.get(), p.get(), ctx.get()) != 1 ||
      BN_sub(exponent.get(), p.get(), one.get()) != 1 ||
      BN_rshift1(exponent.get(), exponent.get()) != 1 ||
      BN_mod_exp(legendre.get(), x2.get(), exponent.get(), p.get(), ctx.get()) != 1) {
    return OpenSslError("Ed25519 public key check");
  }
  if (BN_is_zero(x2.get())) {
    if (sign)
      return absl::InvalidArgumentError("Ed25519 public key is not canonical (x = 0, sign 1)");
  } else if (!BN_is_one(legendre.get())) {
    return absl::InvalidArgumentError("Ed25519 public key is not a point on the curve");
  }
  return absl::OkStatus();
}

absl::Status CheckX25519PublicKey(absl::string_view public_key) {
  if (public_key.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("X25519 public key must be 32 bytes");
  }
  if ((static_cast<uint8_t>(public_key[31]) & 0x80) != 0) {
    return absl::InvalidArgumentError("X25519 public key is not canonical (top bit set)");
  }
  BnPtr p = FromDecimal(kP);
  BnPtr u = LittleEndian255(public_key);
  if (!p || !u) return OpenSslError("X25519 public key check");
  if (BN_cmp(u.get(), p.get()) >= 0) {
    return absl::InvalidArgumentError("X25519 public key is not canonical (u >= p)");
  }
  // Every clamped scalar is a multiple of 8, so it sends exactly the points
  // of order dividing 8 to the all-zero value that X25519() refuses.
  static constexpr std::array<uint8_t, kX25519KeySize> kProbe = {
      0x48, 0x6f, 0x77, 0x20, 0x6c, 0x6f, 0x77, 0x20, 0x69, 0x73, 0x20,
      0x74, 0x68, 0x65, 0x20, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x3f, 0x20,
      0x53, 0x69, 0x6c, 0x74, 0x61, 0x20, 0x6b, 0x65, 0x79, 0x21};
  absl::StatusOr<SecretData> shared = X25519(SecretData(absl::MakeConstSpan(kProbe)), public_key);
  if (!shared.ok()) return absl::InvalidArgumentError("X25519 public key has low order");
  return absl::OkStatus();
}

}  // namespace silta::crypto
