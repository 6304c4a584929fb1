#include "client/siltactl/consent_commands.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/sdk/consent_client.h"
#include "client/siltactl/output.h"
#include "lib/common/time_util.h"
#include "silta/v1/consent.pb.h"

namespace silta::siltactl {
namespace {

std::string RecipientsText(const google::protobuf::RepeatedPtrField<v1::Recipient>& recipients) {
  std::vector<std::string> out;
  for (const v1::Recipient& r : recipients) {
    if (r.has_guardian()) {
      out.push_back("guardian");
    } else if (r.has_org_kind()) {
      out.push_back(absl::StrCat("kind:", v1::OrgKind_Name(r.org_kind())));
    } else {
      out.push_back(r.org_id());
    }
  }
  return absl::StrJoin(out, ",");
}

// Org ids and kinds from repeated flags; false (with a usage error printed)
// for an unknown kind.
bool OrgTargets(const std::vector<std::string>& orgs, const std::vector<std::string>& kinds,
                absl::string_view kind_flag,
                google::protobuf::RepeatedPtrField<v1::Recipient>* out) {
  for (const std::string& org : orgs) out->Add()->set_org_id(org);
  for (const std::string& k : kinds) {
    v1::OrgKind kind;
    if (!v1::OrgKind_Parse(absl::AsciiStrToUpper(k), &kind) || kind == v1::ORG_KIND_UNSPECIFIED) {
      UsageError(absl::StrCat(kind_flag, ": unknown kind '", k, "', e.g. NGO, POLICE"));
      return false;
    }
    out->Add()->set_org_kind(kind);
  }
  return true;
}

// Categories from --category flags; false (with a usage error printed) for
// an unknown one.
bool CategoryList(const std::vector<std::string>& names,
                  google::protobuf::RepeatedField<int>* out) {
  for (const std::string& c : names) {
    v1::Category category;
    if (!ParseCategory(c, &category)) {
      UsageError(absl::StrCat("--category: unknown category '", c,
                              "', e.g. social_welfare, health, education_employment"));
      return false;
    }
    out->Add(category);
  }
  return true;
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
      "Record a consent: which categories which organisations (--from) may disclose to which\n"
      "(--to), for which purposes. The HETU is asked for (or read from stdin), never given as\n"
      "a flag. Whose word counts follows the young person's age on each day: a guardian's\n"
      "until 18, the young person's own from 18, or before it after a competence assessment\n"
      "(consent assess) for those categories and purposes.\n"
      "  Example: siltactl consent record --grantor GUARDIAN --purpose referral \\\n"
      "             --category social_welfare --category education_employment \\\n"
      "             --from wba-social --to hml-youth --valid-days 180 --evidence form-2026-117\n"
      "  Example (a 17-year-old assessed competent for this):\n"
      "           siltactl consent record --grantor SUBJECT --purpose youth_coaching \\\n"
      "             --category education_employment --from-kind WELLBEING_AREA \\\n"
      "             --to asenne-ry --valid-days 183 --evidence form-2026-118 < hetu.txt");
  CLI::App* refuse = consent->add_subcommand(
      "refuse",
      "Record a refusal: it overrides consents for those categories and recipients (from the\n"
      "--from disclosers only, if given; else from every sender). A guardian's refusal counts\n"
      "only before 18 and where the young person is not assessed competent.\n"
      "With --to-guardian, a competent minor forbids disclosing these categories to the\n"
      "guardian (812/2000 11 \u00a7 2 mom): a guardian's subject report leaves them out.\n"
      "  Example: siltactl consent refuse --grantor SUBJECT --category health \\\n"
      "             --category mental_health --to police-hame --evidence form-2026-119");
  for (CLI::App* cmd : {record, refuse}) {
    cmd->add_option("--grantor", grantor_, "SUBJECT or GUARDIAN")->capture_default_str();
    cmd->add_option("--category", categories_, "Data category, e.g. health; repeat")->required();
    cmd->add_option("--to", to_orgs_, "Recipient organisation id; repeat");
    cmd->add_option("--to-kind", to_kinds_, "Recipient organisation kind, e.g. NGO; repeat");
    cmd->add_option("--from", from_orgs_, "Disclosing organisation id; repeat");
    cmd->add_option("--from-kind", from_kinds_,
                    "Disclosing organisation kind, e.g. WELLBEING_AREA; repeat");
    cmd->add_option("--evidence", evidence_, "Where the signed form is kept (no personal data)")
        ->required();
    cmd->add_option("--valid-until", valid_until_, "Last day, 2027-04-30 or RFC 3339");
    cmd->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  }
  refuse->add_flag("--to-guardian", to_guardian_,
                   "A competent minor forbids disclosure to the guardian (instead of --to)");
  record->add_option("--purpose", purposes_, "Purpose code from the policy; repeat")->required();
  record->add_option("--case", case_id_, "Limit the consent to one case");
  record->add_option("--valid-days", valid_days_, "Valid for this many days from now")
      ->check(CLI::Range(1, 3650));
  Add(record, [this] { return Record(/*refusal=*/false); });
  Add(refuse, [this] { return Record(/*refusal=*/true); });

