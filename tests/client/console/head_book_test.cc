// The console keeps the heads it saw and checks each new one against the
// last with a consistency proof: a grown log passes; a rewritten, shrunk
// or re-keyed log, or a bad signature, never does, and is not kept.
#include "client/console/head_book.h"

#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/audit/merkle.h"
#include "lib/audit/tree_head.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"
#include "tests/testing/process.h"

namespace silta::console {
namespace {

// A real Merkle tree in memory, signed with a real key: the siltad side of
// what the console checks.
class InMemoryLog : public LogReader {
 public:
  InMemoryLog(const crypto::KeyPair* key, std::string log_id, std::string leaf_prefix)
      : key_(key), log_id_(std::move(log_id)), prefix_(std::move(leaf_prefix)) {}

  void Append(int n) {
    for (int i = 0; i < n; ++i) {
      const uint64_t index = size_++;
      ASSERT_TRUE(
          audit::AppendLeaf(index, audit::LeafHash(absl::StrCat(prefix_, index)), nodes_).ok());
    }
  }
  void AdvanceClock() { now_ += absl::Seconds(10); }

  absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const override { return v1::WhoAmIResponse(); }
  absl::StatusOr<v1::SignedTreeHead> TreeHead() const override {
    v1::SignedTreeHead head;
    head.set_tree_size(size_);
    absl::StatusOr<std::string> root = audit::RootHash(size_, Reader());
    if (!root.ok()) return root.status();
    head.set_root_hash(*root);
    *head.mutable_timestamp() = common::ToTimestamp(now_);
    absl::Status signed_ok = audit::SignTreeHead(key_->private_key, log_id_, &head);
    if (!signed_ok.ok()) return signed_ok;
    return head;
  }
  absl::StatusOr<v1::QueryEntriesResponse> QueryEntries(
      const v1::QueryEntriesRequest&) const override {
    return v1::QueryEntriesResponse();
  }
  absl::StatusOr<v1::InclusionProof> InclusionProof(uint64_t, uint64_t) const override {
    return absl::UnimplementedError("not needed here");
  }
  absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t first,
                                                        uint64_t second) const override {
    ++proofs_asked;
    absl::StatusOr<std::vector<std::string>> path =
        audit::ConsistencyProof(first, second, Reader());
    if (!path.ok()) return path.status();
    v1::ConsistencyProof proof;
    proof.set_first_size(first);
    proof.set_second_size(second);
    for (std::string& h : *path) proof.add_path(std::move(h));
    return proof;
  }

  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(
      const v1::SubjectReportRequest&) const override {
    return absl::UnimplementedError("not needed here");
  }
  absl::StatusOr<v1::IndicatorsResponse> Indicators(const v1::IndicatorsRequest&) const override {
    return absl::UnimplementedError("not needed here");
  }
  absl::Status Export(const v1::ExportRequest&,
                      const std::function<absl::Status(const v1::ExportChunk&)>&) const override {
    return absl::UnimplementedError("not needed here");
  }

  mutable int proofs_asked = 0;

 private:
  class Nodes : public audit::NodeTable {
   public:
    absl::StatusOr<std::string> Get(const audit::NodeId& node) override {
      auto it = hashes.find({node.level, node.index});
      if (it == hashes.end()) return absl::NotFoundError("no node");
      return it->second;
    }
    absl::Status Put(const audit::NodeId& node, absl::string_view hash) override {
      hashes[{node.level, node.index}] = std::string(hash);
      return absl::OkStatus();
    }
    std::map<std::pair<int, uint64_t>, std::string> hashes;
  };
  audit::NodeReader Reader() const {
    return
        [this](const std::vector<audit::NodeId>& ids) -> absl::StatusOr<std::vector<std::string>> {
          std::vector<std::string> out;
          for (const audit::NodeId& id : ids) {
            absl::StatusOr<std::string> h = const_cast<Nodes&>(nodes_).Get(id);
            if (!h.ok()) return h.status();
            out.push_back(*h);
          }
          return out;
        };
  }

  const crypto::KeyPair* key_;
  const std::string log_id_;
  const std::string prefix_;
  Nodes nodes_;
  uint64_t size_ = 0;
  absl::Time now_ = absl::FromUnixSeconds(1795000000);
};

class HeadBookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = crypto::GenerateEd25519KeyPair();
    ASSERT_TRUE(key.ok());
    key_ = *std::move(key);
    dir_ = testing::MakeTempDir("head_book") + "/state";
  }

  HeadHistory Check(HeadBook& book, const InMemoryLog& log) {
    absl::StatusOr<v1::SignedTreeHead> head = log.TreeHead();
    EXPECT_TRUE(head.ok());
    absl::StatusOr<HeadHistory> history = book.Check(*head, log);
    EXPECT_TRUE(history.ok()) << history.status();
    return history.ok() ? *history : HeadHistory();
  }

  crypto::KeyPair key_;
  std::string dir_;
};

