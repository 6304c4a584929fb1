// File: lib/crypto/certificate.h
//
// X.509 checks shared by key-bundle verification and `siltactl doctor`:
// reading a certificate's validity and URI SANs, verifying a client
// certificate chain to the trust-domain CA, and checking that a private key
// belongs to a certificate. Pure functions over OpenSSL 3.
#ifndef SILTA_LIB_CRYPTO_CERTIFICATE_H_
#define SILTA_LIB_CRYPTO_CERTIFICATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace silta::crypto {

// What a certificate says about itself.
struct CertificateInfo {
  std::string subject;  // one-line distinguished name
  absl::Time not_before;
  absl::Time not_after;
  std::vector<std::string> uri_sans;  // e.g. spiffe://silta.test/org/x/sys/dev
};

// The first certificate in `pem`. INVALID_ARGUMENT if there is none.
absl::StatusOr<CertificateInfo> InspectCertificate(absl::string_view pem);

// Verifies the chain in `chain_pem` (leaf first, intermediates after it) to
// the CA certificates in `ca_pem` for TLS client authentication at `now`.
// INVALID_ARGUMENT with OpenSSL's reason ("certificate has expired", ...).
absl::Status VerifyClientCertificateChain(absl::string_view chain_pem, absl::string_view ca_pem,
                                          absl::Time now);

// OK if `key_pem` is the private key of the first certificate in
// `cert_pem`; INVALID_ARGUMENT if it is another key or unreadable.
absl::Status CheckKeyMatchesCertificate(absl::string_view cert_pem, absl::string_view key_pem);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_CERTIFICATE_H_
