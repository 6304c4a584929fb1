// File: client/siltactl/doctor.h
//
// `siltactl doctor`: checks what a connection to siltad needs, one step at
// a time, and says what to fix: the config file, the CA and client
// certificates (readable, valid now, not about to expire, chained to the
// CA, with a SPIFFE id), the private key (mode 600, belongs to the
// certificate), reachability over mutual TLS, the identity the broker sees
// (registered, active, roles), the clock against the broker's, and the
// message keys in --keys-dir if given.
//
// Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
#ifndef SILTA_CLIENT_SILTACTL_DOCTOR_H_
#define SILTA_CLIENT_SILTACTL_DOCTOR_H_

#include "CLI/CLI.hpp"
#include "client/siltactl/command_set.h"
#include "client/siltactl/context.h"

namespace silta::siltactl {

class DoctorCommand : public CommandSet {
 public:
  // Adds the subcommand to `app`; `flags` must outlive this object.
  DoctorCommand(CLI::App* app, const GlobalFlags* flags);

 private:
  int Check();

  const GlobalFlags* flags_;
  int warn_days_ = 30;
};

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_DOCTOR_H_
