#include "server/identity/tls_credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"

namespace silta::identity {
namespace {

constexpr unsigned kDefaultRefreshSeconds = 10;

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioDeleter> MemBio(const std::string& data) {
  return std::unique_ptr<BIO, BioDeleter>(
      BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

absl::StatusOr<std::unique_ptr<X509, X509Deleter>> ParseCert(const std::string& path,
                                                             const std::string& pem) {
  auto bio = MemBio(pem);
  std::unique_ptr<X509, X509Deleter> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a PEM certificate (expected -----BEGIN CERTIFICATE-----)"));
  }
  return cert;
}

}  // namespace

absl::Status CheckTlsFiles(const v1::TlsConfig& tls) {
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(tls.key_file()));
  SILTA_ASSIGN_OR_RETURN(std::string cert_pem, common::ReadFile(tls.cert_file()));
  SILTA_ASSIGN_OR_RETURN(std::string ca_pem, common::ReadFile(tls.ca_file()));
  SILTA_ASSIGN_OR_RETURN(std::string key_pem, common::ReadFile(tls.key_file()));

  SILTA_ASSIGN_OR_RETURN(auto cert, ParseCert(tls.cert_file(), cert_pem));
  SILTA_ASSIGN_OR_RETURN(auto ca, ParseCert(tls.ca_file(), ca_pem));
  auto key_bio = MemBio(key_pem);
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        tls.key_file(), ": not an unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        tls.key_file(), ": private key does not match the certificate in ", tls.cert_file()));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(tls.cert_file(), ": server certificate has expired; renew it"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert.get())) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(tls.cert_file(), ": server certificate is not valid yet"));
  }
  if (!tls.crl_directory().empty()) {
    struct stat st {};
    if (::stat(tls.crl_directory().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::NotFoundError(absl::StrCat(
          tls.crl_directory(), ": CRL directory does not exist or is not a directory"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsConfig& tls) {
  SILTA_RETURN_IF_ERROR(CheckTlsFiles(tls));
  const unsigned refresh = tls.refresh_interval_seconds() == 0
                               ? kDefaultRefreshSeconds
                               : tls.refresh_interval_seconds();
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file(), tls.cert_file(), tls.ca_file(), refresh);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!tls.crl_directory().empty()) {
    options.set_crl_directory(tls.crl_directory());
  }
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::experimental::TlsServerCredentials(options);
  if (creds == nullptr) {
    return absl::InternalError("gRPC could not build the TLS server credentials");
  }
  return creds;
}

}  // namespace silta::identity
