// siltactl for administrators, run as the real binary against a real
// siltad: whoami, policy reload (all or nothing, audited, admin only),
// doctor (each thing it checks, failing for the right reason), and the
// connection taken from a config file.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class SiltactlAdminTest : public ::testing::Test {
 protected:
  SiltactlAdminTest() : world_("siltactl-admin") {}

  // siltactl with exactly these arguments (no connection flags added).
  CommandResult Bare(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {SILTACTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {"XDG_CONFIG_HOME=" + world_.setup().dir}, absl::Seconds(60));
  }

  // siltactl as if from `cert`/`key` (paths in the test PKI) to this siltad.
  CommandResult With(const std::string& cert, const std::string& key,
                     const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--address", world_.siltad().address(), "--server-name",
                                    "localhost", "--ca", PkiPath("ca.pem"), "--cert", cert,
                                    "--key", key};
    all.insert(all.end(), args.begin(), args.end());
    return Bare(all);
  }

  World world_;
};

TEST_F(SiltactlAdminTest, WhoAmIShowsTheRegisteredOrganisation) {
  const CommandResult r = world_.Siltactl("wba-dpo", {"whoami"});

  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("wba-dpo"), HasSubstr("AUDITOR"), HasSubstr("ACTIVE"),
                              HasSubstr("spiffe://silta.test/org/wba-dpo/sys/dev")));
}

TEST_F(SiltactlAdminTest, PolicyReloadIsAllOrNothingAuditedAndForAdminsOnly) {
  CommandResult r = world_.Siltactl("silta-admin", {"policy", "reload", "--worker", "admin-7"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("reloaded"), HasSubstr("statutory bases")));

  r = world_.Siltactl("police-hame", {"policy", "reload"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));

  // A broken policy file is refused, naming the line; the old policy stays.
  const std::string policy = world_.setup().dir + "/policy.textproto";
  const std::string good = ReadTextFile(policy);
  WriteTextFile(policy, good + "\npurposes { cod: \"appeal\" }\n");
  r = world_.Siltactl("silta-admin", {"policy", "reload", "--worker", "admin-7"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("FAILED_PRECONDITION"), HasSubstr("policy.textproto:"),
                              HasSubstr("unchanged")));
  r = world_.Siltactl("wba-registrar",
                      {"consent", "record", "--grantor", "GUARDIAN", "--purpose", "referral",
                       "--category", "health", "--to", "wba-psychiatry", "--from-kind",
                       "WELLBEING_AREA", "--evidence", "form-1",
                       "--valid-days", "30", "--worker", "reg-1"},
                      std::string(kHetu) + "\n");
  EXPECT_EQ(r.exit_code, 0) << "the policy in force still works: " << r.output;
  WriteTextFile(policy, good);

  r = world_.Siltactl("wba-dpo", {"audit", "query", "--type", "CONFIG_RELOADED", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("silta-admin"), HasSubstr("admin-7"), HasSubstr("failed"),
                              HasSubstr("ok orgs_added")));
}

TEST_F(SiltactlAdminTest, DoctorPassesForAHealthySetup) {
  const std::string keys = world_.setup().dir + "/doctor-keys";
  const CommandResult published =
      world_.Siltactl("hml-youth", {"--keys-dir", keys, "keys", "publish", "--worker", "it-2"});
  ASSERT_EQ(published.exit_code, 0) << published.output;

  const CommandResult r = world_.Siltactl("hml-youth", {"--keys-dir", keys, "doctor"});

  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr("SERVING over mutual TLS"), HasSubstr("spiffe://silta.test/org/hml-youth"),
                    HasSubstr("verifies to the CA"), HasSubstr("belongs to the certificate"),
                    HasSubstr("MUNICIPAL_YOUTH"), HasSubstr("from the broker's clock"),
                    HasSubstr("published, valid until"), HasSubstr("0 problem(s)")));
}

