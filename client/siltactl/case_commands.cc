#include "client/siltactl/case_commands.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/sdk/case_client.h"
#include "client/siltactl/output.h"
#include "silta/v1/case.pb.h"

namespace silta::siltactl {
namespace {

void PrintCases(const GlobalFlags& flags, const google::protobuf::Message& message,
                const std::vector<const v1::Case*>& cases) {
  if (flags.json) {
    PrintJson(message);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Case* c : cases) {
    rows.push_back({c->case_id(), v1::CaseState_Name(c->state()), c->purpose(),
                    absl::StrCat(c->coordinator().org_id(), "/", c->coordinator().worker_id()),
                    absl::StrJoin(c->member_org_ids(), ","), TimeText(c->created_at())});
  }
  PrintTable({"CASE_ID", "STATE", "PURPOSE", "COORDINATOR", "MEMBERS", "OPENED"}, rows);
}

v1::ActingUser Worker(const std::string& worker) {
  v1::ActingUser user;
  user.set_worker_id(worker);
  return user;
}

// One unary CaseService call, printing the case in its response.
template <typename Call>
int CaseCall(const GlobalFlags& flags, const std::string& what, Call call) {
  return RunUnary<sdk::CaseClient>(flags, what, call, [&](const auto& response) {
    PrintCases(flags, response, {&response.case_()});
  });
}

}  // namespace

CaseCommands::CaseCommands(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* cases = app->add_subcommand("case", "Cases of young people (agency role)");
  cases->require_subcommand(1);
  CLI::App* create = cases->add_subcommand(
      "create",
      "Open a case for a young person, coordinated by your organisation (the HETU is asked\n"
      "for, or read from stdin). Refused if one is already open; the refusal names its\n"
      "coordinator only if you may learn it (see case check).\n"
      "  Example: siltactl case create --member wba-social --member hml-youth \\\n"
      "             --coordinator-worker sw-12");
  create->add_option("--member", members_, "Another member organisation; repeat");
  create->add_option("--purpose", purpose_, "Purpose code from the policy")->capture_default_str();
  create
      ->add_option("--coordinator-worker", coordinator_worker_,
                   "Your worker who is the young person's one adult")
      ->required();
  create->add_option("--statutory-basis", statutory_basis_,
                     "If a case exists: a statute code that lets you learn its coordinator");
  create->add_option("--justification", justification_,
                     "Why the basis applies (recorded only as given)");
  Add(create, [this] { return Create(); });

  CLI::App* check = cases->add_subcommand(
      "check",
      "Ask whether a young person has an open case, and who coordinates it (the HETU is asked\n"
      "for, or read from stdin). That someone is a client is personal data: answered only with\n"
      "the young person's consent to service_relationship for --purpose, or under a statutory\n"
      "right to request information with its justification. Every check is audited.\n"
      "  Example: siltactl case check --purpose referral\n"
      "  Example: siltactl case check --purpose referral --statutory-basis information_on_request \\\n"
      "             --justification 'assessing a child-welfare notification'");
  check->add_option("--purpose", purpose_, "Purpose code from the policy")->capture_default_str();
  check->add_option("--statutory-basis", statutory_basis_, "Statute code claimed instead of consent");
  check->add_option("--justification", justification_,
                    "Why the basis applies (recorded only as given)");
  Add(check, [this] { return Check(); });

  CLI::App* list = cases->add_subcommand(
      "list", "Cases your organisation is a member of.\n  Example: siltactl case list --state all");
  list->add_option("--state", state_, "open, closed or all")->capture_default_str();
  Add(list, [this] { return List(); });

  CLI::App* show =
      cases->add_subcommand("show", "One case.\n  Example: siltactl case show 0193a1c2-...");
  show->add_option("case_id", case_id_, "Case id")->required();
  Add(show, [this] { return Show(); });

  CLI::App* add =
      cases->add_subcommand("add-member",
                            "Add an organisation to the case (coordinator only).\n"
                            "  Example: siltactl case add-member 0193a1c2-... wba-psychiatry");
  add->add_option("case_id", case_id_, "Case id")->required();
  add->add_option("org_id", org_id_, "Organisation to add")->required();
  Add(add, [this] { return AddMember(); });

  CLI::App* transfer = cases->add_subcommand(
      "transfer",
      "Hand the one-adult role to a member organisation's worker (coordinator only).\n"
      "  Example: siltactl case transfer 0193a1c2-... --to wba-social --to-worker sw-3 \\\n"
      "             --reason \"child-welfare client now\"");
  transfer->add_option("case_id", case_id_, "Case id")->required();
  transfer->add_option("--to", org_id_, "New coordinating organisation")->required();
  transfer->add_option("--to-worker", to_worker_, "Its worker who takes the role")->required();
  transfer->add_option("--reason", reason_, "Why (no personal data)");
  Add(transfer, [this] { return Transfer(); });

  CLI::App* close = cases->add_subcommand(
      "close", "Close the case (coordinator only).\n  Example: siltactl case close 0193a1c2-...");
  close->add_option("case_id", case_id_, "Case id")->required();
  Add(close, [this] { return Close(); });

  for (CLI::App* cmd : {create, check, add, transfer, close}) {
    cmd->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  }
}

int CaseCommands::Create() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("no HETU entered");
  v1::CreateCaseRequest request;
  request.mutable_subject()->set_hetu(hetu);
  request.set_purpose(purpose_);
  request.set_coordinator_worker_id(coordinator_worker_);
  request.set_statutory_basis(statutory_basis_);
  request.set_justification(justification_);
  for (const auto& m : members_) request.add_member_org_ids(m);
  *request.mutable_acting_user() = Worker(worker_);
  return CaseCall(*flags_, "case create",
                  [&](const sdk::CaseClient& cases) { return cases.CreateCase(request); });
}

