// The audit log end to end: a real siltad records every step of a case's
// traffic; auditors query, prove and export it with siltactl and verify
// the export offline; a registrar produces the subject report; refusals
// are themselves evidence; no HETU ever leaves in an answer or a log.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/audit.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

class AuditTest : public ::testing::Test {
 protected:
  // A case with a consent, a mixed referral and a child-welfare notification.
  void SetUp() override {
    world_ = std::make_unique<World>("audit");
    const World::AuditStory story = world_->TellAuditStory(/*deliver_notification=*/true);
    case_id_ = story.case_id;
    notification_id_ = story.notification_id;
  }

  std::string Dir() const { return world_->setup().dir; }

  grpc::Status Restrict(const std::string& org, const std::string& message_id,
                        const std::string& ground, absl::Duration review_in,
                        v1::RestrictInSubjectReportResponse* response) {
    grpc::ClientContext context;
    v1::RestrictInSubjectReportRequest request;
    request.set_message_id(message_id);
    request.set_ground(ground);
    *request.mutable_review_at() = common::ToTimestamp(absl::Now() + review_in);
    request.mutable_acting_user()->set_worker_id("officer-12");
    return v1::AuditService::NewStub(world_->Channel(org))
        ->RestrictInSubjectReport(&context, request, response);
  }

  std::unique_ptr<World> world_;
  std::string case_id_;
  std::string notification_id_;
};

