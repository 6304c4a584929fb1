#include "lib/audit/merkle.h"

#include <bit>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/canonical_bytes.h"

namespace silta::audit {
namespace {

// A subtree D[begin:end] of the RFC 6962 recursion.
struct Range {
  uint64_t begin;
  uint64_t end;
};

// The largest power of two strictly smaller than n (n > 1).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// RFC 6962 PATH(m, D[begin:end]) as subtrees, leaf to root.
void InclusionRanges(uint64_t m, Range r, std::vector<Range>* out) {
  const uint64_t n = r.end - r.begin;
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < r.begin + k) {
    InclusionRanges(m, {r.begin, r.begin + k}, out);
    out->push_back({r.begin + k, r.end});
  } else {
    InclusionRanges(m, {r.begin + k, r.end}, out);
    out->push_back({r.begin, r.begin + k});
  }
}

// RFC 6962 SUBPROOF(m, D[begin:end], b) as subtrees.
void ConsistencyRanges(uint64_t m, Range r, bool whole, std::vector<Range>* out) {
  const uint64_t n = r.end - r.begin;
  if (m == n) {
    if (!whole) out->push_back(r);
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    ConsistencyRanges(m, {r.begin, r.begin + k}, whole, out);
    out->push_back({r.begin + k, r.end});
  } else {
    ConsistencyRanges(m - k, {r.begin + k, r.end}, false, out);
    out->push_back({r.begin, r.begin + k});
  }
}

// The maximal subtrees of D[r] disjoint from `inside`, left to right.
void OutsideRanges(Range r, Range inside, std::vector<Range>* out) {
  if (r.end <= inside.begin || r.begin >= inside.end) {
    out->push_back(r);
    return;
  }
  if (r.begin >= inside.begin && r.end <= inside.end) return;
  const uint64_t k = SplitPoint(r.end - r.begin);
  OutsideRanges({r.begin, r.begin + k}, inside, out);
  OutsideRanges({r.begin + k, r.end}, inside, out);
}

// The perfect subtrees whose fold is MTH(D[r]): the binary digits of the
// size, largest first. Every subtree of the RFC 6962 recursion is aligned so.
absl::Status AppendCover(Range r, std::vector<NodeId>* out) {
  uint64_t begin = r.begin;
  while (begin < r.end) {
    const uint64_t size = std::bit_floor(r.end - begin);
    if (begin % size != 0) {
      return absl::InternalError(
          absl::StrCat("subtree [", r.begin, ", ", r.end, ") is not an RFC 6962 subtree"));
    }
    out->push_back(NodeId{std::countr_zero(size), begin / size});
    begin += size;
  }
  return absl::OkStatus();
}

// The hashes of `ranges`, reading their perfect covers in one batch.
absl::StatusOr<std::vector<std::string>> HashRanges(const std::vector<Range>& ranges,
                                                    const NodeReader& read) {
  std::vector<NodeId> nodes;
  std::vector<size_t> cover_end;
  for (const Range& r : ranges) {
    SILTA_RETURN_IF_ERROR(AppendCover(r, &nodes));
    cover_end.push_back(nodes.size());
  }
  SILTA_ASSIGN_OR_RETURN(std::vector<std::string> hashes, read(nodes));
  if (hashes.size() != nodes.size()) {
    return absl::InternalError("the node reader returned the wrong number of hashes");
  }
  std::vector<std::string> out;
  size_t begin = 0;
  for (size_t end : cover_end) {
    std::string h = hashes[end - 1];
    for (size_t i = end - 1; i > begin; --i) h = NodeHash(hashes[i - 1], h);
    out.push_back(std::move(h));
    begin = end;
  }
  return out;
}

// MTH over consecutive leaf hashes.
std::string HashLeaves(const std::string* leaves, uint64_t n) {
  if (n == 1) return leaves[0];
  const uint64_t k = SplitPoint(n);
  return NodeHash(HashLeaves(leaves, k), HashLeaves(leaves + k, n - k));
}

absl::StatusOr<std::string> FoldRange(Range r, Range inside, const std::string* leaves,
                                      const std::vector<std::string>& proof, size_t* next) {
  if (r.end <= inside.begin || r.begin >= inside.end) {
    if (*next >= proof.size()) return absl::InvalidArgumentError("the range proof is too short");
    return proof[(*next)++];
  }
  if (r.begin >= inside.begin && r.end <= inside.end) {
    return HashLeaves(leaves + (r.begin - inside.begin), r.end - r.begin);
  }
  const uint64_t k = SplitPoint(r.end - r.begin);
  SILTA_ASSIGN_OR_RETURN(std::string left,
                         FoldRange({r.begin, r.begin + k}, inside, leaves, proof, next));
  SILTA_ASSIGN_OR_RETURN(std::string right,
                         FoldRange({r.begin + k, r.end}, inside, leaves, proof, next));
  return NodeHash(left, right);
}

}  // namespace

