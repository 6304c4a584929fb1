// File: lib/audit/export_file.h
//
// The audit export file (JSONL, docs/operations.md "Audit log"): writing its
// lines, and verifying a file offline — without the server — against the
// log's public key: every entry's leaf hash, the order and completeness of
// the entries, the root through the range proof, the tree head's signature,
// and consistency with an earlier tree head. Any changed, removed,
// reordered or inserted line is reported with its line number.
//
// Example:
//   std::ifstream in(path);
//   VerifyResult r = VerifyExport(in, public_key, previous_head, nullptr);
//   if (!r.ok()) for (const auto& p : r.problems) std::cerr << p << "\n";
#ifndef SILTA_LIB_AUDIT_EXPORT_FILE_H_
#define SILTA_LIB_AUDIT_EXPORT_FILE_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "silta/v1/audit.pb.h"

namespace silta::audit {

inline constexpr absl::string_view kExportFormat = "silta-audit-export-v1";

// One line of the file (without the newline).
std::string HeaderLine(const v1::ExportFileHeader& header);
std::string EntryLine(const v1::AuditEntry& entry);
std::string TrailerLine(const v1::ExportFileTrailer& trailer);

// A tree head from a file: a SignedTreeHead in JSON (as `siltactl audit
// tail --head-out` writes) or an earlier export file (its trailer's head).
absl::StatusOr<v1::SignedTreeHead> ReadTreeHeadFile(const std::string& path);
// A SignedTreeHead as one line of JSON.
std::string TreeHeadJson(const v1::SignedTreeHead& head);

struct VerifyResult {
  std::vector<std::string> problems;  // each names the line; empty = verified
  uint64_t entries = 0;
  uint64_t purged = 0;  // entries purged under retention: only their leaf hash
  uint64_t first_index = 0;
  v1::SignedTreeHead tree_head;
  bool ok() const { return problems.empty(); }
};

// Called every few thousand lines with the lines read and the entries the
// header announced.
using VerifyProgress = std::function<void(uint64_t lines, uint64_t expected_entries)>;

// Verifies an export read from `in` with the log's raw Ed25519 public key.
// The head must name `expected_log_id` when it is not empty.
// `previous_head` (optional) must be of the same log, no newer than the
// export's head, and consistent with it.
VerifyResult VerifyExport(std::istream& in, absl::string_view log_public_key,
                          const std::optional<v1::SignedTreeHead>& previous_head,
                          const VerifyProgress& progress, absl::string_view expected_log_id = "");

}  // namespace silta::audit

#endif  // SILTA_LIB_AUDIT_EXPORT_FILE_H_
