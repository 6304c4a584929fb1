// File: server/store/sql/audit_postings.h
//
// The audit log's index by org, subject and case keeps, per term, posting
// rows: the indexes of the term's entries that one index batch took, in
// one row (audit_postings; SQLite migration 16, PostgreSQL migration 7).
// A row is keyed by its first index; the others are in `gaps`, each as its
// distance from the one before, a protobuf varint. A row of one entry has
// no gaps.
//
// Before, each (term, entry) pair was a row of audit_index. A message's
// seven entries put about 28 rows in the index; the batch of 256 entries
// now puts one row per term it names (docs/message-path-log.md, session 37).
//
//   std::string gaps = EncodePostingGaps({7, 9, 12});  // first 7, gaps 2 and 3
//   absl::StatusOr<std::vector<uint64_t>> idxs = DecodePosting(7, gaps);  // {7, 9, 12}
#ifndef SILTA_SERVER_STORE_SQL_AUDIT_POSTINGS_H_
#define SILTA_SERVER_STORE_SQL_AUDIT_POSTINGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace silta::store {

// The gaps of `idxs` (ascending, not empty) after its first.
std::string EncodePostingGaps(absl::Span<const uint64_t> idxs);

// A posting row's indexes, ascending. INTERNAL for gaps that are not
// varints, or a zero gap (the indexes of a row are distinct).
absl::StatusOr<std::vector<uint64_t>> DecodePosting(uint64_t first, absl::string_view gaps);

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_SQL_AUDIT_POSTINGS_H_
