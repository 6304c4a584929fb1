#include "server/crypto/primitives.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "absl/strings/str_cat.h"
#include "server/crypto/openssl_util.h"
#include "server/crypto/random.h"
#include <openssl/err.h>

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
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()), key.size());
  // RFC 5869: an absent salt is HashLen zero bytes.
  static constexpr std::array<uint8_t, kSha256Size> kZeroSalt{};
  if (mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY) {
    params[n++] = salt.empty() ? OSSL_PARAM_construct_octet_string(
                                     OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(kZeroSalt.data()),
                                     kZeroSalt.size())
                               : OSSL_PARAM_construct_octet_string(
                                     OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()),
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
    return absl::InvalidArgumentError(absl::StrCat("AEAD key must be ", AeadKeySize(aead), " bytes"));
  }
  if (nonce.size() != kAeadNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat("AEAD nonce must be ", kAeadNonceSize, " bytes"));
  }
  return absl::OkStatus();
}

absl::StatusOr<internal::PkeyPtr> RawPrivateKey(int type, const SecretData& key) {
  if (key.size() != 32) return absl::InvalidArgumentError("private key must be 32 bytes");
  internal::PkeyPtr pkey(EVP_PKEY_new_raw_private_key(type, nullptr, key.data(), key.size()));
  if (!pkey) return OpenSslError("EVP_PKEY_new_raw_private_key");
  return pkey;
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

}  // namespace

std::array<uint8_t, kSha256Size> Sha256(absl::string_view data) {
  std::array<uint8_t, kSha256Size> out{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr);
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
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1)) {
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

absl::StatusOr<std::string> AeadOpen(Aead aead, const SecretData& key, absl::string_view nonce,
                                     absl::string_view aad, absl::string_view ciphertext) {
  if (absl::Status s = CheckAeadInputs(aead, key, nonce); !s.ok()) return s;
  if (ciphertext.size() < kAeadTagSize) {
    return absl::InvalidArgumentError("authentication failed: ciphertext shorter than the tag");
  }
  const size_t body = ciphertext.size() - kAeadTagSize;
  internal::CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), CipherFor(aead), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, kAeadNonceSize, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), Bytes(nonce)) != 1 ||
      (!aad.empty() &&
       EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1)) {
    return OpenSslError("AEAD open setup");
  }
  std::string out(body, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int written = 0;
  if (body > 0 &&
      EVP_DecryptUpdate(ctx.get(), o, &written, Bytes(ciphertext), static_cast<int>(body)) != 1) {
    return OpenSslError("AEAD open");
  }
  std::string tag(ciphertext.substr(body));
  int final_len = 0;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagSize, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), o + written, &final_len) != 1) {
    ERR_clear_error();
    OPENSSL_cleanse(out.data(), out.size());
    return absl::InvalidArgumentError("authentication failed: AEAD tag does not verify");
  }
  return out;
}

absl::StatusOr<KeyPair> GenerateX25519KeyPair() { return Generate(EVP_PKEY_X25519); }

absl::StatusOr<std::string> X25519PublicKey(const SecretData& private_key) {
  absl::StatusOr<internal::PkeyPtr> pkey = RawPrivateKey(EVP_PKEY_X25519, private_key);
  if (!pkey.ok()) return pkey.status();
  return RawPublicKey(pkey->get());
}

absl::StatusOr<SecretData> X25519(const SecretData& private_key, absl::string_view peer_public) {
  if (peer_public.size() != kX25519KeySize) {
    return absl::InvalidArgumentError("X25519 public key must be 32 bytes");
  }
  absl::StatusOr<internal::PkeyPtr> priv = RawPrivateKey(EVP_PKEY_X25519, private_key);
  if (!priv.ok()) return priv.status();
  internal::PkeyPtr peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, Bytes(peer_public), peer_public.size()));
  if (!peer) return OpenSslError("EVP_PKEY_new_raw_public_key(X25519)");
  internal::PkeyCtxPtr ctx(EVP_PKEY_CTX_new(priv->get(), nullptr));
  SecretData shared(kX25519KeySize);
  size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.data(), &len) != 1 || len != kX25519KeySize) {
    ERR_clear_error();
    return absl::InvalidArgumentError("X25519 failed (low-order or invalid public key)");
  }
  static constexpr std::array<uint8_t, kX25519KeySize> kZero{};
  if (CRYPTO_memcmp(shared.data(), kZero.data(), kZero.size()) == 0) {
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

absl::Status Ed25519Verify(absl::string_view public_key, absl::string_view message,
                           absl::string_view signature) {
  if (public_key.size() != kEd25519KeySize) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  if (signature.size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError("authentication failed: Ed25519 signature must be 64 bytes");
  }
  internal::PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key),
                                                     public_key.size()));
  if (!pkey) return OpenSslError("EVP_PKEY_new_raw_public_key(Ed25519)");
  internal::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) {
    return OpenSslError("Ed25519 verify setup");
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                       message.size()) != 1) {
    ERR_clear_error();
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
  if (EVP_PKEY_get_raw_private_key(pkey->get(), out.data(), &len) != 1 ||
      len != kEd25519KeySize) {
    return OpenSslError("EVP_PKEY_get_raw_private_key");
  }
  return out;
}

absl::StatusOr<std::string> Ed25519PublicKeyFromPem(absl::string_view pem) {
  absl::StatusOr<internal::PkeyPtr> pkey = ReadEd25519Pem(pem, false);
  if (!pkey.ok()) return pkey.status();
  return RawPublicKey(pkey->get());
}

}  // namespace silta::crypto
