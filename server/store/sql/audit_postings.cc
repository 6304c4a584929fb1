#include "server/store/sql/audit_postings.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"

namespace silta::store {

std::string EncodePostingGaps(absl::Span<const uint64_t> idxs) {
  std::string gaps;
  if (idxs.size() < 2) return gaps;
  constexpr size_t kMaxVarintBytes = 10;
  gaps.resize((idxs.size() - 1) * kMaxVarintBytes);
  auto* out = reinterpret_cast<uint8_t*>(gaps.data());
  auto* const begin = out;
  for (size_t i = 1; i < idxs.size(); ++i) {
    out = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(idxs[i] - idxs[i - 1], out);
  }
  gaps.resize(static_cast<size_t>(out - begin));
  return gaps;
}

absl::StatusOr<std::vector<uint64_t>> DecodePosting(uint64_t first, absl::string_view gaps) {
  // The largest index a row can hold: the store's columns are signed.
  constexpr uint64_t kTop = std::numeric_limits<int64_t>::max();
  const auto corrupt = [first] {
    return absl::InternalError(
        absl::StrCat("the audit index's posting row at ", first, " is corrupt"));
  };
  if (first > kTop) return corrupt();
  std::vector<uint64_t> idxs = {first};
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(gaps.data()),
                                            static_cast<int>(gaps.size()));
  while (in.CurrentPosition() < static_cast<int>(gaps.size())) {
    uint64_t gap = 0;
    if (!in.ReadVarint64(&gap) || gap == 0 || gap > kTop - idxs.back()) return corrupt();
    idxs.push_back(idxs.back() + gap);
  }
  return idxs;
}

}  // namespace silta::store
