#include "client/console/console_server.h"

#include <civetweb.h>

#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/console/assets.h"
#include "client/console/console_api.h"
#include "client/reports/report_text.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "lib/common/listener_wake.h"
#include "lib/common/time_util.h"

namespace silta::console {
namespace {

// Sent with every response: the page runs only its own scripts, is never
// framed, never cached, and never tells another site where it was.
constexpr char kSecurityHeaders[] =
    "Content-Security-Policy: default-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n"
    "Cross-Origin-Resource-Policy: same-origin\r\n";

void Respond(mg_connection* conn, int status, absl::string_view reason,
             absl::string_view content_type, absl::string_view body,
             absl::string_view extra_headers = "") {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n%s"
            "Connection: close\r\n\r\n",
            status, std::string(reason).c_str(), kSecurityHeaders,
            std::string(content_type).c_str(), body.size(), std::string(extra_headers).c_str());
  mg_write(conn, body.data(), body.size());
}

// A short page for a browser that may not use the console.
void RespondRefused(mg_connection* conn, int status, absl::string_view reason,
                    absl::string_view why) {
  Respond(conn, status, reason, "text/html; charset=utf-8",
          absl::StrCat("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">"
                       "<title>Silta console</title><h1>",
                       reason, "</h1><p>", why, "</p></html>\n"));
}

std::string Json(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_enums_as_ints = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

const char* HttpReason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Bad Gateway";
  }
}

// siltad's answer as an HTTP status: its gRPC code name and message go to
// the page, which shows them.
void RespondError(mg_connection* conn, const absl::Status& status) {
  int http = 502;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      http = 400;
      break;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      http = 403;
      break;
    case absl::StatusCode::kNotFound:
      http = 404;
      break;
    case absl::StatusCode::kFailedPrecondition:
      http = 409;
      break;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      http = 503;
      break;
    default:
      break;
  }
  Error error;
  error.set_code(absl::StatusCodeToString(status.code()));
  error.set_message(std::string(status.message()));
  Respond(conn, http, HttpReason(http), "application/json", Json(error));
}

template <typename Message>
void RespondWith(mg_connection* conn, const absl::StatusOr<Message>& result) {
  if (!result.ok()) {
    RespondError(conn, result.status());
    return;
  }
  Respond(conn, 200, "OK", "application/json", Json(*result));
}

// A parameter of a query string, URL-decoded; "" if absent.
std::string Param(const std::string& query, const char* name) {
  std::vector<char> buffer(4096);
  const int n = mg_get_var(query.data(), query.size(), name, buffer.data(), buffer.size());
  return n > 0 ? std::string(buffer.data(), static_cast<size_t>(n)) : "";
}

// A parameter of the request's URL.
std::string Param(const mg_request_info* info, const char* name) {
  return Param(std::string(info->query_string != nullptr ? info->query_string : ""), name);
}

// A date (midnight in `zone`, the console's) or an RFC 3339 time.
bool ParseTime(const std::string& text, absl::TimeZone zone, google::protobuf::Timestamp* out) {
  absl::Time t;
  if (!reports::ParseDateOrTime(text, zone, &t)) return false;
  *out = common::ToTimestamp(t);
  return true;
}

// Parses the entries table's filters. Each list is comma-separated enum
// numbers.
absl::StatusOr<v1::QueryEntriesRequest> EntriesFilters(const std::string& info,
                                                       absl::TimeZone zone) {
  v1::QueryEntriesRequest request;
  request.set_case_id(Param(info, "case_id"));
  request.set_org_id(Param(info, "org_id"));
  request.set_purpose(Param(info, "purpose"));
  request.set_statute(Param(info, "statute"));
  request.set_page_token(Param(info, "page_token"));
  const auto numbers = [&](const char* name, auto add) -> absl::Status {
    for (absl::string_view part : absl::StrSplit(Param(info, name), ',', absl::SkipEmpty())) {
      int value = 0;
      if (!absl::SimpleAtoi(part, &value)) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": not a number: ", part));
      }
      add(value);
    }
    return absl::OkStatus();
  };
  absl::Status status =
      numbers("types", [&](int v) { request.add_types(static_cast<v1::AuditEventType>(v)); });
  if (!status.ok()) return status;
  status =
      numbers("categories", [&](int v) { request.add_categories(static_cast<v1::Category>(v)); });
  if (!status.ok()) return status;
  const std::string page_size = Param(info, "page_size");
  uint32_t size = 0;
  if (!page_size.empty() && !absl::SimpleAtoi(page_size, &size)) {
    return absl::InvalidArgumentError("page_size: not a number");
  }
  request.set_page_size(size);
  for (const char* name : {"from", "until"}) {
    const std::string text = Param(info, name);
    if (text.empty()) continue;
    google::protobuf::Timestamp* ts =
        std::string(name) == "from" ? request.mutable_from() : request.mutable_until();
    if (!ParseTime(text, zone, ts)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": use a date such as 2026-10-01 or an RFC 3339 time"));
    }
  }
  return request;
}

