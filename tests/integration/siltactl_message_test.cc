// siltactl for agency workers who seal and open messages themselves, run as
// the real binary against a real siltad: keys publish, message send (with
// its preview and confirmation), message inbox, message status, and the
// usage errors and refusals around them.
#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
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

class SiltactlMessageTest : public ::testing::Test {
 protected:
  SiltactlMessageTest() : world_("siltactl-message") {}

  // Nested: keys publish creates the missing parents.
  std::string KeysDir(const std::string& org) { return world_.setup().dir + "/ctl/keys/" + org; }

  // siltactl as `org` with its keys directory.
  CommandResult As(const std::string& org, std::vector<std::string> args,
                   const std::string& input = "") {
    args.insert(args.begin(), {"--keys-dir", KeysDir(org)});
    return world_.Siltactl(org, args, input);
  }

  std::string Payload(const std::string& name, const std::string& text) {
    const std::string path = world_.setup().dir + "/" + name;
    WriteTextFile(path, text);
    return path;
  }

  World world_;
};

TEST_F(SiltactlMessageTest, PublishSendInboxAndStatus) {
  for (const char* org : {"wba-social", "hml-youth"}) {
    const CommandResult r = As(org, {"keys", "publish", "--worker", "it-1"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_THAT(r.output, AllOf(HasSubstr("published key"), HasSubstr(org)));
    EXPECT_EQ(std::filesystem::status(KeysDir(org)).permissions() & std::filesystem::perms::others_all,
              std::filesystem::perms::none);
  }
  CommandResult r = world_.Siltactl("hml-youth", {"keys", "list", "--org", "wba-social"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("current"));
  const std::string case_id = world_.OpenCase("wba-social", {"hml-youth"});
  world_.Consent(v1::CATEGORY_SOCIAL_WELFARE, "hml-youth");
  const std::string payload = Payload("referral.textproto",
                                      "support_needs: \"a support person after school\"\n"
                                      "mental_health_notes: \"assessment pending\"\n");
  const std::vector<std::string> send = {"message", "send", "--type", "Referral", "--payload",
                                         payload,   "--case", case_id, "--to", "hml-youth",
                                         "--worker", "sw-3"};

  // Not on a terminal and no --yes: shown, not sent.
  r = As("wba-social", send);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("WITHHOLD"), HasSubstr("default_deny"),
                              HasSubstr("not sent"), HasSubstr("--yes")));
  r = As("hml-youth", {"message", "inbox", "--wait", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no messages"));

  std::vector<std::string> confirmed = send;
  confirmed.push_back("--yes");
  r = As("wba-social", confirmed);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("mental_health_notes"), HasSubstr("WITHHOLD"),
                              HasSubstr("sent "), HasSubstr("audit entry")));
  const std::string message_id = r.output.substr(r.output.find("\nsent ") + 6, 36);

  r = As("hml-youth", {"message", "inbox", "--max", "1", "--wait", "10", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("a support person after school"),
                              HasSubstr("\"withheld_field_count\":1"), HasSubstr("\"acked\":true"),
                              HasSubstr(message_id)));
  EXPECT_THAT(r.output, Not(HasSubstr("assessment pending")));
  // Acknowledged: it does not come again.
  r = As("hml-youth", {"message", "inbox", "--wait", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no messages"));
  r = world_.Siltactl("wba-social", {"message", "status", message_id});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("hml-youth"), HasSubstr("ACKED")));

  // JSON payloads work the same; --no-ack leaves the message queued.
  const std::string update =
      Payload("update.json", "{\"note\": \"moved in on Friday\", \"task_done\": true}");
  world_.ConsentTo(kHetu, {v1::CATEGORY_FREE_TEXT, v1::CATEGORY_SERVICE_PLAN}, "hml-youth",
                   {"follow_up"});
  r = As("wba-social", {"--json", "message", "send", "--type", "silta.v1.StatusUpdate",
                        "--payload", update, "--case", case_id, "--to", "hml-youth",
                        "--purpose", "follow_up", "--worker", "sw-3", "--yes"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("\"message_id\""));
  r = As("hml-youth", {"message", "inbox", "--max", "1", "--wait", "10", "--no-ack"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("moved in on Friday"), HasSubstr("not acknowledged")));
}

TEST_F(SiltactlMessageTest, BadPayloadsMissingKeysAndIdentifyingConsultationsAreRefused) {
  const std::string good = Payload("good.textproto", "question: \"what has worked?\"\n");
  auto send = [&](const std::string& org, const std::string& type, const std::string& file) {
    return As(org, {"message", "send", "--type", type, "--payload", file, "--to", "hml-youth",
                    "--purpose", "expert_consultation", "--worker", "fc-1", "--yes"});
  };
  // Keys are needed before anything is sealed.
  CommandResult r = send("wba-social", "Consultation", good);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("keys publish"));
  r = world_.Siltactl("wba-social", {"message", "inbox"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--keys-dir"));
  for (const char* org : {"wba-social", "hml-youth"}) {
    ASSERT_EQ(As(org, {"keys", "publish", "--worker", "it-1"}).exit_code, 0);
  }

  r = send("wba-social", "Gossip", good);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("unknown payload type 'Gossip'"), HasSubstr("Referral"),
                              Not(HasSubstr("ServiceTask"))));
  const std::string typo =
      Payload("typo.textproto", "question: \"what has worked?\"\nquestoin: \"x\"\n");
  r = send("wba-social", "Consultation", typo);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("typo.textproto:2"));
  r = send("wba-social", "Consultation", Payload("bad.json", "{\"question\": "));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("bad.json: not a Consultation in JSON"));
  r = send("wba-social", "Consultation", Payload("empty.textproto", "# nothing yet\n"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("sets no field of Consultation"));
  r = send("wba-social", "Consultation", world_.setup().dir + "/absent.textproto");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("absent.textproto"));

  // NERO: a name in a message without a case is refused whole, before sending.
  const std::string named = Payload("named.textproto",
                                    "subject_name: \"Matti Meikäläinen\"\n"
                                    "support_needs: \"what would you do?\"\n");
  r = send("wba-social", "Referral", named);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("subject_name"), HasSubstr("identifies the young person"),
                              HasSubstr("Nothing was sent")));
  r = As("hml-youth", {"message", "inbox", "--wait", "1"});
  EXPECT_THAT(r.output, HasSubstr("no messages"));

  // A non-agency cannot publish keys or send.
  r = As("wba-dpo", {"keys", "publish"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--worker is required"));
  r = As("wba-dpo", {"keys", "publish", "--worker", "dpo-1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--signer-cert and --signer-key"));
  // Even with an agency's signing certificate, the broker refuses the role.
  r = As("wba-dpo", {"--signer-cert", OrgSignerCert("hml-youth"), "--signer-key",
                     OrgSignerKey("hml-youth"), "keys", "publish", "--worker", "dpo-1"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("PERMISSION_DENIED"));
}

// A key published for our org that is not in our keys directory (another
// system's copy rotated them, or a stolen signing credential with the old
// keys) is shown loudly to whoever reads the inbox; our own rotation quietly.
TEST_F(SiltactlMessageTest, InboxSaysWhenKeysArePublishedForTheOrg) {
  ASSERT_EQ(As("asenne-ry", {"keys", "publish", "--worker", "it-1"}).exit_code, 0);
  const std::string copy = world_.setup().dir + "/ctl/keys/asenne-copy";
  std::filesystem::copy(KeysDir("asenne-ry"), copy, std::filesystem::copy_options::recursive);
  CommandResult inbox;
  std::thread reader([&] { inbox = As("asenne-ry", {"message", "inbox", "--wait", "4"}); });
  absl::SleepFor(absl::Seconds(1.5));
  const CommandResult rotated = world_.Siltactl(
      "asenne-ry", {"--keys-dir", copy, "keys", "rotate", "--worker", "it-other"});
  reader.join();

  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  EXPECT_THAT(rotated.output, HasSubstr("(epoch 2)"));
  EXPECT_THAT(inbox.output,
              AllOf(HasSubstr("WARNING: key bundle"), HasSubstr("(epoch 2)"),
                    HasSubstr("spiffe://silta.test/org/asenne-ry/sys/dev (worker it-other)"),
                    HasSubstr("NOT in your keys directory")));
  // `rotate --if-expires-within` renews only when the key is due.
  const CommandResult early = world_.Siltactl(
      "asenne-ry", {"--keys-dir", copy, "keys", "rotate", "--if-expires-within", "10",
                    "--worker", "it-other"});
  EXPECT_EQ(early.exit_code, 0) << early.output;
  EXPECT_THAT(early.output, HasSubstr("not rotated"));
}

}  // namespace
}  // namespace silta::testing
