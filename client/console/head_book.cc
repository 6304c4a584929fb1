#include "client/console/head_book.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "lib/audit/export_file.h"
#include "lib/audit/merkle.h"
#include "lib/audit/tree_head.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"

namespace silta::console {
namespace {

using google::protobuf::util::TimeUtil;

// The heads kept in `path`, oldest first; empty if there is no file.
absl::StatusOr<std::vector<v1::SignedTreeHead>> ReadHeads(const std::string& path) {
  if (!std::filesystem::exists(path)) return std::vector<v1::SignedTreeHead>();
  SILTA_ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  std::vector<v1::SignedTreeHead> heads;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    ++line_number;
    v1::SignedTreeHead head;
    if (!google::protobuf::util::JsonStringToMessage(std::string(line), &head).ok()) {
      return absl::DataLossError(absl::StrCat(path, ":", line_number,
                                              ": not a tree head; move the file aside to "
                                              "start the history again"));
    }
    heads.push_back(std::move(head));
  }
  return heads;
}

absl::Status AppendHead(const std::string& dir, const std::string& path,
                        const v1::SignedTreeHead& head) {
  absl::Status made = common::MakePrivateDir(dir);
  if (!made.ok()) return made;
  std::ofstream out(path, std::ios::app);
  out << audit::TreeHeadJson(head) << "\n";
  out.close();
  if (!out) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  ::chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

}  // namespace

std::string DefaultStateDir() {
  const char* data = std::getenv("XDG_DATA_HOME");
  if (data != nullptr && *data != '\0') return absl::StrCat(data, "/silta/console");
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr ? home : ".", "/.local/share/silta/console");
}

std::string HeadBook::FileFor(const std::string& log_id) const {
  std::string name;
  for (char c : log_id) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '-';
    name.push_back(plain ? c : '_');
  }
  return absl::StrCat(dir_, "/heads-", name.empty() ? "unnamed" : name, ".jsonl");
}

absl::StatusOr<HeadHistory> HeadBook::Check(const v1::SignedTreeHead& head,
                                            const LogReader& reader) {
  absl::MutexLock lock(&mu_);
  HeadHistory history;
  const absl::Status signature = audit::VerifyTreeHead(log_public_key_, head, expected_log_id_);
  if (!signature.ok()) {
    history.set_state(HeadHistory::BAD_SIGNATURE);
    history.set_detail(std::string(signature.message()));
    return history;
  }
  const std::string path = FileFor(head.log_id());
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::SignedTreeHead> heads, ReadHeads(path));
  history.set_heads_kept(static_cast<uint32_t>(heads.size()));
  if (heads.empty()) {
    SILTA_RETURN_IF_ERROR(AppendHead(dir_, path, head));
    history.set_state(HeadHistory::FIRST_SEEN);
    history.set_heads_kept(1);
    return history;
  }
  const v1::SignedTreeHead& previous = heads.back();
  *history.mutable_previous() = previous;
  const auto inconsistent = [&](std::string detail) {
    history.set_state(HeadHistory::INCONSISTENT);
    history.set_detail(std::move(detail));
    return history;
  };
  if (head.log_key_id() != previous.log_key_id()) {
    return inconsistent(absl::StrCat("signed by log key ", head.log_key_id(), ", the kept head by ",
                                     previous.log_key_id()));
  }
  if (head.tree_size() < previous.tree_size()) {
    return inconsistent(absl::StrCat("the log shrank from ", previous.tree_size(), " to ",
                                     head.tree_size(), " entries"));
  }
  if (head.timestamp() < previous.timestamp()) {
    return inconsistent(absl::StrCat("signed ", TimeUtil::ToString(head.timestamp()),
                                     ", before the kept head (",
                                     TimeUtil::ToString(previous.timestamp()), ")"));
  }
  if (head.tree_size() == previous.tree_size()) {
    if (head.root_hash() != previous.root_hash()) {
      return inconsistent(
          absl::StrCat("the root of ", head.tree_size(), " entries differs from the kept one"));
    }
    history.set_state(HeadHistory::CONSISTENT);
    return history;
  }
  if (previous.tree_size() > 0) {
    SILTA_ASSIGN_OR_RETURN(v1::ConsistencyProof proof,
                           reader.ConsistencyProof(previous.tree_size(), head.tree_size()));
    const std::vector<std::string> path_hashes(proof.path().begin(), proof.path().end());
    *history.mutable_proof() = std::move(proof);
    if (!audit::VerifyConsistency(previous.tree_size(), head.tree_size(), path_hashes,
                                  previous.root_hash(), head.root_hash())) {
      return inconsistent(absl::StrCat("the consistency proof from ", previous.tree_size(), " to ",
                                       head.tree_size(), " entries does not verify"));
    }
  }
  SILTA_RETURN_IF_ERROR(AppendHead(dir_, path, head));
  history.set_state(HeadHistory::CONSISTENT);
  history.set_heads_kept(history.heads_kept() + 1);
  return history;
}

}  // namespace silta::console
