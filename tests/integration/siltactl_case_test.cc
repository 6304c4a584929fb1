// siltactl for agency workers against a real siltad: a case's whole life,
// key bundles and message status; usage errors exit 2, refusals 3.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SiltactlCaseTest, ACaseFromOpeningToClosing) {
  World world("siltactl-case");
  const std::string hetu = std::string(kYouth15) + "\n";
  CommandResult r = world.Siltactl("hml-youth",
                                   {"case", "create", "--member", "wba-social",
                                    "--coordinator-worker", "yw-1", "--worker", "yw-1", "--json"},
                                   hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  v1::CreateCaseResponse created;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.output, &created).ok()) << r.output;
  const std::string case_id = created.case_().case_id();
  EXPECT_THAT(r.output, Not(HasSubstr(kYouth15)));

  // One adult: a second case is refused; without the young person's
  // consent the coordinator is not named (issue #13 §7).
  r = world.Siltactl("police-hame",
                     {"case", "create", "--coordinator-worker", "o-1", "--worker", "o-1"}, hetu);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already has an open case"));
  EXPECT_THAT(r.output, Not(HasSubstr("hml-youth")));
  r = world.Siltactl("police-hame", {"case", "check", "--worker", "o-1"}, hetu);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED: not told whether"));
  r = world.Siltactl("wba-social", {"case", "check", "--worker", "sw-1"}, hetu);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("an open case, coordinated by hml-youth"));

  r = world.Siltactl("wba-social", {"case", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr(case_id), HasSubstr("OPEN"), HasSubstr("hml-youth/yw-1")));
  // Only the coordinator adds members.
  r = world.Siltactl("wba-social",
                     {"case", "add-member", case_id, "police-hame", "--worker", "sw"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  r = world.Siltactl("hml-youth",
                     {"case", "add-member", case_id, "police-hame", "--worker", "yw-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("police-hame"));
  r = world.Siltactl("hml-youth", {"case", "transfer", case_id, "--to", "wba-social", "--to-worker",
                                   "sw-3", "--reason", "child welfare", "--worker", "yw-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wba-social/sw-3"));
  r = world.Siltactl("police-hame", {"case", "show", case_id});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wba-social/sw-3"));
  r = world.Siltactl("wba-social", {"case", "close", case_id, "--worker", "sw-3"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = world.Siltactl("wba-social", {"case", "list", "--state", "closed"});
  EXPECT_THAT(r.output, AllOf(HasSubstr(case_id), HasSubstr("CLOSED")));
  // A non-member learns nothing.
  r = world.Siltactl("asenne-ry", {"case", "show", case_id});
  EXPECT_EQ(r.exit_code, 3) << r.output;
}

TEST(SiltactlCaseTest, KeysAndMessageStatusAndUsageErrors) {
  World world("siltactl-keys");
  world.Keys("police-hame");
  const std::string key_id = world.Keys("hml-youth").bundle.key_id();
  CommandResult r = world.Siltactl("police-hame", {"keys", "list", "--org", "hml-youth"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr(key_id), HasSubstr("current")));

  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  v1::Referral referral;
  referral.set_education_employment("9th grade");
  const v1::SealedMessage sealed = world.Seal("police-hame", case_id, referral, {"hml-youth"});
  v1::SendResponse sent;
  ASSERT_TRUE(world.Send("police-hame", sealed, &sent).ok());
  r = world.Siltactl("police-hame", {"message", "status", sealed.header().message_id()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("hml-youth"), HasSubstr("PENDING")));
  // Someone else's message is not found for them.
  r = world.Siltactl("hml-youth", {"message", "status", sealed.header().message_id()});
  EXPECT_EQ(r.exit_code, 3) << r.output;

  r = world.Siltactl("police-hame", {"case", "list", "--state", "maybe"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--state: use open, closed or all"));
  r = world.Siltactl("police-hame", {"case", "create", "--worker", "w"}, "");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = world.Siltactl("police-hame", {"case", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = world.Siltactl("police-hame", {"case", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("Example"));
}

TEST(SiltactlAdminTest, PolicyCheckNeedsNoConnectionAndNamesTheLine) {
  CommandResult r = RunCommand(
      {SILTACTL_PATH, "policy", "check", SILTA_SOURCE_DIR "/deploy/policy.example.textproto"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("policy OK"));
  const std::string dir = MakeTempDir("policy-check");
  const std::string broken = dir + "/policy.textproto";
  WriteTextFile(broken, ReadTextFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto") +
                            "statutory_bases { code: \"Bad Code\" }\n");
  r = RunCommand({SILTACTL_PATH, "policy", "check", broken});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("policy.textproto:"));
  EXPECT_THAT(r.output, HasSubstr("statutory_bases"));
  r = RunCommand({SILTACTL_PATH, "policy", "check", dir + "/missing.textproto"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace silta::testing
