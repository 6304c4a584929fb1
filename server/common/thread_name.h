#ifndef SILTA_SERVER_COMMON_THREAD_NAME_H_
#define SILTA_SERVER_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <cstddef>

namespace silta::common {

// Names the calling thread, as ps, top, perf and /proc show it. Linux keeps
// 15 characters and refuses a longer name (pthread_setname_np returns
// ERANGE), leaving the thread with the process's name: so the length is
// checked when the code is compiled.
template <size_t N>
void NameThisThread(const char (&name)[N]) {
  static_assert(N <= 16, "a thread's name holds at most 15 characters");
  pthread_setname_np(pthread_self(), name);
}

}  // namespace silta::common

#endif  // SILTA_SERVER_COMMON_THREAD_NAME_H_
