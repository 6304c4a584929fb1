#include "client/sdk/connection.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/certificate.h"

namespace silta::sdk {

namespace {

struct HostPort {
  std::string host;  // without brackets
  std::string port;
};

absl::StatusOr<HostPort> SplitHostPort(absl::string_view entry) {
  const size_t colon = entry.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == entry.size() || colon == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("address: \"", entry, "\" needs host:port, e.g. siltad-1.example:7443"));
  }
  absl::string_view host = entry.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[") && !absl::ConsumeSuffix(&host, "]")) {
    return absl::InvalidArgumentError(absl::StrCat("address: \"", entry, "\": unclosed ["));
  }
  return HostPort{std::string(host), std::string(entry.substr(colon + 1))};
}

// The entries of a comma-separated address list, trimmed, empty ones left out.
std::vector<absl::string_view> Entries(absl::string_view address) {
  std::vector<absl::string_view> entries;
  for (absl::string_view entry : absl::StrSplit(address, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (!entry.empty()) entries.push_back(entry);
  }
  return entries;
}

// The numeric addresses of `host`, IPv4 and IPv6 apart, in the resolver's order.
void Resolve(const HostPort& hp, std::vector<std::string>& v4, std::vector<std::string>& v6) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(hp.host.c_str(), hp.port.c_str(), &hints, &found) != 0) return;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof(text), nullptr, 0, NI_NUMERICHOST) !=
        0) {
      continue;
    }
    if (a->ai_family == AF_INET) {
      const std::string address = absl::StrCat(text, ":", hp.port);
      if (std::find(v4.begin(), v4.end(), address) == v4.end()) v4.push_back(address);
    } else if (a->ai_family == AF_INET6) {
      const std::string address = absl::StrCat("[", text, "]:", hp.port);
      if (std::find(v6.begin(), v6.end(), address) == v6.end()) v6.push_back(address);
    }
  }
  freeaddrinfo(found);
}

}  // namespace

absl::StatusOr<std::string> ChannelTarget(absl::string_view address) {
  if (!absl::StrContains(address, ',')) return std::string(address);
  std::vector<std::string> v4, v6;
  for (absl::string_view entry : Entries(address)) {
    SILTA_ASSIGN_OR_RETURN(HostPort hp, SplitHostPort(entry));
    Resolve(hp, v4, v6);
  }
  if (!v4.empty()) return absl::StrCat("ipv4:", absl::StrJoin(v4, ","));
  if (!v6.empty()) return absl::StrCat("ipv6:", absl::StrJoin(v6, ","));
  return absl::UnavailableError(
      absl::StrCat("address: none of ", address, " resolves; check the names and DNS"));
}

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
  SILTA_ASSIGN_OR_RETURN(const std::string target, ChannelTarget(options.address));
  grpc::ChannelArguments args;
  if (!options.server_name.empty()) {
    args.SetSslTargetNameOverride(options.server_name);
  } else if (target != options.address) {
    // A list of addresses: the server certificate names the first host.
    SILTA_ASSIGN_OR_RETURN(HostPort first, SplitHostPort(Entries(options.address).front()));
    args.SetSslTargetNameOverride(first.host);
  }
  return grpc::CreateCustomChannel(target, credentials, args);
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
