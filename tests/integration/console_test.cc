// The auditor's console in a real headless Chromium against a real siltad:
// the page loads and shows the log, filters narrow the table, the browser
// verifies every entry and head itself (and shows tampering in red), the
// link works once, nothing opens without the cookie, and the
// Content-Security-Policy stops injected script.
#include <civetweb.h>

#include <filesystem>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/console/console_server.h"
#include "client/console/log_reader.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/tree_head.h"
#include "lib/common/time_util.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/webdriver.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Artifact(const std::string& name) {
  return absl::StrCat(SILTA_TEST_ARTIFACTS_DIR, "/", name);
}

// A plain HTTP request to the console, as another program on the
// workstation would make it: status code and body.
std::pair<int, std::string> Http(int port, const std::string& method, const std::string& path,
                                 const std::string& headers = "") {
  char error[256] = "";
  mg_connection* conn = mg_connect_client("127.0.0.1", port, 0, error, sizeof(error));
  if (conn == nullptr) return {-1, error};
  mg_printf(conn, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: 0\r\n\r\n",
            method.c_str(), path.c_str(), port, headers.c_str());
  if (mg_get_response(conn, error, sizeof(error), 10000) < 0) {
    mg_close_connection(conn);
    return {-1, error};
  }
  const int status = mg_get_response_info(conn)->status_code;
  std::string body;
  char buffer[4096];
  for (int n; (n = mg_read(conn, buffer, sizeof(buffer))) > 0;) body.append(buffer, n);
  mg_close_connection(conn);
  return {status, body};
}

// The console's data with one kind of tampering: what a hostile broker or
// a broken console could serve the page.
class TamperingReader : public console::LogReader {
 public:
  enum class Tamper { kProofHash, kHeadRoot, kEntryPurpose };
  TamperingReader(std::unique_ptr<console::LogReader> real, Tamper tamper)
      : real_(std::move(real)), tamper_(tamper) {}

  absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const override { return real_->WhoAmI(); }
  absl::StatusOr<v1::SignedTreeHead> TreeHead() const override {
    absl::StatusOr<v1::SignedTreeHead> head = real_->TreeHead();
    if (head.ok() && tamper_ == Tamper::kHeadRoot) (*head->mutable_root_hash())[0] ^= 1;
    return head;
  }
  absl::StatusOr<v1::QueryEntriesResponse> QueryEntries(
      const v1::QueryEntriesRequest& request) const override {
    absl::StatusOr<v1::QueryEntriesResponse> page = real_->QueryEntries(request);
    if (page.ok() && tamper_ == Tamper::kEntryPurpose) {
      for (v1::AuditEntry& e : *page->mutable_entries()) {
        if (e.type() == v1::MESSAGE_DELIVERED) e.set_purpose("statistics");
      }
    }
    return page;
  }
  absl::StatusOr<v1::InclusionProof> InclusionProof(uint64_t index,
                                                    uint64_t tree_size) const override {
    absl::StatusOr<v1::InclusionProof> proof = real_->InclusionProof(index, tree_size);
    if (proof.ok() && tamper_ == Tamper::kProofHash && proof->path_size() > 0) {
      (*proof->mutable_path(0))[5] ^= 0x40;
    }
    return proof;
  }
  absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t first,
                                                        uint64_t second) const override {
    return real_->ConsistencyProof(first, second);
  }
  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(
      const v1::SubjectReportRequest& request) const override {
    return real_->SubjectReport(request);
  }
  absl::StatusOr<v1::IndicatorsResponse> Indicators(
      const v1::IndicatorsRequest& request) const override {
    return real_->Indicators(request);
  }
  absl::Status Export(
      const v1::ExportRequest& request,
      const std::function<absl::Status(const v1::ExportChunk&)>& on_chunk) const override {
    return real_->Export(request, on_chunk);
  }

 private:
  std::unique_ptr<console::LogReader> real_;
  const Tamper tamper_;
};

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = std::make_unique<World>("console");
    case_id_ = world_->TellAuditStory(/*deliver_notification=*/false).case_id;
    auto browser = Browser::Start(world_->setup().dir + "/browser");
    ASSERT_TRUE(browser.ok()) << browser.status();
    browser_ = *std::move(browser);
  }
  void TearDown() override {
    browser_.reset();
    consoles_.clear();
    world_.reset();
  }

  std::shared_ptr<const sdk::Connection> Connect(const std::string& org) {
    sdk::ConnectionOptions options;
    options.address = world_->address();
    options.cert_file = OrgCert(org);
    options.key_file = OrgKey(org);
    options.ca_file = PkiPath("ca.pem");
    options.server_name = "localhost";
    absl::StatusOr<std::shared_ptr<const sdk::Connection>> connection =
        sdk::Connection::Open(options);
    EXPECT_TRUE(connection.ok()) << connection.status();
    return connection.ok() ? *connection : nullptr;
  }

  // A console as `org`, its heads kept in this test's own folder.
  // It runs until TearDown, which stops it after the browser has quit: a
  // connection the browser keeps open would hold civetweb's stop for up
  // to its 2 s poll quantum.
  console::ConsoleServer* StartConsole(const std::string& org,
                                       std::unique_ptr<console::LogReader> reader = nullptr,
                                       const std::string& export_dir = "") {
    console::ConsoleOptions options;
    absl::StatusOr<std::string> key = audit::ReadLogPublicKey(PkiPath("audit/log-key.pub"));
    EXPECT_TRUE(key.ok()) << key.status();
    options.log_public_key = key.ok() ? *key : "";
    options.state_dir = world_->setup().dir + "/console-state-" + org;
    options.server_address = world_->address();
    options.worker = "registrar";
    options.export_dir = export_dir;
    if (reader == nullptr) reader = console::LogReaderFor(Connect(org));
    auto server = console::ConsoleServer::Start(options, std::move(reader));
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    consoles_.push_back(*std::move(server));
    return consoles_.back().get();
  }

  // Opens the console's link in English and waits for `page` to load.
  // Opens the console's link, switches the page to English as a user
  // would, and goes to `page`. Each step waits until the page's route has
  // finished (main's data-loaded), so that no request of an earlier step
  // is still in flight when the next one starts.
  void Open(const console::ConsoleServer& server, const std::string& page = "overview") {
    ASSERT_TRUE(browser_->Navigate(server.link()).ok());
    ASSERT_TRUE(browser_->WaitFor("document.getElementById('main').dataset.loaded"))
        << browser_->Text("main");
    SetLanguage("en");
    Go(page);
  }
  // Picks the page's language as a user would, and waits until the page
  // has loaded again in it.
  void SetLanguage(const std::string& lang) {
    browser_
        ->Execute(
            "document.getElementById('main').removeAttribute('data-loaded');"
            "const s = document.getElementById('lang'); s.value = arguments[0];"
            "s.dispatchEvent(new Event('change'));",
            {lang})
        .IgnoreError();
    ASSERT_TRUE(browser_->WaitFor("document.getElementById('main').dataset.loaded"))
        << browser_->Text("main");
  }
  // Asks for the subject report of the filled-in form and waits for it
  // (or its error).
  void ProduceReport() {
    ASSERT_TRUE(browser_->Click("#produce").ok());
    ASSERT_TRUE(
        browser_->WaitFor("document.querySelector('#disclosures') || "
                          "document.querySelector('#report .error')"));
  }
  // Goes to `hash` (e.g. "entries?types=2"), by the address as a user
  // would; the same address again is a reload.
  void Go(const std::string& hash) {
    browser_
        ->Execute(
            "document.getElementById('main').removeAttribute('data-loaded');"
            "if (location.hash === '#' + arguments[0]) location.reload();"
            "else location.hash = arguments[0];",
            {hash})
        .IgnoreError();
    const std::string page = hash.substr(0, hash.find('?'));
    ASSERT_TRUE(browser_->WaitFor(
        absl::StrCat("document.getElementById('main').dataset.loaded === '", page, "'")))
        << browser_->Text("main");
  }
  // Clicks the entries form's button and waits for the new table (and its
  // verdicts: the route ends after them).
  void SubmitFilters() {
    browser_->Execute("document.getElementById('main').removeAttribute('data-loaded');")
        .IgnoreError();
    ASSERT_TRUE(browser_->Click("#apply").ok());
    ASSERT_TRUE(browser_->WaitFor("document.getElementById('main').dataset.loaded === 'entries'"))
        << browser_->Text("main");
  }
  // Waits until no proof is still being checked on the page.
  void WaitForVerdicts() {
    ASSERT_TRUE(
        browser_->WaitFor("document.querySelector('#verify-summary [data-verified]') !== null"))
        << browser_->Text("main");
  }
  int Count(const std::string& css) {
    absl::StatusOr<google::protobuf::Value> v =
        browser_->Execute("return document.querySelectorAll(arguments[0]).length;", {css});
    return v.ok() ? static_cast<int>(v->number_value()) : -1;
  }

  std::unique_ptr<World> world_;
  std::string case_id_;
  std::unique_ptr<Browser> browser_;
  std::vector<std::unique_ptr<console::ConsoleServer>> consoles_;
};