bool IsMonth(const std::string& month) {
  absl::Time t;
  return month.size() == 7 && absl::ParseTime("%Y-%m", month, &t, nullptr);
}

// A POST's body, at most 16 KiB.
absl::StatusOr<std::string> ReadBody(mg_connection* conn) {
  constexpr int64_t kMaxBody = 16 * 1024;
  const int64_t length = mg_get_request_info(conn)->content_length;
  if (length < 0 || length > kMaxBody) {
    return absl::InvalidArgumentError("the request body is missing or too large");
  }
  std::string body(static_cast<size_t>(length), '\0');
  size_t read = 0;
  while (read < body.size()) {
    const int n = mg_read(conn, body.data() + read, body.size() - read);
    if (n <= 0) return absl::InvalidArgumentError("the request body ended early");
    read += static_cast<size_t>(n);
  }
  return body;
}

bool ParseJson(const std::string& body, google::protobuf::Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  return google::protobuf::util::JsonStringToMessage(body, message, options).ok();
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || absl::StartsWith(host, "127.");
}

}  // namespace

ConsoleServer::ConsoleServer(ConsoleOptions options, std::unique_ptr<LogReader> reader,
                             std::unique_ptr<SessionGate> gate)
    : options_(std::move(options)),
      reader_(std::move(reader)),
      gate_(std::move(gate)),
      heads_(options_.state_dir, options_.log_public_key, options_.log_id),
      jobs_(reader_.get(), options_.export_dir, options_.log_public_key, options_.log_id) {}

absl::StatusOr<std::unique_ptr<ConsoleServer>> ConsoleServer::Start(
    ConsoleOptions options, std::unique_ptr<LogReader> reader) {
  if (options.log_public_key.size() != 32) {
    return absl::InvalidArgumentError("the log's public key must be 32 bytes (Ed25519)");
  }
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(options.listen).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: ", options.listen, " is not host:port, e.g. 127.0.0.1:0"));
  }
  std::string host = options.listen.substr(0, colon);
  if (!IsLoopbackHost(host)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen: ", host,
                     " is not a loopback address: the console serves only this workstation "
                     "(use 127.0.0.1)"));
  }
  if (host == "localhost") host = "127.0.0.1";
  if (options.state_dir.empty()) options.state_dir = DefaultStateDir();
  if (options.export_dir.empty()) options.export_dir = DefaultExportDir();
  absl::StatusOr<std::unique_ptr<SessionGate>> gate = SessionGate::Create();
  if (!gate.ok()) return gate.status();
  std::unique_ptr<ConsoleServer> server(
      new ConsoleServer(std::move(options), std::move(reader), *std::move(gate)));
  const std::string bind = host == "::1" || host == "[::1]" ? absl::StrCat("[::1]:", port)
                                                            : absl::StrCat(host, ":", port);
  server->host_ = host == "::1" ? "[::1]" : host;
  const char* civet_options[] = {"listening_ports",          bind.c_str(), "num_threads", "4",
                                 "enable_directory_listing", "no",         nullptr};
  mg_init_library(0);
  mg_callbacks callbacks{};
  // civetweb's own messages can quote a request line: keep them out.
  callbacks.log_message = [](const mg_connection*, const char*) { return 1; };
  callbacks.log_access = [](const mg_connection*, const char*) { return 1; };
  server->ctx_ = mg_start(&callbacks, nullptr, civet_options);
  if (server->ctx_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", bind, " (in use?)"));
  }
  // The port before the handler: a request's thread reads it.
  mg_server_port ports[1]{};
  if (mg_get_server_ports(server->ctx_, 1, ports) >= 1) server->port_ = ports[0].port;
  mg_set_request_handler(server->ctx_, "/", &ConsoleServer::Handle, server.get());
  return server;
}

