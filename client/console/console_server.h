// File: client/console/console_server.h
//
// The auditor's console: a web page on the workstation's loopback that
// reads the audit log from siltad with the caller's own mTLS identity
// (DESIGN.md §10a). It serves its own embedded page and a small JSON API
// (proto/silta/console/console.proto); the page verifies every entry's
// inclusion proof and the tree head's signature itself.
//
// Security (docs/console.md):
//   - bound to a loopback address only; requests naming another Host are
//     refused (no DNS rebinding);
//   - the printed link's one-time token becomes an HttpOnly,
//     SameSite=Strict cookie (SessionGate); without it every request is
//     refused, and every POST also needs the CSRF header;
//   - Content-Security-Policy default-src 'self', no inline script;
//   - read-only towards siltad; nothing it logs holds a query, a body or
//     a personal identity code.
//
// Example:
//   ConsoleOptions options;
//   options.log_public_key = *audit::ReadLogPublicKey("log-key.pub");
//   auto console = ConsoleServer::Start(options, LogReaderFor(connection));
//   printf("Open %s\n", (*console)->link().c_str());
//
// Thread-safe; stops on destruction.
#ifndef SILTA_CLIENT_CONSOLE_CONSOLE_SERVER_H_
#define SILTA_CLIENT_CONSOLE_CONSOLE_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/console/export_jobs.h"
#include "client/console/head_book.h"
#include "client/console/log_reader.h"
#include "client/console/session_gate.h"

struct mg_context;
struct mg_connection;

namespace silta::console {

struct ConsoleOptions {
  // host:port; the host must be a loopback address (127.0.0.1, ::1 or
  // localhost). Port 0 takes a free one.
  std::string listen = "127.0.0.1:0";
  // The log's raw 32-byte Ed25519 public key, from the auditor's file.
  std::string log_public_key;
  // The log the heads must name; empty: any.
  std::string log_id;
  // Where heads seen are kept (DefaultStateDir()).
  std::string state_dir;
  // siltad's address, to show.
  std::string server_address;
  // The worker named in the subject reports this console produces.
  std::string worker;
  // Where exports are written (DefaultExportDir()).
  std::string export_dir;
};

class ConsoleServer {
 public:
  // Starts serving. INVALID_ARGUMENT for a non-loopback listen address or
  // a key that is not 32 bytes; UNAVAILABLE if the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<ConsoleServer>> Start(ConsoleOptions options,
                                                              std::unique_ptr<LogReader> reader);
  ~ConsoleServer();

  int port() const { return port_; }
  // The link to open: http://127.0.0.1:PORT/?token=...
  std::string link() const;

 private:
  ConsoleServer(ConsoleOptions options, std::unique_ptr<LogReader> reader,
                std::unique_ptr<SessionGate> gate);
  static int Handle(mg_connection* conn, void* self);
  void Serve(mg_connection* conn);
  void ServeGet(mg_connection* conn, const std::string& path);
  void ServePost(mg_connection* conn, const std::string& path);

  const ConsoleOptions options_;
  const std::unique_ptr<LogReader> reader_;
  const std::unique_ptr<SessionGate> gate_;
  HeadBook heads_;
  ExportJobs jobs_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  std::string host_;  // as the link names it, e.g. "127.0.0.1"
};

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_CONSOLE_SERVER_H_
