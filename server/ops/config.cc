#include "server/ops/config.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/textproto.h"
#include "lib/identity/spiffe_id.h"

namespace silta::ops {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

// Splits "host:port" / "[v6]:port"; false if malformed.
bool SplitHostPort(absl::string_view address, absl::string_view* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  *host = address.substr(0, colon);
  return absl::SimpleAtoi(address.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

bool IsTrustDomain(absl::string_view domain) {
  // Reuse the SPIFFE parser so the two can never disagree.
  return identity::ParseSpiffeId(absl::StrCat("spiffe://", domain, "/org/a/sys/a")).ok();
}

}  // namespace

bool IsLoopbackAddress(absl::string_view address) {
  absl::string_view host;
  int port = 0;
  if (!SplitHostPort(address, &host, &port)) return false;
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::Status ValidateConfig(const v1::SiltadConfig& config) {
  absl::string_view host;
  int port = 0;
  if (!SplitHostPort(config.listen_address(), &host, &port)) {
    return Invalid("listen_address", "must be host:port, e.g. \"127.0.0.1:7443\"");
  }
  if (!config.has_tls()) return Invalid("tls", "is required; siltad serves only mutual TLS");
  const v1::TlsConfig& tls = config.tls();
  if (tls.cert_file().empty()) return Invalid("tls.cert_file", "is required");
  if (tls.key_file().empty()) return Invalid("tls.key_file", "is required");
  if (tls.ca_file().empty()) return Invalid("tls.ca_file", "is required");
  if (!IsTrustDomain(tls.trust_domain())) {
    return Invalid("tls.trust_domain",
                   "is required: lower-case letters, digits, '.' and '-', e.g. silta.example.fi");
  }
  if (tls.refresh_interval_seconds() > 3600) {
    return Invalid("tls.refresh_interval_seconds", "must be 1..3600 (0 means 10)");
  }
  switch (config.store().backend_case()) {
    case v1::StoreConfig::kSqlite:
      if (config.store().sqlite().path().empty()) return Invalid("store.sqlite.path", "is required");
      break;
    case v1::StoreConfig::kPostgres:
      if (config.store().postgres().conninfo_file().empty()) {
        return Invalid("store.postgres.conninfo_file",
                       "is required: a file (mode 600) holding the libpq connection string");
      }
      if (config.store().postgres().read_connections() > 64) {
        return Invalid("store.postgres.read_connections", "must be 1..64 (0 means 4)");
      }
      break;
    case v1::StoreConfig::BACKEND_NOT_SET:
      return Invalid("store", "is required: set store { sqlite { path: \"...\" } }");
  }
  if (config.store().has_committer_nice() &&
      (config.store().committer_nice() < -20 || config.store().committer_nice() > 0)) {
    return Invalid("store.committer_nice",
                   "must be a nice value -20..0 (lower runs first; 0 asks for nothing); leave it "
                   "out for -5");
  }
  if (config.registry_file().empty()) return Invalid("registry_file", "is required");
  if (config.policy_file().empty()) return Invalid("policy_file", "is required");
  if (config.pepper_file().empty()) {
    return Invalid("pepper_file",
                   "is required: a file of 32+ random bytes (head -c 32 /dev/urandom > pepper; "
                   "chmod 600 pepper)");
  }
  if (config.audit().log_key_file().empty()) {
    return Invalid("audit.log_key_file",
                   "is required: an Ed25519 key that signs the audit log (openssl genpkey "
                   "-algorithm ed25519 -out log-key.pem; chmod 600 log-key.pem)");
  }
  if (config.audit().log_id().size() > 128 ||
      std::any_of(config.audit().log_id().begin(), config.audit().log_id().end(),
                  [](char c) { return c < 0x21 || c > 0x7e; })) {
    return Invalid("audit.log_id", "must be 1-128 printable ASCII characters without spaces");
  }
  if (config.audit().tree_head_interval_seconds() > 86400) {
    return Invalid("audit.tree_head_interval_seconds", "must be 1..86400 (0 means 300)");
  }
  if (!config.metrics().listen_address().empty() &&
      !IsLoopbackAddress(config.metrics().listen_address())) {
    return Invalid("metrics.listen_address",
                   "must be a loopback host:port (127.0.0.1, localhost or [::1]) because the "
                   "metrics endpoint is not authenticated");
  }
  if (config.limits().max_request_bytes() > kMaxMaxRequestBytes) {
    return Invalid("limits.max_request_bytes", absl::StrCat("must be at most ", kMaxMaxRequestBytes));
  }
  const v1::Limits& limits = config.limits();
  if (limits.calls_per_second_per_org() > kMaxCallsPerSecondPerOrg) {
    return Invalid("limits.calls_per_second_per_org",
                   absl::StrCat("must be at most ", kMaxCallsPerSecondPerOrg,
                                " (0 means ", kDefaultCallsPerSecondPerOrg, ")"));
  }
  if (limits.max_sends_in_flight() > kMaxMaxSendsInFlight) {
    return Invalid("limits.max_sends_in_flight",
                   absl::StrCat("must be 1..", kMaxMaxSendsInFlight, " (0 means ",
                                kDefaultMaxSendsInFlight, ")"));
  }
  if (limits.hetu_calls_per_hour_per_org() > 100000) {
    return Invalid("limits.hetu_calls_per_hour_per_org",
                   absl::StrCat("must be 1..100000 (0 means ", kDefaultHetuCallsPerHourPerOrg, ")"));
  }
  if (limits.call_burst_per_org() != 0 &&
      limits.call_burst_per_org() < (limits.calls_per_second_per_org() == 0
                                         ? kDefaultCallsPerSecondPerOrg
                                         : limits.calls_per_second_per_org())) {
    return Invalid("limits.call_burst_per_org",
                   "must be at least calls_per_second_per_org (0 means twice it)");
  }
  const v1::RoutingConfig& routing = config.routing();
  if (routing.message_ttl_seconds() != 0 &&
      (routing.message_ttl_seconds() < 60 || routing.message_ttl_seconds() > 7776000)) {
    return Invalid("routing.message_ttl_seconds", "must be 60..7776000 (0 means 14 days)");
  }
  if (routing.ack_timeout_seconds() > 3600) {
    return Invalid("routing.ack_timeout_seconds", "must be 1..3600 (0 means 60)");
  }
  if (routing.max_recipients() > 64) {
    return Invalid("routing.max_recipients", "must be at most 64 (0 means 32)");
  }
  if (routing.max_fields() > 256) {
    return Invalid("routing.max_fields", "must be at most 256 (0 means 64)");
  }
  if (config.shutdown_grace_seconds() > kMaxShutdownGraceSeconds) {
    return Invalid("shutdown_grace_seconds",
                   absl::StrCat("must be at most ", kMaxShutdownGraceSeconds));
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::SiltadConfig> LoadConfig(absl::string_view path) {
  v1::SiltadConfig config;
  SILTA_RETURN_IF_ERROR(
      common::ParseTextProtoFile(path, &config, [](const google::protobuf::Message& parsed) {
        return ValidateConfig(static_cast<const v1::SiltadConfig&>(parsed));
      }));
  auto resolve = [path](std::string* field) {
    *field = common::ResolvePath(path, *field);
  };
  v1::TlsConfig* tls = config.mutable_tls();
  resolve(tls->mutable_cert_file());
  resolve(tls->mutable_key_file());
  resolve(tls->mutable_ca_file());
  resolve(tls->mutable_crl_directory());
  if (tls->refresh_interval_seconds() == 0) tls->set_refresh_interval_seconds(10);
  if (config.store().has_sqlite()) {
    v1::SqliteConfig* sqlite = config.mutable_store()->mutable_sqlite();
    if (sqlite->path() != ":memory:") resolve(sqlite->mutable_path());
    if (sqlite->busy_timeout_ms() == 0) sqlite->set_busy_timeout_ms(kDefaultSqliteBusyTimeoutMs);
  }
  if (config.store().has_postgres()) {
    resolve(config.mutable_store()->mutable_postgres()->mutable_conninfo_file());
  }
  if (!config.store().has_committer_nice()) {
    config.mutable_store()->set_committer_nice(kDefaultCommitterNice);
  }
  resolve(config.mutable_registry_file());
  resolve(config.mutable_policy_file());
  resolve(config.mutable_pepper_file());
  resolve(config.mutable_audit()->mutable_log_key_file());
  if (config.audit().tree_head_interval_seconds() == 0) {
    config.mutable_audit()->set_tree_head_interval_seconds(300);
  }
  if (config.audit().log_id().empty()) {
    config.mutable_audit()->set_log_id(absl::StrCat("silta:", config.tls().trust_domain()));
  }
  resolve(config.mutable_listen_port_file());
  v1::Limits* limits = config.mutable_limits();
  if (limits->max_request_bytes() == 0) limits->set_max_request_bytes(kDefaultMaxRequestBytes);
  if (limits->max_concurrent_streams() == 0) {
    limits->set_max_concurrent_streams(kDefaultMaxConcurrentStreams);
  }
  if (limits->max_sends_in_flight() == 0) limits->set_max_sends_in_flight(kDefaultMaxSendsInFlight);
  if (limits->calls_per_second_per_org() == 0) {
    limits->set_calls_per_second_per_org(kDefaultCallsPerSecondPerOrg);
  }
  if (limits->hetu_calls_per_hour_per_org() == 0) {
    limits->set_hetu_calls_per_hour_per_org(kDefaultHetuCallsPerHourPerOrg);
  }
  if (limits->call_burst_per_org() == 0) {
    limits->set_call_burst_per_org(2 * limits->calls_per_second_per_org());
  }
  if (config.shutdown_grace_seconds() == 0) {
    config.set_shutdown_grace_seconds(kDefaultShutdownGraceSeconds);
  }
  v1::RoutingConfig* r = config.mutable_routing();
  if (r->message_ttl_seconds() == 0) r->set_message_ttl_seconds(14 * 24 * 3600);
  if (r->ack_timeout_seconds() == 0) r->set_ack_timeout_seconds(60);
  if (r->max_recipients() == 0) r->set_max_recipients(32);
  if (r->max_fields() == 0) r->set_max_fields(64);
  return config;
}

}  // namespace silta::ops
