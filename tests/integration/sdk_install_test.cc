// The installed SDK as an agency developer gets it (issue #14): `cmake
// --install` into a temporary prefix, both examples built out of tree
// against it with find_package(Silta), hello-send also with pkg-config, and
// then both run against a real siltad: hello-send publishes keys and sends
// a Referral; agency-bridge sends the envelopes of an outbox (a malformed
// one goes to failed/ with its reason, and the others still go) and writes
// what it receives into an inbox, mode 600, with the withheld field absent.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/files.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string ReadText(const std::string& path) {
  absl::StatusOr<std::string> text = common::ReadFile(path);
  return text.ok() ? *text : "";
}

// Runs a build step; fails the test with its output if it fails.
bool Step(const std::vector<std::string>& argv) {
  const CommandResult r = RunCommand(argv, {}, absl::Minutes(3));
  EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(argv, " ") << "\n" << r.output;
  return r.exit_code == 0;
}

std::vector<std::string> ConnectionFlags(World& world, const std::string& org) {
  return {"--address",     world.siltad().address(),
          "--cert",        OrgCert(org),
          "--key",         OrgKey(org),
          "--ca",          PkiPath("ca.pem"),
          "--server-name", "localhost",
          "--crl-dir",     PkiPath("crl")};
}

TEST(SdkInstallTest, ExamplesBuildAgainstTheInstalledSdkAndWorkWithARealSiltad) {
  const std::string dir = MakeTempDir("sdk-install");
  const std::string prefix = dir + "/prefix";
  ASSERT_TRUE(
      Step({CMAKE_PATH, "--install", SILTA_BUILD_DIR, "--prefix", prefix, "--component", "sdk"}));
  // The public headers name nothing of siltad and nothing of the build tree.
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(prefix + "/include")) {
    if (!e.is_regular_file()) continue;
    const std::string text = ReadText(e.path().string());
    EXPECT_THAT(text, Not(HasSubstr("#include \"server/"))) << e.path();
    EXPECT_THAT(text, Not(HasSubstr(SILTA_BUILD_DIR))) << e.path();
  }
  EXPECT_FALSE(fs::exists(prefix + "/include/silta-sdk/server"));

  const std::string examples = std::string(SILTA_SOURCE_DIR) + "/examples";
  for (const std::string example : {"hello-send", "agency-bridge"}) {
    ASSERT_TRUE(Step({CMAKE_PATH, "-S", examples + "/" + example, "-B", dir + "/build-" + example,
                      "-G", "Ninja", "-DCMAKE_PREFIX_PATH=" + prefix}));
    ASSERT_TRUE(Step({CMAKE_PATH, "--build", dir + "/build-" + example}));
  }
  // pkg-config finds the same SDK (its .pc is relocatable).
  const CommandResult flags = RunCommand({PKG_CONFIG_PATH_, "--cflags", "--libs", "silta-sdk"},
                                         {"PKG_CONFIG_PATH=" + prefix + "/lib/pkgconfig"});
  ASSERT_EQ(flags.exit_code, 0) << flags.output;
  std::vector<std::string> compile = {CXX_PATH, "-o", dir + "/hello-send-pc",
                                      examples + "/hello-send/main.cc"};
  for (absl::string_view f : absl::StrSplit(flags.output, ' ', absl::SkipWhitespace())) {
    compile.push_back(std::string(absl::StripAsciiWhitespace(f)));
  }
  ASSERT_TRUE(Step(compile));

  World world("sdk-install-world");
  world.Keys("wba-social");
  const std::string case_id = world.OpenCase("police-hame", {"wba-social"});
  world.Consent(v1::CATEGORY_SOCIAL_WELFARE, "wba-social");
  const std::string police_keys = dir + "/police-keys";

  // hello-send: publishes the police's keys, previews, sends, prints the receipt.
  std::vector<std::string> hello = {dir + "/build-hello-send/hello-send"};
  for (const std::string& f : ConnectionFlags(world, "police-hame")) hello.push_back(f);
  hello.insert(hello.end(),
               {"--keys-dir", police_keys, "--signer-cert", OrgSignerCert("police-hame"),
                "--signer-key", OrgSignerKey("police-hame"), "--case", case_id, "--to",
                "wba-social", "--worker", "officer-12"});
  const CommandResult sent = RunCommand(hello);
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  EXPECT_THAT(sent.output, HasSubstr("published key"));
  EXPECT_THAT(sent.output, HasSubstr("wba-social support_needs: PERMIT"));
  EXPECT_THAT(sent.output, HasSubstr("wba-social mental_health_notes: DENY"));
  EXPECT_THAT(sent.output, HasSubstr("sent message "));

  // agency-bridge at the police: three envelopes, the first malformed.
  const std::string out = dir + "/police-out";
  fs::create_directories(out);
  WriteText(out + "/a-broken.json", "{\"payload_type\": \"Referral\", ");
  WriteText(out + "/b-referral.json",
            absl::StrCat("{\"payload_type\": \"Referral\", \"case_id\": \"", case_id,
                         "\", \"purpose\": \"referral\", \"recipients\": [\"wba-social\"], "
                         "\"worker_id\": \"officer-12\", \"payload\": {\"support_needs\": "
                         "\"evening support\", \"mental_health_notes\": \"psychiatric note\"}}"));
  WriteText(out + "/c-misspelt.json",
            absl::StrCat("{\"payload_type\": \"Referral\", \"case_id\": \"", case_id,
                         "\", \"purpose\": \"referral\", \"recipient\": [\"wba-social\"], "
                         "\"worker_id\": \"officer-12\", \"payload\": {}}"));
  std::vector<std::string> police_bridge = {dir + "/build-agency-bridge/agency-bridge"};
  for (const std::string& f : ConnectionFlags(world, "police-hame")) police_bridge.push_back(f);
  police_bridge.insert(police_bridge.end(), {"--keys-dir", police_keys, "--outbox", out, "--inbox",
                                             dir + "/police-in", "--once", "--wait", "1"});
  const CommandResult bridged = RunCommand(police_bridge);
  ASSERT_EQ(bridged.exit_code, 0) << bridged.output;
  EXPECT_THAT(bridged.output, HasSubstr("outbox: 1 sent, 2 failed, 0 deferred"));
  EXPECT_TRUE(fs::exists(out + "/sent/b-referral.json"));
  EXPECT_THAT(ReadText(out + "/sent/b-referral.json.receipt.json"), HasSubstr("message_id"));
  EXPECT_TRUE(fs::exists(out + "/failed/a-broken.json"));
  EXPECT_THAT(ReadText(out + "/failed/a-broken.json.reason"), HasSubstr("not a JSON object"));
  EXPECT_THAT(ReadText(out + "/failed/c-misspelt.json.reason"),
              HasSubstr("unknown key \"recipient\""));
  EXPECT_FALSE(fs::exists(out + "/b-referral.json"));

  // agency-bridge at social services: both messages land in the inbox.
  const std::string in = dir + "/social-in";
  std::vector<std::string> social_bridge = {dir + "/build-agency-bridge/agency-bridge"};
  for (const std::string& f : ConnectionFlags(world, "wba-social")) social_bridge.push_back(f);
  social_bridge.insert(social_bridge.end(),
                       {"--keys-dir", world.setup().dir + "/keys-wba-social", "--outbox",
                        dir + "/social-out", "--inbox", in, "--once", "--wait", "3"});
  const CommandResult received = RunCommand(social_bridge);
  ASSERT_EQ(received.exit_code, 0) << received.output;
  std::vector<std::string> inbox;
  for (const fs::directory_entry& e : fs::directory_iterator(in)) {
    inbox.push_back(e.path().string());
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << e.path();
  }
  ASSERT_EQ(inbox.size(), 2u) << received.output;
  bool bridged_seen = false;
  for (const std::string& path : inbox) {
    const std::string json = ReadText(path);
    EXPECT_THAT(json, HasSubstr("\"sender_org_id\":\"police-hame\""));
    EXPECT_THAT(json, Not(HasSubstr("mental_health_notes")));
    EXPECT_THAT(json, Not(HasSubstr("psychiatric")));
    if (absl::StrContains(json, "evening support")) {
      bridged_seen = true;
      EXPECT_THAT(json, HasSubstr("\"withheld_fields\":1"));
    }
  }
  EXPECT_TRUE(bridged_seen);
  // Written, then acked: nothing is left to deliver.
  EXPECT_FALSE(world.Receive("wba-social", absl::Seconds(1)).has_value());
}

}  // namespace
}  // namespace silta::testing
