// File: tests/testing/webdriver.h
//
// Drives Debian's Chromium headless through Debian's chromedriver, over the
// W3C WebDriver protocol (JSON over HTTP; civetweb's client, protobuf's
// JSON). For the console's browser tests: a real browser runs the page,
// its scripts, WebCrypto and its Content-Security-Policy.
//
// Example:
//   auto browser = Browser::Start(MakeTempDir("browser"));
//   browser->Navigate(link);
//   ASSERT_TRUE(browser->WaitFor("document.querySelector('#log-size')"));
//   std::string size = browser->Text("#log-size");
//
// Thread-compatible.
#ifndef SILTA_TESTS_TESTING_WEBDRIVER_H_
#define SILTA_TESTS_TESTING_WEBDRIVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "tests/testing/process.h"

namespace silta::testing {

class Browser {
 public:
  // Starts chromedriver and one headless Chromium session with a fresh
  // profile in `dir`. FAILED_PRECONDITION if they are not installed.
  static absl::StatusOr<std::unique_ptr<Browser>> Start(const std::string& dir);
  ~Browser();

  absl::Status Navigate(const std::string& url);
  absl::StatusOr<std::string> CurrentUrl();
  // Runs `script` (a function body; `arguments` holds `args`) in the page
  // and returns its result.
  absl::StatusOr<google::protobuf::Value> Execute(const std::string& script,
                                                  const std::vector<std::string>& args = {});
  // Execute(), as a string ("" for null or undefined).
  std::string ExecuteString(const std::string& script);
  // Polls `expression` until it is truthy; false on timeout.
  bool WaitFor(const std::string& expression, absl::Duration timeout = absl::Seconds(20));
  // The visible text of the first element matching `css`, or "".
  std::string Text(const std::string& css);
  // Clicks the first element matching `css`, as a user would.
  absl::Status Click(const std::string& css);
  // Types `text` into the first element matching `css`, key by key.
  absl::Status Type(const std::string& css, const std::string& text);
  // Resizes the window (CSS pixels at 100%: 640 wide shows a 1280-pixel
  // screen at 200% zoom).
  absl::Status SetWindowSize(int width, int height);
  // Saves a PNG of the window.
  absl::Status Screenshot(const std::string& path);
  // The browser's console messages since the last call.
  std::vector<std::string> ConsoleLog();

 private:
  Browser(std::unique_ptr<ChildProcess> driver, int port)
      : driver_(std::move(driver)), port_(port) {}
  absl::StatusOr<google::protobuf::Value> Call(const std::string& method, const std::string& path,
                                               const google::protobuf::Struct* body);
  absl::StatusOr<std::string> FindElement(const std::string& css);

  std::unique_ptr<ChildProcess> driver_;
  int port_;
  std::string session_;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_WEBDRIVER_H_
