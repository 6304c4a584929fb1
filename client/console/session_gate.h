// File: client/console/session_gate.h
//
// Who may use the console's pages: the one browser that opened the link
// the console printed. The link carries a one-time token; exchanging it
// sets an HttpOnly, SameSite=Strict session cookie and kills the token.
// Every later request must carry the cookie, and every POST also the CSRF
// token the page reads from GET /api/session (a header a page of another
// origin cannot set).
//
// Example:
//   auto gate = SessionGate::Create();
//   printf("Open http://127.0.0.1:%d/?token=%s\n", port, gate->login_token().c_str());
//   std::optional<std::string> cookie = gate->Exchange(token_from_url);
//   if (gate->Authenticated(cookie_header)) ...
//
// Thread-safe.
#ifndef SILTA_CLIENT_CONSOLE_SESSION_GATE_H_
#define SILTA_CLIENT_CONSOLE_SESSION_GATE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace silta::console {

class SessionGate {
 public:
  // The cookie's name.
  static constexpr absl::string_view kCookieName = "silta_console";

  // A gate with a fresh login token and no session yet. INTERNAL if the
  // CSPRNG fails.
  static absl::StatusOr<std::unique_ptr<SessionGate>> Create();

  // The token of the printed link (64 hex digits); dead once exchanged.
  const std::string& login_token() const { return login_token_; }
  // The CSRF token of the session.
  const std::string& csrf_token() const { return csrf_token_; }

  // Exchanges the link's token for the session: the Set-Cookie header's
  // value, once. nullopt for a wrong token and for the right one used
  // again.
  std::optional<std::string> Exchange(absl::string_view token);

  // True if the request's Cookie header carries the session's cookie.
  bool Authenticated(absl::string_view cookie_header) const;
  // True if a POST's X-Silta-CSRF header is the session's CSRF token.
  bool CsrfValid(absl::string_view header) const;

 private:
  SessionGate(std::string login_token, std::string session_id, std::string csrf_token)
      : login_token_(std::move(login_token)),
        session_id_(std::move(session_id)),
        csrf_token_(std::move(csrf_token)) {}

  const std::string login_token_;
  const std::string session_id_;
  const std::string csrf_token_;
  mutable absl::Mutex mu_;
  bool exchanged_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_SESSION_GATE_H_