TEST_F(SiltactlAdminTest, DoctorNamesEachProblemAndTheFix) {
  // An expired certificate.
  CommandResult r = With(PkiPath("test/expired.pem"), PkiPath("test/expired.key"), {"doctor"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("expired on"), HasSubstr("new certificate"),
                              HasSubstr("not tried")));

  // A private key anyone can read.
  const std::string open_key = world_.setup().dir + "/open.key";
  std::filesystem::copy_file(OrgKey("hml-youth"), open_key);
  ::chmod(open_key.c_str(), 0644);
  r = With(OrgCert("hml-youth"), open_key, {"doctor"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("chmod 600"));

  // The key of another certificate.
  r = With(OrgCert("hml-youth"), OrgKey("police-hame"), {"doctor"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not the certificate's private key"));

  // A certificate of another CA.
  r = With(PkiPath("test/other-ca-client.pem"), PkiPath("test/other-ca-client.key"), {"doctor"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("issued by the trust-domain CA"));

  // A valid certificate of an organisation the broker does not know.
  r = With(PkiPath("test/unknown-org.pem"), PkiPath("test/unknown-org.key"), {"doctor"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("SERVING"), HasSubstr("register your organisation")));

  // Nothing listening.
  r = Bare({"--address", "127.0.0.1:1", "--server-name", "localhost", "--ca", PkiPath("ca.pem"),
            "--cert", OrgCert("hml-youth"), "--key", OrgKey("hml-youth"), "--timeout", "2",
            "doctor", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("\"outcome\":\"FAIL\""), HasSubstr("is siltad running")));
}

TEST_F(SiltactlAdminTest, ConnectionFromAConfigFileWithFlagsOverridingIt) {
  const std::string dir = world_.setup().dir + "/ctl";
  std::filesystem::create_directories(dir + "/orgs");
  std::filesystem::copy_file(PkiPath("ca.pem"), dir + "/ca.pem");
  std::filesystem::copy_file(OrgCert("wba-dpo"), dir + "/orgs/dpo.pem");
  std::filesystem::copy_file(OrgKey("wba-dpo"), dir + "/orgs/dpo.key");
  ::chmod((dir + "/orgs/dpo.key").c_str(), 0600);
  const std::string config = dir + "/siltactl.toml";
  WriteTextFile(config, "# the data-protection officer's workstation\n"
                        "address = \"" + world_.siltad().address() + "\"\n"
                        "server-name = \"localhost\"\n"
                        "ca = \"ca.pem\"\n"
                        "cert = \"orgs/dpo.pem\"\n"
                        "key = \"orgs/dpo.key\"\n"
                        "timeout = 20\n");

  // Relative paths are relative to the file.
  CommandResult r = Bare({"--config", config, "whoami"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wba-dpo"));
  // The default location is used when it exists.
  std::filesystem::create_directories(world_.setup().dir + "/silta");
  std::filesystem::copy_file(config, world_.setup().dir + "/silta/siltactl.toml");
  r = Bare({"whoami"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/silta/")) << "relative paths now point under silta/";
  std::filesystem::remove(world_.setup().dir + "/silta/siltactl.toml");
  // A flag wins over the file.
  r = Bare({"--config", config, "--cert", OrgCert("hml-youth"), "--key", OrgKey("hml-youth"),
            "whoami"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("hml-youth"));

  // Mistakes in the file are usage errors that name the file and the key.
  WriteTextFile(config, "adress = \"localhost:1\"\n");
  r = Bare({"--config", config, "whoami"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("siltactl.toml"), HasSubstr("unknown setting 'adress'")));
  WriteTextFile(config, "timeout = \"soon\"\n");
  r = Bare({"--config", config, "whoami"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("timeout"));
  r = Bare({"--config", dir + "/absent.toml", "whoami"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("absent.toml does not exist"));
}

// The subcommands `siltactl <path> --help` lists (lines "  name  text"
// right under "Subcommands:", two spaces in).
std::vector<std::string> Subcommands(const std::string& help) {
  std::vector<std::string> names;
  const size_t start = help.find("Subcommands:\n");
  if (start == std::string::npos) return names;
  for (absl::string_view line : absl::StrSplit(help.substr(start), '\n')) {
    if (line.size() > 2 && line.substr(0, 2) == "  " && line[2] != ' ') {
      names.emplace_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

TEST(SiltactlHelpTest, EveryCommandHasHelpWithAnExample) {
  std::vector<std::vector<std::string>> pending = {{}};
  int leaves = 0;
  while (!pending.empty()) {
    std::vector<std::string> path = pending.back();
    pending.pop_back();
    std::vector<std::string> argv = {SILTACTL_PATH};
    argv.insert(argv.end(), path.begin(), path.end());
    argv.push_back("--help");
    const CommandResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << absl::StrJoin(path, " ") << ": " << r.output;
    const std::vector<std::string> children = Subcommands(r.output);
    if (children.empty()) {
      ++leaves;
      EXPECT_THAT(r.output, HasSubstr("Example: siltactl")) << absl::StrJoin(path, " ");
    }
    for (const std::string& child : children) {
      std::vector<std::string> next = path;
      next.push_back(child);
      pending.push_back(next);
    }
  }
  EXPECT_GE(leaves, 33) << "every role's commands";
}

}  // namespace
}  // namespace silta::testing
