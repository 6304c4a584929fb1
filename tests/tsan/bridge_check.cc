// bridge_check [race]: checks, in the TSan build only, that TSan sees
// Debian's absl::Mutex through absl_sync_bridge.cc. Two threads increment a
// counter under an absl::Mutex (no report expected: without the bridge TSan
// reports one), and with "race" also one without it (a report expected, so
// the check can fail). A third waits with Await and LockWhen for
// conditions that read the counter: Abseil evaluates them holding the lock
// (no report expected; the bridge once annotated them as unlocked reads).
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
  std::thread waiter([] {
    const auto reached = [](int* n) {
      return absl::Condition(+[](int* want) { return guarded >= *want; }, n);
    };
    int half = 1000;
    {
      absl::MutexLock lock(&mu);
      mu.Await(reached(&half));
    }
    int all = 2000;
    mu.LockWhen(reached(&all));
    mu.Unlock();
  });
  work();
  other.join();
  waiter.join();
  absl::MutexLock lock(&mu);
  std::printf("guarded %d\n", guarded);
  return guarded == 2000 ? 0 : 1;
}