TEST_F(ConsoleTest, TheLinkWorksOnceAndNothingOpensWithoutTheCookie) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  const std::string link = console->link();
  ASSERT_THAT(link, HasSubstr("http://127.0.0.1:"));
  const int port = console->port();
  // Before the link is used, nothing opens.
  EXPECT_EQ(Http(port, "GET", "/").first, 401);
  EXPECT_EQ(Http(port, "GET", "/api/session").first, 401);
  Open(*console);
  // The token left the address bar, and is dead.
  absl::StatusOr<std::string> url = browser_->CurrentUrl();
  ASSERT_TRUE(url.ok());
  EXPECT_THAT(*url, Not(HasSubstr("token")));
  const std::string path = link.substr(link.find('/', 7));
  const auto reused = Http(port, "GET", path);
  EXPECT_EQ(reused.first, 403);
  EXPECT_THAT(reused.second, HasSubstr("used already"));
  // Without the cookie: every page, asset and API refused.
  for (const char* p : {"/", "/app.js", "/api/session", "/api/entries", "/api/overview"}) {
    EXPECT_EQ(Http(port, "GET", p).first, 401) << p;
  }
  EXPECT_EQ(Http(port, "GET", "/api/session", "Cookie: silta_console=0123\r\n").first, 401);
  // A page of another site resolving its own name here is refused.
  const auto rebound = Http(port, "GET", "/api/session", "");
  EXPECT_EQ(rebound.first, 401);
  char error[256] = "";
  mg_connection* conn = mg_connect_client("127.0.0.1", port, 0, error, sizeof(error));
  ASSERT_NE(conn, nullptr);
  mg_printf(conn, "GET / HTTP/1.1\r\nHost: attacker.example:%d\r\n\r\n", port);
  ASSERT_GE(mg_get_response(conn, error, sizeof(error), 10000), 0);
  EXPECT_EQ(mg_get_response_info(conn)->status_code, 403);
  mg_close_connection(conn);

  // In the browser, with the cookie: a POST needs the CSRF token too.
  const std::string no_csrf = browser_->ExecuteString(
      "const r = await fetch('/api/anything', {method: 'POST'}); return String(r.status);");
  EXPECT_EQ(no_csrf, "403");
  const std::string with_csrf = browser_->ExecuteString(
      "const s = await (await fetch('/api/session')).json();"
      "const r = await fetch('/api/anything', {method: 'POST', headers: {'X-Silta-CSRF': "
      "s.csrf_token}}); return String(r.status);");
  EXPECT_EQ(with_csrf, "404") << "past the CSRF check";
  // The cookie is out of the page's reach.
  EXPECT_EQ(browser_->ExecuteString("return document.cookie;"), "");
}

