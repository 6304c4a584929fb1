#include "server/routing/path_stats.h"

namespace silta::routing {

void PathStats::AddLocked(const Decisions& decisions) {
  for (const auto& [key, n] : decisions.counts_) totals_.decisions[key] += n;
}

void PathStats::Accepted(const Decisions& decisions) {
  absl::MutexLock lock(&mu_);
  ++totals_.accepted;
  AddLocked(decisions);
}

void PathStats::Delivered(uint64_t first, uint64_t again, const Decisions& decisions) {
  absl::MutexLock lock(&mu_);
  totals_.deliveries += first;
  totals_.redeliveries += again;
  AddLocked(decisions);
}

void PathStats::Acked(uint64_t count) {
  absl::MutexLock lock(&mu_);
  totals_.acks += count;
}

PathStats::Snapshot PathStats::Read() const {
  absl::MutexLock lock(&mu_);
  return totals_;
}

}  // namespace silta::routing
