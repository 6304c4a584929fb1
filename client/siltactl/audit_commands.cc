#include "client/siltactl/audit_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/reports/report_text.h"
#include "client/sdk/audit_client.h"
#include "client/siltactl/output.h"
#include "google/protobuf/util/time_util.h"
#include "lib/audit/export_file.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/merkle.h"
#include "lib/audit/tree_head.h"
#include "lib/common/time_util.h"
#include "silta/v1/audit.pb.h"

namespace silta::siltactl {
namespace {

using reports::RuleText;

// Moves the next entries of `entries`, at most `limit`, into *out.
absl::Status ReadEntries(sdk::Pager<v1::AuditEntry> entries, uint64_t limit,
                         v1::QueryEntriesResponse* out) {
  v1::AuditEntry entry;
  while (static_cast<uint64_t>(out->entries_size()) < limit && entries.Next(&entry)) {
    *out->add_entries() = std::move(entry);
  }
  return entries.status();
}

void PrintEntries(const GlobalFlags& flags, const v1::QueryEntriesResponse& response) {
  if (flags.json) {
    PrintJson(response);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::AuditEntry& e : response.entries()) {
    std::string basis = RuleText(e.rule());
    if (!e.rule_id().empty()) absl::StrAppend(&basis, " ", e.rule_id());
    if (!e.statute_citation().empty()) absl::StrAppend(&basis, " (", e.statute_citation(), ")");
    rows.push_back({absl::StrCat(e.index()), TimeText(e.at()), v1::AuditEventType_Name(e.type()),
                    e.actor_org_id(), e.counterpart_org_id(), e.case_id(),
                    CategoriesText(e.categories()), basis, e.detail()});
  }
  PrintTable(
      {"INDEX", "TIME", "EVENT", "BY", "COUNTERPART", "CASE", "CATEGORIES", "BASIS", "DETAIL"},
      rows);
}

bool WantProgress(const GlobalFlags& flags) { return !flags.json && isatty(STDERR_FILENO); }

void ShowProgress(const char* what, uint64_t done, uint64_t total) {
  if (total > 0) {
    done = std::min(done, total);  // verification counts the header and trailer lines too
    std::fprintf(stderr, "\r%s %llu / %llu entries (%.0f%%)", what,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                 100.0 * static_cast<double>(done) / static_cast<double>(total));
  } else {
    std::fprintf(stderr, "\r%s %llu entries", what, static_cast<unsigned long long>(done));
  }
  std::fflush(stderr);
}

// Parses a --from/--until flag into `ts` (unset if empty).
bool SetTime(const std::string& flag, const std::string& text, google::protobuf::Timestamp* ts,
             bool* has) {
  *has = false;
  if (text.empty()) return true;
  absl::Time t;
  if (!ParseTimeFlag(text, &t)) return false;
  *ts = common::ToTimestamp(t);
  *has = true;
  (void)flag;
  return true;
}

}  // namespace

AuditCommands::AuditCommands(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* audit = app->add_subcommand("audit", "The tamper-evident audit log (auditor role)");
  audit->require_subcommand(1);

  CLI::App* head =
      audit->add_subcommand("head",
                            "Show the latest signed tree head.\n"
                            "  Example: siltactl audit head --fresh --out head-2026-11.json");
  head->add_flag("--fresh", fresh_, "Sign a head of the log as it is now");
  head->add_option("--out", head_out_, "Also save the head as JSON (for --previous-head)");
  Add(head, [this] { return Head(); });

  CLI::App* tail = audit->add_subcommand(
      "tail", "Show the newest entries you may see.\n  Example: siltactl audit tail -n 50");
  tail->add_option("-n,--count", tail_count_, "How many")->check(CLI::Range(1, 1000));
  Add(tail, [this] { return Tail(); });

  CLI::App* query = audit->add_subcommand(
      "query",
      "Find entries by case, org, event type, time or subject (all given filters must match).\n"
      "  Example: siltactl audit query --case 0193... --type MESSAGE_DELIVERED --from 2026-10-01\n"
      "  Example: siltactl audit query --subject      (asks for the HETU; never on the command "
      "line)");
  query->add_option("--case", case_id_, "Case id");
  query->add_option("--org", org_id_, "Organisation id (actor or counterpart)");
  query->add_option("--type", types_, "Event type, e.g. FIELD_WITHHELD; repeat");
  query->add_option("--from", from_, "From (inclusive): 2026-10-01 or RFC 3339");
  query->add_option("--until", until_, "Until (exclusive)");
  query->add_flag("--subject", subject_,
                  "Filter by young person; the HETU is read from a prompt "
                  "or stdin");
  query->add_option("--limit", limit_, "At most this many entries")->check(CLI::Range(1, 100000));
  Add(query, [this] { return Query(); });

  CLI::App* proof =
      audit->add_subcommand("proof",
                            "Prove that one entry is in the signed log, and check the proof here.\n"
                            "  Example: siltactl audit proof --index 1234 --log-key log-key.pub");
  proof->add_option("--index", proof_index_, "Entry index")->required();
  proof->add_option("--tree-size", proof_tree_size_, "Tree size (default: a fresh tree head)");
  proof->add_option("--log-key", log_key_, "The log's public key (PEM) to check the head")
      ->required();
  Add(proof, [this] { return Proof(); });

  CLI::App* exp = audit->add_subcommand(
      "export",
      "Export entries with their signed tree head and proofs, for offline verification.\n"
      "  Example: siltactl audit export --from 2026-10-01 --until 2026-11-01 --out oct.jsonl\n"
      "  Example: siltactl audit export --out all.jsonl --previous-head head-2026-10.json");
  exp->add_option("--from", from_, "From (inclusive): 2026-10-01 or RFC 3339");
  exp->add_option("--until,--to", until_, "Until (exclusive)");
  exp->add_option("--out", out_, "Output file (JSONL)")->required();
  exp->add_option("--consistent-with", consistent_with_,
                  "Include a consistency proof from this earlier tree size");
  exp->add_option("--previous-head", previous_head_,
                  "Include a consistency proof from this earlier tree head (JSON or export)");
  Add(exp, [this] { return Export(); });

  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Verify an export offline: every line, the root, the signature and, if given,\n"
      "consistency with an earlier tree head. Needs no connection.\n"
      "  Example: siltactl audit verify oct.jsonl --log-key log-key.pub\n"
      "  Example: siltactl audit verify nov.jsonl --log-key log-key.pub --previous-head oct.jsonl");
  verify->add_option("file", verify_file_, "Export file")->required();
  verify->add_option("--log-key", log_key_, "The log's public key (PEM or hex)")->required();
  verify->add_option("--previous-head", previous_head_, "An earlier tree head (JSON or export)");
  verify->add_option("--log-id", log_id_,
                     "The log the head must name (siltad's audit.log_id, e.g. silta:silta.test)");
  Add(verify, [this] { return Verify(); });

