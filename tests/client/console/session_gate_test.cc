// The console's link token works once, and only the cookie it sets opens
// the console afterwards.
#include "client/console/session_gate.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::console {
namespace {

using ::testing::HasSubstr;

std::string CookieValue(const std::string& set_cookie) {
  const size_t eq = set_cookie.find('=');
  return set_cookie.substr(eq + 1, set_cookie.find(';') - eq - 1);
}

TEST(SessionGateTest, TheTokenWorksOnceAndTheCookieIsHttpOnlyAndStrict) {
  auto gate = SessionGate::Create();
  ASSERT_TRUE(gate.ok());
  EXPECT_EQ((*gate)->login_token().size(), 64u);
  EXPECT_FALSE((*gate)->Authenticated("")) << "no session before the link is opened";
  EXPECT_FALSE((*gate)->Exchange("0000").has_value());
  EXPECT_FALSE((*gate)->Exchange("").has_value());
  const std::optional<std::string> cookie = (*gate)->Exchange((*gate)->login_token());
  ASSERT_TRUE(cookie.has_value());
  EXPECT_THAT(*cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(*cookie, HasSubstr("SameSite=Strict"));
  EXPECT_FALSE((*gate)->Exchange((*gate)->login_token()).has_value()) << "the token is dead";

  const std::string value = CookieValue(*cookie);
  EXPECT_NE(value, (*gate)->login_token());
  EXPECT_TRUE((*gate)->Authenticated(absl::StrCat("silta_console=", value)));
  EXPECT_TRUE((*gate)->Authenticated(absl::StrCat("theme=dark; silta_console=", value, "; x=1")));
  EXPECT_FALSE((*gate)->Authenticated("silta_console="));
  EXPECT_FALSE((*gate)->Authenticated(absl::StrCat("silta_console=", value.substr(1))));
  EXPECT_FALSE((*gate)->Authenticated(absl::StrCat("other_silta_console=", value)));
  EXPECT_FALSE((*gate)->Authenticated(absl::StrCat("silta_console=", (*gate)->login_token())));
}

TEST(SessionGateTest, OnlyTheSessionsCsrfTokenPasses) {
  auto gate = SessionGate::Create();
  ASSERT_TRUE(gate.ok());
  EXPECT_TRUE((*gate)->CsrfValid((*gate)->csrf_token()));
  EXPECT_FALSE((*gate)->CsrfValid(""));
  EXPECT_FALSE((*gate)->CsrfValid((*gate)->login_token()));
  auto other = SessionGate::Create();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*gate)->CsrfValid((*other)->csrf_token())) << "every console has its own";
}

}  // namespace
}  // namespace silta::console
