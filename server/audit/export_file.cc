#include "server/audit/export_file.h"

#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "server/audit/log_entry.h"
#include "server/audit/merkle.h"
#include "server/audit/tree_head.h"
#include "server/common/files.h"
#include "server/common/status_macros.h"

namespace silta::audit {
namespace {

constexpr size_t kMaxProblems = 20;
constexpr uint64_t kProgressEvery = 50'000;

std::string Json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, options);
  return out;
}

absl::Status ParseJson(absl::string_view text, google::protobuf::Message* m) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), m, options);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  return absl::OkStatus();
}

class Problems {
 public:
  explicit Problems(VerifyResult* result) : result_(result) {}
  void Add(std::string problem) {
    if (result_->problems.size() < kMaxProblems) {
      result_->problems.push_back(std::move(problem));
    } else if (result_->problems.size() == kMaxProblems) {
      result_->problems.push_back("… further problems not listed");
    }
  }

 private:
  VerifyResult* result_;
};

}  // namespace

std::string HeaderLine(const v1::ExportFileHeader& header) {
  v1::ExportFileLine line;
  *line.mutable_header() = header;
  return Json(line);
}

std::string EntryLine(const v1::AuditEntry& entry) {
  v1::ExportFileLine line;
  *line.mutable_entry()->mutable_entry() = entry;
  line.mutable_entry()->set_leaf_hash(absl::BytesToHexString(EntryLeafHash(entry)));
  return Json(line);
}

std::string TrailerLine(const v1::ExportFileTrailer& trailer) {
  v1::ExportFileLine line;
  *line.mutable_trailer() = trailer;
  return Json(line);
}

std::string TreeHeadJson(const v1::SignedTreeHead& head) { return Json(head); }

absl::StatusOr<v1::SignedTreeHead> ReadTreeHeadFile(const std::string& path) {
  SILTA_ASSIGN_OR_RETURN(std::string text, common::ReadFile(path, 1ull << 40));
  v1::SignedTreeHead head;
  if (ParseJson(text, &head).ok() && head.tree_size() > 0) return head;
  // An earlier export: its last non-empty line is the trailer.
  size_t end = text.find_last_not_of("\r\n");
  if (end != std::string::npos) {
    const size_t start = text.rfind('\n', end);
    const absl::string_view last =
        absl::string_view(text).substr(start == std::string::npos ? 0 : start + 1,
                                       end + 1 - (start == std::string::npos ? 0 : start + 1));
    v1::ExportFileLine line;
    if (ParseJson(last, &line).ok() && line.has_trailer()) return line.trailer().tree_head();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": neither a tree head in JSON nor an export file ending with its tree head"));
}

