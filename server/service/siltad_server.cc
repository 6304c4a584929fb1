#include "server/service/siltad_server.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/tree_head.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/textproto.h"
#include "lib/crypto/primitives.h"
#include "server/cases/age.h"
#include "server/common/logging.h"
#include "server/identity/tls_credentials.h"
#include "server/store/postgres/postgres_store.h"
#include "server/store/sqlite/sqlite_store.h"

namespace silta::service {

namespace {

// The message path as an operator of a broker watches it (docs/operations.md,
// "Metrics"): the backlog per recipient org and the age of its oldest
// delivery, from the delivery queues in memory; deliveries, redeliveries,
// acks and decisions, counted by the router; the store's group commits.
void AddPathMetrics(const routing::Router* router, store::Store* store, ops::Metrics* metrics) {
  using Sample = ops::Metrics::Sample;
  using Type = ops::Metrics::Type;
  const auto counter = [&](const char* name, const char* help,
                           uint64_t routing::PathStats::Snapshot::*field) {
    metrics->AddFamily(name, help, Type::kCounter, [router, field] {
      return std::vector<Sample>{
          {.labels = {}, .value = static_cast<double>(router->stats().Read().*field)}};
    });
  };
  counter("siltad_messages_accepted_total", "Messages accepted: durable, receipt given.",
          &routing::PathStats::Snapshot::accepted);
  counter("siltad_deliveries_total", "Deliveries taken for a recipient's stream, first attempts.",
          &routing::PathStats::Snapshot::deliveries);
  counter("siltad_redeliveries_total",
          "Deliveries taken again: unacked before the ack timeout, or released by a closed stream.",
          &routing::PathStats::Snapshot::redeliveries);
  counter("siltad_acks_total", "Deliveries acknowledged by their recipients.",
          &routing::PathStats::Snapshot::acks);
  metrics->AddFamily(
      "siltad_decisions_total",
      "Field decisions by stage (send, delivery), verdict and the rule that decided.",
      Type::kCounter, [router] {
        std::vector<Sample> out;
        for (const auto& [key, n] : router->stats().Read().decisions) {
          const auto& [stage, verdict, rule] = key;
          out.push_back(Sample{
              .labels = {{"stage", stage == routing::PathStats::kAtSend ? "send" : "delivery"},
                         {"verdict", v1::Verdict_Name(verdict)},
                         {"rule", v1::RuleKind_Name(rule)}},
              .value = static_cast<double>(n)});
        }
        return out;
      });
  // Both backlog families read the delivery queues in memory.
  const auto backlog = [router] { return router->queues().Backlog(); };
  metrics->AddFamily(
      "siltad_pending_deliveries",
      "Unfinished deliveries per recipient org: pending, or delivered and not acked.", Type::kGauge,
      [backlog] {
        std::vector<Sample> out;
        for (const routing::RecipientBacklog& b : backlog()) {
          out.push_back(Sample{.labels = {{"recipient_org", b.recipient_org_id}},
                               .value = static_cast<double>(b.deliveries)});
        }
        return out;
      });
  metrics->AddFamily(
      "siltad_oldest_pending_delivery_age_seconds",
      "Per recipient org, how long ago the message of its oldest unfinished delivery was accepted.",
      Type::kGauge, [backlog] {
        std::vector<Sample> out;
        const int64_t now_us = absl::ToUnixMicros(absl::Now());
        for (const routing::RecipientBacklog& b : backlog()) {
          out.push_back(Sample{.labels = {{"recipient_org", b.recipient_org_id}},
                               .value = static_cast<double>(now_us - b.oldest_accepted_us) / 1e6});
        }
        return out;
      });
  metrics->AddHistogram(
      "siltad_commit_batch_writes",
      "Writes (accepted messages, delivery marks, ack batches) committed together in one "
      "transaction.",
      [store] { return store->ReadCommitStats().batch_writes; });
  metrics->AddHistogram("siltad_commit_duration_seconds",
                        "Time of each group commit of the message path, its fsync included.",
                        [store] { return store->ReadCommitStats().commit_seconds; });
}

// The retention of the records beside the audit log, with the log's rules:
// closed cases as CASE_CLOSED entries, ended consent records as
// CONSENT_WITHDRAWN entries, messages' metadata as MESSAGE_ACCEPTED entries.
absl::Status RetainRecords(store::Store* store, consent::DecisionEngine* engine,
                           const std::vector<v1::RetentionRule>& rules, absl::Time now) {
  const auto cutoff = [&](v1::AuditEventType type) -> std::optional<int64_t> {
    const uint32_t days = audit::KeepDaysFor(rules, type);
    if (days == 0) return std::nullopt;  // for ever
    return absl::ToUnixMicros(now - absl::Hours(24) * days);
  };
  uint64_t cases = 0, records = 0, messages = 0;
  if (const std::optional<int64_t> before = cutoff(v1::CASE_CLOSED)) {
    // Decision inputs, as every change of them (store/change_sequence.h).
    const store::ChangeSequence::Change change = store->changes().Begin();
    SILTA_ASSIGN_OR_RETURN(cases, store->PurgeClosedCases(*before));
  }
  if (const std::optional<int64_t> before = cutoff(v1::CONSENT_WITHDRAWN)) {
    const store::ChangeSequence::Change change = store->changes().Begin();
    SILTA_ASSIGN_OR_RETURN(auto purged, store->PurgeEndedConsentRecords(*before));
    for (const auto& [subject_ref, id] : purged) engine->Forget(subject_ref, id);
    records = purged.size();
  }
  if (const std::optional<int64_t> before = cutoff(v1::MESSAGE_ACCEPTED)) {
    SILTA_ASSIGN_OR_RETURN(messages, store->PurgeOldMessages(*before));
  }
  if (cases + records + messages > 0) {
    common::Log(common::LogLevel::kInfo, "records_retention_purged",
                {{"cases", absl::StrCat(cases)},
                 {"consent_records", absl::StrCat(records)},
                 {"messages", absl::StrCat(messages)}});
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::OrgRegistryFile> LoadRegistryFile(const std::string& path) {
  v1::OrgRegistryFile file;
  SILTA_RETURN_IF_ERROR(
      common::ParseTextProtoFile(path, &file, [](const google::protobuf::Message& m) {
        return orgs::ValidateRegistryFile(static_cast<const v1::OrgRegistryFile&>(m));
      }));
  return file;
}

absl::Status CheckStoreDirectory(const v1::SqliteConfig& sqlite) {
  if (sqlite.path() == ":memory:") return absl::OkStatus();
  const size_t slash = sqlite.path().rfind('/');
  const std::string dir = slash == std::string::npos ? "." : sqlite.path().substr(0, slash);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(absl::StrCat("store.sqlite.path: directory ", dir,
                                            " does not exist; create it for siltad's state "
                                            "(mkdir -m 700 ", dir, ")"));
  }
  // The store records who disclosed what about whom: no one else may list
  // or read it.
  if ((st.st_mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "store.sqlite.path: directory ", dir, " is open to group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 07777),
        "); the database records who disclosed what about whom: chmod 700 ", dir));
  }
  return absl::OkStatus();
}

// The libpq connection string, from a file only siltad's user can read: it
// may hold the database password, which never sits in siltad's config.
absl::StatusOr<std::string> ReadConninfo(const v1::PostgresConfig& postgres) {
  const std::string& path = postgres.conninfo_file();
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(path));
  SILTA_ASSIGN_OR_RETURN(std::string conninfo, common::ReadFile(path, 64 * 1024));
  absl::StripAsciiWhitespace(&conninfo);
  if (conninfo.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "store.postgres.conninfo_file: ", path,
        " is empty; write a libpq connection string into it, e.g. host=/run/postgresql "
        "dbname=silta"));
  }
  return conninfo;
}

