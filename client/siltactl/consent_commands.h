// File: client/siltactl/consent_commands.h
//
// siltactl's consent registrar commands:
// consent record|refuse|assess|withdraw|list.
// The young person's HETU is read from a prompt or stdin, never from the
// command line, so it stays out of shell history and process lists.
#ifndef SILTA_CLIENT_SILTACTL_CONSENT_COMMANDS_H_
#define SILTA_CLIENT_SILTACTL_CONSENT_COMMANDS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class ConsentCommands : public CommandSet {
 public:
  // Adds the subcommands to `app`; `flags` must outlive this object.
  ConsentCommands(CLI::App* app, const GlobalFlags* flags);

 private:
  int Record(bool refusal);
  int Assess();
  int Withdraw();
  int List();

  const GlobalFlags* flags_;
  std::string grantor_ = "GUARDIAN";
  std::vector<std::string> purposes_;
  std::vector<std::string> categories_;
  std::vector<std::string> to_orgs_;
  std::vector<std::string> to_kinds_;
  std::vector<std::string> from_orgs_;
  std::vector<std::string> from_kinds_;
  bool to_guardian_ = false;
  std::string assessed_by_;
  std::string assessed_on_;
  std::string case_id_;
  std::string valid_until_;
  int valid_days_ = 0;
  std::string evidence_;
  std::string record_id_;
  std::string worker_ = DefaultWorker();
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_CONSENT_COMMANDS_H_
