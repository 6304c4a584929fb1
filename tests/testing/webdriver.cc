#include "tests/testing/webdriver.h"

#include <civetweb.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tests/integration/siltad_fixture.h"

namespace silta::testing {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kChromium[] = "/usr/bin/chromium";
constexpr char kChromedriver[] = "/usr/bin/chromedriver";
// The W3C name of an element reference.
constexpr char kElementKey[] = "element-6066-11e4-a52e-4f735466cecf";

Value StringValue(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Value ListOf(const std::vector<std::string>& items) {
  Value v;
  for (const std::string& item : items) *v.mutable_list_value()->add_values() = StringValue(item);
  return v;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Browser>> Browser::Start(const std::string& dir) {
  for (const char* binary : {kChromium, kChromedriver}) {
    if (!std::filesystem::exists(binary)) {
      return absl::FailedPreconditionError(
          absl::StrCat(binary, " is missing: apt-get install chromium chromium-driver"));
    }
  }
  std::filesystem::create_directories(dir);
  mg_init_library(0);
  const int port = FreeLoopbackPort();
  auto driver =
      ChildProcess::Start({kChromedriver, absl::StrCat("--port=", port), "--allowed-ips=127.0.0.1"},
                          {}, dir + "/chromedriver.log");
  if (!driver.ok()) return driver.status();
  std::unique_ptr<Browser> browser(new Browser(*std::move(driver), port));
  // Ready when /status answers.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!browser->Call("GET", "/status", nullptr).ok()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("chromedriver did not start: " + browser->driver_->Log());
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // The flags this machine's closed network needs (no background
  // connections), a fresh profile, and the browser's console log.
  Struct body;
  Struct* always = (*(*body.mutable_fields())["capabilities"]
                         .mutable_struct_value()
                         ->mutable_fields())["alwaysMatch"]
                       .mutable_struct_value();
  (*always->mutable_fields())["browserName"] = StringValue("chrome");
  Struct* chrome = (*always->mutable_fields())["goog:chromeOptions"].mutable_struct_value();
  (*chrome->mutable_fields())["binary"] = StringValue(kChromium);
  (*chrome->mutable_fields())["args"] =
      ListOf({"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB",
              absl::StrCat("--user-data-dir=", dir, "/profile")});
  (*(*always->mutable_fields())["goog:loggingPrefs"]
        .mutable_struct_value()
        ->mutable_fields())["browser"] = StringValue("ALL");
  absl::StatusOr<Value> session = browser->Call("POST", "/session", &body);
  if (!session.ok()) return session.status();
  browser->session_ = session->struct_value().fields().at("sessionId").string_value();
  return browser;
}

Browser::~Browser() {
  if (!session_.empty()) Call("DELETE", absl::StrCat("/session/", session_), nullptr).IgnoreError();
}

absl::StatusOr<Value> Browser::Call(const std::string& method, const std::string& path,
                                    const Struct* body) {
  std::string json;
  if (body != nullptr) (void)google::protobuf::util::MessageToJsonString(*body, &json);
  char error[256] = "";
  mg_connection* conn = mg_connect_client("127.0.0.1", port_, 0, error, sizeof(error));
  if (conn == nullptr) return absl::UnavailableError(absl::StrCat("chromedriver: ", error));
  mg_printf(conn,
            "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            method.c_str(), path.c_str(), port_, json.size());
  mg_write(conn, json.data(), json.size());
  if (mg_get_response(conn, error, sizeof(error), 120000) < 0) {
    mg_close_connection(conn);
    return absl::UnavailableError(absl::StrCat("chromedriver: ", error));
  }
  const int status = mg_get_response_info(conn)->status_code;
  std::string response;
  char buffer[16384];
  for (int n; (n = mg_read(conn, buffer, sizeof(buffer))) > 0;) response.append(buffer, n);
  mg_close_connection(conn);
  Struct parsed;
  if (!google::protobuf::util::JsonStringToMessage(response, &parsed).ok()) {
    return absl::InternalError(absl::StrCat("chromedriver answered ", status, ": ", response));
  }
  const Value value = parsed.fields().count("value") ? parsed.fields().at("value") : Value();
  if (status != 200) {
    return absl::InternalError(absl::StrCat(method, " ", path, ": ", status, ": ", response));
  }
  return value;
}

absl::Status Browser::Navigate(const std::string& url) {
  Struct body;
  (*body.mutable_fields())["url"] = StringValue(url);
  return Call("POST", absl::StrCat("/session/", session_, "/url"), &body).status();
}

absl::StatusOr<std::string> Browser::CurrentUrl() {
  absl::StatusOr<Value> url = Call("GET", absl::StrCat("/session/", session_, "/url"), nullptr);
  if (!url.ok()) return url.status();
  return url->string_value();
}

absl::StatusOr<Value> Browser::Execute(const std::string& script,
                                       const std::vector<std::string>& args) {
  Struct body;
  (*body.mutable_fields())["script"] = StringValue(script);
  *(*body.mutable_fields())["args"].mutable_list_value() = ListOf(args).list_value();
  return Call("POST", absl::StrCat("/session/", session_, "/execute/sync"), &body);
}

std::string Browser::ExecuteString(const std::string& script) {
  absl::StatusOr<Value> value = Execute(script);
  if (!value.ok()) return "";
  if (value->has_string_value()) return value->string_value();
  if (value->has_number_value()) return absl::StrCat(value->number_value());
  if (value->has_bool_value()) return value->bool_value() ? "true" : "false";
  return "";
}

bool Browser::WaitFor(const std::string& expression, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (ExecuteString(absl::StrCat("return !!(", expression, ");")) == "true") return true;
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string Browser::Text(const std::string& css) {
  absl::StatusOr<Value> value = Execute(
      "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';", {css});
  return value.ok() ? value->string_value() : "";
}

absl::StatusOr<std::string> Browser::FindElement(const std::string& css) {
  Struct body;
  (*body.mutable_fields())["using"] = StringValue("css selector");
  (*body.mutable_fields())["value"] = StringValue(css);
  absl::StatusOr<Value> found =
      Call("POST", absl::StrCat("/session/", session_, "/element"), &body);
  if (!found.ok()) return found.status();
  return found->struct_value().fields().at(kElementKey).string_value();
}

absl::Status Browser::Click(const std::string& css) {
  absl::StatusOr<std::string> element = FindElement(css);
  if (!element.ok()) return element.status();
  Struct empty;
  return Call("POST", absl::StrCat("/session/", session_, "/element/", *element, "/click"), &empty)
      .status();
}

absl::Status Browser::Type(const std::string& css, const std::string& text) {
  absl::StatusOr<std::string> element = FindElement(css);
  if (!element.ok()) return element.status();
  Struct body;
  (*body.mutable_fields())["text"] = StringValue(text);
  return Call("POST", absl::StrCat("/session/", session_, "/element/", *element, "/value"), &body)
      .status();
}

absl::Status Browser::SetWindowSize(int width, int height) {
  Struct body;
  (*body.mutable_fields())["width"].set_number_value(width);
  (*body.mutable_fields())["height"].set_number_value(height);
  return Call("POST", absl::StrCat("/session/", session_, "/window/rect"), &body).status();
}

absl::Status Browser::Screenshot(const std::string& path) {
  absl::StatusOr<Value> png =
      Call("GET", absl::StrCat("/session/", session_, "/screenshot"), nullptr);
  if (!png.ok()) return png.status();
  std::string bytes;
  if (!absl::Base64Unescape(png->string_value(), &bytes)) {
    return absl::InternalError("screenshot: not base64");
  }
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  return out ? absl::OkStatus() : absl::InternalError("cannot write " + path);
}

std::vector<std::string> Browser::ConsoleLog() {
  Struct body;
  (*body.mutable_fields())["type"] = StringValue("browser");
  absl::StatusOr<Value> log = Call("POST", absl::StrCat("/session/", session_, "/se/log"), &body);
  std::vector<std::string> lines;
  if (!log.ok()) return lines;
  for (const Value& entry : log->list_value().values()) {
    const auto& fields = entry.struct_value().fields();
    if (fields.count("message")) lines.push_back(fields.at("message").string_value());
  }
  return lines;
}

}  // namespace silta::testing
