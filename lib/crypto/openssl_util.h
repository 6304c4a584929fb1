// File: lib/crypto/openssl_util.h
//
// RAII holders for OpenSSL objects and the one way errors leave OpenSSL:
// a Status that carries the library's error queue. Internal to crypto/.
#ifndef SILTA_LIB_CRYPTO_OPENSSL_UTIL_H_
#define SILTA_LIB_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace silta::crypto::internal {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
struct KdfDeleter {
  void operator()(EVP_KDF* p) const { EVP_KDF_free(p); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using KdfPtr = std::unique_ptr<EVP_KDF, KdfDeleter>;
using KdfCtxPtr = std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// A read-only memory BIO over `bytes` (which must outlive it).
BioPtr MemBio(absl::string_view bytes);

// Every PEM certificate in `pem`, in order (none if there is none).
std::vector<X509Ptr> ParseCertificates(absl::string_view pem);

// The URI subject alternative names of `cert`, in order.
std::vector<std::string> UriSans(X509* cert);

// Verifies `chain` (leaf first, non-empty) to `roots` at time `at` for
// `purpose` (an X509_PURPOSE_* id; 0: any). INVALID_ARGUMENT with OpenSSL's
// reason.
absl::Status VerifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                         absl::Time at, int purpose);
// VerifyChain for TLS client authentication.
absl::Status VerifyClientChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                               absl::Time now);
// Checks that no certificate of `chain` is revoked by a CRL in
// `crl_directory` (hashed, as `openssl rehash` writes it). Fails closed:
// INVALID_ARGUMENT when revoked or when an issuer has no CRL there,
// FAILED_PRECONDITION when there is no directory.
absl::Status CheckNotRevoked(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                             absl::string_view crl_directory);

// INTERNAL "<what>: <OpenSSL error queue>"; clears the queue.
absl::Status OpenSslError(absl::string_view what);

inline const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace silta::crypto::internal

#endif  // SILTA_LIB_CRYPTO_OPENSSL_UTIL_H_