  CLI::App* report = app->add_subcommand("report", "Reports from the audit log");
  report->require_subcommand(1);
  CLI::App* indicators = report->add_subcommand(
      "indicators",
      "Steering-group indicators for one month (metadata only; counts below 5 show as <5).\n"
      "  Example: siltactl report indicators --month 2026-10 --region oulu\n"
      "  Example: siltactl report indicators --month 2026-10 --csv > 2026-10.csv");
  indicators->add_option("--month", month_, "YYYY-MM")->required();
  indicators->add_option("--region", region_, "Region code (default: all)");
  indicators->add_flag("--csv", csv_, "CSV for spreadsheets");
  Add(indicators, [this] { return Indicators(); });

  CLI::App* subject = report->add_subcommand(
      "subject",
      "Disclosure report for one young person (consent registrar role). The HETU is read\n"
      "from a prompt or stdin, never from the command line. --requester says who asked: a\n"
      "guardian's (or other legal representative's) report is refused once the young person\n"
      "is 18, and leaves out what they forbade disclosing to a guardian.\n"
      "  Example: siltactl report subject --requester subject --markdown > report.md");
  subject->add_flag("--markdown", markdown_, "Markdown for printing or sending");
  subject->add_option("--requester", requester_, "Who asked: subject, guardian or representative")
      ->required()
      ->check(CLI::IsMember({"subject", "guardian", "representative"}, CLI::ignore_case));
  subject->add_flag("--include-law-enforcement", include_law_enforcement_,
                    "Keep entries to or from the police, probation and prison services (only when "
                    "that controller has agreed; by default the report names whom to ask)");
  subject->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(subject, [this] { return Subject(); });
}

