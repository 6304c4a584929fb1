// siltad as an operator meets it: start-up errors, certificate rotation,
// SIGTERM, and the systemd unit.
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/tls_probe.h"

namespace silta::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

CommandResult RunSiltad(const std::string& config, bool check_only) {
  std::vector<std::string> argv = {SILTAD_PATH, "--config", config};
  if (check_only) argv.push_back("--check-config");
  return RunCommand(argv, {}, absl::Seconds(20));
}

TEST(SiltadLifecycleTest, CheckConfigAcceptsValidSetup) {
  SiltadSetup setup{MakeTempDir("check-ok")};
  const std::string config = WriteSiltadConfig(setup);

  const CommandResult result = RunSiltad(config, /*check_only=*/true);

  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("configuration OK"));
}

TEST(SiltadLifecycleTest, MalformedConfigExitsNonZeroNamingFileAndLine) {
  SiltadSetup setup{MakeTempDir("bad-syntax")};
  const std::string config = WriteSiltadConfig(setup);
  const std::string text = ReadTextFile(config);
  const int bad_line = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  WriteTextFile(config, text + "no_such_field: 1\n");

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr(absl::StrCat("siltad.textproto:", bad_line, ":")));
  EXPECT_THAT(result.output, HasSubstr("no_such_field"));
}

TEST(SiltadLifecycleTest, MalformedPolicyExitsNonZeroNamingFileAndLine) {
  SiltadSetup setup{MakeTempDir("bad-policy")};
  const std::string config = WriteSiltadConfig(setup);
  WriteTextFile(setup.dir + "/policy.textproto",
                "categories { category: CATEGORY_IDENTITY sensitivity: NORMAL }\n"
                "purposes { code: \"Not A Code\" }\n");

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("policy.textproto:2:1: purposes[0]: code"));
}

TEST(SiltadLifecycleTest, MalformedRegistryExitsNonZeroNamingEntry) {
  SiltadSetup setup{MakeTempDir("bad-registry")};
  const std::string config = WriteSiltadConfig(setup);
  WriteTextFile(setup.dir + "/registry.textproto",
                "orgs { org_id: \"a\" display_name: \"A\" kind: NGO roles: AGENCY }\n"
                "orgs { org_id: \"b\" display_name: \"B\" kind: NGO }\n");

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("registry.textproto:2:1: orgs[1]: roles of b"));
}

TEST(SiltadLifecycleTest, KeyReadableByOthersIsRefusedWithFix) {
  SiltadSetup setup{MakeTempDir("open-key")};
  setup.copy_server_cert = true;
  const std::string config = WriteSiltadConfig(setup);
  fs::permissions(setup.dir + "/server.key", fs::perms::others_read, fs::perm_options::add);

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("chmod 600 " + setup.dir + "/server.key"));
}

// Issue #12 item 6: a data directory others can list or read is refused.
TEST(SiltadLifecycleTest, AnOpenDataDirectoryIsRefusedWithFix) {
  SiltadSetup setup{MakeTempDir("open-data-dir")};
  const std::string config = WriteSiltadConfig(setup);
  fs::permissions(setup.dir, fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                                 fs::perms::others_exec,
                  fs::perm_options::add);

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr("is open to group or others (mode 0755)"));
  EXPECT_THAT(result.output, HasSubstr("chmod 700 " + setup.dir));
  EXPECT_FALSE(fs::exists(setup.dir + "/silta.db"));
}

// The pepper makes the subject references: a siltad started on a database
// with another pepper (a wrong file, or another instance configured
// differently) would not find anyone's consents. It refuses to start.
TEST(SiltadLifecycleTest, AnotherPepperThanTheDatabaseWasMadeWithIsRefused) {
  SiltadSetup setup{MakeTempDir("pepper-changed")};
  {
    std::unique_ptr<SiltadProcess> first = StartSiltad(setup);
    ASSERT_NE(first, nullptr);
    first->Signal(SIGTERM);
    ASSERT_TRUE(first->WaitForExit(absl::Seconds(20)).ok());
  }
  const std::string config = WriteSiltadConfig(setup);
  WriteTextFile(setup.dir + "/pepper", "fedcba9876543210fedcba9876543210");

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("is not the pepper this database's subject references"));
  EXPECT_THAT(result.output, HasSubstr("every siltad on one database must use the same pepper"));
}

