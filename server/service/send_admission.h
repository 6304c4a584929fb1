// File: server/service/send_admission.h
//
// Back-pressure for Send: at most `max_in_flight` Sends are worked on at
// once (checked, decided, committed). A Send beyond that waits, holding
// only its call, and is started on the admission's own thread when one in
// flight has been answered. The waiting take turns by organisation (each
// organisation's in arrival order), so one organisation's burst does not
// hold up another's message. Under overload siltad then takes new messages
// at the rate it delivers them, instead of letting hundreds of Sends keep
// the gRPC threads from the delivery streams (docs/message-path.md,
// "Back-pressure").
//
//   SendAdmission admission(32);
//   admission.Run(caller.org.org_id(), [](SendAdmission::Place place) {
//     ...  // work; `place` is given back when its last copy is destroyed
//   });
#ifndef SILTA_SERVER_SERVICE_SEND_ADMISSION_H_
#define SILTA_SERVER_SERVICE_SEND_ADMISSION_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
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
  // waits; else queues it behind `org_id`'s waiting work, and the
  // admission's thread runs it in its organisation's turn when a place
  // frees. `work` must not block.
  void Run(const std::string& org_id, Work work);

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
  absl::CondVar changed_;  // a place given back, work queued, or the stop
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  // The waiting work per organisation, and the organisations with some,
  // in the order of their turns.
  absl::flat_hash_map<std::string, std::deque<Work>> waiting_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> turns_ ABSL_GUARDED_BY(mu_);
  size_t waiting_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t waited_total_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_SEND_ADMISSION_H_
