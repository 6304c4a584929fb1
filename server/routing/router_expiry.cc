#include "absl/strings/str_cat.h"
#include "server/common/logging.h"
#include "server/routing/message_audit.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

void Router::Tick() {
  const absl::Time now = clock_();
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  absl::StatusOr<std::vector<store::DeliveryRecord>> expired = store_->ExpireMessages(
      absl::ToUnixMicros(now),
      [&](const store::DeliveryRecord& d, const store::MessageRecord& m) -> store::AuditEntries {
        // An undelivered notification is an alert: the law wanted it
        // delivered without delay. The sender sees EXPIRED_UNDELIVERED.
        if (internal::NotificationBasis(*policy, m.receipt.statutory_basis()) != nullptr) {
          undelivered_notifications_.fetch_add(1, std::memory_order_relaxed);
          common::Log(common::LogLevel::kError, "notification_undelivered",
                      {{"message_id", m.message_id},
                       {"sender_org_id", m.sender_org_id},
                       {"recipient_org_id", d.recipient_org_id},
                       {"statutory_basis", m.receipt.statutory_basis()}});
        }
        return {ExpiryEntry(m, d.recipient_org_id, now)};
      });
  if (!expired.ok()) {
    common::Log(common::LogLevel::kError, "message_expiry_failed",
                {{"error", std::string(expired.status().message())}});
  } else if (!expired->empty()) {
    for (const store::DeliveryRecord& d : *expired) queues_.Forget(d.delivery_id);
    common::Log(common::LogLevel::kInfo, "deliveries_expired",
                {{"count", absl::StrCat(expired->size())}});
  }
  queues_.Advance(now);
  Wake({});  // every subscriber: redeliveries may be due
}

}  // namespace silta::routing
