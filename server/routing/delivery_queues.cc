#include "server/routing/delivery_queues.h"

#include <algorithm>

namespace silta::routing {

void DeliveryQueues::HoldLocked(QueuedDelivery& d) {
  if (d.message == nullptr) return;
  if (held_ >= max_held_messages_) {
    d.message = nullptr;  // read back from the store when taken
    return;
  }
  ++held_;
}

void DeliveryQueues::MakeReadyLocked(const std::string& id, Entry& e) {
  e.where = Where::kReady;
  ready_[e.d.record.recipient_org_id].emplace(e.seq, id);
}

void DeliveryQueues::WaitLocked(const std::string& id, Entry& e, int64_t at_us) {
  e.where = Where::kWaiting;
  e.at_us = at_us;
  waiting_.emplace(at_us, id);
}

void DeliveryQueues::UnlinkLocked(const std::string& id, const Entry& e) {
  switch (e.where) {
    case Where::kReady: {
      auto it = ready_.find(e.d.record.recipient_org_id);
      if (it != ready_.end()) {
        it->second.erase(e.seq);
        if (it->second.empty()) ready_.erase(it);
      }
      break;
    }
    case Where::kWaiting:
      waiting_.erase({e.at_us, id});
      break;
    case Where::kTaken:
      break;
  }
}

bool DeliveryQueues::HasReady(absl::string_view org) const {
  absl::MutexLock lock(&mu_);
  return ready_.contains(org);
}

void DeliveryQueues::Add(QueuedDelivery d, int64_t accepted_us, absl::Time now) {
  const std::string id = d.record.delivery_id;
  absl::MutexLock lock(&mu_);
  if (entries_.contains(id)) return;
  HoldLocked(d);
  Entry& e = entries_[id];
  e.accepted_us = accepted_us;
  e.seq = next_seq_++;
  const int64_t at_us = d.record.next_attempt_us;
  e.d = std::move(d);
  if (at_us > absl::ToUnixMicros(now)) {
    WaitLocked(id, e, at_us);
  } else {
    MakeReadyLocked(id, e);
  }
}

std::vector<QueuedDelivery> DeliveryQueues::Take(absl::string_view org, size_t limit) {
  std::vector<QueuedDelivery> out;
  absl::MutexLock lock(&mu_);
  auto queue = ready_.find(org);
  if (queue == ready_.end()) return out;
  auto it = queue->second.begin();
  while (it != queue->second.end() && out.size() < limit) {
    Entry& e = entries_.at(it->second);
    e.where = Where::kTaken;
    out.push_back(e.d);
    it = queue->second.erase(it);
  }
  if (queue->second.empty()) ready_.erase(queue);
  return out;
}

void DeliveryQueues::Schedule(QueuedDelivery d, absl::Time at, absl::Time now) {
  const std::string id = d.record.delivery_id;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // finished meanwhile
  Entry& e = it->second;
  UnlinkLocked(id, e);
  if (e.d.message == nullptr && d.message != nullptr) {
    HoldLocked(d);
  } else if (e.d.message != nullptr && d.message == nullptr) {
    --held_;
  }
  e.d = std::move(d);
  if (at > now) {
    WaitLocked(id, e, absl::ToUnixMicros(at));
  } else {
    MakeReadyLocked(id, e);
  }
}

bool DeliveryQueues::Forget(absl::string_view delivery_id) {
  // The message, if this was its last delivery held, is freed after the
  // lock is released (a whole message's fields and keys: the lock's
  // other users need not wait for that).
  std::shared_ptr<const store::MessageRecord> message;
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(delivery_id);
  if (it == entries_.end()) return false;
  UnlinkLocked(it->first, it->second);
  if (it->second.d.message != nullptr) --held_;
  message = std::move(it->second.d.message);
  entries_.erase(it);
  return true;
}

std::optional<QueuedDelivery> DeliveryQueues::Find(absl::string_view delivery_id) const {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(delivery_id);
  if (it == entries_.end()) return std::nullopt;
  return it->second.d;
}

std::vector<std::string> DeliveryQueues::Advance(absl::Time now) {
  const int64_t now_us = absl::ToUnixMicros(now);
  std::vector<std::string> orgs;
  absl::MutexLock lock(&mu_);
  while (!waiting_.empty() && waiting_.begin()->first <= now_us) {
    const std::string id = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    Entry& e = entries_.at(id);
    MakeReadyLocked(id, e);
    const std::string& org = e.d.record.recipient_org_id;
    if (std::find(orgs.begin(), orgs.end(), org) == orgs.end()) orgs.push_back(org);
  }
  return orgs;
}

std::vector<RecipientBacklog> DeliveryQueues::Backlog() const {
  std::map<std::string, RecipientBacklog> by_org;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, e] : entries_) {
    RecipientBacklog& b = by_org[e.d.record.recipient_org_id];
    if (b.deliveries == 0 || e.accepted_us < b.oldest_accepted_us) {
      b.oldest_accepted_us = e.accepted_us;
    }
    ++b.deliveries;
  }
  std::vector<RecipientBacklog> out;
  for (auto& [org, b] : by_org) {
    b.recipient_org_id = org;
    out.push_back(std::move(b));
  }
  return out;
}

size_t DeliveryQueues::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace silta::routing