std::string LeafHash(absl::string_view leaf) {
  std::string input(1, '\x00');
  input.append(leaf.data(), leaf.size());
  return crypto::Sha256String(input);
}

std::string NodeHash(absl::string_view left, absl::string_view right) {
  std::string input(1, '\x01');
  input.reserve(1 + left.size() + right.size());
  input.append(left.data(), left.size());
  input.append(right.data(), right.size());
  return crypto::Sha256String(input);
}

std::string EmptyRoot() { return crypto::Sha256String(""); }

std::vector<NodeId> NodesCompletedBy(uint64_t leaf_index) {
  std::vector<NodeId> out;
  const uint64_t count = leaf_index + 1;
  for (int level = 1; level < 64 && count % (uint64_t{1} << level) == 0; ++level) {
    out.push_back(NodeId{level, (count >> level) - 1});
  }
  return out;
}

absl::StatusOr<std::string> RootHash(uint64_t size, const NodeReader& read) {
  if (size == 0) return EmptyRoot();
  SILTA_ASSIGN_OR_RETURN(std::vector<std::string> h, HashRanges({Range{0, size}}, read));
  return h[0];
}

absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t size,
                                                        const NodeReader& read) {
  if (index >= size) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry ", index, " is not in a tree of size ", size));
  }
  std::vector<Range> ranges;
  InclusionRanges(index, {0, size}, &ranges);
  return HashRanges(ranges, read);
}

absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t first, uint64_t second,
                                                          const NodeReader& read) {
  if (first == 0 || first > second) {
    return absl::InvalidArgumentError(
        absl::StrCat("a consistency proof needs 0 < first_size <= second_size (got ", first,
                     " and ", second, ")"));
  }
  std::vector<Range> ranges;
  if (first < second) ConsistencyRanges(first, {0, second}, true, &ranges);
  return HashRanges(ranges, read);
}

absl::StatusOr<std::vector<std::string>> RangeProof(uint64_t begin, uint64_t end, uint64_t size,
                                                    const NodeReader& read) {
  if (begin >= end || end > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "range [", begin, ", ", end, ") is not a non-empty part of a tree of size ", size));
  }
  std::vector<Range> ranges;
  OutsideRanges({0, size}, {begin, end}, &ranges);
  return HashRanges(ranges, read);
}

bool VerifyInclusion(uint64_t index, uint64_t size, absl::string_view leaf_hash,
                     const std::vector<std::string>& proof, absl::string_view root) {
  if (index >= size || leaf_hash.size() != kHashSize) return false;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  std::string r(leaf_hash);
  for (const std::string& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                       absl::string_view root1, absl::string_view root2) {
  if (size2 < size1 || size1 == 0) return false;
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty()) return false;
  std::vector<std::string> path;
  if (std::has_single_bit(size1)) path.emplace_back(root1);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0];
  std::string sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while (fn != 0 && (fn & 1) == 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == root1 && sr == root2 && sn == 0;
}

absl::StatusOr<std::string> RootFromRange(uint64_t begin,
                                          const std::vector<std::string>& leaf_hashes,
                                          uint64_t size, const std::vector<std::string>& proof) {
  const uint64_t end = begin + leaf_hashes.size();
  if (leaf_hashes.empty() || end > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "range [", begin, ", ", end, ") is not a non-empty part of a tree of size ", size));
  }
  size_t next = 0;
  SILTA_ASSIGN_OR_RETURN(std::string root,
                         FoldRange({0, size}, {begin, end}, leaf_hashes.data(), proof, &next));
  if (next != proof.size()) return absl::InvalidArgumentError("the range proof is too long");
  return root;
}

absl::Status AppendLeaf(uint64_t leaf_index, std::string leaf_hash, NodeTable& nodes) {
  SILTA_RETURN_IF_ERROR(nodes.Put({0, leaf_index}, leaf_hash));
  std::string hash = std::move(leaf_hash);
  for (const NodeId& node : NodesCompletedBy(leaf_index)) {
    absl::StatusOr<std::string> left = nodes.Get({node.level - 1, 2 * node.index});
    if (!left.ok()) {
      return absl::InternalError(absl::StrCat("the audit log's Merkle tree is missing node (",
                                              node.level - 1, ", ", 2 * node.index,
                                              "): ", left.status().message()));
    }
    hash = NodeHash(*left, hash);
    SILTA_RETURN_IF_ERROR(nodes.Put(node, hash));
  }
  return absl::OkStatus();
}

}  // namespace silta::audit
