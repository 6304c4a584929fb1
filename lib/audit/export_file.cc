#include "lib/audit/export_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/type.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/merkle.h"
#include "lib/audit/tree_head.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"

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

// protobuf's JSON parser resolves the message's types for every call; a
// resolver that remembers them (one per thread: it is not thread-safe)
// makes verification of a large export about 15% faster.
class CachingTypeResolver final : public google::protobuf::util::TypeResolver {
 public:
  CachingTypeResolver()
      : base_(google::protobuf::util::NewTypeResolverForDescriptorPool(
            "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool())) {}
  google::protobuf::util::Status ResolveMessageType(const std::string& url,
                                                    google::protobuf::Type* type) override {
    auto it = types_.find(url);
    if (it == types_.end()) {
      google::protobuf::Type resolved;
      auto status = base_->ResolveMessageType(url, &resolved);
      if (!status.ok()) return status;
      it = types_.emplace(url, std::move(resolved)).first;
    }
    *type = it->second;
    return google::protobuf::util::Status();
  }
  google::protobuf::util::Status ResolveEnumType(const std::string& url,
                                                 google::protobuf::Enum* type) override {
    auto it = enums_.find(url);
    if (it == enums_.end()) {
      google::protobuf::Enum resolved;
      auto status = base_->ResolveEnumType(url, &resolved);
      if (!status.ok()) return status;
      it = enums_.emplace(url, std::move(resolved)).first;
    }
    *type = it->second;
    return google::protobuf::util::Status();
  }

 private:
  std::unique_ptr<google::protobuf::util::TypeResolver> base_;
  std::map<std::string, google::protobuf::Type> types_;
  std::map<std::string, google::protobuf::Enum> enums_;
};

absl::Status ParseLine(absl::string_view text, v1::ExportFileLine* line) {
  thread_local CachingTypeResolver resolver;
  std::string binary;
  const auto status = google::protobuf::util::JsonToBinaryString(
      &resolver, "type.googleapis.com/silta.v1.ExportFileLine",
      google::protobuf::StringPiece(text.data(), text.size()), &binary);
  if (!status.ok()) return absl::InvalidArgumentError(std::string(status.message()));
  if (!line->ParseFromString(binary)) return absl::InvalidArgumentError("not an export line");
  return absl::OkStatus();
}

// One line parsed, with its entry's leaf hash computed (in parallel).
struct ParsedLine {
  absl::Status status;
  v1::ExportFileLine line;
  std::string leaf;           // entry lines: the recomputed leaf hash
  bool leaf_matches = false;  // ... equal to the line's leaf_hash
};

// Fills `p` from a parsed line.
void Finish(ParsedLine* p) {
  if (!p->status.ok() || !p->line.has_entry()) return;
  const v1::ExportFileEntry& e = p->line.entry();
  if (e.purged()) {
    // Purged under retention: the leaf hash is all that is left; the tree
    // proves it is that leaf. A purged line carries nothing else to check.
    const bool hex = e.leaf_hash().size() == 2 * kHashSize &&
                     std::all_of(e.leaf_hash().begin(), e.leaf_hash().end(),
                                 [](char c) { return absl::ascii_isxdigit(c); });
    p->leaf_matches = hex;
    p->leaf = hex ? absl::HexStringToBytes(e.leaf_hash()) : std::string(kHashSize, '\0');
    return;
  }
  p->leaf = EntryLeafHash(e.entry());
  p->leaf_matches = absl::BytesToHexString(p->leaf) == e.leaf_hash();
}

// Whether a line looks like one JSON object, so that joining lines into an
// array cannot move an object boundary.
bool LooksLikeOneObject(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  return text.size() >= 2 && text.front() == '{' && text.back() == '}';
}

// Parses lines [begin, end). protobuf's JSON parser has a large fixed cost
// per call, so up to kBatch lines are parsed as one {"lines":[...]}
// document; if that fails (or could be ambiguous) each line is parsed on
// its own, so that the bad one is named.
void ParseRange(const std::vector<std::string>& texts, size_t begin, size_t end,
                std::vector<ParsedLine>* out) {
  constexpr size_t kBatch = 256;
  for (size_t start = begin; start < end; start += kBatch) {
    const size_t stop = std::min(end, start + kBatch);
    std::string doc = "{\"lines\":[";
    std::vector<size_t> members;
    bool batchable = true;
    for (size_t i = start; i < stop; ++i) {
      if (texts[i].empty()) continue;
      if (!LooksLikeOneObject(texts[i])) batchable = false;
      if (!members.empty()) doc += ',';
      doc += texts[i];
      members.push_back(i);
    }
    doc += "]}";
    if (batchable && !members.empty()) {
      thread_local CachingTypeResolver resolver;
      std::string binary;
      v1::ExportFileBatch batch;
      const auto status = google::protobuf::util::JsonToBinaryString(
          &resolver, "type.googleapis.com/silta.v1.ExportFileBatch", doc, &binary);
      if (status.ok() && batch.ParseFromString(binary) &&
          static_cast<size_t>(batch.lines_size()) == members.size()) {
        for (size_t k = 0; k < members.size(); ++k) {
          ParsedLine& p = (*out)[members[k]];
          p.line = std::move(*batch.mutable_lines(static_cast<int>(k)));
          Finish(&p);
        }
        continue;
      }
    }
    for (size_t i : members) {
      ParsedLine& p = (*out)[i];
      p.status = ParseLine(texts[i], &p.line);
      Finish(&p);
    }
  }
}

// Parses a block of lines on every core. A thread is worth starting only
// for a thousand lines or more: a new thread must resolve the JSON types
// again, which costs more than parsing a few hundred lines.
std::vector<ParsedLine> ParseBlock(const std::vector<std::string>& texts) {
  constexpr size_t kMinLinesPerThread = 1024;
  std::vector<ParsedLine> out(texts.size());
  const size_t threads =
      std::max<size_t>(1, std::min<size_t>({8, std::thread::hardware_concurrency(),
                                            texts.size() / kMinLinesPerThread}));
  const size_t per = (texts.size() + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (size_t t = 1; t < threads && t * per < texts.size(); ++t) {
    workers.emplace_back(ParseRange, std::cref(texts), t * per,
                         std::min(texts.size(), (t + 1) * per), &out);
  }
  ParseRange(texts, 0, std::min(texts.size(), per), &out);
  for (auto& w : workers) w.join();
  return out;
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
  if (!entry.purged_leaf_hash().empty()) {
    v1::AuditEntry* kept = line.mutable_entry()->mutable_entry();
    kept->set_index(entry.index());
    kept->set_type(entry.type());
    *kept->mutable_at() = entry.at();
    line.mutable_entry()->set_leaf_hash(absl::BytesToHexString(entry.purged_leaf_hash()));
    line.mutable_entry()->set_purged(true);
    return Json(line);
  }
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
  // A tree head file is small; of an export only the tail (the trailer) is read.
  constexpr std::streamoff kTail = 1 << 20;
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  const std::streamoff size = in.tellg();
  const std::streamoff from = size > kTail ? size - kTail : 0;
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  v1::SignedTreeHead head;
  if (from == 0 && ParseJson(text, &head).ok() && head.tree_size() > 0) return head;
  // An earlier export: its last non-empty line is the trailer.
  const size_t end = text.find_last_not_of("\r\n");
  if (end != std::string::npos) {
    const size_t newline = text.rfind('\n', end);
    const size_t start = newline == std::string::npos ? 0 : newline + 1;
    v1::ExportFileLine line;
    if (ParseJson(absl::string_view(text).substr(start, end + 1 - start), &line).ok() &&
        line.has_trailer()) {
      return line.trailer().tree_head();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path, ": neither a tree head in JSON nor an export file ending with its tree head"));
}

VerifyResult VerifyExport(std::istream& in, absl::string_view log_public_key,
                          const std::optional<v1::SignedTreeHead>& previous_head,
                          const VerifyProgress& progress, absl::string_view expected_log_id) {
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
  if (!ParseLine(text, &line).ok() || !line.has_header() ||
      line.header().format() != kExportFormat) {
    problems.Add(absl::StrCat("line 1: not a Silta audit export header (expected format \"",
                              kExportFormat, "\")"));
    return result;
  }
  const v1::ExportFileHeader header = line.header();
  result.first_index = header.first_index();

  // Entry lines, then the trailer.
  std::vector<std::string> leaves;
  // The header's count is what the file claims, not what it holds: reserve
  // no more than a file of that many lines could need, up to a bound (a
  // one-line file announcing 10^15 entries must not exhaust memory).
  constexpr uint64_t kMaxReserve = 1 << 20;
  constexpr uint64_t kMaxGap = 1 << 16;
  const size_t reserve = static_cast<size_t>(std::min<uint64_t>(header.entries(), kMaxReserve));
  leaves.reserve(reserve);
  std::vector<uint64_t> line_of;  // entry offset → its line (0 = missing)
  line_of.reserve(reserve);
  uint64_t expected = header.first_index();
  std::optional<v1::ExportFileTrailer> trailer;
  uint64_t trailer_line = 0;
  constexpr size_t kBlock = 8192;
  std::vector<std::string> block;
  bool done = false;
  while (!done) {
    block.clear();
    while (block.size() < kBlock && std::getline(in, text)) block.push_back(std::move(text));
    if (block.empty()) break;
    const std::vector<ParsedLine> parsed = ParseBlock(block);
    for (size_t i = 0; i < parsed.size(); ++i) {
      ++line_no;
      if (progress && line_no % kProgressEvery == 0) progress(line_no, header.entries());
      if (block[i].empty()) continue;
      if (trailer.has_value()) {
        problems.Add(absl::StrCat("line ", line_no,
                                  ": content after the tree head (a line was added at the end)"));
        done = true;
        break;
      }
      const ParsedLine& p = parsed[i];
      if (!p.status.ok()) {
        problems.Add(absl::StrCat("line ", line_no, ": not a valid export line (",
                                  p.status.message(), "): the line was changed"));
        ++expected;
        leaves.push_back(std::string(kHashSize, '\0'));
        line_of.push_back(0);
        continue;
      }
      if (p.line.has_trailer()) {
        trailer = p.line.trailer();
        trailer_line = line_no;
        continue;
      }
      if (!p.line.has_entry()) {
        problems.Add(absl::StrCat("line ", line_no, ": a second header (a line was inserted)"));
        continue;
      }
      const uint64_t index = p.line.entry().entry().index();
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
        problems.Add(
            absl::StrCat("line ", line_no, ": entry ", index, " where entry ", expected,
                         " belongs: ", index - expected == 1 ? "an entry is" : "entries are",
                         " missing (a line was removed or moved)"));
        // Missing entries get placeholder leaves, so that later lines are
        // still checked at their places; an index far ahead (a changed
        // number, not removed lines) must not make room for all of them.
        if (index - expected > kMaxGap) {
          problems.Add(absl::StrCat("line ", line_no, ": more than ", kMaxGap,
                                    " entries would be missing; the rest of the file is not "
                                    "checked"));
          done = true;
          break;
        }
        for (; expected < index; ++expected) {
          leaves.push_back(std::string(kHashSize, '\0'));
          line_of.push_back(0);
        }
      }
      if (!p.leaf_matches) {
        problems.Add(absl::StrCat("line ", line_no, ": entry ", index,
                                  p.line.entry().purged()
                                      ? " is marked purged but its leaf hash is not 32 bytes of hex"
                                      : " does not match its leaf hash: the line was changed"));
      }
      if (p.line.entry().purged()) ++result.purged;
      leaves.push_back(p.leaf);
      line_of.push_back(line_no);
      ++expected;
    }
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
  if (absl::Status s = VerifyTreeHead(log_public_key, head, expected_log_id); !s.ok()) {
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
    } else if (previous_head->log_id() != head.log_id()) {
      problems.Add(absl::StrCat("previous tree head is of log ", previous_head->log_id(),
                                ", this export of log ", head.log_id(), ": another deployment"));
    } else if (common::ToTime(previous_head->timestamp()) > common::ToTime(head.timestamp())) {
      problems.Add(absl::StrCat(
          "this export's tree head (",
          absl::FormatTime(common::ToTime(head.timestamp()), absl::UTCTimeZone()),
          ") is older than the previous tree head (",
          absl::FormatTime(common::ToTime(previous_head->timestamp()), absl::UTCTimeZone()),
          "): an old head was replayed"));
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

ExportFileWriter::ExportFileWriter(std::string path, const v1::ExportRequest& request)
    : path_(std::move(path)), partial_(path_ + ".partial"), request_(request) {}

absl::StatusOr<std::unique_ptr<ExportFileWriter>> ExportFileWriter::Create(
    std::string path, const v1::ExportRequest& request) {
  std::unique_ptr<ExportFileWriter> writer(new ExportFileWriter(std::move(path), request));
  writer->out_.open(writer->partial_, std::ios::trunc);
  // The log's metadata is for the auditor's eyes: not for other users.
  ::chmod(writer->partial_.c_str(), 0600);
  if (!writer->out_) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", writer->partial_));
  }
  return writer;
}

ExportFileWriter::~ExportFileWriter() {
  if (!finished_) {
    out_.close();
    std::remove(partial_.c_str());
  }
}

absl::Status ExportFileWriter::Add(const v1::ExportChunk& chunk) {
  if (first_) {
    total_ = chunk.total_entries();
    first_index_ = chunk.entries_size() > 0 ? chunk.entries(0).index() : 0;
    v1::ExportFileHeader header;
    header.set_format(std::string(kExportFormat));
    header.set_first_index(first_index_);
    header.set_entries(total_);
    if (request_.has_from()) *header.mutable_from() = request_.from();
    if (request_.has_until()) *header.mutable_until() = request_.until();
    out_ << HeaderLine(header) << "\n";
    first_ = false;
  }
  for (const v1::AuditEntry& e : chunk.entries()) out_ << EntryLine(e) << "\n";
  written_ += static_cast<uint64_t>(chunk.entries_size());
  if (chunk.has_tree_head()) {
    *trailer_.mutable_tree_head() = chunk.tree_head();
    if (chunk.has_range_proof()) *trailer_.mutable_range_proof() = chunk.range_proof();
    if (chunk.has_consistency()) *trailer_.mutable_consistency() = chunk.consistency();
  }
  if (!out_) return absl::PermissionDeniedError(absl::StrCat("cannot write ", partial_));
  return absl::OkStatus();
}

absl::Status ExportFileWriter::Finish() {
  if (first_ || !trailer_.has_tree_head() || written_ != total_) {
    return absl::DataLossError("the export stream ended early; nothing written");
  }
  out_ << TrailerLine(trailer_) << "\n";
  out_.close();
  if (!out_ || std::rename(partial_.c_str(), path_.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot write ", path_));
  }
  finished_ = true;
  return absl::OkStatus();
}

}  // namespace silta::audit