TEST_F(ConsoleTest, TheOverviewShowsTheLogItsVerifiedHeadAndItsHistory) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console);
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('#history-status [data-verified]')"));
  EXPECT_EQ(browser_->ExecuteString(
                "return document.querySelector('#head-status [data-verified]').dataset.verified;"),
            "true")
      << browser_->Text("main");
  // Open() loaded the page twice: the first visit kept the head, the
  // second found the same one.
  EXPECT_THAT(browser_->Text("#history-status"), HasSubstr("Consistent"));
  EXPECT_THAT(browser_->Text("main"), HasSubstr("1 heads kept"));
  const CommandResult head = world_->Siltactl("wba-dpo", {"audit", "head", "--json"});
  ASSERT_EQ(head.exit_code, 0) << head.output;
  int64_t size = 0;
  ASSERT_TRUE(absl::SimpleAtoi(browser_->Text("#log-size"), &size)) << browser_->Text("main");
  EXPECT_GE(size, 15);
  EXPECT_THAT(browser_->Text("#counts"), HasSubstr("Message delivered"));
  EXPECT_THAT(browser_->Text("#counts"), HasSubstr("Field withheld"));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-overview.png")).ok());

  // More traffic, a new visit: the head is proved consistent with the one kept.
  auto delivery = world_->Receive("wba-social");
  ASSERT_TRUE(delivery.has_value());
  ASSERT_TRUE(world_->Ack("wba-social", delivery->delivery_id()).ok());
  Go("overview");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('#history-status [data-verified]')"));
  EXPECT_THAT(browser_->Text("#history-status"), HasSubstr("Consistent"));
  EXPECT_THAT(browser_->Text("main"), HasSubstr("2 heads kept"));
  EXPECT_EQ(browser_->ExecuteString("return document.querySelector('#history-status "
                                    "[data-verified]').dataset.verified;"),
            "true");
  // Finnish, by the user's choice.
  SetLanguage("fi");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('h1').innerText === 'Yleiskuva'"));
  EXPECT_EQ(browser_->ExecuteString("return document.documentElement.lang;"), "fi");
}

TEST_F(ConsoleTest, FiltersNarrowTheTableAndTheBrowserVerifiesEveryEntry) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console, "entries");
  WaitForVerdicts();
  const int all = Count("tr.entry-row");
  ASSERT_GE(all, 15);
  EXPECT_EQ(Count("tr.entry-row td.proof [data-verified='true']"), all) << browser_->Text("main");
  EXPECT_EQ(Count("[data-verified='false']"), 0);
  EXPECT_THAT(browser_->Text("#verify-summary"), HasSubstr(absl::StrCat(all, " of ", all)));
  // Newest first.
  EXPECT_GT(std::stoll(browser_->ExecuteString(
                "return document.querySelectorAll('tr.entry-row')[0].dataset.index;")),
            std::stoll(browser_->ExecuteString(
                "return document.querySelectorAll('tr.entry-row')[1].dataset.index;")));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-entries.png")).ok());

  // Filter by event type with the form, as a user would.
  browser_->Execute("document.getElementById('f-types').value = '2';").IgnoreError();
  SubmitFilters();
  ASSERT_TRUE(browser_->WaitFor("location.hash.includes('types=2')"));
  WaitForVerdicts();
  const int withheld = Count("tr.entry-row");
  EXPECT_GT(withheld, 0);
  EXPECT_LT(withheld, all);
  EXPECT_THAT(browser_->Text("#entries tbody"), Not(HasSubstr("Message delivered")));
  EXPECT_EQ(Count("tr.entry-row td.proof [data-verified='true']"), withheld);

  // By category and statutory basis, from the address.
  Go("entries?categories=7");
  WaitForVerdicts();
  EXPECT_GT(Count("tr.entry-row"), 0);
  EXPECT_THAT(browser_->Text("#entries tbody"), HasSubstr("mental health"));
  Go("entries?statute=lsl_25");
  WaitForVerdicts();
  EXPECT_GT(Count("tr.entry-row"), 0);
  EXPECT_THAT(browser_->Text("#entries tbody"), HasSubstr("417/2007"));
  Go("entries?case_id=no-such-case");
  ASSERT_TRUE(browser_->WaitFor("!document.getElementById('no-entries').hidden"));

  // A row opens to the whole entry and its proof.
  Go("entries");
  WaitForVerdicts();
  ASSERT_TRUE(browser_->Click("tr.entry-row button").ok());
  ASSERT_TRUE(browser_->WaitFor("!document.querySelector('tr.detail').hidden"));
  EXPECT_THAT(browser_->Text("tr.detail"), HasSubstr("Leaf hash"));
  EXPECT_THAT(browser_->Text("tr.detail"), HasSubstr("Inclusion proof"));
  // Against the head its page came with: here, the whole log.
  EXPECT_THAT(browser_->Text("tr.detail"),
              HasSubstr(absl::StrCat("head of ", Count("tr.entry-row"), " entries")));
  EXPECT_EQ(
      browser_->ExecuteString(
          "return document.querySelector('tr.entry-row button').getAttribute('aria-expanded');"),
      "true");
  // Nothing in the page holds the young person's HETU.
  EXPECT_THAT(browser_->ExecuteString("return document.documentElement.outerHTML;"),
              Not(HasSubstr(kHetu)));
}

