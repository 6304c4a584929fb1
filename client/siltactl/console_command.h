// File: client/siltactl/console_command.h
//
// `siltactl console`: the auditor's console (client/console/) on this
// workstation's loopback, with this siltactl's mTLS identity. Prints the
// one-time link, opens it unless --no-open, and serves until Ctrl-C.
#ifndef SILTA_CLIENT_SILTACTL_CONSOLE_COMMAND_H_
#define SILTA_CLIENT_SILTACTL_CONSOLE_COMMAND_H_

#include <string>

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class ConsoleCommand : public CommandSet {
 public:
  // Adds the subcommand to `app`; `flags` must outlive this object.
  ConsoleCommand(CLI::App* app, const GlobalFlags* flags);

 private:
  int Serve();

  const GlobalFlags* flags_;
  std::string listen_ = "127.0.0.1:0";
  std::string log_key_;
  std::string log_id_;
  std::string state_dir_;
  std::string export_dir_;
  std::string worker_ = DefaultWorker();
  bool no_open_ = false;
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_CONSOLE_COMMAND_H_