int AuditCommands::Head() {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  v1::GetTreeHeadRequest request;
  request.set_fresh(fresh_);
  absl::StatusOr<v1::SignedTreeHead> signed_head = audit.GetTreeHead(request);
  if (!signed_head.ok()) return ReportError("audit head", signed_head.status());
  const v1::SignedTreeHead& head = *signed_head;
  if (!head_out_.empty()) {
    std::ofstream out(head_out_);
    out << audit::TreeHeadJson(head) << "\n";
    if (!out) return UsageError(absl::StrCat("cannot write ", head_out_));
  }
  if (flags_->json) {
    PrintJson(head);
  } else {
    PrintTable({"TREE_SIZE", "ROOT", "SIGNED_AT", "LOG_KEY"},
               {{absl::StrCat(head.tree_size()), absl::BytesToHexString(head.root_hash()),
                 TimeText(head.timestamp()), head.log_key_id()}});
  }
  return kExitOk;
}

int AuditCommands::Tail() {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  v1::GetTreeHeadRequest head_request;
  head_request.set_fresh(true);
  absl::StatusOr<v1::SignedTreeHead> head = audit.GetTreeHead(head_request);
  if (!head.ok()) return ReportError("audit tail", head.status());
  v1::QueryEntriesRequest request;
  const uint64_t count = static_cast<uint64_t>(tail_count_);
  // The page token is the index to continue from.
  request.set_page_token(absl::StrCat(head->tree_size() > count ? head->tree_size() - count : 0));
  request.set_page_size(static_cast<uint32_t>(count));
  v1::QueryEntriesResponse response;
  absl::Status read = ReadEntries(audit.QueryEntries(request), count, &response);
  if (!read.ok()) return ReportError("audit tail", read);
  PrintEntries(*flags_, response);
  return kExitOk;
}

int AuditCommands::Query() {
  v1::QueryEntriesRequest request;
  request.set_case_id(case_id_);
  request.set_org_id(org_id_);
  for (const std::string& t : types_) {
    v1::AuditEventType type;
    if (!v1::AuditEventType_Parse(absl::AsciiStrToUpper(t), &type)) {
      return UsageError(absl::StrCat("--type: unknown event type '", t,
                                     "', e.g. MESSAGE_DELIVERED, FIELD_WITHHELD, CONSENT_GIVEN"));
    }
    request.add_types(type);
  }
  bool has = false;
  if (!SetTime("--from", from_, request.mutable_from(), &has)) {
    return UsageError("--from: use 2026-10-01 or 2026-10-01T08:00:00Z");
  }
  if (!has) request.clear_from();
  if (!SetTime("--until", until_, request.mutable_until(), &has)) {
    return UsageError("--until: use 2026-11-01 or 2026-11-01T08:00:00Z");
  }
  if (!has) request.clear_until();
  if (subject_) {
    const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
    if (hetu.empty()) return UsageError("--subject: no HETU entered");
    request.mutable_subject()->set_hetu(hetu);
  }
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  request.set_page_size(static_cast<uint32_t>(std::min(1000, limit_)));
  v1::QueryEntriesResponse all;
  absl::Status read = ReadEntries(audit.QueryEntries(request), static_cast<uint64_t>(limit_), &all);
  if (!read.ok()) return ReportError("audit query", read);
  PrintEntries(*flags_, all);
  return kExitOk;
}

