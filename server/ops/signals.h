// File: server/ops/signals.h
//
// Signal handling without async-signal-safety hazards: the signals are
// blocked in every thread and one thread waits for them with sigwait.
#ifndef SILTA_SERVER_OPS_SIGNALS_H_
#define SILTA_SERVER_OPS_SIGNALS_H_

namespace silta::ops {

enum class Signal { kReload, kTerminate };

// Blocks SIGHUP, SIGTERM and SIGINT in the calling thread and in every thread
// it creates afterwards, and ignores SIGPIPE. Call first thing in main().
void BlockHandledSignals();

// Waits for SIGHUP (kReload) or SIGTERM/SIGINT (kTerminate).
Signal WaitForSignal();

}  // namespace silta::ops

#endif  // SILTA_SERVER_OPS_SIGNALS_H_
