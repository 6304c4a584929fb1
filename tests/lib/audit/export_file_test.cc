// Offline verification of audit exports: a real SQLite store and AuditLog
// produce the export; every kind of tampering (edit, delete, reorder,
// insert, truncate, forged head, wrong key, inconsistent history) is
// detected and the line is named.
#include "lib/audit/export_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/tree_head.h"
#include "lib/crypto/primitives.h"
#include "server/audit/audit_log.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/export_lines.h"
#include "tests/testing/status_matchers.h"

namespace silta::audit {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ExportFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::SqliteStore::Open(":memory:", {});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    auto refs = cases::SubjectRefs::FromPepper(
        crypto::SecretData::FromString("0123456789abcdef0123456789abcdef"));
    ASSERT_THAT(refs, IsOk());
    refs_ = *std::move(refs);
    auto key = crypto::GenerateEd25519KeyPair();
    ASSERT_THAT(key, IsOk());
    public_key_ = key->public_key;
    private_key_ = key->private_key;
    auto log = AuditLog::Create(store_.get(), refs_.get(), key->private_key, {});
    ASSERT_THAT(log, IsOk());
    log_ = *std::move(log);
    Append(40);
  }

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      store::AuditEntries batch = {NewEntry(v1::MESSAGE_DELIVERED, absl::Now(), "police-hame")};
      batch[0].set_counterpart_org_id("wba-social");
      batch[0].set_message_id(absl::StrCat("m-", appended_++));
      batch[0].add_categories(v1::CATEGORY_SOCIAL_WELFARE);
      ASSERT_THAT(store_->AppendAudit(&batch), IsOk());
    }
  }

  // The lines of an export of entries [begin, end) as siltactl writes them.
  std::vector<std::string> ExportLines(uint64_t begin, uint64_t end, uint64_t consistent_with = 0) {
    return silta::testing::ExportLines(*log_, begin, end, consistent_with);
  }

  VerifyResult Verify(const std::vector<std::string>& lines,
                      const std::optional<v1::SignedTreeHead>& previous = std::nullopt) {
    std::istringstream in(absl::StrJoin(lines, "\n") + "\n");
    return VerifyExport(in, public_key_, previous, nullptr);
  }

  std::string Problems(const VerifyResult& r) { return absl::StrJoin(r.problems, " | "); }

  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<cases::SubjectRefs> refs_;
  std::unique_ptr<AuditLog> log_;
  std::string public_key_;
  crypto::SecretData private_key_;
  int appended_ = 0;
};

TEST_F(ExportFileTest, AnUntouchedExportVerifies) {
  const auto lines = ExportLines(5, 30);
  const VerifyResult r = Verify(lines);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(r.entries, 25u);
  EXPECT_EQ(r.first_index, 5u);
  EXPECT_EQ(r.tree_head.tree_size(), 40u);
  // The whole log, and a single entry at either end, too.
  EXPECT_TRUE(Verify(ExportLines(0, 40)).ok());
  EXPECT_TRUE(Verify(ExportLines(0, 1)).ok());
  EXPECT_TRUE(Verify(ExportLines(39, 40)).ok());
}

// Blocks of 2048 lines and more are parsed on several threads: the result
// is the same, and a changed line is still named.
TEST_F(ExportFileTest, ALargeExportIsParsedInParallelAndALineIsNamed) {
  Append(2500);
  auto lines = ExportLines(0, 2540);
  const VerifyResult r = Verify(lines);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(r.entries, 2540u);
  lines[2300] = absl::StrReplaceAll(lines[2300], {{"wba-social", "asenne-ry"}});
  const VerifyResult changed = Verify(lines);
  ASSERT_FALSE(changed.ok());
  EXPECT_THAT(Problems(changed), HasSubstr("line 2301"));
}

// Found by fuzzing (#12): the header's entry count sized memory up front, so
// a one-line file announcing 10^15 entries aborted `audit verify`.
TEST_F(ExportFileTest, AHugeAnnouncedCountIsAProblemNotACrash) {
  auto lines = ExportLines(5, 30);
  v1::ExportFileHeader header;
  header.set_format(std::string(kExportFormat));
  header.set_first_index(5);
  header.set_entries(1'000'000'000'000'000);
  lines[0] = HeaderLine(header);
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("the header announced 1000000000000000"));
  EXPECT_FALSE(Verify({HeaderLine(header)}).ok());
}

