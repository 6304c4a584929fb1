#include "client/siltactl/consent_commands.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/siltactl/output.h"
#include "server/common/time_util.h"
#include "silta/v1/consent.grpc.pb.h"

namespace silta::siltactl {
namespace {

std::string RecipientsText(const google::protobuf::RepeatedPtrField<v1::Recipient>& recipients) {
  std::vector<std::string> out;
  for (const v1::Recipient& r : recipients) {
    out.push_back(r.has_org_kind() ? absl::StrCat("kind:", v1::OrgKind_Name(r.org_kind()))
                                   : r.org_id());
  }
  return absl::StrJoin(out, ",");
}

std::string StateText(const google::protobuf::RepeatedPtrField<v1::ConsentEvent>& history,
                      const google::protobuf::Timestamp& valid_until, bool has_until) {
  for (const v1::ConsentEvent& e : history) {
    if (e.type() == v1::WITHDRAWN) return absl::StrCat("withdrawn ", TimeText(e.at()));
  }
  if (has_until && common::ToTime(valid_until) <= absl::Now()) return "expired";
  return "in force";
}

}  // namespace

ConsentCommands::ConsentCommands(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* consent = app->add_subcommand(
      "consent", "Consents and refusals of a young person (consent registrar role)");
  consent->require_subcommand(1);

  CLI::App* record = consent->add_subcommand(
      "record",
      "Record a consent. The HETU is asked for (or read from stdin), never given as a flag.\n"
      "  Example: siltactl consent record --grantor GUARDIAN --purpose referral \\\n"
      "             --category social_welfare --category education_employment \\\n"
      "             --to hml-youth --valid-days 180 --evidence form-2026-117\n"
      "  Example (a 17-year-old, after a competence assessment):\n"
      "           siltactl consent record --grantor MINOR_ASSESSED_COMPETENT \\\n"
      "             --competence-ref assessment-42 --purpose youth_coaching \\\n"
      "             --category education_employment --to asenne-ry --valid-days 183 \\\n"
      "             --evidence form-2026-118 < hetu.txt");
  CLI::App* refuse = consent->add_subcommand(
      "refuse",
      "Record a refusal: it overrides any consent for those categories and recipients.\n"
      "  Example: siltactl consent refuse --category health --category mental_health \\\n"
      "             --to police-hame --evidence form-2026-119");
  for (CLI::App* cmd : {record, refuse}) {
    cmd->add_option("--grantor", grantor_, "SUBJECT, GUARDIAN or MINOR_ASSESSED_COMPETENT")
        ->capture_default_str();
    cmd->add_option("--category", categories_, "Data category, e.g. health; repeat")->required();
    cmd->add_option("--to", to_orgs_, "Recipient organisation id; repeat");
    cmd->add_option("--to-kind", to_kinds_, "Recipient organisation kind, e.g. NGO; repeat");
    cmd->add_option("--evidence", evidence_, "Where the signed form is kept (no personal data)")
        ->required();
    cmd->add_option("--valid-until", valid_until_, "Last day, 2027-04-30 or RFC 3339");
    cmd->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  }
  record->add_option("--purpose", purposes_, "Purpose code from the policy; repeat")->required();
  record->add_option("--competence-ref", competence_ref_,
                     "Reference to the competence assessment (MINOR_ASSESSED_COMPETENT)");
  record->add_option("--case", case_id_, "Limit the consent to one case");
  record->add_option("--valid-days", valid_days_, "Valid for this many days from now")
      ->check(CLI::Range(1, 3650));
  Add(record, [this] { return Record(/*refusal=*/false); });
  Add(refuse, [this] { return Record(/*refusal=*/true); });

  CLI::App* withdraw = consent->add_subcommand(
      "withdraw",
      "Withdraw a consent or refusal from now on (messages not yet delivered lose its fields).\n"
      "  Example: siltactl consent withdraw 0193a1c2-...");
  withdraw->add_option("record_id", record_id_, "Consent or refusal id")->required();
  withdraw->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(withdraw, [this] { return Withdraw(); });

  CLI::App* list =
      consent->add_subcommand("list",
                              "List a young person's consents and refusals with their history.\n"
                              "  Example: siltactl consent list        (asks for the HETU)");
  list->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(list, [this] { return List(); });
}

int ConsentCommands::Record(bool refusal) {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  v1::GrantorKind grantor;
  if (!v1::GrantorKind_Parse(absl::AsciiStrToUpper(grantor_), &grantor)) {
    return UsageError("--grantor: use SUBJECT, GUARDIAN or MINOR_ASSESSED_COMPETENT");
  }
  google::protobuf::RepeatedField<int> categories;
  for (const std::string& c : categories_) {
    v1::Category category;
    if (!ParseCategory(c, &category)) {
      return UsageError(absl::StrCat("--category: unknown category '", c,
                                     "', e.g. social_welfare, health, education_employment"));
    }
    categories.Add(category);
  }
  google::protobuf::RepeatedPtrField<v1::Recipient> recipients;
  for (const std::string& org : to_orgs_) recipients.Add()->set_org_id(org);
  for (const std::string& k : to_kinds_) {
    v1::OrgKind kind;
    if (!v1::OrgKind_Parse(absl::AsciiStrToUpper(k), &kind)) {
      return UsageError(absl::StrCat("--to-kind: unknown kind '", k, "', e.g. NGO, POLICE"));
    }
    recipients.Add()->set_org_kind(kind);
  }
  if (recipients.empty()) return UsageError("give at least one --to ORG or --to-kind KIND");
  google::protobuf::Timestamp until;
  bool has_until = false;
  if (!valid_until_.empty()) {
    absl::Time t;
    if (!ParseTimeFlag(valid_until_, &t)) {
      return UsageError("--valid-until: use 2027-04-30 or 2027-04-30T00:00:00Z");
    }
    until = common::ToTimestamp(t);
    has_until = true;
  } else if (valid_days_ > 0) {
    until = common::ToTimestamp(absl::Now() + absl::Hours(24) * valid_days_);
    has_until = true;
  } else if (!refusal) {
    return UsageError("a consent needs an end: --valid-days N or --valid-until DATE");
  }
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("no HETU entered");

  int exit_code = kExitOk;
  auto channel = ChannelOrExit(*flags_, &exit_code);
  if (channel == nullptr) return exit_code;
  auto stub = v1::ConsentService::NewStub(channel);
  grpc::ClientContext context;
  SetDeadline(&context, *flags_);
  if (refusal) {
    v1::RecordRefusalRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Refusal* r = request.mutable_refusal();
    r->set_grantor(grantor);
    *r->mutable_categories() = categories;
    *r->mutable_recipients() = recipients;
    if (has_until) *r->mutable_valid_until() = until;
    r->set_evidence_ref(evidence_);
    request.mutable_acting_user()->set_worker_id(worker_);
    v1::RecordRefusalResponse response;
    const grpc::Status status = stub->RecordRefusal(&context, request, &response);
    if (!status.ok()) return ReportRpcError("consent refuse", status);
    if (flags_->json) {
      PrintJson(response);
    } else {
      std::printf("refusal %s recorded: %s to %s\n", response.refusal().refusal_id().c_str(),
                  CategoriesText(response.refusal().categories()).c_str(),
                  RecipientsText(response.refusal().recipients()).c_str());
    }
    return kExitOk;
  }
  v1::RecordConsentRequest request;
  request.mutable_subject()->set_hetu(hetu);
  v1::Consent* c = request.mutable_consent();
  c->set_grantor(grantor);
  c->set_competence_assessment_ref(competence_ref_);
  for (const std::string& p : purposes_) c->add_purposes(p);
  *c->mutable_categories() = categories;
  *c->mutable_recipients() = recipients;
  c->set_case_id(case_id_);
  *c->mutable_valid_until() = until;
  c->set_evidence_ref(evidence_);
  request.mutable_acting_user()->set_worker_id(worker_);
  v1::RecordConsentResponse response;
  const grpc::Status status = stub->RecordConsent(&context, request, &response);
  if (!status.ok()) return ReportRpcError("consent record", status);
  if (flags_->json) {
    PrintJson(response);
  } else {
    std::printf("consent %s recorded: %s to %s for %s until %s\n",
                response.consent().consent_id().c_str(),
                CategoriesText(response.consent().categories()).c_str(),
                RecipientsText(response.consent().recipients()).c_str(),
                absl::StrJoin(response.consent().purposes(), ",").c_str(),
                TimeText(response.consent().valid_until()).c_str());
  }
  return kExitOk;
}

int ConsentCommands::Withdraw() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  int exit_code = kExitOk;
  auto channel = ChannelOrExit(*flags_, &exit_code);
  if (channel == nullptr) return exit_code;
  grpc::ClientContext context;
  SetDeadline(&context, *flags_);
  v1::WithdrawConsentRequest request;
  request.set_record_id(record_id_);
  request.mutable_acting_user()->set_worker_id(worker_);
  v1::WithdrawConsentResponse response;
  const grpc::Status status =
      v1::ConsentService::NewStub(channel)->WithdrawConsent(&context, request, &response);
  if (!status.ok()) return ReportRpcError("consent withdraw", status);
  if (flags_->json) {
    PrintJson(response);
  } else {
    std::printf("%s withdrawn from %s\n", record_id_.c_str(),
                TimeText(response.effective_at()).c_str());
  }
  return kExitOk;
}

