#include "tests/integration/siltad_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "grpc/grpc.h"
#include "tests/testing/test_store.h"

namespace silta::testing {

std::string PkiPath(const std::string& relative) {
  return absl::StrCat(SILTA_TEST_PKI_DIR, "/", relative);
}
std::string OrgCert(const std::string& org_id) { return PkiPath("orgs/" + org_id + ".pem"); }
namespace {

// gRPC stays initialised for the whole test program and is shut down
// blocking at its end, so that gRPC's threads are finished (and have freed
// OpenSSL's per-thread state) before LeakSanitizer looks.
class GrpcEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { grpc_init(); }
  void TearDown() override { grpc_shutdown_blocking(); }
};
[[maybe_unused]] ::testing::Environment* const kGrpcEnvironment =
    ::testing::AddGlobalTestEnvironment(new GrpcEnvironment);

}  // namespace

std::string OrgKey(const std::string& org_id) { return PkiPath("orgs/" + org_id + ".key"); }
std::string OrgSignerCert(const std::string& org_id) {
  return PkiPath("orgs/" + org_id + ".signer.pem");
}
std::string OrgSignerKey(const std::string& org_id) {
  return PkiPath("orgs/" + org_id + ".signer.key");
}

std::string WriteSiltadConfig(const SiltadSetup& setup) {
  namespace fs = std::filesystem;
  fs::copy_file(PkiPath("registry.textproto"), setup.dir + "/registry.textproto",
                fs::copy_options::overwrite_existing);
  fs::copy_file(SILTA_SOURCE_DIR "/deploy/policy.example.textproto",
                setup.dir + "/policy.textproto", fs::copy_options::overwrite_existing);
  WriteTextFile(setup.dir + "/pepper", "0123456789abcdef0123456789abcdef");
  fs::permissions(setup.dir + "/pepper", fs::perms::owner_read | fs::perms::owner_write);
  std::string cert = PkiPath("server.pem");
  std::string key = PkiPath("server.key");
  if (setup.copy_server_cert) {
    cert = setup.dir + "/server.pem";
    key = setup.dir + "/server.key";
    fs::copy_file(PkiPath("server.pem"), cert, fs::copy_options::overwrite_existing);
    fs::copy_file(PkiPath("server.key"), key, fs::copy_options::overwrite_existing);
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
  }
  // The store under test (tests/testing/test_store.h): the PostgreSQL
  // database standing for this directory's silta.db, its conninfo in a
  // file of mode 600 as siltad requires.
  std::string store = "store { sqlite { path: \"silta.db\" } }\n";
  if (TestStoreIsPostgres()) {
    absl::StatusOr<std::string> conninfo =
        !setup.conninfo.empty()
            ? absl::StatusOr<std::string>(setup.conninfo)
            : TestPostgresConninfo((setup.database_of.empty() ? setup.dir : setup.database_of) +
                                   "/silta.db");
    EXPECT_TRUE(conninfo.ok()) << conninfo.status();
    WriteTextFile(setup.dir + "/conninfo", conninfo.ok() ? *conninfo : "");
    fs::permissions(setup.dir + "/conninfo", fs::perms::owner_read | fs::perms::owner_write);
    store = "store { postgres { conninfo_file: \"conninfo\" } }\n";
  }
  const std::string config = absl::StrCat(
      "listen_address: \"", setup.listen_address,
      "\"\n"
      "listen_port_file: \"port\"\n"
      "tls {\n"
      "  cert_file: \"",
      cert,
      "\"\n"
      "  key_file: \"",
      key,
      "\"\n"
      "  ca_file: \"",
      PkiPath("ca.pem"), "\"\n",
      setup.with_crl ? absl::StrCat("  crl_directory: \"", PkiPath("crl"), "\"\n") : "",
      "  trust_domain: \"silta.test\"\n"
      "  refresh_interval_seconds: 1\n"
      "}\n",
      store,
      "registry_file: \"registry.textproto\"\n"
      "policy_file: \"policy.textproto\"\n"
      "pepper_file: \"pepper\"\n"
      "audit { log_key_file: \"",
      PkiPath("audit/log-key.pem"),
      "\" tree_head_interval_seconds: 1 }\n"
      "metrics { listen_address: \"127.0.0.1:0\" }\n"
      "limits { max_request_bytes: ",
      setup.max_request_bytes,
      setup.calls_per_second_per_org == 0
          ? ""
          : absl::StrCat(" calls_per_second_per_org: ", setup.calls_per_second_per_org,
                         " call_burst_per_org: ", setup.calls_per_second_per_org),
      setup.hetu_calls_per_hour_per_org == 0
          ? ""
          : absl::StrCat(" hetu_calls_per_hour_per_org: ", setup.hetu_calls_per_hour_per_org),
      setup.max_sends_in_flight == 0
          ? ""
          : absl::StrCat(" max_sends_in_flight: ", setup.max_sends_in_flight),
      " }\n"
      "shutdown_grace_seconds: 2\n",
      setup.extra_config);
  const std::string path = setup.dir + "/siltad.textproto";
  WriteTextFile(path, config);
  return path;
}

std::unique_ptr<SiltadProcess> StartSiltad(const SiltadSetup& setup) {
  const std::string config = WriteSiltadConfig(setup);
  absl::StatusOr<std::unique_ptr<SiltadProcess>> process =
      SiltadProcess::Start(config, setup.dir + "/port", setup.dir + "/siltad.log");
  EXPECT_TRUE(process.ok()) << process.status();
  return process.ok() ? *std::move(process) : nullptr;
}

std::string ScrapeMetrics(const SiltadProcess& siltad) {
  const std::string log = siltad.Log();
  const size_t at = log.find(R"("metrics_port":")");
  EXPECT_NE(at, std::string::npos) << "no metrics_port in siltad's log";
  if (at == std::string::npos) return "";
  const std::string port = log.substr(at + 16, log.find('"', at + 16) - at - 16);
  const CommandResult curl =
      RunCommand({"/usr/bin/curl", "-sf", "http://127.0.0.1:" + port + "/metrics"});
  EXPECT_EQ(curl.exit_code, 0) << curl.output;
  return curl.output;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t length = sizeof(addr);
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  EXPECT_NE(port, 0) << "no free loopback port";
  return port;
}

std::shared_ptr<grpc::Channel> ChannelWith(const std::string& address, const std::string& cert,
                                           const std::string& key) {
  sdk::ConnectionOptions options;
  options.address = address;
  options.cert_file = cert;
  options.key_file = key;
  options.ca_file = PkiPath("ca.pem");
  options.server_name = "localhost";
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = sdk::Connect(options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

}  // namespace silta::testing