int AuditCommands::Proof() {
  absl::StatusOr<std::string> key = audit::ReadLogPublicKey(log_key_);
  if (!key.ok()) return UsageError(absl::StrCat("--log-key: ", key.status().message()));
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  v1::GetTreeHeadRequest head_request;
  head_request.set_fresh(true);
  absl::StatusOr<v1::SignedTreeHead> signed_head = audit.GetTreeHead(head_request);
  if (!signed_head.ok()) return ReportError("audit proof", signed_head.status());
  const v1::SignedTreeHead& head = *signed_head;
  if (proof_tree_size_ != 0 && proof_tree_size_ != head.tree_size()) {
    return UsageError(
        "--tree-size: only the current (fresh) tree head can be checked here; "
        "use audit export --previous-head for older heads");
  }
  v1::QueryEntriesResponse entry;
  {
    v1::QueryEntriesRequest request;
    request.set_page_token(absl::StrCat(proof_index_));
    request.set_page_size(1);
    absl::Status read = ReadEntries(audit.QueryEntries(request), 1, &entry);
    if (!read.ok()) return ReportError("audit proof", read);
    if (entry.entries_size() != 1 || entry.entries(0).index() != proof_index_) {
      std::fprintf(stderr, "siltactl: audit proof: entry %llu is not in the log or not yours\n",
                   static_cast<unsigned long long>(proof_index_));
      return kExitRefused;
    }
  }
  v1::GetInclusionProofRequest proof_request;
  proof_request.set_index(proof_index_);
  proof_request.set_tree_size(head.tree_size());
  absl::StatusOr<v1::InclusionProof> inclusion = audit.GetInclusionProof(proof_request);
  if (!inclusion.ok()) return ReportError("audit proof", inclusion.status());
  const v1::InclusionProof& proof = *inclusion;
  const absl::Status signed_ok = audit::VerifyTreeHead(*key, head);
  const std::vector<std::string> path(proof.path().begin(), proof.path().end());
  const bool included =
      audit::VerifyInclusion(proof_index_, head.tree_size(), audit::EntryLeafHash(entry.entries(0)),
                             path, head.root_hash());
  if (flags_->json) {
    PrintJson(proof);
  } else {
    PrintEntries(*flags_, entry);
    std::printf("inclusion proof: %d hashes against the tree of %llu entries signed %s\n",
                proof.path_size(), static_cast<unsigned long long>(head.tree_size()),
                TimeText(head.timestamp()).c_str());
  }
  if (!signed_ok.ok() || !included) {
    std::fprintf(stderr, "siltactl: audit proof: NOT VERIFIED: %s\n",
                 !signed_ok.ok() ? std::string(signed_ok.message()).c_str()
                                 : "the entry is not in the signed tree");
    return kExitFailure;
  }
  if (!flags_->json) std::printf("verified: the entry is in the signed log\n");
  return kExitOk;
}

int AuditCommands::Export() {
  v1::ExportRequest request;
  bool has = false;
  if (!SetTime("--from", from_, request.mutable_from(), &has)) {
    return UsageError("--from: use 2026-10-01 or 2026-10-01T08:00:00Z");
  }
  if (!has) request.clear_from();
  if (!SetTime("--until", until_, request.mutable_until(), &has)) {
    return UsageError("--until: use 2026-11-01 or 2026-11-01T08:00:00Z");
  }
  if (!has) request.clear_until();
  request.set_consistent_with_size(consistent_with_);
  if (!previous_head_.empty()) {
    absl::StatusOr<v1::SignedTreeHead> previous = audit::ReadTreeHeadFile(previous_head_);
    if (!previous.ok())
      return UsageError(absl::StrCat("--previous-head: ", previous.status().message()));
    request.set_consistent_with_size(previous->tree_size());
  }
  absl::StatusOr<std::unique_ptr<audit::ExportFileWriter>> writer =
      audit::ExportFileWriter::Create(out_, request);
  if (!writer.ok()) return UsageError(absl::StrCat("--out: ", writer.status().message()));
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  const bool progress = WantProgress(*flags_);
  // Exports can be long: a day, not --timeout, bounds the stream.
  absl::Status status = audit.Export(
      request,
      [&](const v1::ExportChunk& chunk) {
        absl::Status added = (*writer)->Add(chunk);
        if (progress) ShowProgress("exported", (*writer)->written(), (*writer)->total());
        return added;
      },
      absl::Hours(24));
  if (progress) std::fprintf(stderr, "\n");
  if (!status.ok()) return ReportError("audit export", status);
  status = (*writer)->Finish();
  if (status.code() == absl::StatusCode::kDataLoss) {
    std::fprintf(stderr, "siltactl: audit export: %s\n", std::string(status.message()).c_str());
    return kExitFailure;
  }
  if (!status.ok()) return UsageError(absl::StrCat("--out: ", status.message()));
  const uint64_t written = (*writer)->written();
  const uint64_t first_index = (*writer)->first_index();
  const v1::SignedTreeHead trailer_head = (*writer)->tree_head();
  if (flags_->json) {
    v1::ExportFileHeader summary;
    summary.set_format(std::string(audit::kExportFormat));
    summary.set_first_index(first_index);
    summary.set_entries(written);
    PrintJson(summary);
  } else {
    std::printf(
        "exported %llu entries (from index %llu) with the tree head of %llu entries to %s\n",
        static_cast<unsigned long long>(written), static_cast<unsigned long long>(first_index),
        static_cast<unsigned long long>(trailer_head.tree_size()), out_.c_str());
  }
  return kExitOk;
}

