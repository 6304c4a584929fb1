// File: client/siltactl/message_commands.h
//
// siltactl for agency workers who send and receive sealed messages without
// a system of their own (small offices, testing): keys list|publish and
// message send|inbox|status. Sealing and opening happen here, on the
// worker's machine, with the organisation's keys in --keys-dir; the broker
// never sees a field value.
#ifndef SILTA_CLIENT_SILTACTL_MESSAGE_COMMANDS_H_
#define SILTA_CLIENT_SILTACTL_MESSAGE_COMMANDS_H_

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "client/sdk/client.h"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class MessageCommands : public CommandSet {
 public:
  // Adds the subcommands to `app`; `flags` must outlive this object.
  MessageCommands(CLI::App* app, const GlobalFlags* flags);

 private:
  int KeysList();
  int KeysPublish(bool rotate);
  int Send();
  int Inbox();
  int Status();
  int Link();

  // An SDK client for the caller's organisation with the keys in
  // --keys-dir, or nullptr after printing why (and setting *exit_code).
  std::unique_ptr<sdk::SiltaClient> ClientOrExit(int* exit_code);

  const GlobalFlags* flags_;
  // keys
  std::string org_id_;
  bool retired_ = false;
  int validity_days_ = 30;
  int rotate_within_days_ = 0;
  // message send
  std::string payload_type_, payload_file_, case_id_, purpose_ = "referral";
  std::vector<std::string> recipients_;
  std::string statutory_basis_, justification_file_, reply_to_, worker_role_;
  bool yes_ = false;
  bool subject_stdin_ = false;
  std::string worker_ = DefaultWorker();
  // message inbox
  int wait_seconds_ = 5;
  int max_messages_ = 0;
  bool no_ack_ = false;
  // message status, message link
  std::string message_id_;
  std::string link_sender_, link_case_;
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_MESSAGE_COMMANDS_H_