int CaseCommands::Check() {
  if (worker_.empty()) return UsageError("--worker is required (or set SILTA_WORKER)");
  const std::string hetu = ReadHetu("HETU of the young person (not shown): ");
  if (hetu.empty()) return UsageError("no HETU entered");
  v1::CheckExistingCaseRequest request;
  request.mutable_subject()->set_hetu(hetu);
  request.set_purpose(purpose_);
  request.set_statutory_basis(statutory_basis_);
  request.set_justification(justification_);
  *request.mutable_acting_user() = Worker(worker_);
  return RunUnary<sdk::CaseClient>(
      *flags_, "case check",
      [&](const sdk::CaseClient& cases) { return cases.CheckExistingCase(request); },
      [&](const v1::CheckExistingCaseResponse& response) {
        if (flags_->json) {
          PrintJson(response);
        } else if (!response.open_case_exists()) {
          std::printf("no open case\n");
        } else {
          std::printf("an open case, coordinated by %s (%s)\n",
                      response.coordinator_org_id().c_str(),
                      response.coordinator_org_name().c_str());
        }
      });
}

int CaseCommands::List() {
  v1::CaseState state = v1::CASE_STATE_UNSPECIFIED;
  const std::string s = absl::AsciiStrToLower(state_);
  if (s == "open") {
    state = v1::OPEN;
  } else if (s == "closed") {
    state = v1::CLOSED;
  } else if (s != "all") {
    return UsageError("--state: use open, closed or all");
  }
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(*flags_, &exit_code);
  if (connection == nullptr) return exit_code;
  v1::ListCasesRequest request;
  request.set_state(state);
  sdk::Pager<v1::Case> pager = sdk::CaseClient(connection).ListCases(request);
  v1::ListCasesResponse all;
  v1::Case c;
  while (pager.Next(&c)) *all.add_cases() = std::move(c);
  if (!pager.status().ok()) return ReportError("case list", pager.status());
  std::vector<const v1::Case*> cases;
  for (const auto& c : all.cases()) cases.push_back(&c);
  PrintCases(*flags_, all, cases);
  return kExitOk;
}

int CaseCommands::Show() {
  v1::GetCaseRequest request;
  request.set_case_id(case_id_);
  *request.mutable_acting_user() = Worker(worker_);
  return CaseCall(*flags_, "case show",
                  [&](const sdk::CaseClient& cases) { return cases.GetCase(request); });
}

int CaseCommands::AddMember() {
  v1::AddMemberRequest request;
  request.set_case_id(case_id_);
  request.set_org_id(org_id_);
  *request.mutable_acting_user() = Worker(worker_);
  return CaseCall(*flags_, "case add-member",
                  [&](const sdk::CaseClient& cases) { return cases.AddMember(request); });
}

int CaseCommands::Transfer() {
  v1::TransferCoordinatorRequest request;
  request.set_case_id(case_id_);
  request.mutable_new_coordinator()->set_org_id(org_id_);
  request.mutable_new_coordinator()->set_worker_id(to_worker_);
  request.set_reason(reason_);
  *request.mutable_acting_user() = Worker(worker_);
  return CaseCall(*flags_, "case transfer",
                  [&](const sdk::CaseClient& cases) { return cases.TransferCoordinator(request); });
}

int CaseCommands::Close() {
  v1::CloseCaseRequest request;
  request.set_case_id(case_id_);
  *request.mutable_acting_user() = Worker(worker_);
  return CaseCall(*flags_, "case close",
                  [&](const sdk::CaseClient& cases) { return cases.CloseCase(request); });
}

}  // namespace silta::siltactl