int AuditCommands::Verify() {
  absl::StatusOr<std::string> key = audit::ReadLogPublicKey(log_key_);
  if (!key.ok()) return UsageError(absl::StrCat("--log-key: ", key.status().message()));
  std::optional<v1::SignedTreeHead> previous;
  if (!previous_head_.empty()) {
    absl::StatusOr<v1::SignedTreeHead> head = audit::ReadTreeHeadFile(previous_head_);
    if (!head.ok()) return UsageError(absl::StrCat("--previous-head: ", head.status().message()));
    previous = *head;
  }
  std::ifstream in(verify_file_);
  if (!in) return UsageError(absl::StrCat("cannot read ", verify_file_));
  const bool progress = WantProgress(*flags_);
  audit::VerifyResult result =
      audit::VerifyExport(in, *key, previous,
                          progress ? audit::VerifyProgress([](uint64_t lines, uint64_t total) {
                            ShowProgress("verified", lines, total);
                          })
                                   : audit::VerifyProgress(),
                          log_id_);
  if (progress) std::fprintf(stderr, "\n");
  if (flags_->json) {
    std::printf(
        "{\"verified\":%s,\"entries\":%llu,\"purged\":%llu,\"first_index\":%llu,"
        "\"tree_size\":%llu,\"problems\":[%s]}\n",
        result.ok() ? "true" : "false", static_cast<unsigned long long>(result.entries),
        static_cast<unsigned long long>(result.purged),
        static_cast<unsigned long long>(result.first_index),
        static_cast<unsigned long long>(result.tree_head.tree_size()),
        absl::StrJoin(result.problems, ",", [](std::string* out, const std::string& p) {
          absl::StrAppend(out, "\"", absl::CEscape(p), "\"");
        }).c_str());
  } else if (result.ok()) {
    std::printf(
        "verified: %llu entries (%llu..%llu) are in log %s of %llu entries signed %s "
        "by log key %s%s\n",
        static_cast<unsigned long long>(result.entries),
        static_cast<unsigned long long>(result.first_index),
        static_cast<unsigned long long>(result.first_index + result.entries - 1),
        result.tree_head.log_id().c_str(),
        static_cast<unsigned long long>(result.tree_head.tree_size()),
        TimeText(result.tree_head.timestamp()).c_str(), result.tree_head.log_key_id().c_str(),
        previous.has_value() ? absl::StrCat("; consistent with the earlier head of ",
                                            previous->tree_size(), " entries")
                                   .c_str()
                             : "");
    if (result.purged > 0) {
      std::printf("  %llu of them were purged under the retention policy: only their leaf hash "
                  "is left, and the tree proves it\n",
                  static_cast<unsigned long long>(result.purged));
    }
  } else {
    std::fprintf(stderr, "NOT VERIFIED: %s\n", verify_file_.c_str());
    for (const std::string& p : result.problems) std::fprintf(stderr, "  %s\n", p.c_str());
  }
  return result.ok() ? kExitOk : kExitFailure;
}