TEST_F(ConsoleTest, TamperedProofsHeadsAndEntriesShowAsNotVerified) {
  using Tamper = TamperingReader::Tamper;
  for (Tamper tamper : {Tamper::kProofHash, Tamper::kHeadRoot, Tamper::kEntryPurpose}) {
    SCOPED_TRACE(static_cast<int>(tamper));
    auto console = StartConsole("wba-dpo", std::make_unique<TamperingReader>(
                                               console::LogReaderFor(Connect("wba-dpo")), tamper));
    ASSERT_NE(console, nullptr);
    Open(*console, "entries");
    WaitForVerdicts();
    const int rows = Count("tr.entry-row");
    ASSERT_GT(rows, 0);
    EXPECT_EQ(
        browser_->ExecuteString(
            "return document.querySelector('#verify-summary [data-verified]').dataset.verified;"),
        "false");
    const int red = Count("tr.entry-row td.proof [data-verified='false']");
    const int green = Count("tr.entry-row td.proof [data-verified='true']");
    EXPECT_EQ(red + green, rows);
    switch (tamper) {
      case Tamper::kProofHash:
        EXPECT_GT(red, 0);  // every entry whose path has a hash
        break;
      case Tamper::kHeadRoot:
        EXPECT_EQ(red, rows);
        EXPECT_THAT(browser_->Text("#verify-summary"), HasSubstr("does not verify"));
        break;
      case Tamper::kEntryPurpose:
        EXPECT_GT(red, 0);
        EXPECT_EQ(Count("tr.entry-row td.proof [data-verified='false']"),
                  Count("tr.entry-row td.proof .bad"));
        break;
    }
    if (tamper == Tamper::kProofHash) {
      ASSERT_TRUE(browser_->Screenshot(Artifact("console-tampered.png")).ok());
    }
    if (tamper == Tamper::kHeadRoot) {
      Go("overview");
      ASSERT_TRUE(browser_->WaitFor("document.querySelector('#head-status [data-verified]')"));
      EXPECT_EQ(
          browser_->ExecuteString(
              "return document.querySelector('#head-status [data-verified]').dataset.verified;"),
          "false");
      EXPECT_EQ(browser_->ExecuteString("return document.querySelector('#history-status "
                                        "[data-verified]').dataset.verified;"),
                "false");
    }
  }
}

TEST_F(ConsoleTest, TheCaseTimelineShowsWhatWasSentWithheldAndConsentedAndVerifies) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console, "case?id=" + case_id_);
  WaitForVerdicts();
  const std::string timeline = browser_->Text("#timeline");
  EXPECT_THAT(timeline, HasSubstr("Consent given"));
  EXPECT_THAT(timeline, HasSubstr("mental health withheld from hml-youth"));
  EXPECT_THAT(timeline, HasSubstr("default deny"));
  EXPECT_THAT(timeline, HasSubstr("Receipt confirmed by hml-youth"));
  EXPECT_THAT(timeline, HasSubstr("417/2007"));
  EXPECT_EQ(Count("#timeline [data-verified='false']"), 0);
  EXPECT_EQ(Count("#timeline [data-verified='true']"), Count("#timeline li"));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-case.png")).ok());
}

TEST_F(ConsoleTest, AnAgencySeesItsOwnTrafficAndNothingWithheldFromIt) {
  auto console = StartConsole("hml-youth");
  ASSERT_NE(console, nullptr);
  Open(*console, "entries");
  WaitForVerdicts();
  EXPECT_GT(Count("tr.entry-row"), 0);
  EXPECT_EQ(Count("tr.entry-row td.proof [data-verified='false']"), 0) << browser_->Text("main");
  const std::string table = browser_->Text("#entries tbody");
  EXPECT_THAT(table, Not(HasSubstr("Field withheld")));
  EXPECT_THAT(table, Not(HasSubstr("mental health")));
  EXPECT_THAT(browser_->Text("#whoami"), HasSubstr("hml-youth"));
}

TEST_F(ConsoleTest, TheContentSecurityPolicyBlocksInjectedInlineScript) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console);
  const std::string result = browser_->ExecuteString(
      "let violated = '';"
      "document.addEventListener('securitypolicyviolation', (e) => { violated = "
      "e.violatedDirective; });"
      "const s = document.createElement('script');"
      "s.textContent = 'window.injected = true;';"
      "document.body.appendChild(s);"
      "const i = document.createElement('img');"
      "i.setAttribute('src', 'x'); i.setAttribute('onerror', 'window.injected = true');"
      "document.body.appendChild(i);"
      "await new Promise((r) => setTimeout(r, 300));"
      "return String(window.injected === true) + ' ' + violated;");
  EXPECT_THAT(result, HasSubstr("false"));
  EXPECT_THAT(result, HasSubstr("script-src"));
  // And an external asset is refused.
  const std::string external = browser_->ExecuteString(
      "try { await fetch('http://example.org/x.js'); return 'fetched'; }"
      "catch (e) { return 'blocked'; }");
  EXPECT_EQ(external, "blocked");
}

// Each page of entries is proved against the head it came with: a row of
// the first page still names that head after a later page came with a
// bigger one (the page once kept only the newest head's size).
TEST_F(ConsoleTest, EachPageOfEntriesNamesTheHeadItsProofsWereCheckedAgainst) {
  v1::Referral referral;
  referral.set_education_employment("9th grade");
  const auto send = [&] {
    v1::SendResponse sent;
    return world_->Send("police-hame",
                        world_->Seal("police-hame", case_id_, referral, {"hml-youth"}), &sent);
  };
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(send().ok());  // more than a page of 50 entries
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console, "entries");
  WaitForVerdicts();
  ASSERT_EQ(Count("tr.entry-row"), 50);
  const auto first_row_detail = [&] {
    EXPECT_TRUE(browser_->Click("tr.entry-row button").ok());
    EXPECT_TRUE(browser_->WaitFor("!document.querySelector('tr.detail').hidden"));
    return browser_->Text("tr.detail");
  };
  const std::string before = first_row_detail();
  const size_t at = before.find("head of ");
  ASSERT_NE(at, std::string::npos) << before;
  const std::string first_head = before.substr(at, before.find(" entries", at) - at);
  ASSERT_TRUE(browser_->Click("tr.entry-row button").ok());  // closed again

  // The log grows; the next page comes with a newer head.
  ASSERT_TRUE(send().ok());
  ASSERT_TRUE(browser_->Click("#more").ok());
  ASSERT_TRUE(browser_->WaitFor("document.querySelectorAll('tr.entry-row').length > 50"));
  EXPECT_THAT(first_row_detail(), HasSubstr(first_head + " entries"));
}

