#include "server/ops/config.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "lib/common/textproto.h"
#include "lib/policy/policy.h"
#include "tests/testing/status_matchers.h"

namespace silta::ops {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

constexpr const char* kValidConfig = R"pb(
  listen_address: "127.0.0.1:7443"
  tls {
    cert_file: "server.pem"
    key_file: "server.key"
    ca_file: "ca.pem"
    trust_domain: "silta.test"
  }
  store { sqlite { path: "data/silta.db" } }
  registry_file: "registry.textproto"
  policy_file: "policy.textproto"
  pepper_file: "pepper"
  audit { log_key_file: "log-key.pem" }
  metrics { listen_address: "127.0.0.1:9464" }
)pb";

v1::SiltadConfig Valid() {
  v1::SiltadConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kValidConfig, &config));
  return config;
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) /
                                    ("config_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(ValidateConfigTest, AcceptsValidConfig) { EXPECT_THAT(ValidateConfig(Valid()), IsOk()); }

struct BadConfigCase {
  const char* name;
  void (*mutate)(v1::SiltadConfig*);
  const char* field;
};

class ValidateConfigRejectTest : public ::testing::TestWithParam<BadConfigCase> {};

TEST_P(ValidateConfigRejectTest, NamesTheField) {
  v1::SiltadConfig config = Valid();
  GetParam().mutate(&config);

  EXPECT_THAT(ValidateConfig(config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().field)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateConfigRejectTest,
    ::testing::Values(
        BadConfigCase{"NoListen", [](v1::SiltadConfig* c) { c->clear_listen_address(); },
                      "listen_address"},
        BadConfigCase{"BadPort",
                      [](v1::SiltadConfig* c) { c->set_listen_address("localhost:99999"); },
                      "listen_address"},
        BadConfigCase{"NoTls", [](v1::SiltadConfig* c) { c->clear_tls(); }, "tls: is required"},
        BadConfigCase{"NoCert", [](v1::SiltadConfig* c) { c->mutable_tls()->clear_cert_file(); },
                      "tls.cert_file"},
        BadConfigCase{"NoKey", [](v1::SiltadConfig* c) { c->mutable_tls()->clear_key_file(); },
                      "tls.key_file"},
        BadConfigCase{"NoCa", [](v1::SiltadConfig* c) { c->mutable_tls()->clear_ca_file(); },
                      "tls.ca_file"},
        BadConfigCase{"BadDomain",
                      [](v1::SiltadConfig* c) { c->mutable_tls()->set_trust_domain("Silta Test"); },
                      "tls.trust_domain"},
        BadConfigCase{
            "Refresh",
            [](v1::SiltadConfig* c) { c->mutable_tls()->set_refresh_interval_seconds(3601); },
            "refresh_interval_seconds"},
        BadConfigCase{"NoStore", [](v1::SiltadConfig* c) { c->clear_store(); },
                      "store: is required"},
        BadConfigCase{
            "NoSqlitePath",
            [](v1::SiltadConfig* c) { c->mutable_store()->mutable_sqlite()->clear_path(); },
            "store.sqlite.path"},
        BadConfigCase{"Postgres",
                      [](v1::SiltadConfig* c) { c->mutable_store()->mutable_postgres(); },
                      "store.postgres"},
        BadConfigCase{"PostgresPool",
                      [](v1::SiltadConfig* c) {
                        c->mutable_store()->mutable_postgres()->set_conninfo_file("c");
                        c->mutable_store()->mutable_postgres()->set_read_connections(65);
                      },
                      "store.postgres.read_connections"},
        BadConfigCase{"CommitterNiceLow",
                      [](v1::SiltadConfig* c) { c->mutable_store()->set_committer_nice(-21); },
                      "store.committer_nice: must be a nice value -20..0"},
        BadConfigCase{"CommitterNiceBehind",
                      [](v1::SiltadConfig* c) { c->mutable_store()->set_committer_nice(1); },
                      "store.committer_nice"},
        BadConfigCase{"NoRegistry", [](v1::SiltadConfig* c) { c->clear_registry_file(); },
                      "registry_file"},
        BadConfigCase{"NoPolicy", [](v1::SiltadConfig* c) { c->clear_policy_file(); },
                      "policy_file"},
        BadConfigCase{"NoPepper", [](v1::SiltadConfig* c) { c->clear_pepper_file(); },
                      "pepper_file"},
        BadConfigCase{"NoLogKey", [](v1::SiltadConfig* c) { c->clear_audit(); },
                      "audit.log_key_file"},
        BadConfigCase{
            "PublicMetrics",
            [](v1::SiltadConfig* c) { c->mutable_metrics()->set_listen_address("0.0.0.0:9464"); },
            "metrics.listen_address"},
        BadConfigCase{"HugeRequests",
                      [](v1::SiltadConfig* c) {
                        c->mutable_limits()->set_max_request_bytes(kMaxMaxRequestBytes + 1);
                      },
                      "limits.max_request_bytes"},
        BadConfigCase{"LongGrace", [](v1::SiltadConfig* c) { c->set_shutdown_grace_seconds(301); },
                      "shutdown_grace_seconds"},
        BadConfigCase{"HugeCallRate",
                      [](v1::SiltadConfig* c) {
                        c->mutable_limits()->set_calls_per_second_per_org(kMaxCallsPerSecondPerOrg +
                                                                          1);
                      },
                      "limits.calls_per_second_per_org"},
        BadConfigCase{"HugeSendsInFlight",
                      [](v1::SiltadConfig* c) {
                        c->mutable_limits()->set_max_sends_in_flight(kMaxMaxSendsInFlight + 1);
                      },
                      "limits.max_sends_in_flight"},
        BadConfigCase{"BurstBelowRate",
                      [](v1::SiltadConfig* c) {
                        c->mutable_limits()->set_calls_per_second_per_org(50);
                        c->mutable_limits()->set_call_burst_per_org(49);
                      },
                      "limits.call_burst_per_org"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(LoopbackTest, RecognisesLoopbackHosts) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:9464"));
  EXPECT_TRUE(IsLoopbackAddress("127.8.0.1:0"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:9464"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:9464"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:9464"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:9464"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1"));
}

TEST(LoadConfigTest, ResolvesRelativePathsAndFillsDefaults) {
  const std::string path = WriteFile("good.textproto", kValidConfig);
  const std::string dir = path.substr(0, path.rfind('/') + 1);

  auto config = LoadConfig(path);

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->tls().cert_file(), dir + "server.pem");
  EXPECT_EQ(config->store().sqlite().path(), dir + "data/silta.db");
  EXPECT_EQ(config->limits().max_request_bytes(), kDefaultMaxRequestBytes);
  EXPECT_EQ(config->limits().calls_per_second_per_org(), kDefaultCallsPerSecondPerOrg);
  EXPECT_EQ(config->limits().call_burst_per_org(), 2 * kDefaultCallsPerSecondPerOrg);
  EXPECT_EQ(config->limits().max_sends_in_flight(), kDefaultMaxSendsInFlight);
  EXPECT_EQ(config->tls().refresh_interval_seconds(), 10u);
  EXPECT_EQ(config->shutdown_grace_seconds(), kDefaultShutdownGraceSeconds);
  ASSERT_TRUE(config->store().has_committer_nice());
  EXPECT_EQ(config->store().committer_nice(), kDefaultCommitterNice);
}

TEST(LoadConfigTest, KeepsACommitterNiceOfZero) {
  const std::string path =
      WriteFile("nice0.textproto",
                absl::StrReplaceAll(kValidConfig, {{"store {", "store { committer_nice: 0"}}));

  auto config = LoadConfig(path);

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->store().committer_nice(), 0);
}

TEST(LoadConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  const std::string path = WriteFile("typo.textproto",
                                     "listen_address: \"127.0.0.1:1\"\n"
                                     "tls {\n"
                                     "  cert_fil: \"x\"\n"
                                     "}\n");

  const absl::Status status = LoadConfig(path).status();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("typo.textproto:3:")));
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("\"silta.v1.TlsConfig\" has no field named \"cert_fil\"")));
}

