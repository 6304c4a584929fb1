// Integration tests of siltad's identity layer: a real siltad process on a
// loopback port, real certificates from certs/make-dev-pki.sh, real mTLS.
#include <openssl/ssl.h>
#include <signal.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include <future>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "gtest/gtest.h"
#include "server/identity/role_table.h"
#include "silta/v1/org.grpc.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/tls_probe.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

constexpr absl::Duration kLogWait = absl::Seconds(10);

class SiltadIdentityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_ = new SiltadSetup;
    setup_->dir = MakeTempDir("identity");
    siltad_ = StartSiltad(*setup_).release();
    ASSERT_NE(siltad_, nullptr);
  }
  static void TearDownTestSuite() {
    delete siltad_;
    siltad_ = nullptr;
    delete setup_;
  }
  void SetUp() override { ASSERT_NE(siltad_, nullptr); }

  static std::unique_ptr<v1::OrgService::Stub> OrgStub(const std::string& cert,
                                                       const std::string& key) {
    return v1::OrgService::NewStub(ChannelWith(siltad_->address(), cert, key));
  }
  static std::unique_ptr<v1::OrgService::Stub> OrgStubAs(const std::string& org_id) {
    return OrgStub(OrgCert(org_id), OrgKey(org_id));
  }
  static grpc::Status ListOrgs(v1::OrgService::Stub& stub, v1::ListOrgsResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub.ListOrgs(&context, v1::ListOrgsRequest(), response);
  }
  static v1::ActingUser Worker() {
    v1::ActingUser user;
    user.set_worker_id("admin-7");
    return user;
  }
  // Runs siltactl against the test siltad.
  static CommandResult Siltactl(const std::string& org_id, std::vector<std::string> args) {
    std::vector<std::string> argv = {SILTACTL_PATH, "--address", siltad_->address(),
                                     "--cert", OrgCert(org_id), "--key", OrgKey(org_id),
                                     "--ca", PkiPath("ca.pem"), "--server-name", "localhost"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  static SiltadSetup* setup_;
  static SiltadProcess* siltad_;
};

SiltadSetup* SiltadIdentityTest::setup_ = nullptr;
SiltadProcess* SiltadIdentityTest::siltad_ = nullptr;

TEST_F(SiltadIdentityTest, RegisteredAdminOrgIsServed) {
  auto stub = OrgStubAs("silta-admin");
  v1::ListOrgsResponse response;

  const grpc::Status status = ListOrgs(*stub, &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<std::string> ids;
  for (const auto& org : response.orgs()) ids.push_back(org.org_id());
  EXPECT_THAT(ids, ::testing::IsSupersetOf({"police-hame", "wba-social", "asenne-ry",
                                            "rise-probation", "rise-prison", "hml-youth",
                                            "wba-psychiatry", "wba-registrar", "wba-dpo"}));
}

// A certificate that must be refused, the status the client sees and the
// log line siltad writes.
struct RefusedIdentity {
  const char* name;
  const char* cert;  // relative to the PKI dir; "" = no client certificate
  grpc::StatusCode code;
  const char* log_needle;
};

class RefusedIdentityTest : public SiltadIdentityTest,
                            public ::testing::WithParamInterface<RefusedIdentity> {};

TEST_P(RefusedIdentityTest, IsRefusedWithCodeAndLogLine) {
  const RefusedIdentity& p = GetParam();
  std::shared_ptr<grpc::Channel> channel;
  if (std::string(p.cert).empty()) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
            ReadTextFile(PkiPath("ca.pem"))));
    options.watch_root_certs();
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    channel = grpc::CreateCustomChannel(siltad_->address(),
                                        grpc::experimental::TlsCredentials(options), args);
  } else {
    const std::string base = PkiPath(p.cert);
    channel = ChannelWith(siltad_->address(), base + ".pem", base + ".key");
  }
  auto stub = v1::OrgService::NewStub(channel);
  const size_t log_before = siltad_->Log().size();
  v1::ListOrgsResponse response;

  const grpc::Status status = ListOrgs(*stub, &response);

  EXPECT_EQ(status.error_code(), p.code) << status.error_message();
  EXPECT_EQ(response.orgs_size(), 0);
  const absl::Time deadline = absl::Now() + kLogWait;
  std::string new_log;
  while (absl::Now() < deadline) {
    new_log = siltad_->Log().substr(log_before);
    if (absl::StrContains(new_log, p.log_needle)) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_THAT(new_log, HasSubstr(p.log_needle));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, RefusedIdentityTest,
    ::testing::Values(
        RefusedIdentity{"NoClientCertificate", "", grpc::StatusCode::UNAVAILABLE,
                        "tls_handshake_refused"},
        RefusedIdentity{"OtherCa", "test/other-ca-client", grpc::StatusCode::UNAVAILABLE,
                        "tls_handshake_refused"},
        RefusedIdentity{"Expired", "test/expired", grpc::StatusCode::UNAVAILABLE,
                        "tls_handshake_refused"},
        RefusedIdentity{"Revoked", "test/revoked", grpc::StatusCode::UNAVAILABLE,
                        "tls_handshake_refused"},
        RefusedIdentity{"UnknownOrg", "test/unknown-org", grpc::StatusCode::UNAUTHENTICATED,
                        R"("reason":"unknown_org")"},
        RefusedIdentity{"SuspendedOrg", "test/suspended-ngo", grpc::StatusCode::PERMISSION_DENIED,
                        R"("reason":"org_suspended")"},
        RefusedIdentity{"NonSpiffeUriSan", "test/non-spiffe-uri", grpc::StatusCode::UNAUTHENTICATED,
                        R"("reason":"uri_san_not_spiffe")"},
        RefusedIdentity{"DnsOnlySan", "test/dns-only", grpc::StatusCode::UNAUTHENTICATED,
                        R"("reason":"no_spiffe_id")"},
        RefusedIdentity{"OtherTrustDomain", "test/other-domain", grpc::StatusCode::UNAUTHENTICATED,
                        R"("reason":"foreign_trust_domain")"},
        RefusedIdentity{"RoleNotAllowed", "orgs/police-hame", grpc::StatusCode::PERMISSION_DENIED,
                        R"("reason":"role_not_allowed")"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(SiltadIdentityTest, RefusesTls11Client) {
  TlsProbeOptions options;
  options.port = siltad_->port();
  options.cert_file = OrgCert("police-hame");
  options.key_file = OrgKey("police-hame");
  options.min_version = TLS1_VERSION;
  options.max_version = TLS1_1_VERSION;

  EXPECT_FALSE(ProbeTls(options).ok());

  // Control: the same client with TLS 1.2 completes the handshake, so the
  // refusal above is about the version and nothing else.
  options.min_version = TLS1_2_VERSION;
  options.max_version = TLS1_2_VERSION;
  absl::StatusOr<TlsProbeResult> tls12 = ProbeTls(options);
  ASSERT_TRUE(tls12.ok()) << tls12.status();
  EXPECT_EQ(tls12->version, TLS1_2_VERSION);
}

TEST_F(SiltadIdentityTest, SiltactlNegotiatesTls13) {
  absl::StatusOr<std::unique_ptr<TlsVersionRecorder>> recorder =
      TlsVersionRecorder::Start(PkiPath("server.pem"), PkiPath("server.key"));
  ASSERT_TRUE(recorder.ok()) << recorder.status();
  const std::vector<std::string> argv = {
      SILTACTL_PATH, "--address", absl::StrCat("127.0.0.1:", (*recorder)->port()),
      "--cert", OrgCert("silta-admin"), "--key", OrgKey("silta-admin"),
      "--ca", PkiPath("ca.pem"), "--server-name", "localhost", "--timeout", "3", "health"};

  RunCommand(argv, {}, absl::Seconds(20));  // fails after the handshake: no gRPC behind it
  absl::StatusOr<int> version = (*recorder)->WaitForVersion();

  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, TLS1_3_VERSION);
}

TEST_F(SiltadIdentityTest, SiltactlHealthAnswersServing) {
  const CommandResult result = Siltactl("silta-admin", {"health"});

  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("SERVING"));
}

TEST_F(SiltadIdentityTest, SiltactlOrgListPrintsJson) {
  const CommandResult result = Siltactl("silta-admin", {"org", "list", "--json"});

  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(R"("org_id":"police-hame")"));
  EXPECT_THAT(result.output, HasSubstr(R"("kind":"POLICE")"));
}

