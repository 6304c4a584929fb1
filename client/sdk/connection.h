// File: client/sdk/connection.h
//
// Opening a mutual-TLS gRPC channel to siltad. The channel presents the
// organisation system's client certificate, verifies the server certificate
// against the trust-domain CA and checks the server name. gRPC 1.51
// negotiates TLS 1.3 with siltad.
//
// Example:
//   silta::sdk::ConnectionOptions options;
//   options.address = "localhost:7443";
//   options.cert_file = "certs/dev/orgs/hki-police.pem";
//   options.key_file = "certs/dev/orgs/hki-police.key";
//   options.ca_file = "certs/dev/ca.pem";
//   absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = silta::sdk::Connect(options);
#ifndef SILTA_CLIENT_SDK_CONNECTION_H_
#define SILTA_CLIENT_SDK_CONNECTION_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "lib/identity/spiffe_id.h"

namespace silta::sdk {

struct ConnectionOptions {
  // "host:port" of siltad.
  std::string address;
  // PEM client certificate (with chain) of the organisation's system.
  std::string cert_file;
  // PEM private key; must not be readable by group or others.
  std::string key_file;
  // PEM trust-domain CA that the server certificate must chain to.
  std::string ca_file;
  // Expected server name if it differs from the host in `address`.
  std::string server_name;
};

// Reads and checks the files and creates the channel. It does not connect
// yet (gRPC connects on the first call). NOT_FOUND / PERMISSION_DENIED /
// FAILED_PRECONDITION (key too open) / INVALID_ARGUMENT with the file name.
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options);

// The system identity in a client certificate (PEM text of `cert_file`):
// its one SPIFFE id, spiffe://<trust-domain>/org/<org-id>/sys/<system>.
// This, never the broker's WhoAmI, says who an SDK or siltactl is and in
// which trust domain. INVALID_ARGUMENT naming `cert_file` otherwise.
absl::StatusOr<identity::SpiffeId> SystemIdentity(absl::string_view cert_pem,
                                                  absl::string_view cert_file);

// Deadline for a call made now: now + timeout.
std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_CONNECTION_H_
