// siltactl: the command-line tool for Silta administrators, consent
// registrars, auditors and agency workers:
//   admin      health, whoami, doctor, org list|get|add|suspend|resume,
//              policy check|reload, keys list
//   registrar  consent record|refuse|withdraw|list, report subject
//   agency     case create|list|show|add-member|transfer|close,
//              keys publish, message send|inbox|status
//   auditor    audit head|tail|query|proof|export|verify, report indicators
//
// Connection flags may also come from the environment (SILTA_ADDRESS,
// SILTA_CERT, SILTA_KEY, SILTA_CA, SILTA_SERVER_NAME, SILTA_KEYS_DIR) or a
// config file (config_file.h): flags > environment > file.
//
// Exit codes: 0 ok; 1 failure (unreachable, internal); 2 usage or local
// file problem; 3 refused by the broker (identity, role, invalid request).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/sdk/broker_client.h"
#include "client/sdk/connection.h"
#include "client/sdk/org_client.h"
#include "client/siltactl/admin_commands.h"
#include "client/siltactl/audit_commands.h"
#include "client/siltactl/case_commands.h"
#include "client/siltactl/config_file.h"
#include "client/siltactl/consent_commands.h"
#include "client/siltactl/console_command.h"
#include "client/siltactl/context.h"
#include "client/siltactl/doctor.h"
#include "client/siltactl/message_commands.h"
#include "client/siltactl/output.h"
#include "google/protobuf/util/time_util.h"
#include "silta/v1/org.pb.h"

namespace silta::siltactl {
namespace {

std::string RolesText(const v1::Organization& org) {
  std::vector<std::string> names;
  for (int role : org.roles()) names.push_back(v1::Role_Name(role));
  return absl::StrJoin(names, ",");
}

void PrintOrgs(const GlobalFlags& flags, const google::protobuf::Message& message,
               const std::vector<const v1::Organization*>& orgs) {
  if (flags.json) {
    PrintJson(message);
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::Organization* org : orgs) {
    rows.push_back({org->org_id(), v1::OrgKind_Name(org->kind()), RolesText(*org),
                    v1::OrgState_Name(org->state()), org->display_name()});
  }
  PrintTable({"ORG_ID", "KIND", "ROLES", "STATE", "NAME"}, rows);
}

int RunHealth(const GlobalFlags& flags, const std::string& service) {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(flags, &exit_code);
  if (connection == nullptr) return exit_code;
  absl::StatusOr<bool> serving = sdk::BrokerClient(connection).Serving(service);
  if (!serving.ok()) return ReportError("health", serving.status());
  const char* name = *serving ? "SERVING" : "NOT_SERVING";
  if (flags.json) {
    std::printf("{\"status\":\"%s\"}\n", name);
  } else {
    std::printf("%s\n", name);
  }
  return *serving ? kExitOk : kExitFailure;
}

struct OrgAddFlags {
  std::string org_id;
  std::string name;
  std::string kind;
  std::vector<std::string> roles;
  std::string region;
  std::string worker = DefaultWorker();
};

int RunOrgList(const GlobalFlags& flags) {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(flags, &exit_code);
  if (connection == nullptr) return exit_code;
  sdk::Pager<v1::Organization> pager = sdk::OrgClient(connection).ListOrgs(v1::ListOrgsRequest());
  v1::ListOrgsResponse all;
  v1::Organization org;
  while (pager.Next(&org)) *all.add_orgs() = std::move(org);
  if (!pager.status().ok()) return ReportError("org list", pager.status());
  std::vector<const v1::Organization*> orgs;
  for (const auto& org : all.orgs()) orgs.push_back(&org);
  PrintOrgs(flags, all, orgs);
  return kExitOk;
}

// One OrgService call, printing the organisation in its response.
template <typename Call>
int RunOrgCall(const GlobalFlags& flags, const std::string& what, Call call) {
  return RunUnary<sdk::OrgClient>(flags, what, call, [&](const auto& response) {
    PrintOrgs(flags, response, {&response.org()});
  });
}

int RunOrgGet(const GlobalFlags& flags, const std::string& org_id) {
  v1::GetOrgRequest request;
  request.set_org_id(org_id);
  return RunOrgCall(flags, "org get",
                    [&](const sdk::OrgClient& orgs) { return orgs.GetOrg(request); });
}

int RunOrgAdd(const GlobalFlags& flags, const OrgAddFlags& add) {
  v1::AddOrgRequest request;
  v1::Organization* org = request.mutable_org();
  org->set_org_id(add.org_id);
  org->set_display_name(add.name);
  org->set_region(add.region);
  v1::OrgKind kind;
  if (!v1::OrgKind_Parse(absl::AsciiStrToUpper(add.kind), &kind)) {
    std::fprintf(stderr,
                 "siltactl: --kind: unknown kind '%s'; use WELLBEING_AREA, POLICE, PROBATION, "
                 "PRISON, MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION or NGO\n",
                 add.kind.c_str());
    return kExitUsage;
  }
  org->set_kind(kind);
  for (const std::string& name : add.roles) {
    v1::Role role;
    if (!v1::Role_Parse(absl::AsciiStrToUpper(name), &role)) {
      std::fprintf(stderr,
                   "siltactl: --role: unknown role '%s'; use AGENCY, CONSENT_REGISTRAR, "
                   "AUDITOR or ADMIN\n",
                   name.c_str());
      return kExitUsage;
    }
    org->add_roles(role);
  }
  request.mutable_acting_user()->set_worker_id(add.worker);
  return RunOrgCall(flags, "org add",
                    [&](const sdk::OrgClient& orgs) { return orgs.AddOrg(request); });
}

int RunOrgSetState(const GlobalFlags& flags, const std::string& org_id, const std::string& reason,
                   const std::string& worker, bool suspend) {
  v1::SetOrgStateRequest request;
  request.set_org_id(org_id);
  request.set_reason(reason);
  request.mutable_acting_user()->set_worker_id(worker);
  return RunOrgCall(flags, suspend ? "org suspend" : "org resume", [&](const sdk::OrgClient& orgs) {
    return suspend ? orgs.SuspendOrg(request) : orgs.ResumeOrg(request);
  });
}

}  // namespace
}  // namespace silta::siltactl

