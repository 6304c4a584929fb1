// RFC 6962 hashing and proofs: the published vectors (tests/vectors/
// merkle_rfc6962.json, all 196 probes), then every size 1..64 against a naive
// recomputation written straight from RFC 6962 §2.1, with proofs produced
// from stored perfect nodes only (what siltad reads).
#include "lib/audit/merkle.h"

#include <map>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/vectors.h"

namespace silta::audit {
namespace {

using ::silta::testing::Hex;
using ::silta::testing::LoadVectors;
using ::silta::testing::Str;
using ::testing::ElementsAreArray;

std::vector<std::string> HexList(const google::protobuf::Value& list) {
  std::vector<std::string> out;
  for (const auto& v : list.list_value().values())
    out.push_back(absl::HexStringToBytes(v.string_value()));
  return out;
}

// JSON numbers arrive as doubles; 2^64-1 (a probe's "index - 1" of 0)
// rounds up to 2^64, which is clamped back rather than overflowing.
uint64_t Num(const google::protobuf::Struct& s, const std::string& key) {
  const double v = s.fields().at(key).number_value();
  if (v >= 18446744073709551615.0) return UINT64_MAX;
  return static_cast<uint64_t>(v);
}

// ---- The naive reference: RFC 6962 §2.1 over the leaf list. ----

uint64_t Split(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

std::string Mth(const std::vector<std::string>& d, uint64_t b, uint64_t e) {
  if (e == b) return EmptyRoot();
  if (e - b == 1) return d[b];
  const uint64_t k = Split(e - b);
  return NodeHash(Mth(d, b, b + k), Mth(d, b + k, e));
}

std::vector<std::string> NaivePath(uint64_t m, const std::vector<std::string>& d, uint64_t b,
                                   uint64_t e) {
  if (e - b <= 1) return {};
  const uint64_t k = Split(e - b);
  std::vector<std::string> out;
  if (m < k) {
    out = NaivePath(m, d, b, b + k);
    out.push_back(Mth(d, b + k, e));
  } else {
    out = NaivePath(m - k, d, b + k, e);
    out.push_back(Mth(d, b, b + k));
  }
  return out;
}

std::vector<std::string> NaiveSubproof(uint64_t m, const std::vector<std::string>& d, uint64_t b,
                                       uint64_t e, bool whole) {
  const uint64_t n = e - b;
  if (m == n) return whole ? std::vector<std::string>{} : std::vector<std::string>{Mth(d, b, e)};
  const uint64_t k = Split(n);
  std::vector<std::string> out;
  if (m <= k) {
    out = NaiveSubproof(m, d, b, b + k, whole);
    out.push_back(Mth(d, b + k, e));
  } else {
    out = NaiveSubproof(m - k, d, b + k, e, false);
    out.push_back(Mth(d, b, b + k));
  }
  return out;
}

// Perfect nodes as siltad stores them: appended through AppendLeaf, the
// code every store appends with.
class NodeStore : public NodeTable {
 public:
  void Append(const std::string& leaf_hash) {
    ASSERT_TRUE(AppendLeaf(size_, leaf_hash, *this).ok());
    ++size_;
  }
  absl::StatusOr<std::string> Get(const NodeId& id) override {
    auto it = nodes_.find({id.level, id.index});
    if (it == nodes_.end()) return absl::NotFoundError("node not stored");
    return it->second;
  }
  absl::Status Put(const NodeId& id, absl::string_view hash) override {
    nodes_[{id.level, id.index}] = std::string(hash);
    return absl::OkStatus();
  }
  NodeReader Reader() {
    return [this](const std::vector<NodeId>& ids) -> absl::StatusOr<std::vector<std::string>> {
      std::vector<std::string> out;
      for (const NodeId& id : ids) {
        auto it = nodes_.find({id.level, id.index});
        if (it == nodes_.end()) return absl::NotFoundError("node not stored");
        // A proof may only read complete subtrees of the current tree.
        if (((id.index + 1) << id.level) > size_)
          return absl::InternalError("incomplete node read");
        out.push_back(it->second);
        ++reads_;
      }
      return out;
    };
  }
  size_t reads() const { return reads_; }

 private:
  uint64_t size_ = 0;
  size_t reads_ = 0;
  std::map<std::pair<int, uint64_t>, std::string> nodes_;
};

TEST(MerkleVectorsTest, NodeHashesAndRoots) {
  const auto file = LoadVectors("merkle_rfc6962.json");
  std::vector<std::string> leaves;
  for (const auto& v : file.fields().at("leaves").list_value().values()) {
    leaves.push_back(LeafHash(absl::HexStringToBytes(v.string_value())));
  }
  ASSERT_EQ(leaves.size(), 8u);
  NodeStore store;
  for (const std::string& leaf : leaves) store.Append(leaf);
  const auto& levels =
      file.fields().at("node_hashes_by_level").struct_value().fields().at("levels").list_value();
  for (int level = 0; level < levels.values_size(); ++level) {
    const std::vector<std::string> want = HexList(levels.values(level));
    for (size_t i = 0; i < want.size(); ++i) {
      auto got = store.Reader()({NodeId{level, i}});
      ASSERT_TRUE(got.ok());
      EXPECT_EQ((*got)[0], want[i]) << "level " << level << " index " << i;
    }
  }
  for (const auto& r : file.fields().at("roots").list_value().values()) {
    const uint64_t size = Num(r.struct_value(), "tree_size");
    // Roots of smaller trees from the same stored nodes (only complete ones are read).
    NodeStore prefix;
    for (uint64_t i = 0; i < size; ++i) prefix.Append(leaves[i]);
    auto root = RootHash(size, prefix.Reader());
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, Hex(r.struct_value(), "root")) << "size " << size;
  }
}

TEST(MerkleVectorsTest, PublishedProofsAreGeneratedAndVerify) {
  const auto file = LoadVectors("merkle_rfc6962.json");
  std::vector<std::string> leaves;
  for (const auto& v : file.fields().at("leaves").list_value().values()) {
    leaves.push_back(LeafHash(absl::HexStringToBytes(v.string_value())));
  }
  for (const auto& v : file.fields().at("inclusion_proofs").list_value().values()) {
    const auto& p = v.struct_value();
    const uint64_t index = Num(p, "leaf_index");
    const uint64_t size = Num(p, "tree_size");
    NodeStore store;
    for (uint64_t i = 0; i < size; ++i) store.Append(leaves[i]);
    const std::vector<std::string> want = HexList(p.fields().at("proof"));
    auto got = InclusionProof(index, size, store.Reader());
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want) << Str(p, "file");
    EXPECT_TRUE(VerifyInclusion(index, size, Hex(p, "leaf_hash"), want, Hex(p, "root")));
  }
  for (const auto& v : file.fields().at("consistency_proofs").list_value().values()) {
    const auto& p = v.struct_value();
    const uint64_t size1 = Num(p, "size1");
    const uint64_t size2 = Num(p, "size2");
    NodeStore store;
    for (uint64_t i = 0; i < size2; ++i) store.Append(leaves[i]);
    const std::vector<std::string> want = HexList(p.fields().at("proof"));
    auto got = ConsistencyProof(size1, size2, store.Reader());
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want) << Str(p, "file");
    EXPECT_TRUE(VerifyConsistency(size1, size2, want, Hex(p, "root1"), Hex(p, "root2")));
  }
}