// The question of issue #17's "done when": who received this child's
// mental-health data this month, on what basis, and is the log that says
// so intact? Answered in the browser, the HETU typed into the page.
TEST_F(ConsoleTest, AnAuditorFindsWhoReceivedAChildsMentalHealthDataThisMonth) {
  world_->Consent(v1::CATEGORY_MENTAL_HEALTH, "wba-social");
  v1::Referral referral;
  referral.set_mental_health_notes("psychiatric nurse's assessment for the social worker");
  v1::SendResponse sent;
  ASSERT_TRUE(world_
                  ->Send("police-hame",
                         world_->Seal("police-hame", case_id_, referral, {"wba-social"}), &sent)
                  .ok());
  for (int i = 0; i < 2; ++i) {  // the notification of SetUp, then the referral
    auto delivery = world_->Receive("wba-social");
    ASSERT_TRUE(delivery.has_value());
    ASSERT_TRUE(world_->Ack("wba-social", delivery->delivery_id()).ok());
  }
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console, "entries");
  ASSERT_TRUE(browser_->Type("#f-hetu", kHetu).ok());
  const std::string month_start = absl::FormatTime("%Y-%m-01", absl::Now(), absl::LocalTimeZone());
  browser_
      ->Execute(
          "document.getElementById('f-categories').value = '7';"
          "document.getElementById('f-types').value = '3';"
          "document.getElementById('f-from').value = arguments[0];",
          {month_start})
      .IgnoreError();
  SubmitFilters();
  ASSERT_TRUE(browser_->WaitFor("location.hash.includes('subject=1')"));
  WaitForVerdicts();
  // One delivery, or more if the 1 s ack timeout of this world handed it
  // out again: each attempt is evidence of its own.
  const int rows = Count("tr.entry-row");
  ASSERT_GE(rows, 1) << browser_->Text("main");
  for (int i = 0; i < rows; ++i) {
    const std::string row = browser_->ExecuteString(
        absl::StrCat("return document.querySelectorAll('tr.entry-row')[", i, "].innerText;"));
    EXPECT_THAT(row, HasSubstr("wba-social"));
    EXPECT_THAT(row, HasSubstr("mental health"));
    EXPECT_THAT(row, HasSubstr("consent"));
  }
  EXPECT_EQ(Count("tr.entry-row td.proof [data-verified='true']"), rows);
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-mental-health.png")).ok());
  absl::StatusOr<std::string> url = browser_->CurrentUrl();
  ASSERT_TRUE(url.ok());
  EXPECT_THAT(*url, Not(HasSubstr(kHetu)));
  EXPECT_THAT(
      browser_->ExecuteString("return performance.getEntries().map((e) => e.name).join(' ') "
                              "+ JSON.stringify(localStorage) + JSON.stringify(sessionStorage);"),
      Not(HasSubstr(kHetu)));
  // Another young person's code finds nothing of this child.
  browser_->Execute("document.getElementById('f-hetu').value = '';").IgnoreError();
  ASSERT_TRUE(browser_->Type("#f-hetu", TestHetu(7, 945)).ok());
  SubmitFilters();
  EXPECT_EQ(
      browser_->ExecuteString("return String(!document.getElementById('no-entries').hidden);"),
      "true");
  EXPECT_EQ(Count("tr.entry-row"), 0);
}

// Usable by keyboard, a label on every control, readable at 200% zoom.
TEST_F(ConsoleTest, EveryPageHasLabelledControlsWorksByKeyboardAndFitsAt200Percent) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console);
  // 640 CSS pixels: a 1280-pixel screen at 200% zoom.
  ASSERT_TRUE(browser_->SetWindowSize(640, 900).ok());
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  for (const std::string& page :
       std::vector<std::string>{"overview", "entries", "case?id=" + case_id_, "report",
                                "indicators?month=" + month, "export"}) {
    SCOPED_TRACE(page);
    Go(page);
    EXPECT_EQ(browser_->ExecuteString(
                  "return [...document.querySelectorAll('input, select, textarea')].filter("
                  "(e) => e.labels.length === 0 && !e.getAttribute('aria-label')).map("
                  "(e) => e.id || e.name).join(',');"),
              "")
        << "controls without a label";
    EXPECT_EQ(browser_->ExecuteString(
                  "return [...document.querySelectorAll('button')].filter("
                  "(b) => !b.innerText.trim() && !b.getAttribute('aria-label')).length;"),
              "0");
    // Nothing runs off the side of the page: wide tables scroll in their box.
    EXPECT_EQ(browser_->ExecuteString(
                  "return String(document.documentElement.scrollWidth <= window.innerWidth);"),
              "true")
        << browser_->ExecuteString("return document.documentElement.scrollWidth;");
  }
  Go("entries");
  WaitForVerdicts();
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-entries-200-percent.png")).ok());
  // A row opens from the keyboard: Enter on its focused button.
  ASSERT_TRUE(browser_->Type("tr.entry-row button", "\xEE\x80\x87").ok());  // U+E007 Enter
  ASSERT_TRUE(browser_->WaitFor("!document.querySelector('tr.detail').hidden"));
  // The navigation is reachable by Tab from the top: the skip link first.
  EXPECT_EQ(
      browser_->ExecuteString("document.activeElement.blur(); document.body.focus();"
                              "return document.querySelector('a.skip').getAttribute('href');"),
      "#main");
}

// Every file under `dir`, read whole (for "the HETU is in no file").
std::string AllFilesUnder(const std::string& dir) {
  std::string all;
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, error)) {
    if (entry.is_regular_file()) all += ReadTextFile(entry.path().string());
  }
  return all;
}

