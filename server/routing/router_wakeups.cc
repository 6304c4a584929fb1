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
  if (org_ids.empty()) {
    wake_all_ = true;
  } else {
    wake_pending_.insert(wake_pending_.end(), org_ids.begin(), org_ids.end());
  }
  wake_cv_.Signal();
}

int Router::AddSubscriber(absl::string_view org_id, Subscriber subscriber) {
  return listeners_.Add(org_id, std::move(subscriber));
}

void Router::RemoveSubscriber(int id) { listeners_.Remove(id); }

void Router::Wake(const std::vector<std::string>& org_ids) {
  for (const Subscriber& subscriber : listeners_.Of(org_ids)) subscriber.wake();
}

}  // namespace silta::routing
