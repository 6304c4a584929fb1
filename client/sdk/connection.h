// File: client/sdk/connection.h
//
// The connection of an organisation's system to siltad: one mutual-TLS
// gRPC channel that presents the system's client certificate, verifies the
// server certificate against the trust-domain CA and checks the server
// name (gRPC 1.51 negotiates TLS 1.3 with siltad), and the deadline and
// retry rules of every call made on it (retry.h).
//
// Every typed client of the SDK (CaseClient, ConsentClient, KeyClient,
// AuditClient, OrgClient, BrokerClient, SiltaClient) takes a Connection.
// Clients made from one Connection share its channel, so a tool that asks
// WhoAmI and then lists cases does one TLS handshake.
//
// Example:
//   silta::sdk::ConnectionOptions options;
//   options.address = "localhost:7443";
//   options.cert_file = "certs/dev/orgs/hki-police.pem";
//   options.key_file = "certs/dev/orgs/hki-police.key";
//   options.ca_file = "certs/dev/ca.pem";
//   absl::StatusOr<std::shared_ptr<const silta::sdk::Connection>> connection =
//       silta::sdk::Connection::Open(options);
//   silta::sdk::CaseClient cases(*connection);
#ifndef SILTA_CLIENT_SDK_CONNECTION_H_
#define SILTA_CLIENT_SDK_CONNECTION_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/sdk/retry.h"
#include "grpcpp/grpcpp.h"
#include "lib/identity/spiffe_id.h"

namespace silta::sdk {

struct ConnectionOptions {
  // "host:port" of siltad, or of several siltad instances comma-separated
  // ("a.example:7443,b.example:7443"): the channel uses the first that
  // answers and fails over to the next when it stops; calls that are safe
  // to repeat (Send with the same id) are retried there (retry.h). A name
  // that resolves to several addresses works the same way.
  std::string address;
  // PEM client certificate (with chain) of the organisation's system.
  std::string cert_file;
  // PEM private key; must not be readable by group or others.
  std::string key_file;
  // PEM trust-domain CA that the server certificate must chain to.
  std::string ca_file;
  // Expected server name if it differs from the host in `address`.
  std::string server_name;
  // Deadline of each attempt of a unary call.
  absl::Duration timeout = absl::Seconds(10);
  // When a failed call is made again (retry.h).
  RetryPolicy retry;
};

class Connection {
 public:
  // Reads and checks the files and creates the channel. It does not connect
  // yet (gRPC connects on the first call). NOT_FOUND / PERMISSION_DENIED /
  // FAILED_PRECONDITION (key too open) / INVALID_ARGUMENT with the file name.
  static absl::StatusOr<std::shared_ptr<const Connection>> Open(ConnectionOptions options);

  const ConnectionOptions& options() const { return options_; }
  // The channel, for streaming calls the typed clients make themselves.
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // This system's identity from its own client certificate (SystemIdentity),
  // or why the certificate has none.
  const absl::StatusOr<identity::SpiffeId>& identity() const { return identity_; }

  // Makes a unary call under the deadline and retry rules of options().
  absl::Status Call(Idempotency idempotency, const Attempt& attempt) const {
    return CallWithRetry(options_.retry, idempotency, options_.timeout, attempt);
  }

  // The same for a generated stub's method, returning its response:
  //   connection.Unary(*stub, &v1::CaseService::Stub::GetCase, request,
  //                    Idempotency::kIdempotent);
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Unary(Stub& stub,
                                 grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                                 const Request& request, Idempotency idempotency) const {
    Response response;
    absl::Status status = Call(idempotency, [&](grpc::ClientContext* context) {
      response.Clear();
      return (stub.*method)(context, request, &response);
    });
    if (!status.ok()) return status;
    return response;
  }

 private:
  Connection(ConnectionOptions options, std::shared_ptr<grpc::Channel> channel,
             absl::StatusOr<identity::SpiffeId> identity)
      : options_(std::move(options)),
        channel_(std::move(channel)),
        identity_(std::move(identity)) {}

  const ConnectionOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const absl::StatusOr<identity::SpiffeId> identity_;
};

// Holds gRPC initialised while it lives and shuts it down, blocking, when
// it goes, so that gRPC's threads have finished (and released what they
// hold, e.g. OpenSSL's per-thread error state) before the process exits.
// A command-line tool keeps one for its whole run, in main().
class GrpcRuntime {
 public:
  GrpcRuntime();
  ~GrpcRuntime();
  GrpcRuntime(const GrpcRuntime&) = delete;
  GrpcRuntime& operator=(const GrpcRuntime&) = delete;
};

// The gRPC target of ConnectionOptions::address: one "host:port" as it is
// (gRPC resolves it and tries each address in order); several as one list
// of their resolved addresses in the order given ("ipv4:10.0.0.1:7443,
// 10.0.0.2:7443"), IPv4 when a host has both. A host that does not resolve
// is left out while another does. INVALID_ARGUMENT for an entry without a
// port, UNAVAILABLE if no host resolves.
absl::StatusOr<std::string> ChannelTarget(absl::string_view address);

// Only the channel of Connection::Open, for code that uses the generated
// stubs directly (tests, benchmarks).
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