TEST(MerkleVectorsTest, EveryProbeIsAcceptedOrRejectedAsPublished) {
  const auto file = LoadVectors("merkle_rfc6962.json");
  const auto& items = file.fields().at("probes").struct_value().fields().at("items").list_value();
  ASSERT_EQ(items.values_size(), 196);
  for (const auto& v : items.values()) {
    const auto& p = v.struct_value();
    const bool want_error = p.fields().at("want_error").bool_value();
    bool ok = false;
    if (Str(p, "kind") == "inclusion") {
      ok = VerifyInclusion(Num(p, "leaf_index"), Num(p, "tree_size"), Hex(p, "leaf_hash"),
                           HexList(p.fields().at("proof")), Hex(p, "root"));
    } else {
      ok = VerifyConsistency(Num(p, "size1"), Num(p, "size2"), HexList(p.fields().at("proof")),
                             Hex(p, "root1"), Hex(p, "root2"));
    }
    EXPECT_EQ(ok, !want_error) << Str(p, "file") << " (" << Str(p, "desc") << ")";
  }
}

std::vector<std::string> TestLeaves(uint64_t n) {
  std::vector<std::string> out;
  for (uint64_t i = 0; i < n; ++i) out.push_back(LeafHash("entry " + std::to_string(i)));
  return out;
}

