// File: lib/audit/merkle.h
//
// RFC 6962 Merkle tree hashing (§2.1) over the audit log, with proofs that
// read O(log n) stored nodes and the RFC 9162 (§2.1.3.2, §2.1.4.2)
// verification algorithms.
//
// Storage model: the log stores the hash of every *perfect* subtree — level
// L, index i covers leaves [i·2^L, (i+1)·2^L) — when it becomes complete
// (NodesCompletedBy). Every subtree an RFC 6962 proof mentions is either
// perfect or the right edge of a tree, whose hash folds at most log2(n)
// perfect nodes; so a proof reads O(log n) nodes, in one batch, through a
// NodeReader, and never the log itself.
//
// Example:
//   absl::StatusOr<std::vector<std::string>> path =
//       audit::InclusionProof(index, tree_size, reader);
//   bool ok = audit::VerifyInclusion(index, tree_size, leaf_hash, *path, root);
#ifndef SILTA_LIB_AUDIT_MERKLE_H_
#define SILTA_LIB_AUDIT_MERKLE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::audit {

inline constexpr size_t kHashSize = 32;

// SHA-256(0x00 ‖ leaf).
std::string LeafHash(absl::string_view leaf);
// SHA-256(0x01 ‖ left ‖ right).
std::string NodeHash(absl::string_view left, absl::string_view right);
// The root of the empty tree, SHA-256("").
std::string EmptyRoot();

// A perfect subtree: level 0 is a leaf; level L index i covers leaves
// [i·2^L, (i+1)·2^L).
struct NodeId {
  int level = 0;
  uint64_t index = 0;
  friend bool operator==(const NodeId&, const NodeId&) = default;
};

// The perfect subtrees of level ≥ 1 completed by appending leaf
// `leaf_index`, bottom up. Node {L, i} hashes {L-1, 2i} and {L-1, 2i+1}.
std::vector<NodeId> NodesCompletedBy(uint64_t leaf_index);

// Where a store keeps the perfect subtrees, as AppendLeaf writes them: its
// node table, inside the write transaction that appends the entries.
class NodeTable {
 public:
  virtual ~NodeTable() = default;
  // The hash of a stored node; an error if it is not stored.
  virtual absl::StatusOr<std::string> Get(const NodeId& node) = 0;
  virtual absl::Status Put(const NodeId& node, absl::string_view hash) = 0;
};

// Appends leaf `leaf_index`, which must follow the leaves already in
// `nodes`: stores its hash and every perfect subtree it completes, each
// from its left child (read back) and its right child (just written).
// Every store appends through this, so the tree is the same whichever store
// holds it.
absl::Status AppendLeaf(uint64_t leaf_index, std::string leaf_hash, NodeTable& nodes);

// Reads the hashes of perfect subtrees, in the order asked.
using NodeReader =
    std::function<absl::StatusOr<std::vector<std::string>>(const std::vector<NodeId>&)>;

// MTH of the first `size` leaves.
absl::StatusOr<std::string> RootHash(uint64_t size, const NodeReader& read);
// RFC 6962 PATH(index, D[size]), leaf to root. INVALID_ARGUMENT unless
// index < size.
absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index, uint64_t size,
                                                        const NodeReader& read);
// RFC 6962 PROOF(first, D[second]). INVALID_ARGUMENT unless
// 0 < first ≤ second; empty when first == second.
absl::StatusOr<std::vector<std::string>> ConsistencyProof(uint64_t first, uint64_t second,
                                                          const NodeReader& read);
// The hashes a verifier holding leaves [begin, end) needs to compute the
// root of D[size]: the maximal subtrees of the RFC 6962 recursion outside
// the range, left to right. INVALID_ARGUMENT unless begin < end ≤ size.
absl::StatusOr<std::vector<std::string>> RangeProof(uint64_t begin, uint64_t end, uint64_t size,
                                                    const NodeReader& read);

// RFC 9162 §2.1.3.2 (with transparency-dev's input checks).
bool VerifyInclusion(uint64_t index, uint64_t size, absl::string_view leaf_hash,
                     const std::vector<std::string>& proof, absl::string_view root);
// RFC 9162 §2.1.4.2 (size1 == 0 is rejected; size1 == size2 needs an empty
// proof and equal roots).
bool VerifyConsistency(uint64_t size1, uint64_t size2, const std::vector<std::string>& proof,
                       absl::string_view root1, absl::string_view root2);
// The root of D[size] from the leaf hashes of [begin, begin + n) and a
// RangeProof. INVALID_ARGUMENT if the proof has too few or too many hashes.
absl::StatusOr<std::string> RootFromRange(uint64_t begin,
                                          const std::vector<std::string>& leaf_hashes,
                                          uint64_t size, const std::vector<std::string>& proof);

}  // namespace silta::audit

#endif  // SILTA_LIB_AUDIT_MERKLE_H_
