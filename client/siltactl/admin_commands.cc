#include "client/siltactl/admin_commands.h"

#include <cstdio>

#include "client/siltactl/output.h"
#include "server/consent/policy.h"

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
}

int AdminCommands::PolicyCheck() {
  absl::StatusOr<v1::Policy> policy = consent::LoadPolicyFile(policy_file_);
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