TEST_F(AuditTest, EveryStepOfTheCaseIsInTheLogWithItsBasis) {
  const CommandResult r =
      world_->Siltactl("wba-dpo", {"audit", "query", "--case", case_id_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* type : {"CASE_CREATED", "CASE_MEMBER_ADDED", "MESSAGE_ACCEPTED",
                           "FIELD_WITHHELD", "MESSAGE_DELIVERED", "MESSAGE_ACKED",
                           "STATUTORY_BASIS_USED"}) {
    EXPECT_THAT(r.output, HasSubstr(type));
  }
  EXPECT_THAT(r.output, HasSubstr("lastensuojelulaki (417/2007) 25 §"));
  EXPECT_THAT(r.output, HasSubstr("\"justification_present\":true"));
  EXPECT_THAT(r.output, HasSubstr("CATEGORY_MENTAL_HEALTH"));  // withheld, by category
  EXPECT_THAT(r.output, Not(HasSubstr(kHetu)));
  EXPECT_THAT(r.output, Not(HasSubstr("psychiatric nurse")));
  EXPECT_THAT(world_->siltad().Log(), Not(HasSubstr(kHetu)));

  // By subject: the HETU goes in on stdin, siltad uses its subject_ref.
  const CommandResult by_subject = world_->Siltactl(
      "wba-dpo", {"audit", "query", "--subject", "--type", "MESSAGE_DELIVERED", "--json"},
      std::string(kHetu) + "\n");
  ASSERT_EQ(by_subject.exit_code, 0) << by_subject.output;
  EXPECT_THAT(by_subject.output, HasSubstr(case_id_));
  EXPECT_THAT(by_subject.output, Not(HasSubstr(kHetu)));
  const CommandResult other_subject = world_->Siltactl(
      "wba-dpo", {"audit", "query", "--subject", "--json"}, std::string("150609B934Y\n"));
  ASSERT_EQ(other_subject.exit_code, 0) << other_subject.output;
  EXPECT_THAT(other_subject.output, Not(HasSubstr(case_id_)));

  // The human table names the withheld category and the determining rule.
  const CommandResult table = world_->Siltactl(
      "wba-dpo", {"audit", "query", "--case", case_id_, "--type", "FIELD_WITHHELD"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_THAT(table.output, AllOf(HasSubstr("mental_health"), HasSubstr("default_deny")));
}

TEST_F(AuditTest, AnAgencySeesOnlyItsOwnTrafficAndRefusalsAreRecorded) {
  const CommandResult own = world_->Siltactl("hml-youth", {"audit", "query", "--json"});
  ASSERT_EQ(own.exit_code, 0) << own.output;
  EXPECT_THAT(own.output, HasSubstr("MESSAGE_ACKED"));
  EXPECT_THAT(own.output, Not(HasSubstr("lsl_25")));  // police → social services only
  const CommandResult outsider = world_->Siltactl("asenne-ry", {"audit", "query", "--json"});
  ASSERT_EQ(outsider.exit_code, 0) << outsider.output;
  EXPECT_THAT(outsider.output, Not(HasSubstr("police-hame")));

  // Exports are for auditors: an agency is refused, and that is evidence too.
  const CommandResult refused =
      world_->Siltactl("asenne-ry", {"audit", "export", "--out", Dir() + "/x.jsonl"});
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("PERMISSION_DENIED"));
  EXPECT_FALSE(std::filesystem::exists(Dir() + "/x.jsonl"));
  const CommandResult recorded = world_->Siltactl(
      "wba-dpo", {"audit", "query", "--type", "ACCESS_REFUSED", "--org", "asenne-ry", "--json"});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.output;
  EXPECT_THAT(recorded.output, HasSubstr("/silta.v1.AuditService/Export role_not_allowed"));
}

// Issue #12 item 1: a recipient never learns from the log that something
// was withheld from it, nor anything of a message it received nothing of.
TEST_F(AuditTest, ARecipientSeesWhatItWasGivenAndNothingWithheld) {
  // Only psychiatric notes, which hml-youth may not have: it gets nothing.
  v1::Referral psych_only;
  psych_only.set_mental_health_notes("second psychiatric assessment");
  const v1::SealedMessage nothing =
      world_->Seal("police-hame", case_id_, psych_only, {"hml-youth"});
  v1::SendResponse sent;
  ASSERT_TRUE(world_->Send("police-hame", nothing, &sent).ok());
  const auto query = [&](const std::string& org, v1::QueryEntriesRequest request) {
    grpc::ClientContext context;
    v1::QueryEntriesResponse response;
    const grpc::Status status = v1::AuditService::NewStub(world_->Channel(org))
                                    ->QueryEntries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  };
  v1::QueryEntriesRequest by_case;
  by_case.set_case_id(case_id_);
  by_case.set_page_size(1000);

  const v1::QueryEntriesResponse youth = query("hml-youth", by_case);
  bool saw_delivery = false;
  for (const v1::AuditEntry& e : youth.entries()) {
    EXPECT_NE(e.type(), v1::FIELD_WITHHELD) << e.DebugString();
    EXPECT_NE(e.message_id(), nothing.header().message_id()) << e.DebugString();
    for (int c : e.categories()) EXPECT_NE(c, v1::CATEGORY_MENTAL_HEALTH) << e.DebugString();
    saw_delivery = saw_delivery || e.type() == v1::MESSAGE_DELIVERED;
  }
  EXPECT_TRUE(saw_delivery) << "what it was given stays visible";
  v1::QueryEntriesRequest withheld = by_case;
  withheld.add_types(v1::FIELD_WITHHELD);
  EXPECT_EQ(query("hml-youth", withheld).entries_size(), 0);
  // The sender sees everything about its own messages.
  const v1::QueryEntriesResponse police = query("police-hame", withheld);
  ASSERT_GT(police.entries_size(), 0);

  // Proofs by index follow the same rule: none for a withheld entry...
  grpc::ClientContext head_context;
  v1::GetTreeHeadRequest head_request;
  head_request.set_fresh(true);
  v1::SignedTreeHead head;
  ASSERT_TRUE(v1::AuditService::NewStub(world_->Channel("hml-youth"))
                  ->GetTreeHead(&head_context, head_request, &head)
                  .ok());
  const auto proof = [&](uint64_t index) {
    grpc::ClientContext context;
    v1::GetInclusionProofRequest request;
    request.set_index(index);
    request.set_tree_size(head.tree_size());
    v1::InclusionProof response;
    return v1::AuditService::NewStub(world_->Channel("hml-youth"))
        ->GetInclusionProof(&context, request, &response);
  };
  const grpc::Status hidden = proof(police.entries(0).index());
  EXPECT_EQ(hidden.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // ...and one for its own delivery.
  uint64_t delivered = 0;
  for (const v1::AuditEntry& e : youth.entries()) {
    if (e.type() == v1::MESSAGE_DELIVERED) delivered = e.index();
  }
  EXPECT_TRUE(proof(delivered).ok());
  // Every entry is salted, so a proof's neighbouring hashes reveal nothing.
  for (const v1::AuditEntry& e : police.entries()) EXPECT_EQ(e.salt().size(), 16u);
}

TEST_F(AuditTest, FiltersByCategoryPurposeAndStatuteAndPagesNewestFirst) {
  const auto query = [&](v1::QueryEntriesRequest request) {
    std::vector<v1::AuditEntry> all;
    for (int pages = 0; pages < 1000; ++pages) {
      grpc::ClientContext context;
      v1::QueryEntriesResponse response;
      const grpc::Status status = v1::AuditService::NewStub(world_->Channel("wba-dpo"))
                                      ->QueryEntries(&context, request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      all.insert(all.end(), response.entries().begin(), response.entries().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return all;
  };
  v1::QueryEntriesRequest everything;
  everything.set_page_size(1000);
  const std::vector<v1::AuditEntry> ascending = query(everything);
  ASSERT_GT(ascending.size(), 10u);

  // Newest first, three a page: the same entries, in reverse.
  v1::QueryEntriesRequest newest = everything;
  newest.set_newest_first(true);
  newest.set_page_size(3);
  const std::vector<v1::AuditEntry> descending = query(newest);
  ASSERT_EQ(descending.size(), ascending.size());
  for (size_t i = 0; i < descending.size(); ++i) {
    EXPECT_EQ(descending[i].index(), ascending[ascending.size() - 1 - i].index());
  }

  // Each filter keeps exactly the entries that match it, in pages of one.
  const auto expect_filter = [&](v1::QueryEntriesRequest request, auto matches) {
    request.set_page_size(1);
    const std::vector<v1::AuditEntry> got = query(request);
    std::vector<uint64_t> want, have;
    for (const v1::AuditEntry& e : ascending) {
      if (matches(e)) want.push_back(e.index());
    }
    for (const v1::AuditEntry& e : got) have.push_back(e.index());
    if (request.newest_first()) std::reverse(have.begin(), have.end());
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(have, want) << request.DebugString();
  };
  v1::QueryEntriesRequest mental;
  mental.add_categories(v1::CATEGORY_MENTAL_HEALTH);
  expect_filter(mental, [](const v1::AuditEntry& e) {
    return std::count(e.categories().begin(), e.categories().end(), v1::CATEGORY_MENTAL_HEALTH) > 0;
  });
  v1::QueryEntriesRequest lsl = mental;
  lsl.clear_categories();
  lsl.set_statute("lsl_25");
  lsl.set_newest_first(true);
  expect_filter(lsl, [](const v1::AuditEntry& e) {
    return e.rule() == v1::RULE_STATUTE && e.rule_id() == "lsl_25";
  });
  v1::QueryEntriesRequest referral;
  referral.set_purpose("referral");
  referral.add_types(v1::MESSAGE_DELIVERED);
  expect_filter(referral, [](const v1::AuditEntry& e) {
    return e.purpose() == "referral" && e.type() == v1::MESSAGE_DELIVERED;
  });
  // One person's entries, by the pseudonym an entry shows.
  std::string ref;
  for (const v1::AuditEntry& e : ascending) {
    if (!e.subject_ref().empty()) ref = e.subject_ref();
  }
  v1::QueryEntriesRequest by_ref;
  by_ref.set_subject_ref(ref);
  expect_filter(by_ref, [&](const v1::AuditEntry& e) { return e.subject_ref() == ref; });

  // Bad filters are named.
  grpc::ClientContext context;
  v1::QueryEntriesRequest bad;
  bad.add_categories(static_cast<v1::Category>(999));
  v1::QueryEntriesResponse response;
  const grpc::Status status =
      v1::AuditService::NewStub(world_->Channel("wba-dpo"))->QueryEntries(&context, bad, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("categories"));
}

TEST_F(AuditTest, ExportVerifiesOfflineAndTamperingIsNamed) {
  const std::string pub = PkiPath("audit/log-key.pub");
  const std::string head1 = Dir() + "/head1.json";
  CommandResult r = world_->Siltactl("wba-dpo", {"audit", "head", "--fresh", "--out", head1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // More traffic after the auditor's first head.
  world_->Consent(v1::CATEGORY_SOCIAL_WELFARE, "wba-social");

  const std::string file = Dir() + "/all.jsonl";
  r = world_->Siltactl("wba-dpo", {"audit", "export", "--out", file, "--previous-head", head1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("exported"));
  // Verification needs no connection: no --address here.
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", pub, "--previous-head", head1});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("verified"), HasSubstr("consistent with the earlier head")));

  std::vector<std::string> lines = ReadLines(file);
  ASSERT_GT(lines.size(), 10u);
  std::vector<std::string> edited = lines;
  // Back-date entry 3 by a thousand years.
  const size_t at = edited[4].find("\"at\":\"2");
  ASSERT_NE(at, std::string::npos) << edited[4];
  edited[4][at + 6] = '1';
  WriteLines(file, edited);
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", pub});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("NOT VERIFIED"), HasSubstr("line 5")));

  std::vector<std::string> removed = lines;
  removed.erase(removed.begin() + 6);
  WriteLines(file, removed);
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", pub});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("line 7:"));

  // The wrong key file is a usage error, not a verification result.
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", OrgCert("wba-dpo")});
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST_F(AuditTest, AnInclusionProofIsCheckedAgainstTheSignedHead) {
  const CommandResult r = world_->Siltactl(
      "wba-dpo", {"audit", "proof", "--index", "3", "--log-key", PkiPath("audit/log-key.pub")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verified: the entry is in the signed log"));
  // Over gRPC, an index beyond the log is a clear INVALID_ARGUMENT.
  grpc::ClientContext context;
  v1::GetInclusionProofRequest request;
  request.set_index(1'000'000);
  request.set_tree_size(1'000'001);
  v1::InclusionProof proof;
  const grpc::Status status = v1::AuditService::NewStub(world_->Channel("wba-dpo"))
                                  ->GetInclusionProof(&context, request, &proof);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("tree_size"));
}

TEST_F(AuditTest, TheSubjectReportListsDisclosuresWithheldFieldsAndTheLaw) {
  // Every message came from the police: by default their entries are left
  // out, and the report says whom to ask (issue #13 §6).
  CommandResult r = world_->Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--worker", "registrar-1"}, std::string(kHetu) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("entries of Hämeen poliisilaitos are left out"),
                              HasSubstr("ask Hämeen poliisilaitos"), Not(HasSubstr("mental_health")),
                              HasSubstr("0 of 0 disclosures")));
  r = world_->Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--include-law-enforcement", "--worker", "registrar-1"}, std::string(kHetu) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("received (confirmed)"), HasSubstr("withheld"),
                              HasSubstr("2 of 2 disclosures were confirmed received"),
                              HasSubstr("law: lastensuojelulaki (417/2007) 25 §"),
                              HasSubstr("mental_health"), HasSubstr("child_welfare")));
  // The other processing: the case and its members.
  EXPECT_THAT(r.output, AllOf(HasSubstr("Other processing"), HasSubstr("case created"),
                              HasSubstr("case member added")));
  EXPECT_THAT(r.output, Not(HasSubstr(kHetu)));
  r = world_->Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--markdown", "--include-law-enforcement", "--worker", "registrar-1"}, std::string(kHetu) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("| When | From | To |"));
  // Only registrars; and producing a report is recorded.
  r = world_->Siltactl("police-hame", {"report", "subject", "--requester", "subject", "--worker", "registrar-1"}, std::string(kHetu) + "\n");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr(kHetu)));
  r = world_->Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--worker", "registrar-1"}, "");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = world_->Siltactl("wba-dpo", {"audit", "query", "--type", "SUBJECT_REPORT_PRODUCED", "--json"});
  EXPECT_THAT(r.output, AllOf(HasSubstr("wba-registrar"), HasSubstr("REQUESTER_SUBJECT")));
  // Who asked must be said.
  r = world_->Siltactl("wba-registrar", {"report", "subject", "--worker", "registrar-1"},
                       std::string(kHetu) + "\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--requester"));
}

// Issue #13 §6: a sender restricts its entries in the subject report on a
// legal ground of the policy, until a review date; the report says so.
TEST_F(AuditTest, ASenderRestrictsItsEntriesUntilAReviewDateAndTheReportSaysSo) {
  const std::string hetu = std::string(kHetu) + "\n";
  const std::vector<std::string> report = {"report", "subject", "--requester", "subject",
                                           "--include-law-enforcement", "--worker", "registrar-1"};
  v1::RestrictInSubjectReportResponse restricted;
  // Only on a ground of the policy, only so far ahead, only one's own message.
  grpc::Status status = Restrict("police-hame", notification_id_, "ongoing_matter",
                                 absl::Hours(24 * 30), &restricted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("crime_investigation"));
  status = Restrict("police-hame", notification_id_, "crime_investigation",
                    absl::Hours(24 * 200), &restricted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 180 days"));
  status = Restrict("wba-social", notification_id_, "crime_investigation", absl::Hours(24 * 30),
                    &restricted);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  status = Restrict("police-hame", notification_id_, "crime_investigation", absl::Hours(24 * 30),
                    &restricted);
  ASSERT_TRUE(status.ok()) << status.error_message();
  CommandResult r = world_->Siltactl("wba-registrar", report, hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(Not(HasSubstr("child_welfare")), HasSubstr("mental_health"),
                              HasSubstr("entries are restricted under tietosuojalaki"),
                              HasSubstr("when the restriction is reviewed")));
  r = world_->Siltactl("wba-dpo", {"audit", "query", "--type", "SUBJECT_ACCESS_RESTRICTED",
                                   "--json"});
  EXPECT_THAT(r.output, AllOf(HasSubstr("crime_investigation"), HasSubstr("review=")));
  // A review date in the past lifts it.
  ASSERT_TRUE(
      Restrict("police-hame", notification_id_, "crime_investigation", -absl::Hours(1), &restricted)
          .ok());
  r = world_->Siltactl("wba-registrar", report, hetu);
  EXPECT_THAT(r.output, AllOf(HasSubstr("child_welfare"), Not(HasSubstr("restricted"))));
}

// 812/2000 11 § 2 mom: a competent minor may forbid disclosing data to the
// guardian; the guardian's report then leaves those categories out, and a
// guardian has no report once the young person is 18.
TEST_F(AuditTest, AGuardiansReportLeavesOutWhatTheMinorForbade) {
  const std::string hetu = std::string(kHetu) + "\n";
  CommandResult r = world_->Siltactl(
      "wba-registrar", {"report", "subject", "--requester", "guardian", "--include-law-enforcement", "--worker", "registrar-1"},
      hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("mental_health"), HasSubstr("forbidden disclosing")));
  // Without a competence assessment the minor cannot forbid.
  const std::vector<std::string> forbid = {"consent",  "refuse",        "--grantor",
                                           "SUBJECT",  "--to-guardian", "--category",
                                           "mental_health", "--evidence", "prohibition-7",
                                           "--worker", "registrar-1"};
  r = world_->Siltactl("wba-registrar", forbid, hetu);
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("competence assessment"));
  r = world_->Siltactl("wba-registrar",
                       {"consent", "assess", "--category", "mental_health", "--purpose",
                        "referral", "--assessed-by", "dr-1", "--evidence", "assessment-7",
                        "--worker", "registrar-1"},
                       hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = world_->Siltactl("wba-registrar", forbid, hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("to guardian"));

  r = world_->Siltactl(
      "wba-registrar", {"report", "subject", "--requester", "guardian", "--include-law-enforcement", "--worker", "registrar-1"},
      hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(Not(HasSubstr("mental_health")), HasSubstr("child_welfare"),
                              HasSubstr("forbidden disclosing to a guardian is left out")));
  r = world_->Siltactl("wba-registrar",
                       {"report", "subject", "--requester", "representative", "--json", "--include-law-enforcement",
                        "--worker", "registrar-1"},
                       hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("MENTAL_HEALTH")));
  // The young person's own report keeps everything.
  r = world_->Siltactl(
      "wba-registrar", {"report", "subject", "--requester", "subject", "--include-law-enforcement", "--worker", "registrar-1"},
      hetu);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("mental_health"), Not(HasSubstr("forbidden"))));
  r = world_->Siltactl("wba-dpo", {"audit", "query", "--type", "SUBJECT_REPORT_PRODUCED", "--json"});
  EXPECT_THAT(r.output, AllOf(HasSubstr("REQUESTER_GUARDIAN"), HasSubstr("REQUESTER_REPRESENTATIVE")));

  // An adult's guardian gets nothing (asked of the registrar of the area
  // that handles the adult's case).
  world_->OpenCase("wba-social", {"hml-youth"}, "241185Y912P");
  r = world_->Siltactl(
      "wba-registrar", {"report", "subject", "--requester", "guardian", "--include-law-enforcement", "--worker", "registrar-1"},
      std::string("241185Y912P\n"));  // an adult (test code)
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("18 or older"));
}

TEST_F(AuditTest, IndicatorsAreSuppressedBelowFive) {
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  CommandResult r = world_->Siltactl("wba-dpo", {"report", "indicators", "--month", month});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("referrals_by_referring_org_kind"), HasSubstr("<5")));
  r = world_->Siltactl("wba-dpo", {"report", "indicators", "--month", month, "--csv"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("month,region,indicator,label,value"));
  r = world_->Siltactl("wba-dpo", {"report", "indicators", "--month", "2026-13"});
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_THAT(r.output, HasSubstr("month: must be YYYY-MM"));
}

}  // namespace
}  // namespace silta::testing