ConsoleServer::~ConsoleServer() {
  if (ctx_ == nullptr) return;
  common::StopWakingListener(port_, host_ == "[::1]", [this] { mg_stop(ctx_); });
}

std::string ConsoleServer::link() const {
  return absl::StrCat("http://", host_, ":", port_, "/?token=", gate_->login_token());
}

int ConsoleServer::Handle(mg_connection* conn, void* self) {
  static_cast<ConsoleServer*>(self)->Serve(conn);
  return 1;
}

void ConsoleServer::Serve(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  const std::string method = info->request_method != nullptr ? info->request_method : "";
  const std::string path = info->local_uri != nullptr ? info->local_uri : "";
  // A page of another site that resolves its own name to 127.0.0.1 (DNS
  // rebinding) names that site in Host: refuse it.
  const char* host_header = mg_get_header(conn, "Host");
  const std::string host = host_header != nullptr ? host_header : "";
  if (host != absl::StrCat(host_, ":", port_) && host != absl::StrCat("localhost:", port_)) {
    RespondRefused(conn, 403, "Forbidden", "This console answers only at the address it printed.");
    return;
  }
  const char* cookie = mg_get_header(conn, "Cookie");
  const bool signed_in = gate_->Authenticated(cookie != nullptr ? cookie : "");
  if (method == "GET" && path == "/" && !Param(info, "token").empty()) {
    std::optional<std::string> set_cookie = gate_->Exchange(Param(info, "token"));
    if (!set_cookie.has_value()) {
      RespondRefused(conn, 403, "Forbidden",
                     "This link has been used already, or is wrong. Each link opens the "
                     "console once: run <code>siltactl console</code> again for a new one.");
      return;
    }
    // Off the address bar at once; the token is dead anyway.
    Respond(conn, 303, "See Other", "text/plain; charset=utf-8", "",
            absl::StrCat("Set-Cookie: ", *set_cookie, "\r\nLocation: /\r\n"));
    return;
  }
  if (!signed_in) {
    RespondRefused(conn, 401, "Unauthorized",
                   "Open the console with the link <code>siltactl console</code> printed.");
    return;
  }
  if (method == "GET") {
    ServeGet(conn, path);
  } else if (method == "POST") {
    const char* csrf = mg_get_header(conn, "X-Silta-CSRF");
    if (!gate_->CsrfValid(csrf != nullptr ? csrf : "")) {
      RespondRefused(conn, 403, "Forbidden", "The request lacks the console's CSRF token.");
      return;
    }
    ServePost(conn, path);
  } else {
    Respond(conn, 405, "Method Not Allowed", "text/plain; charset=utf-8", "",
            "Allow: GET, POST\r\n");
  }
}

void ConsoleServer::ServeGet(mg_connection* conn, const std::string& path) {
  const mg_request_info* info = mg_get_request_info(conn);
  const absl::TimeZone zone = absl::LocalTimeZone();
  const ConsoleApi api(reader_.get(), &heads_, zone);
  if (path == "/api/session") {
    absl::StatusOr<v1::WhoAmIResponse> me = reader_->WhoAmI();
    if (!me.ok()) {
      RespondError(conn, me.status());
      return;
    }
    Session session;
    session.set_csrf_token(gate_->csrf_token());
    session.set_org_id(me->org().org_id());
    for (int role : me->org().roles()) {
      session.add_roles(v1::Role_Name(static_cast<v1::Role>(role)));
    }
    session.set_log_public_key(options_.log_public_key);
    session.set_log_id(options_.log_id);
    session.set_server_version(me->server_version());
    session.set_server_address(options_.server_address);
    Respond(conn, 200, "OK", "application/json", Json(session));
  } else if (path == "/api/overview") {
    RespondWith(conn, api.GetOverview(absl::Now()));
  } else if (path == "/api/entries") {
    absl::StatusOr<v1::QueryEntriesRequest> filters =
        EntriesFilters(info->query_string != nullptr ? info->query_string : "", zone);
    if (!filters.ok()) {
      RespondError(conn, filters.status());
      return;
    }
    RespondWith(conn, api.GetEntries(*std::move(filters)));
  } else if (path == "/api/case") {
    RespondWith(conn, api.GetCaseTimeline(Param(info, "case_id")));
  } else if (path == "/api/indicators" || path == "/api/indicators.csv") {
    v1::IndicatorsRequest request;
    request.set_month(Param(info, "month"));
    request.set_region(Param(info, "region"));
    if (!IsMonth(request.month())) {
      RespondError(conn, absl::InvalidArgumentError("month: give a month as YYYY-MM"));
      return;
    }
    absl::StatusOr<v1::IndicatorsResponse> indicators = reader_->Indicators(request);
    if (!indicators.ok() || path == "/api/indicators") {
      RespondWith(conn, indicators);
      return;
    }
    Respond(conn, 200, "OK", "text/csv; charset=utf-8", reports::IndicatorsCsv(*indicators),
            absl::StrCat("Content-Disposition: attachment; filename=\"silta-indicators-",
                         request.month(), ".csv\"\r\n"));
  } else if (path == "/api/jobs/current") {
    Respond(conn, 200, "OK", "application/json", Json(jobs_.Current()));
  } else if (path == "/api/exports") {
    Respond(conn, 200, "OK", "application/json", Json(jobs_.List()));
  } else if (absl::StartsWith(path, "/api/")) {
    RespondError(conn, absl::NotFoundError(absl::StrCat("no such API: ", path)));
  } else if (const Asset* asset = FindAsset(path == "/" ? "/index.html" : path)) {
    Respond(conn, 200, "OK", asset->content_type, asset->body);
  } else {
    RespondRefused(conn, 404, "Not Found", "There is no such page.");
  }
}