  CLI::App* assess = consent->add_subcommand(
      "assess",
      "Record that a professional assessed a minor able to decide on these categories and\n"
      "purposes (812/2000 10-11 \u00a7, potilaslaki 7 \u00a7): from then on the young person's\n"
      "own consent or refusal counts for them, and a guardian's does not.\n"
      "  Example: siltactl consent assess --category health --purpose youth_coaching \\\n"
      "             --assessed-by dr-virtanen --assessed-on 2026-10-02 \\\n"
      "             --evidence assessment-2026-42 < hetu.txt");
  assess->add_option("--category", categories_, "Data category, e.g. health; repeat")->required();
  assess->add_option("--purpose", purposes_, "Purpose code from the policy; repeat")->required();
  assess->add_option("--assessed-by", assessed_by_,
                     "Worker id of the professional who assessed (never a HETU)")
      ->required();
  assess->add_option("--assessed-on", assessed_on_,
                     "Day (or RFC 3339 time) of the assessment; default now");
  assess->add_option("--evidence", evidence_, "Where the assessment is kept (no personal data)")
      ->required();
  assess->add_option("--valid-until", valid_until_, "Last day, 2027-04-30; default until 18");
  assess->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(assess, [this] { return Assess(); });

  CLI::App* withdraw = consent->add_subcommand(
      "withdraw",
      "Withdraw a consent, lift a refusal or end a competence assessment from now on\n"
      "(messages not yet delivered lose the fields it permitted).\n"
      "  Example: siltactl consent withdraw 0193a1c2-...");
  withdraw->add_option("record_id", record_id_, "Consent, refusal or assessment id")->required();
  withdraw->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(withdraw, [this] { return Withdraw(); });