// The store the config selects, opened and migrated.
absl::StatusOr<std::unique_ptr<store::Store>> OpenStore(const v1::StoreConfig& config) {
  std::optional<int> committer_nice;
  if (config.has_committer_nice()) committer_nice = config.committer_nice();
  if (config.has_postgres()) {
    SILTA_ASSIGN_OR_RETURN(const std::string conninfo, ReadConninfo(config.postgres()));
    store::PostgresOptions options;
    if (config.postgres().read_connections() > 0) {
      options.readers = static_cast<int>(config.postgres().read_connections());
    }
    options.committer_nice = committer_nice;
    SILTA_ASSIGN_OR_RETURN(std::unique_ptr<store::PostgresStore> store,
                           store::PostgresStore::Open(conninfo, options));
    return std::unique_ptr<store::Store>(std::move(store));
  }
  store::SqliteOptions sqlite_options;
  sqlite_options.busy_timeout_ms = static_cast<int>(config.sqlite().busy_timeout_ms());
  sqlite_options.committer_nice = committer_nice;
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<store::SqliteStore> store,
                         store::SqliteStore::Open(config.sqlite().path(), sqlite_options));
  return std::unique_ptr<store::Store>(std::move(store));
}

// What every siltad on one database must share, checked against what the
// first start recorded there: the pepper (else subject references of one
// person differ between instances, and consents go unfound) and the audit
// log key (else tree heads of one log carry different signatures).
absl::Status CheckSharedSecrets(const v1::SiltadConfig& config, store::Store* store) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<cases::SubjectRefs> refs,
                         cases::SubjectRefs::FromPepperFile(config.pepper_file()));
  SILTA_ASSIGN_OR_RETURN(const std::string pepper, refs->Fingerprint());
  SILTA_ASSIGN_OR_RETURN(crypto::SecretData log_key,
                         audit::AuditLog::LoadLogKey(config.audit().log_key_file()));
  SILTA_ASSIGN_OR_RETURN(const std::string public_key, crypto::Ed25519PublicKey(log_key));
  const std::string log_key_id = audit::LogKeyId(public_key);
  SILTA_ASSIGN_OR_RETURN(const std::string stored_pepper,
                         store->ClaimSetting("pepper_fingerprint", pepper));
  if (stored_pepper != pepper) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pepper_file ", config.pepper_file(),
        " is not the pepper this database's subject references were made with (fingerprint ",
        stored_pepper, "); every siltad on one database must use the same pepper file"));
  }
  SILTA_ASSIGN_OR_RETURN(const std::string stored_key,
                         store->ClaimSetting("log_key_id", log_key_id));
  if (stored_key != log_key_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit.log_key_file ", config.audit().log_key_file(), " (key id ", log_key_id,
                     ") is not the key this database's audit log is signed with (key id ",
                     stored_key, "); every siltad on one database must use the same log key"));
  }
  return absl::OkStatus();
}

