#include "server/ops/signals.h"

#include <pthread.h>
#include <signal.h>

namespace silta::ops {
namespace {

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockHandledSignals() {
  const sigset_t set = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

Signal WaitForSignal() {
  const sigset_t set = HandledSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) return Signal::kReload;
    if (sig == SIGTERM || sig == SIGINT) return Signal::kTerminate;
  }
}

}  // namespace silta::ops