TEST_F(ConsoleTest, TheSubjectReportFlowKeepsTheHetuOutOfUrlsLogsAndFiles) {
  auto console = StartConsole("wba-registrar");
  ASSERT_NE(console, nullptr);
  Open(*console, "report");
  EXPECT_THAT(browser_->Text("#whoami"), HasSubstr("CONSENT_REGISTRAR"));
  // Typed key by key, as a person would.
  ASSERT_TRUE(browser_->Type("#hetu", kHetu).ok());
  browser_->Execute("document.getElementById('requester').value = '1';").IgnoreError();
  ProduceReport();
  // The police's entries are left out by default, and the report says whom
  // to ask.
  EXPECT_THAT(browser_->Text("#report"), HasSubstr("are left out"));
  EXPECT_THAT(browser_->Text("#report"), HasSubstr("616/2019"));
  ASSERT_TRUE(browser_->Click("#law").ok());
  browser_->Execute("document.getElementById('report').replaceChildren();").IgnoreError();
  ProduceReport();
  const std::string report = browser_->Text("#report");
  EXPECT_THAT(report, HasSubstr("Hämeenlinnan kaupunki, nuorisopalvelut"));
  EXPECT_THAT(report, HasSubstr("received (confirmed)"));
  EXPECT_THAT(report, HasSubstr("withheld"));
  EXPECT_THAT(report, HasSubstr("law: lastensuojelulaki"));
  // It reads as siltactl prints it.
  const CommandResult cli = world_->Siltactl("wba-registrar",
                                             {"report", "subject", "--requester", "subject",
                                              "--worker", "registrar", "--include-law-enforcement"},
                                             kHetu + "\n");
  ASSERT_EQ(cli.exit_code, 0) << cli.output;
  const std::string receipts = browser_->Text("#receipts");
  ASSERT_FALSE(receipts.empty());
  EXPECT_THAT(cli.output, HasSubstr(receipts));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-report.png")).ok());

  // In Finnish the whole report is in Finnish: the young person reads it.
  SetLanguage("fi");
  ASSERT_TRUE(browser_->Type("#hetu", kHetu).ok());
  ASSERT_TRUE(browser_->Click("#law").ok());
  ProduceReport();
  const std::string finnish = browser_->Text("#report");
  EXPECT_THAT(finnish, HasSubstr("vastaanotettu (vahvistettu)"));
  EXPECT_THAT(finnish, HasSubstr("pidätetty"));
  EXPECT_THAT(finnish, HasSubstr("laki: lastensuojelulaki"));
  EXPECT_THAT(finnish, HasSubstr("vahvistettiin vastaanotetuksi"));
  EXPECT_THAT(finnish, Not(HasSubstr("received")));
  EXPECT_THAT(finnish, Not(HasSubstr("withheld")));
  EXPECT_THAT(finnish, Not(HasSubstr("disclosures were")));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-report-fi.png")).ok());

  // The HETU is on this page only in the field it was typed into: not in
  // the address, any resource the page loaded, the browser's log, the
  // console's files, or siltad's log.
  absl::StatusOr<std::string> url = browser_->CurrentUrl();
  ASSERT_TRUE(url.ok());
  EXPECT_THAT(*url, Not(HasSubstr(kHetu)));
  EXPECT_THAT(
      browser_->ExecuteString("return performance.getEntries().map((e) => e.name).join(' ') "
                              "+ ' ' + location.href + ' ' + history.length;"),
      Not(HasSubstr(kHetu)));
  for (const std::string& line : browser_->ConsoleLog()) EXPECT_THAT(line, Not(HasSubstr(kHetu)));
  EXPECT_THAT(AllFilesUnder(world_->setup().dir + "/console-state-wba-registrar"),
              Not(HasSubstr(kHetu)));
  EXPECT_THAT(world_->siltad().Log(), Not(HasSubstr(kHetu)));
  EXPECT_THAT(browser_->ExecuteString("const c = document.getElementById('report').cloneNode(true);"
                                      "return c.outerHTML;"),
              Not(HasSubstr(kHetu)))
      << "the report itself carries no HETU";
  // The form never sends the code in a URL, even without its script.
  EXPECT_EQ(
      browser_->ExecuteString("const f = document.querySelector('form'); return f.method + ' ' + "
                              "f.getAttribute('autocomplete');"),
      "post off");

  // An auditor without the registrar's role gets siltad's refusal, shown.
  auto auditor = StartConsole("wba-dpo");
  ASSERT_NE(auditor, nullptr);
  Open(*auditor, "report");
  ASSERT_TRUE(browser_->Type("#hetu", kHetu).ok());
  ASSERT_TRUE(browser_->Click("#produce").ok());
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('#report .error')"));
  EXPECT_THAT(browser_->Text("#report .error"), HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(browser_->Text("#report .error"), Not(HasSubstr(kHetu)));
}

TEST_F(ConsoleTest, IndicatorsAreChartedSmallCountsStaySuppressedAndTheCsvMatchesSiltactl) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  const std::string month = absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  Open(*console, "indicators?month=" + month);
  ASSERT_GT(Count("section.indicator"), 0) << browser_->Text("main");
  EXPECT_EQ(Count("section.indicator canvas"), Count("section.indicator"));
  EXPECT_EQ(browser_->ExecuteString(
                "return String([...document.querySelectorAll('section.indicator canvas')]"
                ".every((c) => Chart.getChart(c) !== undefined));"),
            "true");
  // Every suppressed cell reads "<5" in the table, the chart's labels and
  // its data, and no cell of siltad's answer that is suppressed appears
  // as a number.
  const CommandResult json =
      world_->Siltactl("wba-dpo", {"report", "indicators", "--month", month, "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  ASSERT_THAT(json.output, HasSubstr("\"suppressed\":true"));
  EXPECT_THAT(browser_->Text("main"), HasSubstr("<5"));
  EXPECT_EQ(browser_->ExecuteString(
                "return String([...document.querySelectorAll('section.indicator canvas')].every("
                "(c) => { const ch = Chart.getChart(c); return ch.data.labels.every((l, i) => "
                "!l.endsWith('(<5)') || ch.data.datasets[0].data[i] === null); }));"),
            "true");
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-indicators.png")).ok());
  // The CSV the page links to is siltactl's.
  const CommandResult csv =
      world_->Siltactl("wba-dpo", {"report", "indicators", "--month", month, "--csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  const std::string downloaded = browser_->ExecuteString(
      "return await (await fetch(document.getElementById('csv').href)).text();");
  EXPECT_EQ(downloaded, csv.output);
  EXPECT_EQ(browser_->ExecuteString(
                "return (await fetch(document.getElementById('csv').href)).headers.get("
                "'Content-Disposition');"),
            absl::StrCat("attachment; filename=\"silta-indicators-", month, ".csv\""));
  // A bad month is named.
  EXPECT_THAT(browser_->ExecuteString(
                  "return await (await fetch('/api/indicators?month=2026-13')).text();"),
              HasSubstr("month"));
}

TEST_F(ConsoleTest, AnExportIsWrittenAndVerifiedAndATamperedLineIsNamed) {
  const std::string folder = world_->setup().dir + "/exports";
  auto console = StartConsole("wba-dpo", nullptr, folder);
  ASSERT_NE(console, nullptr);
  Open(*console, "export");
  ASSERT_TRUE(browser_->Click("#export").ok());
  ASSERT_TRUE(
      browser_->WaitFor("['VERIFIED', 'NOT_VERIFIED', 'FAILED'].includes("
                        "document.getElementById('job').dataset.state)"))
      << browser_->Text("main");
  EXPECT_EQ(browser_->ExecuteString("return document.getElementById('job').dataset.state;"),
            "VERIFIED")
      << browser_->Text("#job");
  EXPECT_EQ(browser_->ExecuteString("return document.getElementById('export-progress').value === "
                                    "document.getElementById('export-progress').max ? 'full' : "
                                    "'partial';"),
            "full");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('#export-files li')"));
  ASSERT_TRUE(browser_->Screenshot(Artifact("console-export.png")).ok());
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    files.push_back(entry.path().string());
  }
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(std::filesystem::status(files[0]).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  // The same file verifies with siltactl, offline.
  CommandResult verified = RunCommand(
      {SILTACTL_PATH, "audit", "verify", files[0], "--log-key", PkiPath("audit/log-key.pub")});
  EXPECT_EQ(verified.exit_code, 0) << verified.output;

  // Someone edits line 4; verifying the file again names it.
  std::vector<std::string> lines = absl::StrSplit(ReadTextFile(files[0]), '\n');
  ASSERT_GT(lines.size(), 5u);
  const size_t at = lines[3].find("\"type\":");
  ASSERT_NE(at, std::string::npos) << lines[3];
  lines[3].insert(at, "\"purpose\":\"statistics\",");
  WriteTextFile(files[0], absl::StrJoin(lines, "\n"));
  // The verdict shown is the new one, not the export's.
  browser_->Execute("delete document.getElementById('job').dataset.state;").IgnoreError();
  ASSERT_TRUE(browser_->Click("#export-files button").ok());
  ASSERT_TRUE(
      browser_->WaitFor("['VERIFIED', 'NOT_VERIFIED', 'FAILED'].includes("
                        "document.getElementById('job').dataset.state)"));
  EXPECT_EQ(browser_->ExecuteString("return document.getElementById('job').dataset.state;"),
            "NOT_VERIFIED");
  EXPECT_THAT(browser_->Text("#problems li"), HasSubstr("line 4"));
  EXPECT_EQ(browser_->ExecuteString(
                "return document.querySelector('#job [data-verified]').dataset.verified;"),
            "false");
  // A name with a path is refused.
  EXPECT_THAT(browser_->ExecuteString(
                  "const s = await (await fetch('/api/session')).json();"
                  "const r = await fetch('/api/verify', {method: 'POST', headers: "
                  "{'X-Silta-CSRF': s.csrf_token}, body: JSON.stringify({file: "
                  "'../console-state-export/heads.jsonl'})}); return r.status + ' ' + await "
                  "r.text();"),
              HasSubstr("400"));
}

// The page's verifier is crypto code: it must pass every published vector
// of what it implements (RFC 6962/9162 Merkle proofs with every tampered
// probe, RFC 8032 Ed25519 through WebCrypto), and compute the same leaf
// hashes as lib/audit for entries of every shape.
TEST_F(ConsoleTest, TheBrowsersVerifierPassesThePublishedVectors) {
  auto console = StartConsole("wba-dpo");
  ASSERT_NE(console, nullptr);
  Open(*console);
  const std::string merkle =
      ReadTextFile(absl::StrCat(SILTA_SOURCE_DIR, "/tests/vectors/merkle_rfc6962.json"));
  const std::string ed25519 =
      ReadTextFile(absl::StrCat(SILTA_SOURCE_DIR, "/tests/vectors/ed25519_rfc8032.json"));
  ASSERT_FALSE(merkle.empty());
  ASSERT_FALSE(ed25519.empty());
  absl::StatusOr<google::protobuf::Value> merkle_result = browser_->Execute(R"js(
    const v = JSON.parse(arguments[0]);
    const H = (x) => SiltaVerify.fromHex(x);
    const failures = [];
    let checked = 0;
    for (const p of v.inclusion_proofs) {
      checked++;
      if (!await SiltaVerify.verifyInclusion(p.leaf_index, p.tree_size, H(p.leaf_hash),
          p.proof.map(H), H(p.root))) failures.push('inclusion ' + p.file);
    }
    for (const p of v.consistency_proofs) {
      checked++;
      if (!await SiltaVerify.verifyConsistency(p.size1, p.size2, p.proof.map(H), H(p.root1),
          H(p.root2))) failures.push('consistency ' + p.file);
    }
    for (const p of v.probes.items) {
      checked++;
      const ok = p.kind === 'inclusion'
          ? await SiltaVerify.verifyInclusion(p.leaf_index, p.tree_size, H(p.leaf_hash),
                p.proof.map(H), H(p.root))
          : await SiltaVerify.verifyConsistency(p.size1, p.size2, p.proof.map(H), H(p.root1),
                H(p.root2));
      if (ok === p.want_error) failures.push(p.file + ' (' + p.desc + ')');
    }
    for (let i = 0; i < v.leaves.length; i++) {
      checked++;
      const leaf = SiltaVerify.hex(await SiltaVerify.leafHashOf(H(v.leaves[i])));
      if (leaf !== v.node_hashes_by_level.levels[0][i]) failures.push('leaf ' + i);
    }
    return checked + ' checked; ' + JSON.stringify(failures);
  )js",
                                                                            {merkle});
  ASSERT_TRUE(merkle_result.ok()) << merkle_result.status();
  EXPECT_EQ(merkle_result->string_value(), "214 checked; []");

  absl::StatusOr<google::protobuf::Value> ed_result = browser_->Execute(R"js(
    const v = JSON.parse(arguments[0]);
    const H = (x) => SiltaVerify.fromHex(x);
    const failures = [];
    for (const t of v.vectors) {
      const key = await crypto.subtle.importKey('raw', H(t.public_key), {name: 'Ed25519'}, false,
                                                ['verify']);
      if (!await crypto.subtle.verify({name: 'Ed25519'}, key, H(t.signature), H(t.message))) {
        failures.push(t.name);
      }
      const bad = H(t.signature);
      bad[0] ^= 1;
      if (await crypto.subtle.verify({name: 'Ed25519'}, key, bad, H(t.message))) {
        failures.push(t.name + ' tampered');
      }
    }
    return v.vectors.length + ' vectors; ' + JSON.stringify(failures);
  )js",
                                                                        {ed25519});
  ASSERT_TRUE(ed_result.ok()) << ed_result.status();
  EXPECT_THAT(ed_result->string_value(), HasSubstr("; []"));
  EXPECT_THAT(ed_result->string_value(), Not(HasSubstr("0 vectors")));

  // Leaf hashes of entries of every shape, as lib/audit computes them.
  std::vector<v1::AuditEntry> entries(4);
  entries[0].set_index(0);  // all defaults, no salt: the v1 leaf
  entries[1].set_index(7);
  entries[1].set_type(v1::FIELD_WITHHELD);
  *entries[1].mutable_at() = common::ToTimestamp(absl::FromUnixMicros(1795000000123456));
  entries[1].set_actor_org_id("police-hame");
  entries[1].set_counterpart_org_id("hml-youth");
  entries[1].add_categories(v1::CATEGORY_MENTAL_HEALTH);
  entries[1].add_categories(v1::CATEGORY_HEALTH);
  entries[1].set_rule(v1::RULE_DEFAULT_DENY);
  entries[1].set_salt(std::string("\x00\xff\x10 salt bytes!!\x7f", 16));
  entries[2] = entries[1];
  entries[2].set_index(uint64_t{1} << 40);
  entries[2].set_rule(v1::RULE_STATUTE);
  entries[2].set_rule_id("lsl_25");
  entries[2].set_statute_citation("lastensuojelulaki (417/2007) 25 §");
  entries[2].set_justification_present(true);
  entries[2].mutable_acting_user()->set_worker_id("työntekijä-ÅÄÖ");
  entries[2].mutable_acting_user()->set_role("sosiaalityöntekijä");
  entries[2].set_detail("found");
  entries[2].set_payload_type("silta.v1.Referral");
  entries[3] = entries[2];
  entries[3].clear_salt();
  *entries[3].mutable_at() = common::ToTimestamp(absl::FromUnixSeconds(1795000000));
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_enums_as_ints = true;
  for (const v1::AuditEntry& e : entries) {
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(e, &json, options).ok());
    absl::StatusOr<google::protobuf::Value> leaf = browser_->Execute(
        "return SiltaVerify.hex(await SiltaVerify.entryLeafHash(JSON.parse(arguments[0])));",
        {json});
    ASSERT_TRUE(leaf.ok()) << leaf.status();
    EXPECT_EQ(leaf->string_value(), absl::BytesToHexString(audit::EntryLeafHash(e))) << json;
  }
}