int AuditCommands::Indicators() {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  v1::IndicatorsRequest request;
  request.set_month(month_);
  request.set_region(region_);
  absl::StatusOr<v1::IndicatorsResponse> indicators = audit.Indicators(request);
  if (!indicators.ok()) return ReportError("report indicators", indicators.status());
  const v1::IndicatorsResponse& response = *indicators;
  if (flags_->json) {
    PrintJson(response);
    return kExitOk;
  }
  if (csv_) {
    std::fputs(reports::IndicatorsCsv(response).c_str(), stdout);
    return kExitOk;
  }
  std::printf("Indicators for %s, region %s (counts below 5 are shown as <5)\n\n",
              response.month().c_str(),
              response.region().empty() ? "all" : response.region().c_str());
  std::vector<std::vector<std::string>> rows;
  for (const v1::Indicator& t : response.indicators()) {
    for (const v1::IndicatorCell& c : t.cells()) {
      rows.push_back({t.name(), c.label(), reports::IndicatorValueText(c)});
    }
  }
  PrintTable({"INDICATOR", "LABEL", "VALUE"}, rows);
  return kExitOk;
}

int AuditCommands::Subject() {
  if (worker_.empty()) {
    return UsageError(
        "report subject: --worker is required (or set SILTA_WORKER): the report "
        "records who produced it");
  }
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("report subject: no HETU entered");
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::AuditClient audit(connection);
  v1::SubjectReportRequest request;
  request.mutable_subject()->set_hetu(hetu);
  request.mutable_acting_user()->set_worker_id(worker_);
  request.mutable_acting_user()->set_role("consent_registrar");
  v1::ReportRequester requester = v1::REPORT_REQUESTER_UNSPECIFIED;
  v1::ReportRequester_Parse(absl::StrCat("REQUESTER_", absl::AsciiStrToUpper(requester_)),
                            &requester);
  request.set_requester(requester);
  request.set_include_law_enforcement(include_law_enforcement_);
  absl::StatusOr<v1::SubjectReportResponse> report = audit.SubjectReport(request);
  if (!report.ok()) return ReportError("report subject", report.status());
  const v1::SubjectReportResponse& response = *report;
  if (flags_->json) {
    PrintJson(response);
    return kExitOk;
  }
  const reports::SubjectReportText text = reports::DescribeSubjectReport(response);
  std::vector<std::vector<std::string>> events;
  for (const reports::EventLine& e : text.events) {
    events.push_back({e.when, e.by, e.what, e.other_party, e.purpose, e.detail});
  }
  if (markdown_) {
    std::printf(
        "# Disclosure report\n\nWho has received information about you through Silta, "
        "and what was withheld.\n\n");
    std::printf(
        "| When | From | To | Information | Purpose | Basis | Outcome |\n"
        "|---|---|---|---|---|---|---|\n");
    for (const reports::DisclosureLine& d : text.disclosures) {
      std::printf(
          "| %s |\n",
          absl::StrJoin({d.when, d.from, d.to, d.information, d.purpose, d.basis, d.outcome}, " | ")
              .c_str());
    }
    if (response.disclosures().empty()) std::printf("| – | | | | | | no disclosures |\n");
    std::printf("\n%s\n", text.receipts.c_str());
    if (!events.empty()) {
      std::printf(
          "\n## Other processing of your data\n\n| When | By | What | Other party | Purpose | "
          "Detail |\n|---|---|---|---|---|---|\n");
      for (const auto& row : events) {
        std::printf("| %s |\n", absl::StrJoin(row, " | ").c_str());
      }
    }
    for (const std::string& note : text.notes) std::printf("\n%s\n", note.c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const reports::DisclosureLine& d : text.disclosures) {
    rows.push_back({d.when, d.from, d.to, d.information, d.purpose, d.basis, d.outcome});
  }
  PrintTable({"WHEN", "FROM", "TO", "INFORMATION", "PURPOSE", "BASIS", "OUTCOME"}, rows);
  std::printf("\n%s\n", text.receipts.c_str());
  if (!events.empty()) {
    std::printf("\nOther processing of the young person's data:\n");
    PrintTable({"WHEN", "BY", "WHAT", "OTHER PARTY", "PURPOSE", "DETAIL"}, events);
  }
  for (const std::string& note : text.notes) std::printf("\n%s\n", note.c_str());
  return kExitOk;
}

}  // namespace silta::siltactl
