#include "tests/testing/tls_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace silta::testing {
namespace {

struct CtxDeleter {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SslDeleter {
  void operator()(SSL* s) const { SSL_free(s); }
};

std::string OpenSslError() {
  const unsigned long err = ERR_get_error();
  char buf[256] = {0};
  ERR_error_string_n(err, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}

constexpr unsigned char kAlpnH2[] = {2, 'h', '2'};

int SelectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
             unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnH2, sizeof(kAlpnH2), in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

absl::StatusOr<TlsProbeResult> ProbeTls(const TlsProbeOptions& options) {
  std::unique_ptr<SSL_CTX, CtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return absl::InternalError("SSL_CTX_new");
  // Allow legacy protocol versions on our side so that the server's refusal
  // is what is tested (Debian's default config forbids them client-side).
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
  if (options.min_version != 0) SSL_CTX_set_min_proto_version(ctx.get(), options.min_version);
  if (options.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), options.max_version);
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnH2, sizeof(kAlpnH2));
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return absl::InternalError("cannot load client certificate: " + OpenSslError());
    }
  }
  if (!options.ca_file.empty()) {
    SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return absl::UnavailableError("connect failed");
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_tlsext_host_name(ssl.get(), "localhost");
  const int rc = SSL_connect(ssl.get());
  TlsProbeResult result;
  absl::Status status = absl::OkStatus();
  if (rc != 1) {
    status = absl::UnavailableError(absl::StrCat("TLS handshake failed: ", OpenSslError()));
  } else {
    // With TLS 1.3 the server verifies the client certificate after the
    // client's handshake is done; a refusal arrives as an alert on first read.
    result.version = SSL_version(ssl.get());
    if (X509* peer = SSL_get1_peer_certificate(ssl.get()); peer != nullptr) {
      char cn[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
      result.server_common_name = cn;
      X509_free(peer);
    }
    // Send the HTTP/2 preface so the server processes our data, then read.
    static constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    SSL_write(ssl.get(), kPreface, sizeof(kPreface) - 1);
    char buf[64];
    const int n = SSL_read(ssl.get(), buf, sizeof(buf));
    if (n <= 0) {
      const int err = SSL_get_error(ssl.get(), n);
      if (err == SSL_ERROR_SSL) {
        status = absl::UnavailableError(absl::StrCat("TLS alert after handshake: ", OpenSslError()));
      }
    }
    SSL_shutdown(ssl.get());
  }
  ssl.reset();
  ::close(fd);
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<std::unique_ptr<TlsVersionRecorder>> TlsVersionRecorder::Start(
    const std::string& cert_file, const std::string& key_file) {
  auto recorder = std::unique_ptr<TlsVersionRecorder>(new TlsVersionRecorder());
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InternalError("cannot load server certificate: " + OpenSslError());
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectH2, nullptr);
  recorder->listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(recorder->listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(recorder->listen_fd_, 4) != 0 ||
      ::getsockname(recorder->listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError("cannot listen");
  }
  recorder->port_ = ntohs(addr.sin_port);
  TlsVersionRecorder* self = recorder.get();
  recorder->thread_ = std::thread([self, ctx] {
    pollfd pfd{self->listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 20000) <= 0) {
      self->version_ = absl::DeadlineExceededError("no client connected");
      return;
    }
    const int fd = ::accept(self->listen_fd_, nullptr, nullptr);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    SSL* ssl = SSL_new(ctx.get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      self->version_ = SSL_version(ssl);
      SSL_shutdown(ssl);
    } else {
      self->version_ = absl::UnavailableError("handshake failed: " + OpenSslError());
    }
    SSL_free(ssl);
    ::close(fd);
  });
  return recorder;
}

absl::StatusOr<int> TlsVersionRecorder::WaitForVersion() {
  if (thread_.joinable()) thread_.join();
  return version_;
}

TlsVersionRecorder::~TlsVersionRecorder() {
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

}  // namespace silta::testing
