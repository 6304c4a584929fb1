#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "server/common/logging.h"
#include "server/consent/request_link.h"
#include "server/routing/message_audit.h"
#include "server/routing/message_checks.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"
#include "silta/v1/payloads.pb.h"

namespace silta::routing {
namespace {

using common::ToTime;
using common::ToTimestamp;
using crypto::kJustificationPath;

}  // namespace

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

int Router::AddWakeListener(absl::string_view org_id, WakeListener listener) {
  return listeners_.Add(org_id, std::move(listener));
}

void Router::RemoveWakeListener(int id) { listeners_.Remove(id); }

void Router::Wake(const std::vector<std::string>& org_ids) {
  for (const WakeListener& listener : listeners_.Of(org_ids)) listener();
}

}  // namespace silta::routing