void ConsoleServer::ServePost(mg_connection* conn, const std::string& path) {
  absl::StatusOr<std::string> body = ReadBody(conn);
  if (!body.ok()) {
    RespondError(conn, body.status());
    return;
  }
  if (path == "/api/report") {
    ReportRequest form;
    if (!ParseJson(*body, &form) || form.hetu().empty()) {
      // Never echo the body: it holds a HETU.
      RespondError(conn, absl::InvalidArgumentError(
                             "give the young person's personal identity code and who asked"));
      return;
    }
    v1::SubjectReportRequest request;
    request.mutable_subject()->set_hetu(form.hetu());
    request.mutable_acting_user()->set_worker_id(options_.worker);
    request.mutable_acting_user()->set_role("consent_registrar");
    request.set_requester(static_cast<v1::ReportRequester>(form.requester()));
    request.set_include_law_enforcement(form.include_law_enforcement());
    absl::StatusOr<v1::SubjectReportResponse> report = reader_->SubjectReport(request);
    if (!report.ok()) {
      RespondError(conn, report.status());
      return;
    }
    // The report as siltad gives it: the page words it in the user's
    // language (app.js, reportPage).
    Respond(conn, 200, "OK", "application/json", Json(*report));
  } else if (path == "/api/entries") {
    // The same filters as GET /api/entries, and a person's HETU, which
    // must not be in a URL.
    EntriesSearch form;
    if (!ParseJson(*body, &form)) {
      RespondError(conn, absl::InvalidArgumentError("not an entries search"));
      return;
    }
    absl::StatusOr<v1::QueryEntriesRequest> filters =
        EntriesFilters(form.query(), absl::LocalTimeZone());
    if (!filters.ok()) {
      RespondError(conn, filters.status());
      return;
    }
    if (!form.hetu().empty()) filters->mutable_subject()->set_hetu(form.hetu());
    const ConsoleApi api(reader_.get(), &heads_, absl::LocalTimeZone());
    RespondWith(conn, api.GetEntries(*std::move(filters)));
  } else if (path == "/api/export") {
    ExportRequest form;
    if (!ParseJson(*body, &form)) {
      RespondError(conn, absl::InvalidArgumentError("not an export request"));
      return;
    }
    v1::ExportRequest request;
    const absl::TimeZone zone = absl::LocalTimeZone();
    if ((!form.from().empty() && !ParseTime(form.from(), zone, request.mutable_from())) ||
        (!form.until().empty() && !ParseTime(form.until(), zone, request.mutable_until()))) {
      RespondError(conn, absl::InvalidArgumentError(
                             "from, until: use a date such as 2026-10-01 or an RFC 3339 time"));
      return;
    }
    RespondWith(conn, jobs_.StartExport(request));
  } else if (path == "/api/verify") {
    VerifyRequest form;
    if (!ParseJson(*body, &form)) {
      RespondError(conn, absl::InvalidArgumentError("not a verify request"));
      return;
    }
    RespondWith(conn, jobs_.StartVerify(form.file()));
  } else {
    RespondError(conn, absl::NotFoundError(absl::StrCat("no such API: ", path)));
  }
}

}  // namespace silta::console