absl::Status WritePortFile(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return absl::UnavailableError(absl::StrCat(path, ": cannot write port file"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat(path, ": cannot write port file"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckConfig(const v1::SiltadConfig& config) {
  SILTA_RETURN_IF_ERROR(policy::LoadPolicyFile(config.policy_file()).status());
  SILTA_RETURN_IF_ERROR(LoadRegistryFile(config.registry_file()).status());
  SILTA_RETURN_IF_ERROR(identity::CheckTlsFiles(config.tls()));
  SILTA_RETURN_IF_ERROR(cases::SubjectRefs::FromPepperFile(config.pepper_file()).status());
  SILTA_RETURN_IF_ERROR(audit::AuditLog::LoadLogKey(config.audit().log_key_file()).status());
  if (config.store().has_postgres()) {
    return ReadConninfo(config.store().postgres()).status();
  }
  return CheckStoreDirectory(config.store().sqlite());
}

absl::StatusOr<std::unique_ptr<SiltadServer>> SiltadServer::Start(const v1::SiltadConfig& config) {
  SILTA_RETURN_IF_ERROR(CheckConfig(config));
  auto self = std::unique_ptr<SiltadServer>(new SiltadServer());
  self->config_ = config;

  SILTA_ASSIGN_OR_RETURN(v1::Policy policy, policy::LoadPolicyFile(config.policy_file()));
  self->policy_ = std::make_unique<consent::PolicyHolder>(std::move(policy));
  SILTA_ASSIGN_OR_RETURN(v1::OrgRegistryFile seed, LoadRegistryFile(config.registry_file()));

  SILTA_ASSIGN_OR_RETURN(self->store_, OpenStore(config.store()));
  SILTA_ASSIGN_OR_RETURN(const int schema_version, self->store_->SchemaVersion());
  SILTA_RETURN_IF_ERROR(CheckSharedSecrets(config, self->store_.get()));

  SILTA_ASSIGN_OR_RETURN(self->registry_, orgs::OrgRegistry::Create(self->store_.get()));
  SILTA_ASSIGN_OR_RETURN(orgs::SeedResult seeded, self->registry_->ApplySeed(seed));

  identity::CallLimiter::Options limits;
  limits.calls_per_second = config.limits().calls_per_second_per_org();
  limits.call_burst = config.limits().call_burst_per_org();
  limits.hetu_calls_per_hour = config.limits().hetu_calls_per_hour_per_org();
  self->limiter_ = std::make_unique<identity::CallLimiter>(limits);
  self->metrics_.AddCounter(
      "siltad_hetu_quota_alerts_total",
      "Times an organisation used 80% of its hourly quota of calls with a personal identity code.",
      [limiter = self->limiter_.get()] { return limiter->hetu_alerts(); });
  self->authenticator_ = std::make_unique<identity::Authenticator>(
      self->registry_.get(), config.tls().trust_domain(), self->store_.get(),
      self->limiter_.get());
  self->org_admin_ = std::make_unique<orgs::OrgAdmin>(self->registry_.get());
  self->org_service_ = std::make_unique<OrgService>(self->authenticator_.get(),
                                                    self->org_admin_.get(), self->registry_.get());
  SILTA_ASSIGN_OR_RETURN(self->subject_refs_,
                         cases::SubjectRefs::FromPepperFile(config.pepper_file()));
  consent::PolicyHolder* policy_holder = self->policy_.get();
  // The consent rules tell minors from adults by the day in Finland.
  SILTA_RETURN_IF_ERROR(cases::CheckFinnishTime());
  self->engine_ = std::make_unique<consent::DecisionEngine>();
  self->cases_ = std::make_unique<cases::CaseRegistry>(
      self->store_.get(), self->registry_.get(), self->subject_refs_.get(),
      [policy_holder](absl::string_view purpose) {
        return consent::PolicyHasPurpose(*policy_holder->Get(), purpose);
      },
      consent::ExistenceDecider(self->engine_.get(), policy_holder, absl::Now));
  self->consents_ = std::make_unique<consent::ConsentRegistry>(
      self->store_.get(), self->registry_.get(), self->subject_refs_.get(), self->cases_.get(),
      self->policy_.get(), self->engine_.get());
  SILTA_RETURN_IF_ERROR(self->consents_->LoadEngine());
  self->case_service_ =
      std::make_unique<CaseService>(self->authenticator_.get(), self->cases_.get());
  self->consent_service_ =
      std::make_unique<ConsentService>(self->authenticator_.get(), self->consents_.get());
  self->keys_ = std::make_unique<orgs::KeyDirectory>(self->store_.get(), config.tls().ca_file(),
                                                         config.tls().trust_domain(),
                                                         config.tls().crl_directory());
  self->key_service_ = std::make_unique<KeyService>(self->authenticator_.get(), self->keys_.get());
  routing::RouterOptions router_options;
  router_options.message_ttl = absl::Seconds(config.routing().message_ttl_seconds());
  router_options.ack_timeout = absl::Seconds(config.routing().ack_timeout_seconds());
  router_options.max_recipients = static_cast<int>(config.routing().max_recipients());
  router_options.max_fields = static_cast<int>(config.routing().max_fields());
  self->router_ = std::make_unique<routing::Router>(
      self->store_.get(), self->registry_.get(), self->keys_.get(), self->cases_.get(),
      self->subject_refs_.get(), self->policy_.get(), self->engine_.get(), router_options);
  self->instance_feed_ = std::make_unique<InstanceFeed>(
      self->registry_.get(), self->consents_.get(), self->keys_.get(), self->router_.get());
  // Reads the unfinished deliveries into the router's queues (once), after
  // listening to the other instances on PostgreSQL.
  SILTA_RETURN_IF_ERROR(self->store_->FollowOthers(self->instance_feed_.get()));
  self->metrics_.AddCounter(
      "siltad_notifications_undelivered_total",
      "Statutory notifications that expired undelivered (an alert: the sender sees "
      "EXPIRED_UNDELIVERED and must notify another way).",
      [router = self->router_.get()] { return router->undelivered_notifications(); });
  AddPathMetrics(self->router_.get(), self->store_.get(), &self->metrics_);
  self->message_service_ = std::make_unique<MessageService>(
      self->authenticator_.get(), self->registry_.get(), self->router_.get(), self->keys_.get(),
      config.limits().max_sends_in_flight());
  const SendAdmission* admission = &self->message_service_->admission();
  self->metrics_.AddFamily(
      "siltad_sends_waiting",
      "Sends waiting for a place among limits.max_sends_in_flight: above zero, siltad is taking "
      "messages as fast as it can deliver them.",
      ops::Metrics::Type::kGauge, [admission] {
        return std::vector<ops::Metrics::Sample>{
            {.labels = {}, .value = static_cast<double>(admission->Waiting())}};
      });
  self->metrics_.AddCounter("siltad_sends_waited_total",
                            "Sends that waited for a place among limits.max_sends_in_flight.",
                            [admission] { return admission->WaitedTotal(); });
  SILTA_ASSIGN_OR_RETURN(crypto::SecretData log_key,
                         audit::AuditLog::LoadLogKey(config.audit().log_key_file()));
  audit::AuditLogOptions audit_options;
  audit_options.tree_head_interval = absl::Seconds(config.audit().tree_head_interval_seconds());
  audit_options.log_id = config.audit().log_id();
  audit_options.retain_records = [store = self->store_.get(), engine = self->engine_.get()](
                                     const std::vector<v1::RetentionRule>& rules, absl::Time now) {
    return RetainRecords(store, engine, rules, now);
  };
  audit_options.retention = [policy_holder] {
    const std::shared_ptr<const v1::Policy> policy = policy_holder->Get();
    return std::vector<v1::RetentionRule>(policy->retention().begin(), policy->retention().end());
  };
  SILTA_ASSIGN_OR_RETURN(self->audit_log_,
                         audit::AuditLog::Create(self->store_.get(), self->subject_refs_.get(),
                                                 std::move(log_key), audit_options));
  self->reports_ = std::make_unique<audit::ReportService>(
      self->store_.get(), self->subject_refs_.get(), self->policy_.get(), self->registry_.get());
  self->audit_service_ = std::make_unique<AuditService>(
      self->authenticator_.get(), self->audit_log_.get(), self->reports_.get());
  SiltadServer* server = self.get();
  self->broker_service_ = std::make_unique<BrokerService>(
      self->authenticator_.get(), config.tls().trust_domain(),
      [server](const audit::Actor& actor) { return server->Reload(actor); });

  if (!config.metrics().listen_address().empty()) {
    SILTA_ASSIGN_OR_RETURN(
        self->metrics_http_,
        ops::MetricsHttpServer::Start(config.metrics().listen_address(), &self->metrics_));
  }

  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                         identity::MakeServerCredentials(config.tls()));
  grpc::EnableDefaultHealthCheckService(true);
  if (config.enable_reflection()) grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen_address(), credentials, &self->port_);
  builder.SetMaxReceiveMessageSize(static_cast<int>(config.limits().max_request_bytes()));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config.limits().max_concurrent_streams()));
  builder.RegisterService(self->org_service_.get());
  builder.RegisterService(self->case_service_.get());
  builder.RegisterService(self->consent_service_.get());
  builder.RegisterService(self->key_service_.get());
  builder.RegisterService(self->message_service_.get());
  builder.RegisterService(self->audit_service_.get());
  builder.RegisterService(self->broker_service_.get());
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<MetricsInterceptorFactory>(&self->metrics_));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  self->server_ = builder.BuildAndStart();
  if (self->server_ == nullptr || self->port_ == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", config.listen_address(),
        " (port in use or address not available); change listen_address or stop the other "
        "process"));
  }
  if (!config.listen_port_file().empty()) {
    SILTA_RETURN_IF_ERROR(WritePortFile(config.listen_port_file(), self->port_));
  }
  self->router_->Start();
  self->audit_log_->Start();
  grpc::HealthCheckServiceInterface* health = self->server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(true);
  // While the database cannot be reached, siltad says so: NOT_SERVING, and
  // SERVING again once it answers, without a restart.
  self->store_watch_ = std::make_unique<ops::StoreWatch>(
      absl::Seconds(1), [store = self->store_.get()] { return store->Ping(); },
      [health, self = self.get()](const absl::Status& status) {
        absl::MutexLock lock(&self->health_mu_);
        if (self->draining_) return;  // NOT_SERVING until the end
        if (status.ok()) {
          common::Log(common::LogLevel::kInfo, "store_reachable");
        } else {
          common::Log(common::LogLevel::kError, "store_unreachable",
                      {{"error", std::string(status.message())}});
        }
        if (health != nullptr) health->SetServingStatus(status.ok());
      });
  self->metrics_.AddFamily(
      "siltad_store_up", "1 while the store answers (checked every second), else 0.",
      ops::Metrics::Type::kGauge, [watch = self->store_watch_.get()] {
        return std::vector<ops::Metrics::Sample>{{.labels = {}, .value = watch->up() ? 1.0 : 0.0}};
      });

  common::Log(common::LogLevel::kInfo, "siltad_serving",
              {{"port", absl::StrCat(self->port_)},
               {"metrics_port", absl::StrCat(self->metrics_port())},
               {"schema_version", absl::StrCat(schema_version)},
               {"orgs_added", absl::StrCat(seeded.added)},
               {"orgs_updated", absl::StrCat(seeded.updated)},
               {"consent_records", absl::StrCat(self->engine_->RecordCount())},
               {"trust_domain", config.tls().trust_domain()},
               {"reflection", config.enable_reflection() ? "on" : "off"}});
  return self;
}

