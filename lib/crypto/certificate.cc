#include "lib/crypto/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/crypto/openssl_util.h"

namespace silta::crypto {
namespace {

using internal::BioPtr;
using internal::MemBio;
using internal::ParseCertificates;
using internal::PkeyPtr;
using internal::X509Ptr;

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
  info.uri_sans = internal::UriSans(cert);
  ERR_clear_error();
  return info;
}

absl::Status VerifyClientCertificateChain(absl::string_view chain_pem, absl::string_view ca_pem,
                                          absl::Time now) {
  std::vector<X509Ptr> chain = ParseCertificates(chain_pem);
  if (chain.empty()) return absl::InvalidArgumentError("no certificate to verify");
  std::vector<X509Ptr> roots = ParseCertificates(ca_pem);
  if (roots.empty()) return absl::InvalidArgumentError("no CA certificate to verify against");
  return internal::VerifyClientChain(chain, roots, now);
}

absl::Status CheckKeyMatchesCertificate(absl::string_view cert_pem, absl::string_view key_pem) {
  std::vector<X509Ptr> certs = ParseCertificates(cert_pem);
  if (certs.empty()) return absl::InvalidArgumentError("no PEM certificate in the file");
  BioPtr bio = MemBio(key_pem);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
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
