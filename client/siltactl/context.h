// File: client/siltactl/context.h
//
// What every siltactl command shares: the global flags (connection, --json,
// --timeout), the connection they describe, and the worker id.
#ifndef SILTA_CLIENT_SILTACTL_CONTEXT_H_
#define SILTA_CLIENT_SILTACTL_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/connection.h"
#include "client/siltactl/output.h"
#include "lib/identity/spiffe_id.h"

namespace silta::siltactl {

struct GlobalFlags {
  sdk::ConnectionOptions connection;
  // This organisation's message keys (sdk::CreateOrgKeys), for keys
  // publish and message send|inbox.
  std::string keys_dir;
  // The trust domain's CRL directory, for verifying other orgs' key bundles.
  std::string crl_dir;
  // The trust domain; empty: the one of the client certificate.
  std::string trust_domain;
  // The org's bundle-signing certificate and key (keys publish|rotate).
  std::string signer_cert;
  std::string signer_key;
  // The siltactl config file that was read, if any.
  std::string config_file;
  bool json = false;
  int timeout_seconds = 10;
};

// $SILTA_WORKER, else $USER, else "".
std::string DefaultWorker();

// Opens the connection the flags describe (deadline --timeout per
// attempt, the SDK's retry rules), or prints why not and sets *exit_code
// to kExitUsage. Every SDK client of one command shares it.
std::shared_ptr<const sdk::Connection> ConnectOrExit(const GlobalFlags& flags, int* exit_code);

// Prints `result` with `print`, or reports its error as `what`; returns the
// exit code.
template <typename Response, typename Print>
int PrintResult(const std::string& what, const absl::StatusOr<Response>& result, Print print) {
  if (!result.ok()) return ReportError(what, result.status());
  print(*result);
  return kExitOk;
}

// Connects, makes one call with an SDK client of type `Client` and hands
// its response to `print`; returns the exit code.
//   call:  absl::StatusOr<Response>(const Client&)
template <typename Client, typename Call, typename Print>
int RunUnary(const GlobalFlags& flags, const std::string& what, Call call, Print print) {
  int exit_code = kExitOk;
  std::shared_ptr<const sdk::Connection> connection = ConnectOrExit(flags, &exit_code);
  if (connection == nullptr) return exit_code;
  const Client client(connection);
  return PrintResult(what, call(client), print);
}

// This system's identity from its own client certificate (--cert), never
// from the broker: INVALID_ARGUMENT naming the file if it has no SPIFFE id.
absl::StatusOr<identity::SpiffeId> OwnIdentity(const GlobalFlags& flags);

// Asks "<question> [y/N] " on the terminal; true only for y or yes. False
// when stdin is not a terminal (scripts confirm with --yes instead).
bool Confirm(const std::string& question);

// Reads a personal identity code (HETU) so that it never appears on the
// command line or in shell history: from a prompt on the terminal with
// echo off, or from the first line of stdin when it is not a terminal.
// Empty if nothing was entered.
std::string ReadHetu(const std::string& prompt);

// Parses --from/--until values: RFC 3339 ("2026-10-01T00:00:00Z") or a
// date ("2026-10-01", midnight UTC). False if neither.
bool ParseTimeFlag(const std::string& text, absl::Time* out);

}  // namespace silta::siltactl

#endif  // SILTA_CLIENT_SILTACTL_CONTEXT_H_
