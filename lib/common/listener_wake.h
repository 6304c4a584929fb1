// File: lib/common/listener_wake.h
//
// Stopping an embedded HTTP server without waiting out its poll. civetweb's
// accept loop polls its listening sockets in 2-second quanta and sees its
// stop flag only when poll returns, so mg_stop took up to 2 s, on every
// siltad shutdown (the metrics port) and every `siltactl console` Ctrl-C.
#ifndef SILTA_LIB_COMMON_LISTENER_WAKE_H_
#define SILTA_LIB_COMMON_LISTENER_WAKE_H_

#include "absl/functional/function_ref.h"

namespace silta::common {

// Runs `stop` (a blocking server stop such as mg_stop) while another thread
// connects to `port` on loopback (::1 if `ipv6`, else 127.0.0.1) every
// 10 ms and closes each connection at once, until `stop` returns. Each
// connection wakes the accept loop; one accepted before the stop flag is set
// reads end-of-file at once. A port that cannot be reached only leaves the
// stop as slow as before.
void StopWakingListener(int port, bool ipv6, absl::FunctionRef<void()> stop);

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_LISTENER_WAKE_H_