absl::StatusOr<v1::ReloadConfigResponse> SiltadServer::Reload(const audit::Actor& actor) {
  absl::MutexLock lock(&reload_mu_);
  // Read and check everything first: a reload changes all or nothing.
  absl::StatusOr<v1::Policy> policy = policy::LoadPolicyFile(config_.policy_file());
  absl::StatusOr<v1::OrgRegistryFile> seed = LoadRegistryFile(config_.registry_file());
  absl::Status result = policy.status();
  result.Update(seed.status());
  result.Update(identity::CheckTlsFiles(config_.tls()));
  v1::ReloadConfigResponse response;
  if (result.ok()) {
    absl::StatusOr<orgs::SeedResult> applied = registry_->ApplySeed(*seed);
    if (applied.ok()) {
      response.set_orgs_added(static_cast<uint32_t>(applied->added));
      response.set_orgs_updated(static_cast<uint32_t>(applied->updated));
      response.set_policy_categories(static_cast<uint32_t>(policy->categories_size()));
      response.set_policy_purposes(static_cast<uint32_t>(policy->purposes_size()));
      response.set_policy_statutory_bases(static_cast<uint32_t>(policy->statutory_bases_size()));
      const store::ChangeSequence::Change change = store_->changes().Begin();
      result.Update(policy_->Replace(*std::move(policy)));
    } else {
      result.Update(applied.status());
    }
  }
  v1::AuditEntry reloaded = audit::NewEntry(v1::CONFIG_RELOADED, absl::Now(), actor);
  reloaded.set_detail(result.ok() ? absl::StrCat("ok orgs_added=", response.orgs_added(),
                                                 " orgs_updated=", response.orgs_updated())
                                  : "failed");
  store::AuditEntries audit = {std::move(reloaded)};
  const absl::Status appended = store_->AppendAudit(&audit);
  if (!result.ok()) {
    common::Log(common::LogLevel::kError, "config_reload_failed",
                {{"org", actor.org_id}, {"error", std::string(result.message())}});
    return absl::FailedPreconditionError(absl::StrCat(
        "reload refused; the policy and registry in force are unchanged: ", result.message()));
  }
  if (!appended.ok()) return appended;
  response.set_audit_index(audit.front().index());
  common::Log(common::LogLevel::kInfo, "config_reloaded",
              {{"org", actor.org_id},
               {"orgs_added", absl::StrCat(response.orgs_added())},
               {"orgs_updated", absl::StrCat(response.orgs_updated())}});
  return response;
}

void SiltadServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
    {
      // The store watch sets the health under the same lock: it cannot
      // turn it back to SERVING once draining has begun.
      absl::MutexLock lock(&health_mu_);
      draining_ = true;
      if (health != nullptr) health->SetServingStatus(false);
    }
    const absl::Duration grace = absl::Seconds(config_.shutdown_grace_seconds());
    common::Log(common::LogLevel::kInfo, "siltad_draining",
                {{"grace_seconds", absl::StrCat(config_.shutdown_grace_seconds())}});
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
    server_->Wait();
  }
  if (audit_log_ != nullptr) audit_log_->Stop();
  if (store_ != nullptr) store_->StopFollowing();  // before the feed's parts go
  metrics_http_.reset();
  store_watch_.reset();  // after the last scrape that reads it
  common::Log(common::LogLevel::kInfo, "siltad_stopped");
}

SiltadServer::~SiltadServer() { Shutdown(); }

}  // namespace silta::service