TEST_F(SiltadIdentityTest, SiltactlReportsRefusalWithExitCode3) {
  const CommandResult result = Siltactl("police-hame", {"org", "list"});

  EXPECT_EQ(result.exit_code, 3) << result.output;
  EXPECT_THAT(result.output, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(SiltadIdentityTest, SiltactlAddsAndSuspendsAnOrg) {
  CommandResult added = Siltactl(
      "silta-admin", {"org", "add", "--id", "nuorten-ystavat", "--name", "Nuorten Ystävät ry",
                      "--kind", "ngo", "--role", "AGENCY", "--worker", "admin-7"});
  ASSERT_EQ(added.exit_code, 0) << added.output;

  const CommandResult suspended =
      Siltactl("silta-admin", {"org", "suspend", "nuorten-ystavat", "--worker", "admin-7", "--json"});

  EXPECT_EQ(suspended.exit_code, 0) << suspended.output;
  EXPECT_THAT(suspended.output, HasSubstr(R"("state":"SUSPENDED")"));
}

TEST_F(SiltadIdentityTest, SiltactlWithoutCertificateIsUsageError) {
  const CommandResult result =
      RunCommand({SILTACTL_PATH, "--address", siltad_->address(), "--cert", "/nonexistent.pem",
                  "--key", OrgKey("silta-admin"), "--ca", PkiPath("ca.pem"), "health"});

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("/nonexistent.pem"));
}

// Reads initial events until every org currently registered has been seen.
void ReadInitialListing(grpc::ClientReader<v1::OrgEvent>& reader, int count) {
  v1::OrgEvent event;
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(reader.Read(&event));
    ASSERT_TRUE(event.initial());
  }
}