TEST(LoadConfigTest, ValidationErrorNamesLineOfTheField) {
  std::string text = kValidConfig;
  text.replace(text.find("silta.test"), 10, "BAD DOMAIN");
  const std::string path = WriteFile("semantic.textproto", text);

  // trust_domain is on line 7 of kValidConfig.
  EXPECT_THAT(LoadConfig(path),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("semantic.textproto:7:5: tls.trust_domain")));
}

TEST(LoadConfigTest, MissingFileIsNotFound) {
  EXPECT_THAT(LoadConfig("/nonexistent/siltad.textproto"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/siltad.textproto")));
}

TEST(PolicyFileTest, ShippedExamplePolicyIsValid) {
  v1::Policy policy;

  EXPECT_THAT(
      common::ParseTextProtoFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto", &policy,
                                 [](const google::protobuf::Message& m) {
                                   return policy::ValidatePolicy(static_cast<const v1::Policy&>(m));
                                 }),
      IsOk());
  EXPECT_GE(policy.statutory_bases_size(), 3);
}

TEST(PolicyFileTest, ShippedExampleConfigParses) {
  v1::SiltadConfig config;

  EXPECT_THAT(
      common::ParseTextProtoFile(SILTA_SOURCE_DIR "/deploy/siltad.example.textproto", &config,
                                 [](const google::protobuf::Message& m) {
                                   return ValidateConfig(static_cast<const v1::SiltadConfig&>(m));
                                 }),
      IsOk());
}

TEST(PolicyFileTest, StatuteWithUnlistedCategoryIsRejectedWithLine) {
  const std::string path = WriteFile("policy.textproto", R"pb(categories { category: CATEGORY_IDENTITY sensitivity: NORMAL }
purposes { code: "referral" }
statutory_bases {
  code: "lsl_25"
  citation: "lastensuojelulaki 25 §"
  sender_kinds: POLICE
  recipient_kinds: WELLBEING_AREA
  categories: CATEGORY_HEALTH
}
)pb");
  v1::Policy policy;

  EXPECT_THAT(
      common::ParseTextProtoFile(path, &policy,
                                 [](const google::protobuf::Message& m) {
                                   return policy::ValidatePolicy(static_cast<const v1::Policy&>(m));
                                 }),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("policy.textproto:3:1: statutory_bases[0]: category CATEGORY_HEALTH")));
}

}  // namespace
}  // namespace silta::ops
