#include "lib/crypto/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <functional>

#include "absl/strings/str_cat.h"

namespace silta::crypto::internal {
namespace {

struct StoreDeleter {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); }
};
struct StackDeleter {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

}  // namespace

absl::Status OpenSslError(absl::string_view what) {
  std::string detail;
  while (const unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::InternalError(absl::StrCat(what, detail.empty() ? "" : ": ", detail));
}

BioPtr MemBio(absl::string_view bytes) {
  return BioPtr(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
}

std::vector<X509Ptr> ParseCertificates(absl::string_view pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();
  return certs;
}

std::vector<std::string> UriSans(X509* cert) {
  std::vector<std::string> uris;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      uris.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                        ASN1_STRING_length(uri));
    }
  }
  ERR_clear_error();
  return uris;
}

namespace {

using StorePtr = std::unique_ptr<X509_STORE, StoreDeleter>;

// A verification context for `chain` over a store of `roots`; `crl_directory`
// (hashed, as `openssl rehash` writes it) is added when not empty.
absl::Status RunVerify(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                       int purpose, absl::string_view crl_directory,
                       const std::function<void(X509_STORE_CTX*)>& configure) {
  StorePtr store(X509_STORE_new());
  if (!store) return OpenSslError("certificate store");
  for (const X509Ptr& root : roots) X509_STORE_add_cert(store.get(), root.get());
  if (!crl_directory.empty() &&
      X509_STORE_load_locations(store.get(), nullptr, std::string(crl_directory).c_str()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the CRL directory ", crl_directory));
  }
  std::unique_ptr<STACK_OF(X509), StackDeleter> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) {
    return OpenSslError("certificate verification setup");
  }
  if (purpose != 0) X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  configure(ctx.get());
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::InvalidArgumentError(X509_verify_cert_error_string(error));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                         absl::Time at, int purpose) {
  return RunVerify(chain, roots, purpose, "", [at](X509_STORE_CTX* ctx) {
    X509_STORE_CTX_set_time(ctx, 0, absl::ToTimeT(at));
  });
}

absl::Status VerifyClientChain(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                               absl::Time now) {
  return VerifyChain(chain, roots, now, X509_PURPOSE_SSL_CLIENT);
}

absl::Status CheckNotRevoked(const std::vector<X509Ptr>& chain, const std::vector<X509Ptr>& roots,
                             absl::string_view crl_directory) {
  if (crl_directory.empty()) {
    return absl::FailedPreconditionError("no CRL directory to check revocation against");
  }
  return RunVerify(chain, roots, 0, crl_directory, [](X509_STORE_CTX* ctx) {
    // Revocation only: the validity times were checked at the time that
    // matters by VerifyChain; a certificate revoked since is refused now.
    X509_STORE_CTX_set_flags(
        ctx, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL | X509_V_FLAG_NO_CHECK_TIME);
  });
}

}  // namespace silta::crypto::internal