// Found by fuzzing: an entry index changed to a huge number made the
// verifier fill the gap with placeholders until memory ran out.
TEST_F(ExportFileTest, AnIndexFarAheadIsAProblemNotAnAllocation) {
  auto lines = ExportLines(5, 30);
  const std::string edited =
      absl::StrReplaceAll(lines[3], {{"\"index\":\"7\"", "\"index\":\"12222222222222221\""}});
  ASSERT_NE(edited, lines[3]) << lines[3];
  lines[3] = edited;
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), AllOf(HasSubstr("line 4: entry 12222222222222221 where entry 7 belongs"),
                                 HasSubstr("the rest of the file is not checked")));
}

TEST_F(ExportFileTest, AnEditedLineIsNamed) {
  auto lines = ExportLines(5, 30);
  lines[7] = absl::StrReplaceAll(lines[7], {{"wba-social", "asenne-ry"}});
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 8: entry 11 does not match its leaf hash"));
}

TEST_F(ExportFileTest, ABrokenOrDoubledLineIsNamed) {
  auto lines = ExportLines(5, 30);
  lines[12] = lines[12].substr(0, lines[12].size() / 2);  // cut in the middle
  VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 13: not a valid export line"));
  lines = ExportLines(5, 30);
  lines[3] = lines[3] + "," + lines[4];  // two objects on one line
  lines.erase(lines.begin() + 4);
  r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 4: not a valid export line"));
}

TEST_F(ExportFileTest, AnEditWithARecomputedLeafHashBreaksTheRoot) {
  auto lines = ExportLines(5, 30);
  v1::ExportFileLine line;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[7], &line).ok());
  line.mutable_entry()->mutable_entry()->set_counterpart_org_id("asenne-ry");
  lines[7] = EntryLine(line.entry().entry());  // with its new leaf hash
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("do not hash to the signed root"));
}

TEST_F(ExportFileTest, ADeletedLineIsNamed) {
  auto lines = ExportLines(5, 30);
  lines.erase(lines.begin() + 10);
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 11: entry 15 where entry 14 belongs"));
}

TEST_F(ExportFileTest, ReorderedLinesAreNamed) {
  auto lines = ExportLines(5, 30);
  std::swap(lines[3], lines[4]);
  const VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 4: entry 8 where entry 7 belongs"));
  EXPECT_THAT(Problems(r), HasSubstr("line 5: entry 7 comes after entry 8"));
}

TEST_F(ExportFileTest, AnInsertedLineIsNamed) {
  auto lines = ExportLines(5, 30);
  lines.insert(lines.begin() + 6, lines[5]);  // a repeated entry
  VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0], HasSubstr("line 7: entry 9 again (first on line 6)"));
  // A made-up entry in the middle.
  lines = ExportLines(5, 30);
  v1::AuditEntry fake = NewEntry(v1::CONSENT_GIVEN, absl::Now(), "wba-registrar");
  fake.set_index(12);
  lines.insert(lines.begin() + 8, EntryLine(fake));
  r = Verify(lines);
  ASSERT_FALSE(r.ok());
  // The made-up line takes entry 12's place, so the real one is named.
  EXPECT_THAT(Problems(r), HasSubstr("line 10: entry 12 again (first on line 9)"));
}

TEST_F(ExportFileTest, ATruncatedFileIsNamed) {
  auto lines = ExportLines(5, 30);
  lines.pop_back();  // the trailer
  VerifyResult r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.problems[0],
              HasSubstr("the tree head is missing: the file was truncated after line 26"));
  // Entries cut from the end, trailer kept.
  lines = ExportLines(5, 30);
  lines.erase(lines.end() - 3, lines.end() - 1);
  r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("announced 25 entries but the file holds 23"));
  // Content after the trailer.
  lines = ExportLines(5, 30);
  lines.push_back(lines[2]);
  r = Verify(lines);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("line 28: content after the tree head"));
}

TEST_F(ExportFileTest, AForgedTreeHeadOrTheWrongKeyIsRefused) {
  auto lines = ExportLines(5, 30);
  v1::ExportFileLine trailer;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines.back(), &trailer).ok());
  trailer.mutable_trailer()->mutable_tree_head()->set_tree_size(41);
  auto forged = lines;
  forged.back() = TrailerLine(trailer.trailer());
  VerifyResult r = Verify(forged);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("signature does not verify"));

  auto other = crypto::GenerateEd25519KeyPair();
  ASSERT_THAT(other, IsOk());
  std::istringstream in(absl::StrJoin(lines, "\n"));
  r = VerifyExport(in, other->public_key, std::nullopt, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Problems(r), HasSubstr("names log key"));
}

