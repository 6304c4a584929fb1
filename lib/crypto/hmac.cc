#include "lib/crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace silta::crypto {
namespace {

struct MacDeleter {
  void operator()(EVP_MAC* mac) const { EVP_MAC_free(mac); }
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};

absl::Status OpenSslFailure(const char* what) {
  ERR_clear_error();
  return absl::InternalError(std::string("OpenSSL HMAC failure: ") + what);
}

}  // namespace

absl::StatusOr<std::array<uint8_t, kHmacSha256Size>> HmacSha256(const SecretData& key,
                                                                absl::string_view data) {
  if (key.empty()) return absl::InvalidArgumentError("HMAC key must not be empty");
  std::unique_ptr<EVP_MAC, MacDeleter> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return OpenSslFailure("EVP_MAC_fetch");
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac.get()));
  if (!ctx) return OpenSslFailure("EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_END};
  if (EVP_MAC_init(ctx.get(), key.data(), key.size(), params) != 1) {
    return OpenSslFailure("EVP_MAC_init");
  }
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
      1) {
    return OpenSslFailure("EVP_MAC_update");
  }
  std::array<uint8_t, kHmacSha256Size> out{};
  size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out.data(), &out_len, out.size()) != 1 ||
      out_len != kHmacSha256Size) {
    return OpenSslFailure("EVP_MAC_final");
  }
  return out;
}

}  // namespace silta::crypto