TEST(SiltadLifecycleTest, UnreadableKeyFileIsAClearError) {
  SiltadSetup setup{MakeTempDir("missing-key")};
  setup.copy_server_cert = true;
  const std::string config = WriteSiltadConfig(setup);
  fs::remove(setup.dir + "/server.key");

  const CommandResult result = RunSiltad(config, /*check_only=*/false);

  EXPECT_EQ(result.exit_code, 2) << result.output;
  EXPECT_THAT(result.output, HasSubstr(setup.dir + "/server.key: file does not exist"));
}

TEST(SiltadLifecycleTest, PortInUseIsAClearError) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  SiltadSetup setup{MakeTempDir("port-in-use")};
  const std::string config = WriteSiltadConfig(setup);
  WriteTextFile(config, absl::StrReplaceAll(ReadTextFile(config),
                                            {{"127.0.0.1:0\"\nlisten_port_file",
                                              absl::StrCat("127.0.0.1:", ntohs(addr.sin_port),
                                                           "\"\nlisten_port_file")}}));

  const CommandResult result = RunSiltad(config, /*check_only=*/false);
  ::close(fd);

  EXPECT_EQ(result.exit_code, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("port in use"));
}

TEST(SiltadLifecycleTest, SigtermDrainsAndExitsZero) {
  SiltadSetup setup{MakeTempDir("sigterm")};
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);

  siltad->Signal(SIGTERM);

  absl::StatusOr<int> code = siltad->WaitForExit(absl::Seconds(20));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_THAT(siltad->Log(), HasSubstr("siltad_stopped"));
}

TEST(SiltadLifecycleTest, RotatedServerCertificateIsUsedWithoutRestart) {
  SiltadSetup setup{MakeTempDir("rotation")};
  setup.copy_server_cert = true;
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  TlsProbeOptions probe;
  probe.port = siltad->port();
  probe.ca_file = PkiPath("ca.pem");
  probe.cert_file = OrgCert("silta-admin");
  probe.key_file = OrgKey("silta-admin");
  absl::StatusOr<TlsProbeResult> before = ProbeTls(probe);
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->server_common_name, "siltad");

  // Replace both files atomically (write beside, then rename), as operators should.
  fs::copy_file(PkiPath("test/server2.key"), setup.dir + "/server.key.new");
  fs::copy_file(PkiPath("test/server2.pem"), setup.dir + "/server.pem.new");
  fs::rename(setup.dir + "/server.key.new", setup.dir + "/server.key");
  fs::rename(setup.dir + "/server.pem.new", setup.dir + "/server.pem");

  // The watcher re-reads every second (refresh_interval_seconds: 1).
  std::string seen = before->server_common_name;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (seen != "siltad-rotated" && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
    absl::StatusOr<TlsProbeResult> after = ProbeTls(probe);
    if (after.ok()) seen = after->server_common_name;
  }
  EXPECT_EQ(seen, "siltad-rotated");
  // And the rotated server still serves gRPC over mTLS.
  auto health = grpc::health::v1::Health::NewStub(
      ChannelWith(siltad->address(), OrgCert("silta-admin"), OrgKey("silta-admin")));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// Control for the revoked-certificate refusal in identity_test: without the
// CRL directory the same certificate completes the handshake (and is then
// judged by its org's role), so it is the CRL that refuses it there.
TEST(SiltadLifecycleTest, RevokedCertificateIsOnlyRefusedBecauseOfTheCrl) {
  SiltadSetup setup{MakeTempDir("no-crl")};
  setup.with_crl = false;
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  auto health = grpc::health::v1::Health::NewStub(
      ChannelWith(siltad->address(), PkiPath("test/revoked.pem"), PkiPath("test/revoked.key")));
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;

  const grpc::Status status =
      health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);

  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(SiltadLifecycleTest, SystemdUnitPassesVerify) {
  if (!fs::exists("/usr/bin/systemd-analyze")) GTEST_SKIP() << "systemd-analyze not installed";
  const std::string dir = MakeTempDir("systemd");
  // The unit names the installed path; point it at this build's binary.
  const std::string unit = absl::StrReplaceAll(
      ReadTextFile(SILTA_SOURCE_DIR "/deploy/siltad.service"),
      {{"/usr/bin/siltad", SILTAD_PATH}});
  WriteTextFile(dir + "/siltad.service", unit);

  const CommandResult result = RunCommand({"/usr/bin/systemd-analyze", "verify", dir + "/siltad.service"});

  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "") << "systemd-analyze printed warnings";
}

