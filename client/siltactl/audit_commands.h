// File: client/siltactl/audit_commands.h
//
// siltactl's auditor and report commands:
//   audit head|tail|query|proof|export|verify   (verify works offline)
//   report indicators|subject
#ifndef SILTA_CLIENT_SILTACTL_AUDIT_COMMANDS_H_
#define SILTA_CLIENT_SILTACTL_AUDIT_COMMANDS_H_

#include <functional>
#include <optional>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class AuditCommands : public CommandSet {
 public:
  // Adds the subcommands to `app`; `flags` must outlive this object.
  AuditCommands(CLI::App* app, const GlobalFlags* flags);

 private:
  int Head();
  int Tail();
  int Query();
  int Proof();
  int Export();
  int Verify();
  int Indicators();
  int Subject();

  const GlobalFlags* flags_;

  // Options of the commands above.
  bool fresh_ = false;
  std::string head_out_;
  int tail_count_ = 20;
  std::string case_id_, org_id_, from_, until_;
  std::vector<std::string> types_;
  bool subject_ = false;
  int limit_ = 100;
  uint64_t proof_index_ = 0;
  uint64_t proof_tree_size_ = 0;
  std::string log_key_;
  std::string out_;
  uint64_t consistent_with_ = 0;
  std::string previous_head_;
  std::string log_id_;
  std::string verify_file_;
  std::string month_, region_;
  bool csv_ = false;
  bool markdown_ = false;
  bool include_law_enforcement_ = false;
  std::string requester_;
  std::string worker_ = DefaultWorker();
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_AUDIT_COMMANDS_H_
