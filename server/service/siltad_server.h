// File: server/service/siltad_server.h
//
// Wires siltad together: store, registry, policy, mTLS credentials, the
// gRPC server with its services, health and (optionally) reflection, and
// the metrics endpoint. main.cc owns one and drives it with signals.
//
// Example:
//   absl::StatusOr<v1::SiltadConfig> config = ops::LoadConfig(path);
//   auto server = SiltadServer::Start(*config);     // serving when OK
//   server->Reload();                                // on SIGHUP
//   server->Shutdown();                              // on SIGTERM
#ifndef SILTA_SERVER_SERVICE_SILTAD_SERVER_H_
#define SILTA_SERVER_SERVICE_SILTAD_SERVER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/cases/case_registry.h"
#include "server/cases/subject_refs.h"
#include "server/consent/consent_registry.h"
#include "server/consent/engine.h"
#include "server/consent/policy_holder.h"
#include "server/identity/authenticator.h"
#include "server/ops/metrics.h"
#include "server/ops/store_watch.h"
#include "server/orgs/key_directory.h"
#include "server/orgs/org_admin.h"
#include "server/orgs/registry.h"
#include "server/routing/router.h"
#include "server/service/audit_service.h"
#include "server/service/broker_service.h"
#include "server/service/case_service.h"
#include "server/service/consent_service.h"
#include "server/service/instance_feed.h"
#include "server/service/key_service.h"
#include "server/service/message_service.h"
#include "server/service/metrics_interceptor.h"
#include "server/service/org_service.h"
#include "server/store/store.h"
#include "silta/v1/config.pb.h"

namespace silta::service {

// Checks everything a start would need without starting: config (already
// parsed), policy and registry files, TLS files and key permissions, the
// pepper file's permissions and the store directory. The error names the
// file (with line for syntax and validation errors) and the fix.
absl::Status CheckConfig(const v1::SiltadConfig& config);

class SiltadServer {
 public:
  // Opens the store (running migrations), seeds the registry, builds the
  // server and starts serving; health reports SERVING when this returns OK.
  // INVALID_ARGUMENT for bad policy/registry files, FAILED_PRECONDITION for
  // unusable TLS or secret files or database schema, UNAVAILABLE if the port
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<SiltadServer>> Start(const v1::SiltadConfig& config);

  ~SiltadServer();

  // The bound gRPC port.
  int port() const { return port_; }
  // The bound metrics port, or 0 if metrics are off.
  int metrics_port() const { return metrics_http_ ? metrics_http_->port() : 0; }

  // SIGHUP and BrokerService.ReloadConfig: re-reads the policy and registry
  // files and re-checks the TLS files (which the certificate watcher picks
  // up within tls.refresh_interval_seconds). All or nothing: if any file is
  // invalid, FAILED_PRECONDITION naming it and the old policy and registry
  // stay. Either way a CONFIG_RELOADED audit entry records it, by `actor`
  // (empty: siltad itself, on SIGHUP). Thread-safe.
  absl::StatusOr<v1::ReloadConfigResponse> Reload(const audit::Actor& actor = {});

  // SIGTERM: reports NOT_SERVING, stops accepting calls, waits up to
  // shutdown_grace_seconds for in-flight calls and streams, cancels the
  // rest and returns.
  void Shutdown();

 private:
  SiltadServer() = default;

  v1::SiltadConfig config_;
  ops::Metrics metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<orgs::OrgRegistry> registry_;
  std::unique_ptr<consent::PolicyHolder> policy_;
  std::unique_ptr<identity::CallLimiter> limiter_;
  std::unique_ptr<identity::Authenticator> authenticator_;
  std::unique_ptr<orgs::OrgAdmin> org_admin_;
  std::unique_ptr<OrgService> org_service_;
  std::unique_ptr<cases::SubjectRefs> subject_refs_;
  std::unique_ptr<cases::CaseRegistry> cases_;
  std::unique_ptr<consent::DecisionEngine> engine_;
  std::unique_ptr<consent::ConsentRegistry> consents_;
  std::unique_ptr<CaseService> case_service_;
  std::unique_ptr<ConsentService> consent_service_;
  std::unique_ptr<orgs::KeyDirectory> keys_;
  std::unique_ptr<KeyService> key_service_;
  std::unique_ptr<routing::Router> router_;
  // What other instances on a shared database change (store/store.h).
  std::unique_ptr<InstanceFeed> instance_feed_;
  std::unique_ptr<MessageService> message_service_;
  std::unique_ptr<audit::AuditLog> audit_log_;
  std::unique_ptr<audit::ReportService> reports_;
  std::unique_ptr<AuditService> audit_service_;
  std::unique_ptr<BrokerService> broker_service_;
  std::unique_ptr<ops::MetricsHttpServer> metrics_http_;
  std::unique_ptr<ops::StoreWatch> store_watch_;
  absl::Mutex health_mu_;  // the health's status: the store watch and Shutdown
  bool draining_ ABSL_GUARDED_BY(health_mu_) = false;  // Shutdown has begun
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  bool shut_down_ = false;
  absl::Mutex reload_mu_;  // one reload at a time
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_SILTAD_SERVER_H_