// The unit lets siltad set its committer's nice value (store.committer_nice,
// default -5). Its system call filter denies @resources, setpriority among
// them, and a denied call kills the process: the unit must allow that call
// again after the deny list, and a RLIMIT_NICE down to the default.
TEST(SiltadLifecycleTest, SystemdUnitLetsTheCommitterRunAtItsNice) {
  const std::vector<std::string> lines =
      absl::StrSplit(ReadTextFile(SILTA_SOURCE_DIR "/deploy/siltad.service"), '\n');
  const auto at = [&](absl::string_view line) {
    return std::find(lines.begin(), lines.end(), line) - lines.begin();
  };
  const auto deny = at("SystemCallFilter=~@privileged @resources");
  const auto allow = at("SystemCallFilter=setpriority");
  ASSERT_LT(deny, lines.size());
  ASSERT_LT(allow, lines.size()) << "no SystemCallFilter=setpriority line";
  EXPECT_GT(allow, deny) << "an allow before the deny list is overridden by it";
  EXPECT_LT(at("LimitNICE=-5"), lines.size());
}

// siltad's own threads carry their names (ps, top, perf and the docs'
// thread table use them). Linux refuses a name of more than 15
// characters; the checkpointer and the store's watch were such names, and
// ran as "siltad". A thread names itself when it first runs, which may be
// after siltad reports SERVING (the store's watch starts just after), so
// each name is awaited: a name that is refused never appears.
TEST(SiltadLifecycleTest, ItsThreadsCarryTheirNames) {
  SiltadSetup setup{MakeTempDir("thread-names")};
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);

  for (const char* name : {"silta-committer", "silta-admission", "silta-checkpt", "silta-ping"}) {
    EXPECT_TRUE(AwaitThreadNamed(siltad->pid(), name, absl::Seconds(10)).has_value()) << name;
  }
}

// By default siltad may run its committer at nice -5 (while writes queue up
// for it; at rest it runs at the process's nice). The tests run as root in
// CI; a user without CAP_SYS_NICE sees the warning instead.
TEST(SiltadLifecycleTest, TheCommitterMayRunAtNiceMinusFiveByDefault) {
  SiltadSetup setup{MakeTempDir("committer-nice")};
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);

  EXPECT_EQ(ThreadNice(siltad->pid(), "silta-committer"), getpriority(PRIO_PROCESS, 0));
  if (::geteuid() == 0) {
    EXPECT_THAT(siltad->Log(), Not(HasSubstr("committer_priority_not_set")));
  } else {
    EXPECT_THAT(siltad->Log(), HasSubstr(R"("nice":"-5")"));
  }
}

// Without the right to lower a nice value, siltad says so, with the fix, and
// serves with the committer at the process's nice.
TEST(SiltadLifecycleTest, WithoutTheRightToRaiseTheCommitterSiltadWarnsAndServes) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "not root: TheCommitterMayRunAtNiceMinusFiveByDefault covers it";
  SiltadSetup setup{MakeTempDir("committer-no-nice")};
  const std::string config = WriteSiltadConfig(setup);
  // Root without CAP_SYS_NICE, as user silta is under a unit without
  // LimitNICE.
  absl::StatusOr<std::unique_ptr<ChildProcess>> siltad =
      ChildProcess::Start({"/usr/bin/setpriv", "--inh-caps=-sys_nice", "--bounding-set=-sys_nice",
                           SILTAD_PATH, "--config", config},
                          {}, setup.dir + "/siltad.log");
  ASSERT_TRUE(siltad.ok()) << siltad.status();

  ASSERT_TRUE((*siltad)->WaitForLog("siltad_serving", absl::Seconds(20))) << (*siltad)->Log();
  EXPECT_THAT((*siltad)->Log(), HasSubstr("committer_priority_not_set"));
  EXPECT_THAT((*siltad)->Log(), HasSubstr(R"("nice":"-5")"));
  EXPECT_THAT((*siltad)->Log(), HasSubstr("LimitNICE="));
  EXPECT_EQ(ThreadNice((*siltad)->pid(), "silta-committer"), getpriority(PRIO_PROCESS, 0));
}

}  // namespace
}  // namespace silta::testing