TEST_F(ConsoleTest, SiltactlConsolePrintsALinkThatOpensTheConsole) {
  const std::string log = world_->setup().dir + "/siltactl-console.log";
  auto process = ChildProcess::Start(
      {SILTACTL_PATH, "--address", world_->address(), "--cert", OrgCert("wba-dpo"), "--key",
       OrgKey("wba-dpo"), "--ca", PkiPath("ca.pem"), "--server-name", "localhost", "console",
       "--log-key", PkiPath("audit/log-key.pub"), "--no-open", "--state-dir",
       world_->setup().dir + "/siltactl-console-state"},
      {"XDG_CONFIG_HOME=" + world_->setup().dir}, log);
  ASSERT_TRUE(process.ok()) << process.status();
  ASSERT_TRUE((*process)->WaitForLog("Ctrl-C", absl::Seconds(20))) << (*process)->Log();
  const std::string output = (*process)->Log();
  const size_t at = output.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << output;
  const std::string link = output.substr(at, output.find('\n', at) - at);
  ASSERT_TRUE(browser_->Navigate(link).ok());
  ASSERT_TRUE(browser_->WaitFor("document.getElementById('main').dataset.loaded === 'overview'"))
      << browser_->Text("main");
  EXPECT_THAT(browser_->Text("#whoami"), HasSubstr("wba-dpo"));
  // A non-loopback address is refused with a reason.
  const CommandResult open = world_->Siltactl(
      "wba-dpo",
      {"console", "--log-key", PkiPath("audit/log-key.pub"), "--no-open", "--listen", "0.0.0.0:0"});
  EXPECT_NE(open.exit_code, 0);
  EXPECT_THAT(open.output, HasSubstr("not a loopback address"));
  (*process)->Signal(SIGTERM);
  absl::StatusOr<int> exit_code = (*process)->WaitForExit(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok());
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT((*process)->Log(), Not(HasSubstr(kHetu)));
}

}  // namespace
}  // namespace silta::testing
