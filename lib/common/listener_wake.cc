// File: lib/common/listener_wake.cc
#include "lib/common/listener_wake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace silta::common {
namespace {

void ConnectAndClose(int port, bool ipv6) {
  const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (ipv6) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<uint16_t>(port));
    address.sin6_addr = in6addr_loopback;
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } else {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  }
  close(fd);
}

}  // namespace

void StopWakingListener(int port, bool ipv6, absl::FunctionRef<void()> stop) {
  if (port <= 0) {
    stop();
    return;
  }
  std::atomic<bool> stopped{false};
  std::thread waker([&stopped, port, ipv6] {
    while (!stopped.load()) {
      ConnectAndClose(port, ipv6);
      absl::SleepFor(absl::Milliseconds(10));
    }
  });
  stop();
  stopped.store(true);
  waker.join();
}

}  // namespace silta::common
