// The router's part in several siltad instances on one database: what the
// other instances commit on the message path (store::PathNotice), and
// deliveries that one of them finished first.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

void Router::OnPathElsewhere(const store::PathNotice& notice) {
  const absl::Time now = clock_();
  switch (notice.kind) {
    case store::PathNotice::kAccepted: {
      if (notice.ids.size() != 2) return;
      absl::StatusOr<std::optional<store::MessageRecord>> m =
          store_->GetMessage(notice.ids[0], notice.ids[1]);
      if (!m.ok()) {
        // Not lost: the follower reads every unfinished delivery again
        // (Recover) once the database answers.
        common::Log(common::LogLevel::kWarn, "message_elsewhere_unread",
                    {{"error", std::string(m.status().message())}});
        return;
      }
      if (!m->has_value() || !(*m)->body.has_value()) return;  // finished already
      auto held = std::make_shared<const store::MessageRecord>(**std::move(m));
      std::vector<std::string> woken;
      for (const store::DeliveryRecord& d : held->deliveries) {
        if (d.state != v1::PENDING && d.state != v1::DELIVERED) continue;
        queues_.Add({d, held}, held->accepted_at_us, now);
        woken.push_back(d.recipient_org_id);
      }
      ScheduleWake(woken);
      return;
    }
    case store::PathNotice::kDelivered:
      // Delivered on the other instance: due here again only if it is not
      // acked within the ack timeout (that instance may die first).
      for (const std::string& id : notice.ids) {
        std::optional<QueuedDelivery> q = queues_.Find(id);
        if (!q.has_value() || q->record.state != v1::PENDING) continue;
        q->record.state = v1::DELIVERED;
        ++q->record.attempts;
        queues_.Schedule(*std::move(q), now + options_.ack_timeout, now);
      }
      return;
    case store::PathNotice::kFinished:
      for (const std::string& id : notice.ids) queues_.Forget(id);
      return;
  }
}

void Router::RecheckTaken(const std::vector<std::string>& delivery_ids, absl::Time now) {
  for (const std::string& id : delivery_ids) {
    std::optional<QueuedDelivery> q = queues_.Find(id);
    if (!q.has_value()) continue;
    absl::StatusOr<std::optional<store::DeliveryRecord>> d = store_->GetDelivery(id);
    if (!d.ok()) {
      queues_.Schedule(*std::move(q), now + internal::kDecisionRetry, now);
    } else if (!d->has_value() || ((*d)->state != v1::PENDING && (*d)->state != v1::DELIVERED)) {
      queues_.Forget(id);
    } else {
      // Due again at once, or (delivered there) when its ack is overdue.
      q->record = **std::move(d);
      const absl::Time at = std::max(now, absl::FromUnixMicros(q->record.next_attempt_us));
      queues_.Schedule(*std::move(q), at, now);
    }
  }
}

}  // namespace silta::routing
