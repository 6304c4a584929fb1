// bridge_check [race]: checks, in the TSan build only, that TSan sees
// Debian's absl::Mutex through absl_sync_bridge.cc. Two threads increment a
// counter under an absl::Mutex (no report expected: without the bridge TSan
// reports one), and with "race" also one without it (a report expected, so
// the check can fail).
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace {
absl::Mutex mu;
int guarded = 0;
int unguarded = 0;
}  // namespace

int main(int argc, char** argv) {
  const bool race = argc > 1 && std::strcmp(argv[1], "race") == 0;
  auto work = [race] {
    for (int i = 0; i < 1000; ++i) {
      {
        absl::MutexLock lock(&mu);
        ++guarded;
      }
      if (race) ++unguarded;
    }
  };
  std::thread other(work);
  work();
  other.join();
  absl::MutexLock lock(&mu);
  std::printf("guarded %d\n", guarded);
  return guarded == 2000 ? 0 : 1;
}