  CLI::App* list =
      consent->add_subcommand("list",
                              "List a young person's consents, refusals and competence\n"
                              "assessments with their state.\n"
                              "  Example: siltactl consent list        (asks for the HETU)");
  list->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(list, [this] { return List(); });
}

int ConsentCommands::Record(bool refusal) {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  v1::GrantorKind grantor;
  if (!v1::GrantorKind_Parse(absl::AsciiStrToUpper(grantor_), &grantor) ||
      (grantor != v1::SUBJECT && grantor != v1::GUARDIAN)) {
    return UsageError("--grantor: use SUBJECT or GUARDIAN (a competent minor is SUBJECT, after "
                      "`consent assess`)");
  }
  google::protobuf::RepeatedField<int> categories;
  if (!CategoryList(categories_, &categories)) return kExitUsage;
  google::protobuf::RepeatedPtrField<v1::Recipient> recipients;
  if (!OrgTargets(to_orgs_, to_kinds_, "--to-kind", &recipients)) return kExitUsage;
  if (to_guardian_) {
    if (!recipients.empty()) return UsageError("--to-guardian names only the guardian; drop --to");
    recipients.Add()->set_guardian(true);
  }
  if (recipients.empty()) return UsageError("give at least one --to ORG or --to-kind KIND");
  google::protobuf::RepeatedPtrField<v1::Recipient> disclosers;
  if (!OrgTargets(from_orgs_, from_kinds_, "--from-kind", &disclosers)) return kExitUsage;
  if (disclosers.empty() && !refusal) {
    return UsageError(
        "give at least one --from ORG or --from-kind KIND: a consent names who may disclose");
  }
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
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  const sdk::ConsentClient consents(connection);
  if (refusal) {
    v1::RecordRefusalRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Refusal* r = request.mutable_refusal();
    r->set_grantor(grantor);
    *r->mutable_categories() = categories;
    *r->mutable_recipients() = recipients;
    *r->mutable_disclosers() = disclosers;
    if (has_until) *r->mutable_valid_until() = until;
    r->set_evidence_ref(evidence_);
    request.mutable_acting_user()->set_worker_id(worker_);
    absl::StatusOr<v1::RecordRefusalResponse> recorded = consents.RecordRefusal(request);
    if (!recorded.ok()) return ReportError("consent refuse", recorded.status());
    const v1::RecordRefusalResponse& response = *recorded;
    if (flags_->json) {
      PrintJson(response);
    } else {
      const v1::Refusal& r = response.refusal();
      std::printf("refusal %s recorded: %s from %s to %s\n", r.refusal_id().c_str(),
                  CategoriesText(r.categories()).c_str(),
                  r.disclosers().empty() ? "any sender" : RecipientsText(r.disclosers()).c_str(),
                  RecipientsText(r.recipients()).c_str());
    }
    return kExitOk;
  }
  v1::RecordConsentRequest request;
  request.mutable_subject()->set_hetu(hetu);
  v1::Consent* c = request.mutable_consent();
  c->set_grantor(grantor);
  for (const std::string& p : purposes_) c->add_purposes(p);
  *c->mutable_categories() = categories;
  *c->mutable_recipients() = recipients;
  *c->mutable_disclosers() = disclosers;
  c->set_case_id(case_id_);
  *c->mutable_valid_until() = until;
  c->set_evidence_ref(evidence_);
  request.mutable_acting_user()->set_worker_id(worker_);
  absl::StatusOr<v1::RecordConsentResponse> recorded = consents.RecordConsent(request);
  if (!recorded.ok()) return ReportError("consent record", recorded.status());
  const v1::RecordConsentResponse& response = *recorded;
  if (flags_->json) {
    PrintJson(response);
  } else {
    std::printf("consent %s recorded: %s from %s to %s for %s until %s\n",
                response.consent().consent_id().c_str(),
                CategoriesText(response.consent().categories()).c_str(),
                RecipientsText(response.consent().disclosers()).c_str(),
                RecipientsText(response.consent().recipients()).c_str(),
                absl::StrJoin(response.consent().purposes(), ",").c_str(),
                TimeText(response.consent().valid_until()).c_str());
  }
  return kExitOk;
}

int ConsentCommands::Assess() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  v1::RecordCompetenceAssessmentRequest request;
  v1::CompetenceAssessment* a = request.mutable_assessment();
  if (!CategoryList(categories_, a->mutable_categories())) return kExitUsage;
  for (const std::string& p : purposes_) a->add_purposes(p);
  a->mutable_assessed_by()->set_worker_id(assessed_by_);
  absl::Time assessed = absl::Now();
  if (!assessed_on_.empty() && !ParseTimeFlag(assessed_on_, &assessed)) {
    return UsageError("--assessed-on: use 2026-10-02 or 2026-10-02T09:00:00Z");
  }
  *a->mutable_assessed_at() = common::ToTimestamp(assessed);
  if (!valid_until_.empty()) {
    absl::Time t;
    if (!ParseTimeFlag(valid_until_, &t)) {
      return UsageError("--valid-until: use 2027-04-30 or 2027-04-30T00:00:00Z");
    }
    *a->mutable_valid_until() = common::ToTimestamp(t);
  }
  a->set_evidence_ref(evidence_);
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("no HETU entered");
  request.mutable_subject()->set_hetu(hetu);
  request.mutable_acting_user()->set_worker_id(worker_);
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  absl::StatusOr<v1::RecordCompetenceAssessmentResponse> recorded =
      sdk::ConsentClient(connection).RecordCompetenceAssessment(request);
  if (!recorded.ok()) return ReportError("consent assess", recorded.status());
  const v1::RecordCompetenceAssessmentResponse& response = *recorded;
  if (flags_->json) {
    PrintJson(response);
  } else {
    const v1::CompetenceAssessment& stored = response.assessment();
    std::printf("competence assessment %s recorded: %s for %s, assessed by %s on %s\n",
                stored.assessment_id().c_str(), CategoriesText(stored.categories()).c_str(),
                absl::StrJoin(stored.purposes(), ",").c_str(),
                stored.assessed_by().worker_id().c_str(), TimeText(stored.assessed_at()).c_str());
  }
  return kExitOk;
}

