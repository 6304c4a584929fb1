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
#include <fstream>
#include <functional>
#include <istream>
#include <memory>
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

// Writes an export stream (AuditService.Export's chunks) as an export
// file: to `path`.partial while the stream runs, renamed to `path` only
// when it ended complete (a trailer with the tree head, and as many
// entries as the first chunk announced). Destroyed unfinished, it removes
// the partial file: a file at `path` is always a whole export.
//
// Example:
//   auto writer = ExportFileWriter::Create(path, request);
//   status = audit.Export(request, [&](const auto& c) { return (*writer)->Add(c); });
//   if (status.ok()) status = (*writer)->Finish();
class ExportFileWriter {
 public:
  // PERMISSION_DENIED if the partial file cannot be created.
  static absl::StatusOr<std::unique_ptr<ExportFileWriter>> Create(std::string path,
                                                                  const v1::ExportRequest& request);
  ~ExportFileWriter();

  absl::Status Add(const v1::ExportChunk& chunk);
  // DATA_LOSS if the stream ended early; PERMISSION_DENIED if the file
  // cannot be written.
  absl::Status Finish();

  // Entries written so far, and announced by the first chunk.
  uint64_t written() const { return written_; }
  uint64_t total() const { return total_; }
  uint64_t first_index() const { return first_index_; }
  // The export's tree head (after Finish).
  const v1::SignedTreeHead& tree_head() const { return trailer_.tree_head(); }

 private:
  ExportFileWriter(std::string path, const v1::ExportRequest& request);
  const std::string path_;
  const std::string partial_;
  const v1::ExportRequest request_;
  std::ofstream out_;
  bool first_ = true;
  bool finished_ = false;
  uint64_t written_ = 0;
  uint64_t total_ = 0;
  uint64_t first_index_ = 0;
  v1::ExportFileTrailer trailer_;
};

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