TEST_F(ExportFileTest, ConsistencyWithAnEarlierHead) {
  auto earlier = log_->TreeHead(/*fresh=*/true);
  ASSERT_THAT(earlier, IsOk());
  Append(23);
  const auto lines = ExportLines(40, 63, earlier->tree_size());
  EXPECT_TRUE(Verify(lines, *earlier).ok()) << Problems(Verify(lines, *earlier));
  // Without a consistency proof in the file, the verifier says how to get one.
  const VerifyResult missing = Verify(ExportLines(40, 63), *earlier);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(Problems(missing), HasSubstr("--consistent-with 40"));
  // A forged earlier head is refused for its signature.
  v1::SignedTreeHead rewritten = *earlier;
  rewritten.set_root_hash(std::string(32, 'x'));
  VerifyResult forged = Verify(lines, rewritten);
  ASSERT_FALSE(forged.ok());
  EXPECT_THAT(Problems(forged), HasSubstr("previous tree head: the tree head's signature"));
  // A validly signed earlier head of another history (the log was rewritten
  // after it was handed out): the consistency proof fails.
  ASSERT_THAT(SignTreeHead(private_key_, rewritten.log_id(), &rewritten), IsOk());
  forged = Verify(lines, rewritten);
  ASSERT_FALSE(forged.ok());
  EXPECT_THAT(Problems(forged), HasSubstr("is not an extension of the previous tree head"));
}

// Issue #13 §8: entries past their retention are purged; only their leaf
// hash stays. The log, earlier heads, proofs and exports still verify
// offline, and nothing of a purged entry's content remains.
TEST_F(ExportFileTest, PurgedEntriesKeepTheLogVerifiableAndTheirContentIsGone) {
  // The log's time only moves forward, so retention is applied 13 years on:
  // SetUp's 40 disclosures (0-39) are then past 12 years.
  const absl::Time now = absl::Now();
  const absl::Time later = now + absl::Hours(24 * 365 * 13);
  const auto add = [&](v1::AuditEventType type, absl::Time at, const std::string& subject) {
    store::AuditEntries batch = {NewEntry(type, at, "police-hame")};
    batch[0].set_counterpart_org_id("wba-social");
    batch[0].set_subject_ref(subject);
    batch[0].set_message_id("m-old");
    ASSERT_THAT(store_->AppendAudit(&batch), IsOk());
  };
  add(v1::EXISTING_CASE_CHECKED, now, "subject-old");          // 40: purged
  add(v1::ORG_ADDED, now, "");                                 // 41: kept for ever
  add(v1::ACCESS_REFUSED, now, "");                            // 42: purged
  add(v1::ACCESS_REFUSED, later - absl::Hours(24 * 100), "");  // 43: kept
  add(v1::MESSAGE_DELIVERED, later, "subject-new");            // 44: kept
  auto earlier = log_->TreeHead(/*fresh=*/true);
  ASSERT_THAT(earlier, IsOk());

  std::vector<v1::RetentionRule> rules(3);
  rules[0].add_types(v1::MESSAGE_DELIVERED);
  rules[0].add_types(v1::EXISTING_CASE_CHECKED);
  rules[0].set_keep_days(4383);
  rules[1].add_types(v1::ACCESS_REFUSED);
  rules[1].set_keep_days(730);
  rules[2].set_keep_days(0);  // everything else for ever
  auto purged = log_->ApplyRetention(rules, later);
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(*purged, 42u);
  EXPECT_THAT(log_->ApplyRetention(rules, later), IsOkAndHolds(0u)) << "idempotent";

  // The whole log verifies offline, against the head given out before too.
  const auto lines = ExportLines(0, 45, earlier->tree_size());
  const VerifyResult r = Verify(lines, *earlier);
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(r.entries, 45u);
  EXPECT_EQ(r.purged, 42u);
  for (const int index : {0, 39, 40, 42}) {
    const std::string& line = lines[1 + index];
    EXPECT_THAT(line, HasSubstr("\"purged\":true")) << index;
    EXPECT_THAT(line, ::testing::Not(HasSubstr("subject-old"))) << index;
    EXPECT_THAT(line, ::testing::Not(HasSubstr("police-hame"))) << index;
    EXPECT_THAT(line, ::testing::Not(HasSubstr("m-"))) << index;
    EXPECT_THAT(line, ::testing::Not(HasSubstr("salt"))) << index;
  }
  for (const int index : {41, 43, 44}) {
    EXPECT_THAT(lines[1 + index], ::testing::Not(HasSubstr("purged"))) << index;
  }
  // Queries no longer find purged entries.
  store::AuditQuery q;
  q.subject_ref = "subject-old";
  EXPECT_THAT(store_->QueryAudit(q), IsOkAndHolds(::testing::IsEmpty()));
  q.subject_ref = "subject-new";
  EXPECT_THAT(store_->QueryAudit(q), IsOkAndHolds(::testing::SizeIs(1)));

  // A purged line with another leaf hash breaks the root; a kept line that
  // is edited is still named.
  std::vector<std::string> forged = lines;
  const size_t at = forged[1 + 40].find("\"leaf_hash\":\"") + 13;
  forged[1 + 40][at] = forged[1 + 40][at] == '0' ? '1' : '0';
  EXPECT_FALSE(Verify(forged, *earlier).ok());
  forged = lines;
  forged[1 + 44] = absl::StrReplaceAll(forged[1 + 44], {{"subject-new", "subject-xyz"}});
  const VerifyResult edited = Verify(forged, *earlier);
  ASSERT_FALSE(edited.ok());
  EXPECT_THAT(Problems(edited), HasSubstr("line 46"));
}