VerifyResult VerifyExport(std::istream& in, absl::string_view log_public_key,
                          const std::optional<v1::SignedTreeHead>& previous_head,
                          const VerifyProgress& progress) {
  VerifyResult result;
  Problems problems(&result);
  std::string text;
  uint64_t line_no = 0;

  // Line 1: the header.
  v1::ExportFileLine line;
  if (!std::getline(in, text)) {
    problems.Add("line 1: the file is empty, not an audit export");
    return result;
  }
  line_no = 1;
  if (!ParseJson(text, &line).ok() || !line.has_header() ||
      line.header().format() != kExportFormat) {
    problems.Add(absl::StrCat("line 1: not a Silta audit export header (expected format \"",
                              kExportFormat, "\")"));
    return result;
  }
  const v1::ExportFileHeader header = line.header();
  result.first_index = header.first_index();

  // Entry lines, then the trailer.
  std::vector<std::string> leaves;
  leaves.reserve(header.entries());
  std::vector<uint64_t> line_of;  // entry offset → its line (0 = missing)
  line_of.reserve(header.entries());
  uint64_t expected = header.first_index();
  std::optional<v1::ExportFileTrailer> trailer;
  uint64_t trailer_line = 0;
  v1::AuditEntry entry;
  while (std::getline(in, text)) {
    ++line_no;
    if (progress && line_no % kProgressEvery == 0) progress(line_no, header.entries());
    if (text.empty()) continue;
    if (trailer.has_value()) {
      problems.Add(absl::StrCat("line ", line_no,
                                ": content after the tree head (a line was added at the end)"));
      break;
    }
    line.Clear();
    if (absl::Status s = ParseJson(text, &line); !s.ok()) {
      problems.Add(absl::StrCat("line ", line_no, ": not a valid export line (", s.message(),
                                "): the line was changed"));
      ++expected;
      leaves.push_back(std::string(kHashSize, '\0'));
      line_of.push_back(0);
      continue;
    }
    if (line.has_trailer()) {
      trailer = line.trailer();
      trailer_line = line_no;
      continue;
    }
    if (!line.has_entry()) {
      problems.Add(absl::StrCat("line ", line_no, ": a second header (a line was inserted)"));
      continue;
    }
    const uint64_t index = line.entry().entry().index();
    if (index < expected) {
      const uint64_t offset = index - header.first_index();
      if (index >= header.first_index() && offset < line_of.size() && line_of[offset] != 0) {
        problems.Add(absl::StrCat("line ", line_no, ": entry ", index, " again (first on line ",
                                  line_of[offset], "): a line was inserted, repeated or moved"));
      } else {
        problems.Add(absl::StrCat("line ", line_no, ": entry ", index, " comes after entry ",
                                  expected - 1, ": a line was inserted or moved"));
      }
      continue;
    }
    if (index > expected) {
      problems.Add(absl::StrCat("line ", line_no, ": entry ", index, " where entry ", expected,
                                " belongs: ", index - expected == 1 ? "an entry is" : "entries are",
                                " missing (a line was removed or moved)"));
      for (; expected < index; ++expected) {
        leaves.push_back(std::string(kHashSize, '\0'));
        line_of.push_back(0);
      }
    }
    const std::string leaf = EntryLeafHash(line.entry().entry());
    if (absl::BytesToHexString(leaf) != line.entry().leaf_hash()) {
      problems.Add(absl::StrCat("line ", line_no, ": entry ", index,
                                " does not match its leaf hash: the line was changed"));
    }
    leaves.push_back(leaf);
    line_of.push_back(line_no);
    ++expected;
  }
  if (progress) progress(line_no, header.entries());
  result.entries = leaves.size();
  if (!trailer.has_value()) {
    problems.Add(absl::StrCat("line ", line_no + 1,
                              ": the tree head is missing: the file was "
                              "truncated after line ",
                              line_no));
    return result;
  }
  result.tree_head = trailer->tree_head();
  if (leaves.size() != header.entries()) {
    problems.Add(absl::StrCat("line ", trailer_line, ": the header announced ", header.entries(),
                              " entries but the file holds ", leaves.size(),
                              " (lines were removed or added)"));
  }

  // The tree head's signature.
  const v1::SignedTreeHead& head = trailer->tree_head();
  if (absl::Status s = VerifyTreeHead(log_public_key, head); !s.ok()) {
    problems.Add(absl::StrCat("line ", trailer_line, ": ", s.message()));
    return result;
  }

  // The entries against the signed root.
  if (!leaves.empty()) {
    const v1::RangeProof& range = trailer->range_proof();
    if (range.first_index() != header.first_index() ||
        range.end_index() != header.first_index() + leaves.size() ||
        range.tree_size() != head.tree_size()) {
      problems.Add(absl::StrCat(
          "line ", trailer_line, ": the range proof covers entries ", range.first_index(), "..",
          range.end_index(), " of ", range.tree_size(), ", the file entries ", header.first_index(),
          "..", header.first_index() + leaves.size(), " of ", head.tree_size()));
    } else {
      std::vector<std::string> hashes(range.hashes().begin(), range.hashes().end());
      absl::StatusOr<std::string> root =
          RootFromRange(header.first_index(), leaves, head.tree_size(), hashes);
      if (!root.ok() || *root != head.root_hash()) {
        problems.Add(absl::StrCat(
            "line ", trailer_line, ": the entries do not hash to the signed root",
            result.problems.empty()
                ? ": an entry and its leaf hash were both changed, or the proof was altered"
                : " (see the lines above)"));
      }
    }
  } else if (header.entries() != 0) {
    problems.Add("the export holds no entries");
  }

  // Consistency with an earlier tree head.
  if (previous_head.has_value()) {
    if (absl::Status s = VerifyTreeHead(log_public_key, *previous_head); !s.ok()) {
      problems.Add(absl::StrCat("previous tree head: ", s.message()));
    } else if (previous_head->tree_size() > head.tree_size()) {
      problems.Add(absl::StrCat("previous tree head has ", previous_head->tree_size(),
                                " entries, more than this export's head (", head.tree_size(),
                                "): the log was truncated or forked"));
    } else if (previous_head->tree_size() == head.tree_size()) {
      if (previous_head->root_hash() != head.root_hash()) {
        problems.Add(
            "previous tree head has the same size but another root: the log was "
            "rewritten");
      }
    } else if (!trailer->has_consistency() ||
               trailer->consistency().first_size() != previous_head->tree_size()) {
      problems.Add(absl::StrCat("line ", trailer_line, ": no consistency proof from size ",
                                previous_head->tree_size(),
                                "; export again with "
                                "--consistent-with ",
                                previous_head->tree_size()));
    } else {
      std::vector<std::string> proof(trailer->consistency().path().begin(),
                                     trailer->consistency().path().end());
      if (!VerifyConsistency(previous_head->tree_size(), head.tree_size(), proof,
                             previous_head->root_hash(), head.root_hash())) {
        problems.Add(absl::StrCat("the log of ", head.tree_size(),
                                  " entries is not an extension of the previous tree head (",
                                  previous_head->tree_size(),
                                  " entries): entries were changed or removed since then"));
      }
    }
  }
  return result;
}

}  // namespace silta::audit