TEST_F(SiltadIdentityTest, WatchStreamDeliversRegistryChanges) {
  auto admin = OrgStubAs("silta-admin");
  v1::ListOrgsResponse listed;
  ASSERT_TRUE(ListOrgs(*admin, &listed).ok());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  std::unique_ptr<grpc::ClientReader<v1::OrgEvent>> reader =
      admin->WatchOrgs(&watch_context, v1::WatchOrgsRequest());
  ReadInitialListing(*reader, listed.orgs_size());

  grpc::ClientContext add_context;
  v1::AddOrgRequest add;
  add.mutable_org()->set_org_id("nuorisoasema");
  add.mutable_org()->set_display_name("Nuorisoasema");
  add.mutable_org()->set_kind(v1::NGO);
  add.mutable_org()->add_roles(v1::AGENCY);
  *add.mutable_acting_user() = Worker();
  v1::AddOrgResponse added;
  ASSERT_TRUE(admin->AddOrg(&add_context, add, &added).ok());

  v1::OrgEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_FALSE(event.initial());
  EXPECT_EQ(event.org().org_id(), "nuorisoasema");
  watch_context.TryCancel();
}

TEST_F(SiltadIdentityTest, SuspensionTakesEffectOnTheNextCall) {
  auto admin = OrgStubAs("silta-admin");
  auto backup = OrgStub(PkiPath("test/backup-admin.pem"), PkiPath("test/backup-admin.key"));
  v1::ListOrgsResponse listed;
  ASSERT_TRUE(ListOrgs(*backup, &listed).ok());

  grpc::ClientContext suspend_context;
  v1::SetOrgStateRequest suspend;
  suspend.set_org_id("backup-admin");
  suspend.set_reason("test");
  *suspend.mutable_acting_user() = Worker();
  v1::SetOrgStateResponse suspended;
  ASSERT_TRUE(admin->SuspendOrg(&suspend_context, suspend, &suspended).ok());

  // Same channel, same connection: the very next call is refused.
  EXPECT_EQ(ListOrgs(*backup, &listed).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  grpc::ClientContext resume_context;
  v1::SetOrgStateResponse resumed;
  ASSERT_TRUE(admin->ResumeOrg(&resume_context, suspend, &resumed).ok());
  EXPECT_TRUE(ListOrgs(*backup, &listed).ok());
}

TEST_F(SiltadIdentityTest, SuspensionEndsTheSuspendedOrgsOpenStream) {
  auto admin = OrgStubAs("silta-admin");
  auto backup = OrgStub(PkiPath("test/backup-admin.pem"), PkiPath("test/backup-admin.key"));
  v1::ListOrgsResponse listed;
  ASSERT_TRUE(ListOrgs(*backup, &listed).ok());
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  std::unique_ptr<grpc::ClientReader<v1::OrgEvent>> reader =
      backup->WatchOrgs(&watch_context, v1::WatchOrgsRequest());
  ReadInitialListing(*reader, listed.orgs_size());

  grpc::ClientContext suspend_context;
  v1::SetOrgStateRequest suspend;
  suspend.set_org_id("backup-admin");
  *suspend.mutable_acting_user() = Worker();
  v1::SetOrgStateResponse suspended;
  ASSERT_TRUE(admin->SuspendOrg(&suspend_context, suspend, &suspended).ok());

  // The stream carries nothing more (not even the suspension itself) and ends.
  v1::OrgEvent event;
  EXPECT_FALSE(reader->Read(&event));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("suspended"));

  grpc::ClientContext resume_context;
  v1::SetOrgStateResponse resumed;
  ASSERT_TRUE(admin->ResumeOrg(&resume_context, suspend, &resumed).ok());
}