TEST_F(HeadBookTest, AGrowingLogIsConsistentAndItsHeadsAreKept) {
  InMemoryLog log(&key_, "silta:test", "entry");
  log.Append(5);
  HeadBook book(dir_, key_.public_key, "silta:test");
  EXPECT_EQ(Check(book, log).state(), HeadHistory::FIRST_SEEN);
  EXPECT_EQ(log.proofs_asked, 0) << "nothing to prove against yet";
  log.Append(8);
  log.AdvanceClock();
  const HeadHistory grown = Check(book, log);
  EXPECT_EQ(grown.state(), HeadHistory::CONSISTENT) << grown.detail();
  EXPECT_EQ(grown.previous().tree_size(), 5u);
  EXPECT_EQ(grown.proof().second_size(), 13u);
  EXPECT_EQ(grown.heads_kept(), 2u);
  EXPECT_EQ(Check(book, log).state(), HeadHistory::CONSISTENT) << "the same head again";
  EXPECT_EQ(log.proofs_asked, 1) << "one proof for the growth; equal heads need none";

  // A new console process finds the history in the file.
  HeadBook again(dir_, key_.public_key, "silta:test");
  log.Append(1);
  log.AdvanceClock();
  const HeadHistory later = Check(again, log);
  EXPECT_EQ(later.state(), HeadHistory::CONSISTENT);
  EXPECT_EQ(later.previous().tree_size(), 13u);
  EXPECT_EQ(std::filesystem::status(dir_).permissions() & std::filesystem::perms::others_all,
            std::filesystem::perms::none);
}

TEST_F(HeadBookTest, ARewrittenLogSignedWithTheSameKeyIsNotConsistent) {
  InMemoryLog log(&key_, "silta:test", "entry");
  log.Append(6);
  HeadBook book(dir_, key_.public_key);
  ASSERT_EQ(Check(book, log).state(), HeadHistory::FIRST_SEEN);
  // The broker rewrites history: other leaves, more of them, a valid
  // signature.
  InMemoryLog rewritten(&key_, "silta:test", "forged");
  rewritten.Append(9);
  rewritten.AdvanceClock();
  const HeadHistory history = Check(book, rewritten);
  EXPECT_EQ(history.state(), HeadHistory::INCONSISTENT);
  EXPECT_THAT(history.detail(), ::testing::HasSubstr("does not verify"));
  // Same size, other root.
  InMemoryLog same_size(&key_, "silta:test", "forged");
  same_size.Append(6);
  same_size.AdvanceClock();
  EXPECT_EQ(Check(book, same_size).state(), HeadHistory::INCONSISTENT);
  // The good log still checks against the head kept before.
  log.Append(2);
  log.AdvanceClock();
  EXPECT_EQ(Check(book, log).state(), HeadHistory::CONSISTENT);
}

TEST_F(HeadBookTest, AShrunkLogOrAnotherKeyOrABadSignatureIsNeverKept) {
  InMemoryLog log(&key_, "silta:test", "entry");
  log.Append(10);
  HeadBook book(dir_, key_.public_key);
  ASSERT_EQ(Check(book, log).state(), HeadHistory::FIRST_SEEN);
  InMemoryLog shorter(&key_, "silta:test", "entry");
  shorter.Append(4);
  shorter.AdvanceClock();
  const HeadHistory shrunk = Check(book, shorter);
  EXPECT_EQ(shrunk.state(), HeadHistory::INCONSISTENT);
  EXPECT_THAT(shrunk.detail(), ::testing::HasSubstr("shrank"));

  auto other_key = crypto::GenerateEd25519KeyPair();
  ASSERT_TRUE(other_key.ok());
  InMemoryLog impostor(&*other_key, "silta:test", "entry");
  impostor.Append(12);
  const HeadHistory bad = Check(book, impostor);
  EXPECT_EQ(bad.state(), HeadHistory::BAD_SIGNATURE);

  absl::StatusOr<v1::SignedTreeHead> head = log.TreeHead();
  ASSERT_TRUE(head.ok());
  head->set_tree_size(head->tree_size() + 1);  // not what was signed
  absl::StatusOr<HeadHistory> tampered = book.Check(*head, log);
  ASSERT_TRUE(tampered.ok());
  EXPECT_EQ(tampered->state(), HeadHistory::BAD_SIGNATURE);

  // Another log's head, validly signed, is refused when the log id is set.
  InMemoryLog staging(&key_, "silta:staging", "entry");
  staging.Append(3);
  HeadBook strict(dir_ + "-strict", key_.public_key, "silta:test");
  EXPECT_EQ(Check(strict, staging).state(), HeadHistory::BAD_SIGNATURE);

  // None of these was kept: the real log still compares with its own head.
  log.Append(1);
  log.AdvanceClock();
  const HeadHistory good = Check(book, log);
  EXPECT_EQ(good.state(), HeadHistory::CONSISTENT);
  EXPECT_EQ(good.previous().tree_size(), 10u);
}

TEST_F(HeadBookTest, AProofThatCannotBeReadGivesNoVerdict) {
  InMemoryLog log(&key_, "silta:test", "entry");
  log.Append(3);
  HeadBook book(dir_, key_.public_key);
  ASSERT_EQ(Check(book, log).state(), HeadHistory::FIRST_SEEN);
  class Unreachable : public InMemoryLog {
   public:
    using InMemoryLog::InMemoryLog;
    absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t, uint64_t) const override {
      return absl::UnavailableError("siltad is down");
    }
  };
  Unreachable down(&key_, "silta:test", "entry");
  down.Append(7);
  down.AdvanceClock();
  absl::StatusOr<v1::SignedTreeHead> head = down.TreeHead();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(book.Check(*head, down).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace silta::console
