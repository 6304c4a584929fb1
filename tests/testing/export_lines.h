// File: tests/testing/export_lines.h
//
// The lines of an audit export of entries [begin, end) of `log`, as
// `siltactl audit export` writes them (TESTONLY): header, entries, and the
// trailer with a fresh signed head, the range proof and, with
// `consistent_with` > 0, a consistency proof from that size.
#ifndef SILTA_TESTS_TESTING_EXPORT_LINES_H_
#define SILTA_TESTS_TESTING_EXPORT_LINES_H_

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "lib/audit/export_file.h"
#include "server/audit/audit_log.h"
#include "tests/testing/status_matchers.h"

namespace silta::testing {

inline std::vector<std::string> ExportLines(audit::AuditLog& log, uint64_t begin, uint64_t end,
                                            uint64_t consistent_with = 0) {
  audit::ExportPlan plan;
  auto head = log.TreeHead(/*fresh=*/true);
  EXPECT_THAT(head, IsOk());
  plan.head = *head;
  plan.begin = begin;
  plan.end = end;
  v1::ExportFileHeader header;
  header.set_format(std::string(audit::kExportFormat));
  header.set_first_index(begin);
  header.set_entries(end - begin);
  std::vector<std::string> lines = {audit::HeaderLine(header)};
  auto entries = log.ReadRange(begin, end);
  EXPECT_THAT(entries, IsOk());
  for (const auto& e : *entries) lines.push_back(audit::EntryLine(e));
  auto last = log.FinalChunk(plan, consistent_with);
  EXPECT_THAT(last, IsOk());
  v1::ExportFileTrailer trailer;
  *trailer.mutable_tree_head() = last->tree_head();
  *trailer.mutable_range_proof() = last->range_proof();
  if (last->has_consistency()) *trailer.mutable_consistency() = last->consistency();
  lines.push_back(audit::TrailerLine(trailer));
  return lines;
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_EXPORT_LINES_H_
