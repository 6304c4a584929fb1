#include "client/console/session_gate.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/random.h"

namespace silta::console {
namespace {

absl::StatusOr<std::string> RandomToken() {
  std::array<uint8_t, 32> bytes{};
  SILTA_RETURN_IF_ERROR(crypto::RandomBytes(absl::MakeSpan(bytes)));
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Compares in time independent of where the strings differ.
bool SameSecret(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SessionGate>> SessionGate::Create() {
  SILTA_ASSIGN_OR_RETURN(std::string login, RandomToken());
  SILTA_ASSIGN_OR_RETURN(std::string session, RandomToken());
  SILTA_ASSIGN_OR_RETURN(std::string csrf, RandomToken());
  return std::unique_ptr<SessionGate>(
      new SessionGate(std::move(login), std::move(session), std::move(csrf)));
}

std::optional<std::string> SessionGate::Exchange(absl::string_view token) {
  absl::MutexLock lock(&mu_);
  if (exchanged_ || !SameSecret(token, login_token_)) return std::nullopt;
  exchanged_ = true;
  // No Max-Age: the cookie ends with the browser session, and the
  // session itself with the console process.
  return absl::StrCat(kCookieName, "=", session_id_, "; Path=/; HttpOnly; SameSite=Strict");
}

bool SessionGate::Authenticated(absl::string_view cookie_header) const {
  {
    absl::MutexLock lock(&mu_);
    if (!exchanged_) return false;
  }
  for (absl::string_view cookie : absl::StrSplit(cookie_header, ';')) {
    cookie = absl::StripLeadingAsciiWhitespace(cookie);
    if (absl::ConsumePrefix(&cookie, kCookieName) && absl::ConsumePrefix(&cookie, "=") &&
        SameSecret(absl::StripTrailingAsciiWhitespace(cookie), session_id_)) {
      return true;
    }
  }
  return false;
}

bool SessionGate::CsrfValid(absl::string_view header) const {
  return SameSecret(absl::StripAsciiWhitespace(header), csrf_token_);
}

}  // namespace silta::console