int ConsentCommands::List() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("no HETU entered");
  int exit_code = kExitOk;
  auto channel = ChannelOrExit(*flags_, &exit_code);
  if (channel == nullptr) return exit_code;
  grpc::ClientContext context;
  SetDeadline(&context, *flags_);
  v1::ListSubjectConsentsRequest request;
  request.mutable_subject()->set_hetu(hetu);
  request.mutable_acting_user()->set_worker_id(worker_);
  v1::ListSubjectConsentsResponse response;
  const grpc::Status status =
      v1::ConsentService::NewStub(channel)->ListSubjectConsents(&context, request, &response);
  if (!status.ok()) return ReportRpcError("consent list", status);
  if (flags_->json) {
    PrintJson(response);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Consent& c : response.consents()) {
    rows.push_back({c.consent_id(), "consent", CategoriesText(c.categories()),
                    RecipientsText(c.recipients()), absl::StrJoin(c.purposes(), ","),
                    TimeText(c.valid_until()),
                    StateText(c.history(), c.valid_until(), c.has_valid_until())});
  }
  for (const v1::Refusal& r : response.refusals()) {
    rows.push_back({r.refusal_id(), "refusal", CategoriesText(r.categories()),
                    RecipientsText(r.recipients()), "",
                    r.has_valid_until() ? TimeText(r.valid_until()) : "",
                    StateText(r.history(), r.valid_until(), r.has_valid_until())});
  }
  PrintTable({"ID", "KIND", "CATEGORIES", "TO", "PURPOSES", "VALID_UNTIL", "STATE"}, rows);
  return kExitOk;
}

}  // namespace silta::siltactl