// Issue #11 item 7: heads name their log, and an older head cannot pass as
// a newer one.
TEST_F(ExportFileTest, AHeadOfAnotherLogOrAnOlderHeadIsRefused) {
  auto earlier = log_->TreeHead(/*fresh=*/true);
  ASSERT_THAT(earlier, IsOk());
  EXPECT_EQ(earlier->log_id(), "silta-audit");
  Append(5);
  const auto lines = ExportLines(0, 45, 40);
  // The same key, another deployment: the log id is signed.
  {
    std::istringstream in(absl::StrJoin(lines, "\n") + "\n");
    const VerifyResult r = VerifyExport(in, public_key_, std::nullopt, nullptr, "silta:prod.fi");
    ASSERT_FALSE(r.ok());
    EXPECT_THAT(Problems(r), HasSubstr("is of log silta-audit, not of silta:prod.fi"));
  }
  v1::SignedTreeHead other_log = *earlier;
  ASSERT_THAT(SignTreeHead(private_key_, "silta:staging", &other_log), IsOk());
  const VerifyResult swapped = Verify(lines, other_log);
  ASSERT_FALSE(swapped.ok());
  EXPECT_THAT(Problems(swapped), HasSubstr("another deployment"));
  // Renaming the log without the key breaks the signature.
  v1::SignedTreeHead renamed = *earlier;
  renamed.set_log_id("silta:staging");
  EXPECT_THAT(VerifyTreeHead(public_key_, renamed),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("signature")));
  // A "previous" head signed later than the export's head.
  v1::SignedTreeHead future = *earlier;
  future.mutable_timestamp()->set_seconds(future.timestamp().seconds() + 3600);
  ASSERT_THAT(SignTreeHead(private_key_, earlier->log_id(), &future), IsOk());
  const VerifyResult replayed = Verify(lines, future);
  ASSERT_FALSE(replayed.ok());
  EXPECT_THAT(Problems(replayed), HasSubstr("an old head was replayed"));
  EXPECT_TRUE(Verify(lines, *earlier).ok());
}

TEST_F(ExportFileTest, AnEarlierHeadIsReadFromAHeadFileOrAnEarlierExport) {
  const auto lines = ExportLines(0, 40);
  const std::string dir = ::testing::TempDir();
  const std::string export_path = dir + "/earlier.jsonl";
  {
    std::ofstream out(export_path);
    for (const auto& l : lines) out << l << "\n";
  }
  auto from_export = ReadTreeHeadFile(export_path);
  ASSERT_THAT(from_export, IsOk());
  EXPECT_EQ(from_export->tree_size(), 40u);
  const std::string head_path = dir + "/head.json";
  {
    std::ofstream out(head_path);
    out << TreeHeadJson(*from_export) << "\n";
  }
  auto from_head = ReadTreeHeadFile(head_path);
  ASSERT_THAT(from_head, IsOk());
  EXPECT_EQ(from_head->root_hash(), from_export->root_hash());
  EXPECT_FALSE(ReadTreeHeadFile(dir + "/missing.json").ok());
  {
    std::ofstream out(dir + "/junk.json");
    out << "not a head\n";
  }
  EXPECT_FALSE(ReadTreeHeadFile(dir + "/junk.json").ok());
}

}  // namespace
}  // namespace silta::audit
