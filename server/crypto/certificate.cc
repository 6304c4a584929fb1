#include "server/crypto/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/crypto/openssl_util.h"

namespace silta::crypto {
namespace {

using internal::BioPtr;
using internal::MemBio;
using internal::ParseCertificates;
using internal::PkeyPtr;
using internal::X509Ptr;

struct StoreDeleter {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct StoreCtxDeleter {
  void operator()(X509_STORE_CTX* s) const { X509_STORE_CTX_free(s); }
};
struct StackDeleter {
  void operator()(STACK_OF(X509)* s) const { sk_X509_pop_free(s, X509_free); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

absl::Time AsnTime(const ASN1_TIME* t) {
  struct tm parts {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &parts) != 1) return absl::InfinitePast();
  return absl::FromTM(parts, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<CertificateInfo> InspectCertificate(absl::string_view pem) {
  std::vector<X509Ptr> certs = ParseCertificates(pem);
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate in the file");
  X509* cert = certs[0].get();
  CertificateInfo info;
  char subject[512] = {0};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
  info.subject = subject;
  info.not_before = AsnTime(X509_get0_notBefore(cert));
  info.not_after = AsnTime(X509_get0_notAfter(cert));
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      info.uri_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                 ASN1_STRING_length(uri));
    }
  }
  ERR_clear_error();
  return info;
}

absl::Status VerifyClientCertificateChain(absl::string_view chain_pem, absl::string_view ca_pem,
                                          absl::Time now) {
  std::vector<X509Ptr> chain = ParseCertificates(chain_pem);
  if (chain.empty()) return absl::InvalidArgumentError("no certificate to verify");
  std::vector<X509Ptr> roots = ParseCertificates(ca_pem);
  if (roots.empty()) return absl::InvalidArgumentError("no CA certificate to verify against");
  std::unique_ptr<X509_STORE, StoreDeleter> store(X509_STORE_new());
  for (const X509Ptr& root : roots) X509_STORE_add_cert(store.get(), root.get());
  std::unique_ptr<STACK_OF(X509), StackDeleter> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxDeleter> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) {
    return internal::OpenSslError("certificate verification setup");
  }
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int error = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::InvalidArgumentError(X509_verify_cert_error_string(error));
  }
  return absl::OkStatus();
}

absl::Status CheckKeyMatchesCertificate(absl::string_view cert_pem, absl::string_view key_pem) {
  std::vector<X509Ptr> certs = ParseCertificates(cert_pem);
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate in the file");
  BioPtr bio = MemBio(key_pem);
  PkeyPtr key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return absl::InvalidArgumentError("not a PEM private key");
  }
  const bool match = X509_check_private_key(certs[0].get(), key.get()) == 1;
  ERR_clear_error();
  if (!match) return absl::InvalidArgumentError("the key is not the certificate's private key");
  return absl::OkStatus();
}

}  // namespace silta::crypto
