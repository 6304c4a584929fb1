// File: server/identity/tls_credentials.h
//
// Mutual-TLS server credentials for siltad, built on gRPC 1.51's
// experimental TLS credentials:
//   - client certificates are requested, required and verified against the
//     trust-domain CA (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
//   - a FileWatcherCertificateProvider re-reads the server key, certificate
//     and CA files every refresh_interval_seconds, so rotated files are used
//     for new connections without a restart;
//   - the CRL directory (hashed files, `openssl rehash`) is checked on every
//     handshake.
// gRPC 1.51 has no public minimum-TLS-version setting; it negotiates TLS 1.2
// or 1.3 with forward-secret AEAD suites and refuses anything older.
#ifndef SILTA_SERVER_IDENTITY_TLS_CREDENTIALS_H_
#define SILTA_SERVER_IDENTITY_TLS_CREDENTIALS_H_

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"
#include "silta/v1/config.pb.h"

namespace silta::identity {

// Checks the TLS files before use, with errors that name the file and the
// fix: files exist and are readable; the key is not accessible by group or
// others; the certificate and CA parse as PEM; the key matches the
// certificate; the certificate is currently valid; the CRL directory, if
// set, is a directory. Used at start-up, by --check-config and on SIGHUP.
absl::Status CheckTlsFiles(const v1::TlsConfig& tls);

// Builds the server credentials. Calls CheckTlsFiles first.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsConfig& tls);

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_TLS_CREDENTIALS_H_
