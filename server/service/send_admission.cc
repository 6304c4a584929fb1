#include "server/service/send_admission.h"

#include <utility>

#include "server/common/thread_name.h"

namespace silta::service {

SendAdmission::SendAdmission(size_t max_in_flight)
    : max_in_flight_(max_in_flight > 0 ? max_in_flight : 1), thread_([this] { Loop(); }) {}

SendAdmission::~SendAdmission() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    changed_.SignalAll();
  }
  thread_.join();
  // A place's deleter locks mu_: wait until the last one has been given back.
  absl::MutexLock lock(&mu_);
  while (in_flight_ > 0) changed_.Wait(&mu_);
}

void SendAdmission::Run(const std::string& org_id, Work work) {
  Place place;
  {
    absl::MutexLock lock(&mu_);
    if (waiting_count_ > 0 || in_flight_ >= max_in_flight_) {
      std::deque<Work>& of_org = waiting_[org_id];
      if (of_org.empty()) turns_.push_back(org_id);
      of_org.push_back(std::move(work));
      ++waiting_count_;
      ++waited_total_;
      // The admission's thread waits for work and a free place; with no
      // place free, a Give signals it, so only a free place needs a signal
      // here (under load every Send waits, and a wake-up for each was for
      // nothing).
      if (in_flight_ < max_in_flight_) changed_.SignalAll();
      return;
    }
    place = Take();
  }
  work(std::move(place));
}

size_t SendAdmission::Waiting() const {
  absl::MutexLock lock(&mu_);
  return waiting_count_;
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
  // Only when the place is wanted: the admission's thread for what waits,
  // or the destructor. Waking the thread after every Send for nothing cost
  // two context switches per message.
  if (waiting_count_ > 0 || stop_) changed_.SignalAll();
}

void SendAdmission::Loop() {
  common::NameThisThread("silta-admission");
  while (true) {
    Work work;
    Place place;
    {
      absl::MutexLock lock(&mu_);
      // At a stop (the gRPC server has shut down, so nothing can wait) what
      // still waits runs all the same: every call gets its answer.
      while (!stop_ && !(waiting_count_ > 0 && in_flight_ < max_in_flight_)) {
        changed_.Wait(&mu_);
      }
      if (waiting_count_ == 0) return;  // stopped
      // The organisation whose turn it is gives its oldest, and goes to the
      // back of the turns if it has more.
      const std::string org_id = std::move(turns_.front());
      turns_.pop_front();
      auto of_org = waiting_.find(org_id);
      work = std::move(of_org->second.front());
      of_org->second.pop_front();
      if (of_org->second.empty()) {
        waiting_.erase(of_org);
      } else {
        turns_.push_back(org_id);
      }
      --waiting_count_;
      place = Take();
    }
    work(std::move(place));
  }
}

}  // namespace silta::service
