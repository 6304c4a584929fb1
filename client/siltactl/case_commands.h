// File: client/siltactl/case_commands.h
//
// siltactl for agency workers (testing, and small offices without their
// own system): case create|list|show|add-member|transfer|close.
#ifndef SILTA_CLIENT_SILTACTL_CASE_COMMANDS_H_
#define SILTA_CLIENT_SILTACTL_CASE_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class CaseCommands : public CommandSet {
 public:
  // Adds the subcommands to `app`; `flags` must outlive this object.
  CaseCommands(CLI::App* app, const GlobalFlags* flags);

 private:
  int Create();
  int Check();
  int List();
  int Show();
  int AddMember();
  int Transfer();
  int Close();

  const GlobalFlags* flags_;
  std::string case_id_, purpose_ = "referral", coordinator_worker_, state_ = "open";
  std::vector<std::string> members_;
  std::string org_id_, to_worker_, reason_;
  std::string statutory_basis_, justification_;
  std::string worker_ = DefaultWorker();
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_CASE_COMMANDS_H_
