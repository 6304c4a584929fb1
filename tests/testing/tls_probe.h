// File: tests/testing/tls_probe.h
//
// Raw OpenSSL TLS clients and servers for tests of what gRPC's credentials
// cannot report: negotiated protocol versions, refused legacy versions, and
// which server certificate a listener presents.
#ifndef SILTA_TESTS_TESTING_TLS_PROBE_H_
#define SILTA_TESTS_TESTING_TLS_PROBE_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace silta::testing {

struct TlsProbeOptions {
  int port = 0;
  int min_version = 0;  // e.g. TLS1_1_VERSION; 0 = library default
  int max_version = 0;
  std::string cert_file;  // client certificate (optional)
  std::string key_file;
  std::string ca_file;    // verify the server against it when set
};

struct TlsProbeResult {
  int version = 0;               // negotiated, e.g. TLS1_3_VERSION
  std::string server_common_name;
};

// Connects to 127.0.0.1:port and completes a TLS handshake offering ALPN
// "h2". UNAVAILABLE with OpenSSL's reason if the handshake fails.
absl::StatusOr<TlsProbeResult> ProbeTls(const TlsProbeOptions& options);

// A one-connection TLS server on 127.0.0.1 that records the protocol version
// its client negotiated.
class TlsVersionRecorder {
 public:
  // Listens with the given certificate and key; ALPN "h2" accepted.
  static absl::StatusOr<std::unique_ptr<TlsVersionRecorder>> Start(const std::string& cert_file,
                                                                   const std::string& key_file);
  ~TlsVersionRecorder();
  int port() const { return port_; }
  // Waits for the first handshake; returns its version or an error.
  absl::StatusOr<int> WaitForVersion();

 private:
  TlsVersionRecorder() = default;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::StatusOr<int> version_ = absl::UnknownError("no handshake");
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_TLS_PROBE_H_
