#include "server/service/send_admission.h"

#include <pthread.h>

#include <utility>

namespace silta::service {

SendAdmission::SendAdmission(size_t max_in_flight)
    : max_in_flight_(max_in_flight > 0 ? max_in_flight : 1), thread_([this] { Loop(); }) {}

SendAdmission::~SendAdmission() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  // A place's deleter locks mu_: wait until the last one has been given back.
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](size_t* n) { return *n == 0; }, &in_flight_));
}

void SendAdmission::Run(Work work) {
  Place place;
  {
    absl::MutexLock lock(&mu_);
    if (!waiting_.empty() || in_flight_ >= max_in_flight_) {
      waiting_.push_back(std::move(work));
      ++waited_total_;
      return;
    }
    place = Take();
  }
  work(std::move(place));
}

size_t SendAdmission::Waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_.size();
}

uint64_t SendAdmission::WaitedTotal() const {
  absl::MutexLock lock(&mu_);
  return waited_total_;
}

SendAdmission::Place SendAdmission::Take() {
  ++in_flight_;
  return Place(static_cast<void*>(this),
               [](void* self) { static_cast<SendAdmission*>(self)->Give(); });
}

void SendAdmission::Give() {
  absl::MutexLock lock(&mu_);
  --in_flight_;
}

void SendAdmission::Loop() {
  pthread_setname_np(pthread_self(), "silta-admission");
  while (true) {
    Work work;
    Place place;
    {
      absl::MutexLock lock(&mu_);
      // At a stop (the gRPC server has shut down, so nothing can wait) what
      // still waits runs all the same: every call gets its answer.
      mu_.Await(absl::Condition(
          +[](SendAdmission* a) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return a->stop_ || (!a->waiting_.empty() && a->in_flight_ < a->max_in_flight_);
          },
          this));
      if (waiting_.empty()) return;  // stopped
      work = std::move(waiting_.front());
      waiting_.pop_front();
      place = Take();
    }
    work(std::move(place));
  }
}

}  // namespace silta::service