TEST_F(SiltadIdentityTest, AdminCannotSuspendOwnOrg) {
  auto admin = OrgStubAs("silta-admin");
  grpc::ClientContext context;
  v1::SetOrgStateRequest request;
  request.set_org_id("silta-admin");
  *request.mutable_acting_user() = Worker();
  v1::SetOrgStateResponse response;

  EXPECT_EQ(admin->SuspendOrg(&context, request, &response).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SiltadIdentityTest, OversizedRequestIsResourceExhausted) {
  auto admin = OrgStubAs("silta-admin");
  grpc::ClientContext context;
  v1::AddOrgRequest request;
  request.mutable_org()->set_org_id("big-org");
  request.mutable_org()->set_display_name(std::string(100 * 1024, 'x'));  // limit is 64 KiB
  v1::AddOrgResponse response;

  const grpc::Status status = admin->AddOrg(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST_F(SiltadIdentityTest, MalformedOrgIsInvalidArgumentNamingTheField) {
  auto admin = OrgStubAs("silta-admin");
  grpc::ClientContext context;
  v1::AddOrgRequest request;
  request.mutable_org()->set_org_id("Bad Id!");
  request.mutable_org()->set_display_name("x");
  request.mutable_org()->set_kind(v1::NGO);
  request.mutable_org()->add_roles(v1::AGENCY);
  *request.mutable_acting_user() = Worker();
  v1::AddOrgResponse response;

  const grpc::Status status = admin->AddOrg(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("org_id"));
}

TEST_F(SiltadIdentityTest, AddedOrgPersistsAndDuplicateIsAlreadyExists) {
  auto admin = OrgStubAs("silta-admin");
  v1::AddOrgRequest request;
  request.mutable_org()->set_org_id("vamos");
  request.mutable_org()->set_display_name("Diakonissalaitos Vamos");
  request.mutable_org()->set_kind(v1::NGO);
  request.mutable_org()->add_roles(v1::AGENCY);
  *request.mutable_acting_user() = Worker();
  {
    grpc::ClientContext context;
    v1::AddOrgResponse response;
    ASSERT_TRUE(admin->AddOrg(&context, request, &response).ok());
    EXPECT_EQ(response.org().state(), v1::ACTIVE);
  }
  grpc::ClientContext again;
  v1::AddOrgResponse response;

  EXPECT_EQ(admin->AddOrg(&again, request, &response).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(SiltadIdentityTest, MetricsCountRequestsByMethodAndCode) {
  auto admin = OrgStubAs("silta-admin");
  v1::ListOrgsResponse response;
  ASSERT_TRUE(ListOrgs(*admin, &response).ok());
  const std::string metrics = ScrapeMetrics(*siltad_);

  EXPECT_THAT(
      metrics,
      HasSubstr(R"(siltad_grpc_requests_total{method="/silta.v1.OrgService/ListOrgs",code="OK"})"));
  EXPECT_THAT(metrics, HasSubstr("siltad_grpc_request_duration_seconds_bucket"));
}

TEST_F(SiltadIdentityTest, SighupReloadsRegistry) {
  WriteTextFile(setup_->dir + "/registry.textproto",
                ReadTextFile(setup_->dir + "/registry.textproto") +
                    "orgs { org_id: \"oulu-nurri\" display_name: \"Nurri\" kind: MUNICIPAL_YOUTH "
                    "roles: AGENCY region: \"oulu\" }\n");

  siltad_->Signal(SIGHUP);

  ASSERT_TRUE(siltad_->WaitForLog("config_reloaded", kLogWait)) << siltad_->Log();
  auto admin = OrgStubAs("silta-admin");
  grpc::ClientContext context;
  v1::GetOrgRequest request;
  request.set_org_id("oulu-nurri");
  v1::GetOrgResponse response;
  EXPECT_TRUE(admin->GetOrg(&context, request, &response).ok());
  EXPECT_EQ(response.org().region(), "oulu");
}

}  // namespace
}  // namespace silta::testing
