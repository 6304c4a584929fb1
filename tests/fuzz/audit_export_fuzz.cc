// Fuzz target: the reader of audit exports (`siltactl audit verify`), fed
// hostile files, verified with the fixed log key.
// Properties: a verified export has a head of log kLogId and as many
// entries as the file's lines minus header and trailer; a refused one says
// why.
#include <sstream>

#include "absl/strings/str_split.h"
#include "lib/audit/export_file.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(audit_export) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  const audit::VerifyResult result =
      audit::VerifyExport(in, LogPublicKey(), std::nullopt, nullptr, kLogId);
  if (!result.ok()) return 0;
  if (result.tree_head.log_id() != kLogId) Fail("verified another log's export");
  const std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.size() != result.entries + 2) Fail("verified entries that are not in the file");
  Accepted();
  return 0;
}

}  // namespace silta::fuzz