int ConsentCommands::Withdraw() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  v1::WithdrawConsentRequest request;
  request.set_record_id(record_id_);
  request.mutable_acting_user()->set_worker_id(worker_);
  absl::StatusOr<v1::WithdrawConsentResponse> withdrawn =
      sdk::ConsentClient(connection).WithdrawConsent(request);
  if (!withdrawn.ok()) return ReportError("consent withdraw", withdrawn.status());
  const v1::WithdrawConsentResponse& response = *withdrawn;
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
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  v1::ListSubjectConsentsRequest request;
  request.mutable_subject()->set_hetu(hetu);
  request.mutable_acting_user()->set_worker_id(worker_);
  absl::StatusOr<v1::ListSubjectConsentsResponse> listed =
      sdk::ConsentClient(connection).ListSubjectConsents(request);
  if (!listed.ok()) return ReportError("consent list", listed.status());
  const v1::ListSubjectConsentsResponse& response = *listed;
  if (flags_->json) {
    PrintJson(response);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Consent& c : response.consents()) {
    rows.push_back({c.consent_id(), "consent", v1::GrantorKind_Name(c.grantor()),
                    CategoriesText(c.categories()),
                    c.disclosers().empty() ? "(none: permits nothing)"
                                           : RecipientsText(c.disclosers()),
                    RecipientsText(c.recipients()), absl::StrJoin(c.purposes(), ","),
                    TimeText(c.valid_until()),
                    StateText(c.history(), c.valid_until(), c.has_valid_until())});
  }
  for (const v1::Refusal& r : response.refusals()) {
    rows.push_back({r.refusal_id(), "refusal", v1::GrantorKind_Name(r.grantor()),
                    CategoriesText(r.categories()),
                    r.disclosers().empty() ? "any" : RecipientsText(r.disclosers()),
                    RecipientsText(r.recipients()), "",
                    r.has_valid_until() ? TimeText(r.valid_until()) : "",
                    StateText(r.history(), r.valid_until(), r.has_valid_until())});
  }
  for (const v1::CompetenceAssessment& a : response.assessments()) {
    rows.push_back({a.assessment_id(), "assessment",
                    absl::StrCat("by ", a.assessed_by().worker_id()),
                    CategoriesText(a.categories()), "", "", absl::StrJoin(a.purposes(), ","),
                    a.has_valid_until() ? TimeText(a.valid_until()) : "18th birthday",
                    StateText(a.history(), a.valid_until(), a.has_valid_until())});
  }
  PrintTable({"ID", "KIND", "GRANTOR", "CATEGORIES", "FROM", "TO", "PURPOSES", "VALID_UNTIL",
              "STATE"},
             rows);
  return kExitOk;
}

}  // namespace silta::siltactl