TEST(MerkleProofsTest, EverySizeUpTo64MatchesTheNaiveRecomputation) {
  const std::vector<std::string> leaves = TestLeaves(64);
  NodeStore store;
  for (uint64_t size = 1; size <= 64; ++size) {
    store.Append(leaves[size - 1]);
    const std::string root = Mth(leaves, 0, size);
    auto got_root = RootHash(size, store.Reader());
    ASSERT_TRUE(got_root.ok());
    ASSERT_EQ(*got_root, root) << "size " << size;
    for (uint64_t i = 0; i < size; ++i) {
      auto path = InclusionProof(i, size, store.Reader());
      ASSERT_TRUE(path.ok());
      ASSERT_EQ(*path, NaivePath(i, leaves, 0, size)) << "inclusion " << i << "/" << size;
      ASSERT_TRUE(VerifyInclusion(i, size, leaves[i], *path, root));
      // A proof for one leaf does not prove another.
      ASSERT_FALSE(VerifyInclusion(i, size, leaves[(i + 1) % 64], *path, root) && size > 1);
    }
    for (uint64_t first = 1; first <= size; ++first) {
      auto proof = ConsistencyProof(first, size, store.Reader());
      ASSERT_TRUE(proof.ok());
      const std::vector<std::string> naive =
          first == size ? std::vector<std::string>{} : NaiveSubproof(first, leaves, 0, size, true);
      ASSERT_EQ(*proof, naive) << "consistency " << first << "/" << size;
      ASSERT_TRUE(VerifyConsistency(first, size, *proof, Mth(leaves, 0, first), root));
    }
    for (uint64_t begin = 0; begin < size; ++begin) {
      for (uint64_t end = begin + 1; end <= size; ++end) {
        auto proof = RangeProof(begin, end, size, store.Reader());
        ASSERT_TRUE(proof.ok());
        const std::vector<std::string> range(leaves.begin() + begin, leaves.begin() + end);
        auto computed = RootFromRange(begin, range, size, *proof);
        ASSERT_TRUE(computed.ok());
        ASSERT_EQ(*computed, root) << "range [" << begin << ", " << end << ") of " << size;
      }
    }
  }
}

TEST(MerkleProofsTest, ProofsReadLogarithmicallyManyNodes) {
  NodeStore store;
  const uint64_t n = 100'000;
  for (uint64_t i = 0; i < n; ++i) store.Append(LeafHash(std::to_string(i)));
  const size_t before = store.reads();
  ASSERT_TRUE(InclusionProof(12'345, n, store.Reader()).ok());
  ASSERT_TRUE(ConsistencyProof(54'321, n, store.Reader()).ok());
  ASSERT_TRUE(RangeProof(1'000, 2'000, n, store.Reader()).ok());
  // log2(100000) ≈ 17; each proof reads at most ~2·17 perfect nodes.
  EXPECT_LE(store.reads() - before, 3u * 2 * 17);
}

// A store whose node table lost a node cannot append: the tree would be
// wrong from there on.
TEST(MerkleAppendTest, AMissingLeftChildIsAnInternalError) {
  NodeStore empty;
  const absl::Status appended = AppendLeaf(1, LeafHash("second"), empty);
  EXPECT_EQ(appended.code(), absl::StatusCode::kInternal);
  EXPECT_NE(appended.message().find("missing node (0, 0)"), std::string::npos)
      << appended.message();
}

TEST(MerkleProofsTest, RejectsBadArgumentsAndTamperedRanges) {
  NodeStore store;
  const std::vector<std::string> leaves = TestLeaves(10);
  for (const auto& l : leaves) store.Append(l);
  EXPECT_FALSE(InclusionProof(10, 10, store.Reader()).ok());
  EXPECT_FALSE(ConsistencyProof(0, 10, store.Reader()).ok());
  EXPECT_FALSE(ConsistencyProof(11, 10, store.Reader()).ok());
  EXPECT_FALSE(RangeProof(5, 5, 10, store.Reader()).ok());
  auto proof = RangeProof(3, 7, 10, store.Reader());
  ASSERT_TRUE(proof.ok());
  std::vector<std::string> range(leaves.begin() + 3, leaves.begin() + 7);
  const std::string root = Mth(leaves, 0, 10);
  std::swap(range[1], range[2]);  // reordered
  EXPECT_NE(*RootFromRange(3, range, 10, *proof), root);
  std::swap(range[1], range[2]);
  range.pop_back();  // truncated: the proof no longer fits
  auto shorter = RootFromRange(3, range, 10, *proof);
  EXPECT_TRUE(!shorter.ok() || *shorter != root);
}

}  // namespace
}  // namespace silta::audit
