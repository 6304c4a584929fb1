#include "lib/identity/spiffe_id.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace silta::identity {
namespace {

constexpr absl::string_view kScheme = "spiffe://";
constexpr size_t kMaxSegment = 64;
constexpr size_t kMaxTrustDomain = 255;
constexpr absl::string_view kExpectedForm =
    "expected spiffe://<trust-domain>/org/<org-id>/sys/<system>";

bool IsSegment(absl::string_view s) {
  if (s.empty() || s.size() > kMaxSegment) return false;
  if (!absl::ascii_islower(s[0]) && !absl::ascii_isdigit(s[0])) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

bool IsTrustDomain(absl::string_view s) {
  if (s.empty() || s.size() > kMaxTrustDomain) return false;
  for (char c : s) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-' && c != '.') {
      return false;
    }
  }
  return s.front() != '.' && s.back() != '.';
}

absl::Status Invalid(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("SPIFFE id: ", what, "; ", kExpectedForm));
}

}  // namespace

bool IsValidOrgId(absl::string_view org_id) { return IsSegment(org_id); }

absl::StatusOr<SpiffeId> ParseSpiffeId(absl::string_view uri) {
  if (!absl::StartsWith(uri, kScheme)) return Invalid("not a spiffe:// URI");
  absl::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) return Invalid("no path");
  const absl::string_view domain = rest.substr(0, slash);
  if (!IsTrustDomain(domain)) return Invalid("malformed trust domain");
  const std::vector<absl::string_view> segments = absl::StrSplit(rest.substr(slash + 1), '/');
  if (segments.size() != 4 || segments[0] != "org" || segments[2] != "sys") {
    return Invalid("path is not /org/<org-id>/sys/<system>");
  }
  if (!IsSegment(segments[1])) return Invalid("malformed org id");
  if (!IsSegment(segments[3])) return Invalid("malformed system name");
  return SpiffeId{std::string(domain), std::string(segments[1]), std::string(segments[3])};
}

}  // namespace silta::identity
