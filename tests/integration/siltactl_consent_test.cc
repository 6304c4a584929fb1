// siltactl for consent registrars, as the real binary against a real
// siltad: record, refuse, list, withdraw; the HETU only ever on stdin;
// exit codes for wrong flags (2), missing certificates (2), refusals (3).
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// The id printed by "consent <id> recorded" / "refusal <id> recorded".
std::string RecordedId(const std::string& output) {
  std::vector<std::string> words = absl::StrSplit(output, ' ');
  return words.size() > 1 ? words[1] : "";
}

TEST(SiltactlConsentTest, RegistrarRecordsListsAndWithdrawsWithTheHetuOnlyOnStdin) {
  World world("siltactl-consent");
  const std::string hetu = std::string(kYouth17) + "\n";
  const std::vector<std::string> record = {"consent",
                                           "record",
                                           "--grantor",
                                           "SUBJECT",
                                           "--purpose",
                                           "youth_coaching",
                                           "--category",
                                           "education_employment",
                                           "--category",
                                           "social_welfare",
                                           "--from",
                                           "hml-youth",
                                           "--from-kind",
                                           "WELLBEING_AREA",
                                           "--to",
                                           "asenne-ry",
                                           "--valid-days",
                                           "183",
                                           "--evidence",
                                           "form-118",
                                           "--worker",
                                           "registrar-1"};
  // A 17-year-old's own consent needs a competence assessment first.
  CommandResult r = world.Siltactl("wba-registrar", record, hetu);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("under 18"), HasSubstr("consent assess")));
  r = world.Siltactl("wba-registrar",
                     {"consent", "assess", "--category", "education_employment", "--category",
                      "social_welfare", "--purpose", "youth_coaching", "--assessed-by",
                      "dr-virtanen", "--evidence", "assessment-42", "--worker", "registrar-1"},
                     hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("competence assessment"), HasSubstr("dr-virtanen")));
  const std::vector<std::string> words = absl::StrSplit(r.output, ' ');
  ASSERT_GT(words.size(), 2u);
  const std::string assessment_id = words[2];
  // A consent must name who may disclose.
  std::vector<std::string> no_discloser = record;
  no_discloser.erase(no_discloser.begin() + 10, no_discloser.begin() + 14);
  r = world.Siltactl("wba-registrar", no_discloser, hetu);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--from"));

  r = world.Siltactl("wba-registrar", record, hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr("recorded: education_employment,social_welfare from "
                              "hml-youth,kind:WELLBEING_AREA to asenne-ry"),
                    HasSubstr("youth_coaching")));
  const std::string consent_id = RecordedId(r.output);

  r = world.Siltactl("wba-registrar",
                     {"consent", "refuse", "--category", "health", "--to-kind", "POLICE",
                      "--evidence", "form-119", "--worker", "registrar-1"},
                     hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("refusal"));

  r = world.Siltactl("wba-registrar", {"consent", "list", "--worker", "registrar-1"}, hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr(consent_id), HasSubstr("in force"), HasSubstr("kind:POLICE"),
                    HasSubstr(assessment_id), HasSubstr("by dr-virtanen"), HasSubstr("SUBJECT")));

  r = world.Siltactl("wba-registrar",
                     {"consent", "withdraw", consent_id, "--worker", "registrar-1"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = world.Siltactl("wba-registrar", {"consent", "list", "--json", "--worker", "registrar-1"},
                     hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("WITHDRAWN"));
  // Withdrawing twice is a clear refusal.
  r = world.Siltactl("wba-registrar",
                     {"consent", "withdraw", consent_id, "--worker", "registrar-1"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("already been withdrawn"));

  EXPECT_THAT(world.siltad().Log(), Not(HasSubstr(kYouth17)));
}

TEST(SiltactlConsentTest, WrongFlagsMissingCertificatesAndRefusals) {
  World world("siltactl-consent-errors");
  const std::string hetu = std::string(kYouth15) + "\n";
  const std::vector<std::string> base = {
      "consent",  "record",   "--purpose", "referral",    "--to",       "hml-youth", "--from-kind",
      "POLICE",   "--valid-days", "30",    "--evidence",  "form-1",     "--worker",  "registrar-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  // Usage errors: exit 2, nothing sent.
  CommandResult r = world.Siltactl("wba-registrar", with({"--category", "psychic_powers"}), hetu);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("unknown category 'psychic_powers'"));
  r = world.Siltactl("wba-registrar", {"consent", "record", "--category", "health"}, hetu);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = world.Siltactl("wba-registrar", with({"--category", "health"}), "");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("no HETU entered"));
  r = world.Siltactl("wba-registrar", with({"--category", "health", "--hetu", kYouth15}), hetu);
  EXPECT_EQ(r.exit_code, 2) << "a HETU flag must not exist: " << r.output;

  // A missing certificate file: a local problem, exit 2.
  r = RunCommandWithInput(
      {SILTACTL_PATH, "--address", world.siltad().address(), "--cert", "/nonexistent.pem", "--key",
       OrgKey("wba-registrar"), "--ca", PkiPath("ca.pem"), "consent", "list", "--worker", "w"},
      hetu);
  EXPECT_EQ(r.exit_code, 2) << r.output;

  // The broker refuses: an agency that coordinates nothing for this person (3),
  // and an invalid HETU (3, without echoing it).
  r = world.Siltactl("police-hame", with({"--category", "health"}), hetu);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  r = world.Siltactl("wba-registrar", with({"--category", "health"}), "150609B934X\n");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("150609B934X")));
}

}  // namespace
}  // namespace silta::testing
