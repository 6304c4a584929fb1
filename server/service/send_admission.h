// File: server/service/send_admission.h
//
// Back-pressure for Send: at most `max_in_flight` Sends are worked on at
// once (checked, decided, committed). A Send beyond that waits, in arrival
// order, holding only its call, and is started on the admission's own
// thread when one in flight has been answered. Under overload siltad then
// takes new messages at the rate it delivers them, instead of letting
// hundreds of Sends keep the gRPC threads from the delivery streams
// (docs/message-path.md, "Back-pressure").
//
//   SendAdmission admission(64);
//   admission.Run([](SendAdmission::Place place) {
//     ...  // work; `place` is given back when its last copy is destroyed
//   });
#ifndef SILTA_SERVER_SERVICE_SEND_ADMISSION_H_
#define SILTA_SERVER_SERVICE_SEND_ADMISSION_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace silta::service {

class SendAdmission {
 public:
  // A place among those in flight: the work holds it until the Send is
  // answered, and the place is free when its last copy is destroyed.
  using Place = std::shared_ptr<void>;
  using Work = std::function<void(Place)>;

  explicit SendAdmission(size_t max_in_flight);
  // Runs what still waits (nothing, once the gRPC server has shut down),
  // then stops the thread.
  ~SendAdmission();
  SendAdmission(const SendAdmission&) = delete;
  SendAdmission& operator=(const SendAdmission&) = delete;

  // Runs `work` now, on the calling thread, if a place is free and nothing
  // waits; else queues it, and the admission's thread runs it when a
  // place frees. `work` must not block.
  void Run(Work work);

  // Sends waiting for a place now (a gauge for /metrics).
  size_t Waiting() const;
  // Sends that have waited for a place since the start (a counter).
  uint64_t WaitedTotal() const;

 private:
  Place Take() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Give();
  void Loop();

  const size_t max_in_flight_;
  mutable absl::Mutex mu_;
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Work> waiting_ ABSL_GUARDED_BY(mu_);
  uint64_t waited_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_SEND_ADMISSION_H_