int main(int argc, char** argv) {
  using namespace silta::siltactl;  // NOLINT(build/namespaces): main only
  // First, so that it is destroyed last, after every channel of the run.
  const silta::sdk::GrpcRuntime grpc_runtime;
  CLI::App app{
      "siltactl: Silta's command-line tool for administrators, consent registrars, auditors\n"
      "and agency workers, over mutual TLS.\n\n"
      "The connection comes from flags, else SILTA_* environment variables, else a config file\n"
      "(--config, $SILTA_CONFIG or ~/.config/silta/siltactl.toml; paths relative to it):\n"
      "  address = \"localhost:7443\"\n"
      "  ca = \"ca.pem\"\n"
      "  cert = \"orgs/hml-youth.pem\"\n"
      "  key = \"orgs/hml-youth.key\"\n"
      "  keys-dir = \"keys\"\n"
      "  crl-dir = \"crl\"\n\n"
      "Examples:\n"
      "  siltactl doctor                       check certificates, key, reachability, identity\n"
      "  siltactl --address localhost:7443 --cert admin.pem --key admin.key --ca ca.pem health\n"
      "  siltactl org list --json\n\n"
      "Exit codes: 0 ok, 1 failure (unreachable, internal), 2 usage or local files,\n"
      "3 refused by the broker (identity, role, invalid request)."};
  app.require_subcommand(1);
  // Global flags such as --json may also follow the subcommand.
  app.fallthrough();
  GlobalFlags flags;
  std::string config_file;
  app.add_option("--config", config_file,
                 "siltactl config file (TOML; default ~/.config/silta/siltactl.toml if present)")
      ->envname("SILTA_CONFIG");
  CLI::Option* address = app.add_option("--address", flags.connection.address,
                                        "siltad host:port, or several comma-separated (fails over)")
                             ->envname("SILTA_ADDRESS");
  CLI::Option* cert =
      app.add_option("--cert", flags.connection.cert_file, "Client certificate (PEM)")
          ->envname("SILTA_CERT");
  CLI::Option* key =
      app.add_option("--key", flags.connection.key_file, "Client private key (PEM, mode 600)")
          ->envname("SILTA_KEY");
  CLI::Option* ca =
      app.add_option("--ca", flags.connection.ca_file, "Trust-domain CA certificate (PEM)")
          ->envname("SILTA_CA");
  CLI::Option* server_name =
      app.add_option("--server-name", flags.connection.server_name,
                     "Expected server certificate name if not the address host")
          ->envname("SILTA_SERVER_NAME");
  CLI::Option* keys_dir =
      app.add_option("--keys-dir", flags.keys_dir,
                     "Your organisation's message keys (keys publish, message send|inbox)")
          ->envname("SILTA_KEYS_DIR");
  CLI::Option* crl_dir =
      app.add_option("--crl-dir", flags.crl_dir,
                     "The trust domain's CRL directory (message send|inbox refuse keys signed "
                     "by a revoked certificate)")
          ->envname("SILTA_CRL_DIR");
  CLI::Option* trust_domain =
      app.add_option("--trust-domain", flags.trust_domain,
                     "SPIFFE trust domain (default: the one of --cert; never the broker's word)")
          ->envname("SILTA_TRUST_DOMAIN");
  CLI::Option* signer_cert =
      app.add_option("--signer-cert", flags.signer_cert,
                     "Your organisation's bundle-signing certificate (keys publish|rotate)")
          ->envname("SILTA_SIGNER_CERT");
  CLI::Option* signer_key =
      app.add_option("--signer-key", flags.signer_key,
                     "Its private key (PEM, mode 600; keep it off line between rotations)")
          ->envname("SILTA_SIGNER_KEY");
  app.add_flag("--json", flags.json, "Print JSON instead of tables");
  CLI::Option* timeout = app.add_option("--timeout", flags.timeout_seconds,
                                        "Seconds to wait for the broker")
                             ->check(CLI::Range(1, 3600))
                             ->capture_default_str();

  std::string health_service;
  CLI::App* health =
      app.add_subcommand("health", "Ask siltad whether it is serving.\n  Example: siltactl health");
  health->add_option("--service", health_service, "A service name (default: whole server)");

  CLI::App* org = app.add_subcommand("org", "Organisation registry (admin role)");
  org->require_subcommand(1);
  CLI::App* org_list =
      org->add_subcommand("list", "List organisations.\n  Example: siltactl org list --json");
  std::string get_id;
  CLI::App* org_get =
      org->add_subcommand("get", "Show one organisation.\n  Example: siltactl org get hki-police");
  org_get->add_option("org_id", get_id, "Organisation id")->required();

  OrgAddFlags add;
  CLI::App* org_add = org->add_subcommand(
      "add",
      "Add an organisation.\n  Example: siltactl org add --id asenne-ry --name \"Asenne ry\" "
      "--kind NGO --role AGENCY");
  org_add->add_option("--id", add.org_id, "Organisation id [a-z0-9-]")->required();
  org_add->add_option("--name", add.name, "Display name")->required();
  org_add
      ->add_option("--kind", add.kind,
                   "WELLBEING_AREA, POLICE, PROBATION, PRISON, "
                   "MUNICIPAL_YOUTH, EMPLOYMENT, EDUCATION or NGO")
      ->required();
  org_add->add_option("--role", add.roles, "AGENCY, CONSENT_REGISTRAR, AUDITOR or ADMIN; repeat")
      ->required();
  org_add->add_option("--region", add.region, "Region code for indicators");
  org_add->add_option("--worker", add.worker, "Your worker id (default $SILTA_WORKER or $USER)");

  std::string state_id, reason, worker = DefaultWorker();
  CLI::App* org_suspend =
      org->add_subcommand("suspend",
                          "Suspend an organisation: its calls and open streams are refused.\n"
                          "  Example: siltactl org suspend asenne-ry --reason \"contract ended\"");
  CLI::App* org_resume = org->add_subcommand(
      "resume", "Resume a suspended organisation.\n  Example: siltactl org resume asenne-ry");
  for (CLI::App* cmd : {org_suspend, org_resume}) {
    cmd->add_option("org_id", state_id, "Organisation id")->required();
    cmd->add_option("--reason", reason, "Why (no personal data)");
    cmd->add_option("--worker", worker, "Your worker id (default $SILTA_WORKER or $USER)");
  }

  AdminCommands admin_commands(&app, &flags);
  AuditCommands audit_commands(&app, &flags);
  ConsentCommands consent_commands(&app, &flags);
  CaseCommands case_commands(&app, &flags);
  MessageCommands message_commands(&app, &flags);
  DoctorCommand doctor_command(&app, &flags);
  ConsoleCommand console_command(&app, &flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  flags.config_file = config_file.empty() ? DefaultConfigPath() : config_file;
  if (!flags.config_file.empty()) {
    auto text = [](std::string* out) {
      return [out](const std::string& v) {
        *out = v;
        return true;
      };
    };
    const std::vector<ConfigSetting> settings = {
        {"address", address, false, text(&flags.connection.address)},
        {"cert", cert, true, text(&flags.connection.cert_file)},
        {"key", key, true, text(&flags.connection.key_file)},
        {"ca", ca, true, text(&flags.connection.ca_file)},
        {"server-name", server_name, false, text(&flags.connection.server_name)},
        {"keys-dir", keys_dir, true, text(&flags.keys_dir)},
        {"crl-dir", crl_dir, true, text(&flags.crl_dir)},
        {"trust-domain", trust_domain, false, text(&flags.trust_domain)},
        {"signer-cert", signer_cert, true, text(&flags.signer_cert)},
        {"signer-key", signer_key, true, text(&flags.signer_key)},
        {"timeout", timeout, false, [&flags](const std::string& v) {
           return absl::SimpleAtoi(v, &flags.timeout_seconds) && flags.timeout_seconds >= 1 &&
                  flags.timeout_seconds <= 3600;
         }}};
    const absl::Status applied = ApplyConfigFile(flags.config_file, settings);
    if (!applied.ok()) return UsageError(std::string(applied.message()));
  }

  if (std::optional<int> code = admin_commands.Run()) return *code;
  if (std::optional<int> code = audit_commands.Run()) return *code;
  if (std::optional<int> code = consent_commands.Run()) return *code;
  if (std::optional<int> code = case_commands.Run()) return *code;
  if (std::optional<int> code = message_commands.Run()) return *code;
  if (std::optional<int> code = doctor_command.Run()) return *code;
  if (std::optional<int> code = console_command.Run()) return *code;
  if (*health) return RunHealth(flags, health_service);
  if (*org_list) return RunOrgList(flags);
  if (*org_get) return RunOrgGet(flags, get_id);
  if (*org_add) return RunOrgAdd(flags, add);
  if (*org_suspend) return RunOrgSetState(flags, state_id, reason, worker, /*suspend=*/true);
  if (*org_resume) return RunOrgSetState(flags, state_id, reason, worker, /*suspend=*/false);
  return kExitUsage;
}
