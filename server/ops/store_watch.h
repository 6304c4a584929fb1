// File: server/ops/store_watch.h
//
// Watches that the store can be reached: checks it every `interval` on a
// thread of its own and reports each change between reachable and not.
// siltad turns its gRPC health to NOT_SERVING while the database cannot be
// reached, and back to SERVING once it can, without a restart; calls made
// meanwhile get UNAVAILABLE from the store itself.
//
// Example:
//   StoreWatch watch(absl::Seconds(1), [&] { return store->Ping(); },
//                    [&](const absl::Status& s) { health->SetServingStatus(s.ok()); });
#ifndef SILTA_SERVER_OPS_STORE_WATCH_H_
#define SILTA_SERVER_OPS_STORE_WATCH_H_

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace silta::ops {

class StoreWatch {
 public:
  // Starts watching; `check` is assumed OK until it first answers.
  // `changed` runs on the watch's thread with the new answer.
  StoreWatch(absl::Duration interval, std::function<absl::Status()> check,
             std::function<void(const absl::Status&)> changed);
  // Stops the thread (waits for a check in progress).
  ~StoreWatch();
  StoreWatch(const StoreWatch&) = delete;
  StoreWatch& operator=(const StoreWatch&) = delete;

  // Whether the last check succeeded.
  bool up() const;

 private:
  void Loop();

  const absl::Duration interval_;
  const std::function<absl::Status()> check_;
  const std::function<void(const absl::Status&)> changed_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool up_ ABSL_GUARDED_BY(mu_) = true;
  std::thread thread_;
};

}  // namespace silta::ops

#endif  // SILTA_SERVER_OPS_STORE_WATCH_H_
