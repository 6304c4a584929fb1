// File: client/siltactl/admin_commands.h
//
// siltactl's administrator commands beyond `org`: policy check FILE,
// policy reload, and whoami (any role).
#ifndef SILTA_CLIENT_SILTACTL_ADMIN_COMMANDS_H_
#define SILTA_CLIENT_SILTACTL_ADMIN_COMMANDS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class AdminCommands : public CommandSet {
 public:
  // Adds the subcommands to `app`; `flags` must outlive this object.
  AdminCommands(CLI::App* app, const GlobalFlags* flags);

 private:
  int PolicyCheck();
  int PolicyReload();
  int WhoAmI();

  const GlobalFlags* flags_;
  std::string policy_file_;
  std::string worker_ = DefaultWorker();
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_ADMIN_COMMANDS_H_
