#include "client/sdk/connection.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/certificate.h"

namespace silta::sdk {

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const ConnectionOptions& options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("address: required, e.g. localhost:7443");
  }
  for (const auto& [flag, value] : {std::pair<const char*, const std::string&>{"cert", options.cert_file},
                                    {"key", options.key_file},
                                    {"ca", options.ca_file}}) {
    if (value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(flag, ": a file path is required"));
    }
  }
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(options.key_file));
  SILTA_ASSIGN_OR_RETURN(std::string cert, common::ReadFile(options.cert_file));
  SILTA_ASSIGN_OR_RETURN(std::string key, common::ReadFile(options.key_file));
  SILTA_ASSIGN_OR_RETURN(std::string ca, common::ReadFile(options.ca_file));
  if (!absl::StrContains(cert, "BEGIN CERTIFICATE")) {
    return absl::InvalidArgumentError(absl::StrCat(options.cert_file, ": not a PEM certificate"));
  }
  if (!absl::StrContains(ca, "BEGIN CERTIFICATE")) {
    return absl::InvalidArgumentError(absl::StrCat(options.ca_file, ": not a PEM certificate"));
  }
  if (!absl::StrContains(key, "PRIVATE KEY")) {
    return absl::InvalidArgumentError(absl::StrCat(options.key_file, ": not a PEM private key"));
  }
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      ca, std::vector<grpc::experimental::IdentityKeyCertPair>{{key, cert}});
  grpc::experimental::TlsChannelCredentialsOptions tls_options;
  tls_options.set_certificate_provider(provider);
  tls_options.watch_root_certs();
  tls_options.watch_identity_key_cert_pairs();
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::experimental::TlsCredentials(tls_options);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC could not build TLS channel credentials");
  }
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  }
  return grpc::CreateCustomChannel(options.address, credentials, args);
}

absl::StatusOr<std::shared_ptr<const Connection>> Connection::Open(ConnectionOptions options) {
  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(options));
  absl::StatusOr<std::string> pem = common::ReadFile(options.cert_file);
  absl::StatusOr<identity::SpiffeId> id =
      pem.ok() ? SystemIdentity(*pem, options.cert_file) : pem.status();
  return std::shared_ptr<const Connection>(
      new Connection(std::move(options), std::move(channel), std::move(id)));
}

GrpcRuntime::GrpcRuntime() { grpc_init(); }

GrpcRuntime::~GrpcRuntime() { grpc_shutdown_blocking(); }

std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

absl::StatusOr<identity::SpiffeId> SystemIdentity(absl::string_view cert_pem,
                                                  absl::string_view cert_file) {
  absl::StatusOr<crypto::CertificateInfo> cert = crypto::InspectCertificate(cert_pem);
  if (!cert.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(cert_file, ": ", cert.status().message()));
  }
  if (cert->uri_sans.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(cert_file, ": needs exactly one SPIFFE id (URI SAN)"));
  }
  absl::StatusOr<identity::SpiffeId> id = identity::ParseSpiffeId(cert->uri_sans[0]);
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat(cert_file, ": ", id.status().message()));
  return id;
}

}  // namespace silta::sdk
