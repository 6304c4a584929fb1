#include "absl/algorithm/container.h"
#include "server/routing/router.h"

namespace silta::routing {

void Router::Start() {
  ticker_ = std::thread([this] {
    absl::Time next_tick = absl::Now() + options_.tick;
    while (!stop_.HasBeenNotified()) {
      std::vector<std::string> orgs;
      bool all = false;
      {
        absl::MutexLock lock(&wake_mu_);
        while (wake_pending_.empty() && !wake_all_ && !stop_.HasBeenNotified() &&
               absl::Now() < next_tick) {
          wake_cv_.WaitWithDeadline(&wake_mu_, next_tick);
        }
        orgs.swap(wake_pending_);
        all = wake_all_;
        wake_all_ = false;
      }
      if (stop_.HasBeenNotified()) break;
      if (absl::Now() >= next_tick) {
        Tick();  // wakes everyone
        next_tick = absl::Now() + options_.tick;
      } else if (all || !orgs.empty()) {
        Wake(all ? std::vector<std::string>() : orgs);
      }
    }
  });
}

void Router::ScheduleWake(const std::vector<std::string>& org_ids) {
  absl::MutexLock lock(&wake_mu_);
  // Signalled once until the thread takes what is pending: under load a
  // commit's Sends each ask for the same few orgs, and a signal (and a
  // wake-up of the thread) for each was most of the path's context switches.
  const bool signalled = wake_all_ || !wake_pending_.empty();
  if (org_ids.empty()) {
    wake_all_ = true;
  } else {
    for (const std::string& org_id : org_ids) {
      if (absl::c_find(wake_pending_, org_id) == wake_pending_.end()) {
        wake_pending_.push_back(org_id);
      }
    }
  }
  if (!signalled) wake_cv_.Signal();
}

int Router::AddSubscriber(absl::string_view org_id, Subscriber subscriber) {
  return listeners_.Add(org_id, std::move(subscriber));
}

void Router::RemoveSubscriber(int id) { listeners_.Remove(id); }

bool Router::AllBusy(const std::string& org_id) {
  for (const Subscriber& subscriber : listeners_.Of({org_id})) {
    if (!subscriber.busy || !subscriber.busy()) return false;
  }
  return true;  // busy, or no stream to wake
}

void Router::Wake(const std::vector<std::string>& org_ids) {
  for (const Subscriber& subscriber : listeners_.Of(org_ids)) subscriber.wake();
}

}  // namespace silta::routing
