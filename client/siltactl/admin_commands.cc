#include "client/siltactl/admin_commands.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "client/sdk/broker_client.h"
#include "client/siltactl/output.h"
#include "lib/policy/policy.h"

namespace silta::siltactl {

AdminCommands::AdminCommands(CLI::App* app, const GlobalFlags* flags) : flags_(flags) {
  CLI::App* policy = app->add_subcommand("policy", "The disclosure policy (admin role)");
  policy->require_subcommand(1);
  CLI::App* check = policy->add_subcommand(
      "check",
      "Check a policy file before installing it (no connection needed): syntax, categories,\n"
      "purposes, statutory bases; errors name the line. siltad re-reads its policy on SIGHUP.\n"
      "  Example: siltactl policy check /etc/silta/policy.textproto.new");
  check->add_option("file", policy_file_, "Policy textproto")->required();
  Add(check, [this] { return PolicyCheck(); });

  CLI::App* reload = policy->add_subcommand(
      "reload",
      "Make siltad re-read its policy and registry files now, as SIGHUP does. All or nothing:\n"
      "if a file is invalid the broker says which line and keeps what is in force. Recorded\n"
      "in the audit log with your worker id.\n"
      "  Example: siltactl policy check /etc/silta/policy.textproto && siltactl policy reload");
  reload->add_option("--worker", worker_, "Your worker id (default $SILTA_WORKER or $USER)");
  Add(reload, [this] { return PolicyReload(); });

  CLI::App* whoami = app->add_subcommand(
      "whoami",
      "Who the broker takes your certificate to be: organisation, kind, roles, state.\n"
      "  Example: siltactl whoami --json");
  Add(whoami, [this] { return WhoAmI(); });
}

int AdminCommands::PolicyReload() {
  v1::ReloadConfigRequest request;
  request.mutable_acting_user()->set_worker_id(worker_);
  return RunUnary<sdk::BrokerClient>(
      *flags_, "policy reload",
      [&](const sdk::BrokerClient& broker) { return broker.ReloadConfig(request); },
      [&](const v1::ReloadConfigResponse& response) {
        if (flags_->json) {
          PrintJson(response);
          return;
        }
        std::printf(
            "reloaded: policy with %u categories, %u purposes, %u statutory bases; registry "
            "%u added, %u updated (audit entry %llu)\n",
            response.policy_categories(), response.policy_purposes(),
            response.policy_statutory_bases(), response.orgs_added(), response.orgs_updated(),
            static_cast<unsigned long long>(response.audit_index()));
      });
}

int AdminCommands::WhoAmI() {
  return RunUnary<sdk::BrokerClient>(
      *flags_, "whoami", [](const sdk::BrokerClient& broker) { return broker.WhoAmI(); },
      [&](const v1::WhoAmIResponse& response) {
        if (flags_->json) {
          PrintJson(response);
          return;
        }
        std::vector<std::string> roles;
        for (int r : response.org().roles()) roles.push_back(v1::Role_Name(r));
        PrintTable({"ORG_ID", "KIND", "ROLES", "STATE", "SPIFFE_ID"},
                   {{response.org().org_id(), v1::OrgKind_Name(response.org().kind()),
                     absl::StrJoin(roles, ","), v1::OrgState_Name(response.org().state()),
                     response.spiffe_id()}});
      });
}

int AdminCommands::PolicyCheck() {
  absl::StatusOr<v1::Policy> policy = policy::LoadPolicyFile(policy_file_);
  if (!policy.ok()) {
    std::fprintf(stderr, "siltactl: policy check: %s\n",
                 std::string(policy.status().message()).c_str());
    return kExitUsage;
  }
  if (flags_->json) {
    PrintJson(*policy);
  } else {
    std::printf("policy OK: %d categories, %d purposes, %d statutory bases\n",
                policy->categories_size(), policy->purposes_size(), policy->statutory_bases_size());
  }
  return kExitOk;
}

}  // namespace silta::siltactl
