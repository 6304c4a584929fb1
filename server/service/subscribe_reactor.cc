#include "server/service/subscribe_reactor.h"

#include "server/common/logging.h"
#include "server/service/grpc_status.h"

namespace silta::service {
namespace {

// The ids of deliveries carrying a message (not key notices).
template <typename Deliveries>
std::vector<std::string> DeliveryIds(const Deliveries& deliveries) {
  std::vector<std::string> ids;
  for (const routing::OutgoingDelivery& d : deliveries) {
    if (!d.delivery_id().empty()) ids.push_back(d.delivery_id());
  }
  return ids;
}

// The bytes of a delivery, in a slice of their own.
grpc::ByteBuffer Serialize(const routing::OutgoingDelivery& d) {
  grpc::Slice slice;
  d.Serialize([&slice](size_t size) {
    slice = grpc::Slice(size);
    return const_cast<uint8_t*>(slice.begin());
  });
  return grpc::ByteBuffer(&slice, 1);
}

class RefusedReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  explicit RefusedReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<grpc::ByteBuffer>* SubscribeReactor::Refuse(const grpc::Status& status) {
  return new RefusedReactor(status);
}

SubscribeReactor::SubscribeReactor(const identity::Authenticator* authenticator,
                                   orgs::OrgRegistry* registry, routing::Router* router,
                                   orgs::KeyDirectory* keys, identity::Caller caller,
                                   absl::Duration ack_timeout, std::string method, std::string peer)
    : authenticator_(authenticator),
      registry_(registry),
      router_(router),
      keys_(keys),
      caller_(std::move(caller)),
      ack_timeout_(ack_timeout),
      method_(std::move(method)),
      peer_(std::move(peer)) {}

SubscribeReactor* SubscribeReactor::Start(const identity::Authenticator* authenticator,
                                          orgs::OrgRegistry* registry, routing::Router* router,
                                          orgs::KeyDirectory* keys, identity::Caller caller,
                                          absl::Duration ack_timeout, std::string method,
                                          std::string peer) {
  auto* reactor = new SubscribeReactor(authenticator, registry, router, keys, std::move(caller),
                                       ack_timeout, std::move(method), std::move(peer));
  std::shared_ptr<State> state = reactor->state_;
  absl::MutexLock lock(&state->mu);
  state->reactor = reactor;
  reactor->registry_listener_ = registry->AddListener([state](const v1::Organization&) {
    absl::MutexLock l(&state->mu);
    if (state->reactor != nullptr) state->reactor->OnRegistryChangeLocked();
  });
  reactor->router_listener_ =
      router->AddSubscriber(reactor->caller_.org.org_id(),
                            {.wake =
                                 [state] {
                                   absl::MutexLock l(&state->mu);
                                   if (state->reactor != nullptr)
                                     state->reactor->FillAndWriteLocked();
                                 },
                             .claim = [state]() -> std::optional<routing::Router::DirectTake> {
                               absl::MutexLock l(&state->mu);
                               if (state->reactor == nullptr) return std::nullopt;
                               return state->reactor->ClaimLocked();
                             },
                             .busy =
                                 [state] {
                                   absl::MutexLock l(&state->mu);
                                   return state->reactor == nullptr || state->reactor->BusyLocked();
                                 }});
  reactor->notice_listener_ = keys->AddNoticeListener(
      reactor->caller_.org.org_id(), [state](const v1::KeyBundleNotice& notice) {
        absl::MutexLock l(&state->mu);
        if (state->reactor == nullptr) return;
        v1::Delivery delivery;
        *delivery.mutable_key_notice() = notice;
        state->reactor->queue_.push_front(routing::OutgoingDelivery(std::move(delivery)));
        state->reactor->FillAndWriteLocked();
      });
  common::Log(common::LogLevel::kInfo, "subscriber_connected",
              {{"org_id", reactor->caller_.org.org_id()}, {"peer", reactor->peer_}});
  reactor->FillAndWriteLocked();
  return reactor;
}

void SubscribeReactor::FillAndWriteLocked() {
  if (finished_) return;
  if (finish_requested_) {
    if (!writing_) {  // a finish requested while a write was in flight happens after it
      finished_ = true;
      Finish(finish_status_);
    }
    return;
  }
  // Ask for more before the queue runs dry, so that the next deliveries'
  // commit overlaps the writes of these.
  if (queue_.size() < kBatch / 2) RefillLocked();
  if (writing_ || queue_.empty()) return;
  in_flight_ = Serialize(queue_.front());
  in_flight_id_ = queue_.front().delivery_id();
  queue_.pop_front();
  writing_ = true;
  // More are queued behind this one: gRPC may hold its bytes until the
  // next write (which OnWriteDone starts at once), so that a batch of
  // deliveries leaves in a few TCP writes rather than one each. The last
  // of the queue goes without the hint, which flushes them all. Not on the
  // stream's first write: it carries the initial metadata, which a hinted
  // write does not send, and the write would not complete until something
  // else on the connection is written.
  grpc::WriteOptions options;
  if (!queue_.empty() && wrote_before_) options.set_buffer_hint();
  wrote_before_ = true;
  StartWrite(&in_flight_, options);
}

bool SubscribeReactor::BusyLocked() const {
  // A take under way refills when it ends; a write under way takes more in
  // OnWriteDone once the queue runs low; an ending stream takes nothing.
  return refilling_ || writing_ || finish_requested_ || finished_;
}

void SubscribeReactor::RefillLocked() {
  // They come once their DELIVERED marks are durable, on the committer's
  // thread (OnRefilledLocked), which asks again: a wake-up meanwhile is
  // not lost.
  if (refilling_) return;
  refilling_ = router_->TakeDueAsync(caller_, ack_timeout_, kBatch, RefillDoneLocked());
}

routing::Router::DeliveriesDone SubscribeReactor::RefillDoneLocked() {
  return [state = state_, router = router_,
          caller = caller_](absl::StatusOr<std::vector<routing::OutgoingDelivery>> due) {
    absl::MutexLock l(&state->mu);
    if (state->reactor != nullptr) {
      state->reactor->OnRefilledLocked(std::move(due));
    } else if (due.ok()) {
      router->Release(caller, DeliveryIds(*due));  // the stream is gone
    }
  };
}

std::optional<routing::Router::DirectTake> SubscribeReactor::ClaimLocked() {
  // Busy taking (its next deliveries come from the queue) or ending.
  if (refilling_ || finish_requested_ || finished_) return std::nullopt;
  refilling_ = true;
  return routing::Router::DirectTake{ack_timeout_, RefillDoneLocked()};
}

void SubscribeReactor::OnRefilledLocked(
    absl::StatusOr<std::vector<routing::OutgoingDelivery>> due) {
  refilling_ = false;
  if (!due.ok()) {
    common::Log(common::LogLevel::kError, "delivery_failed",
                {{"org_id", caller_.org.org_id()}, {"error", std::string(due.status().message())}});
    FinishLocked(ToGrpcStatus(
        absl::UnavailableError("the broker could not read pending messages; reconnect to retry")));
    return;
  }
  if (finish_requested_ || finished_) {
    router_->Release(caller_, DeliveryIds(*due));  // taken for a stream that is ending
    FillAndWriteLocked();
    return;
  }
  for (routing::OutgoingDelivery& d : *due) queue_.push_back(std::move(d));
  FillAndWriteLocked();  // asks again while the queue is low: more may be ready
}

void SubscribeReactor::FinishLocked(const grpc::Status& status) {
  if (finished_ || finish_requested_) return;
  finish_requested_ = true;
  finish_status_ = status;
  // Taken but unwritten deliveries are due again at once, not after the ack timeout.
  const std::vector<std::string> unwritten = DeliveryIds(queue_);
  queue_.clear();
  if (!unwritten.empty()) router_->Release(caller_, unwritten);
  FillAndWriteLocked();
}

void SubscribeReactor::OnRegistryChangeLocked() {
  const absl::Status allowed = authenticator_->Recheck(caller_, method_, peer_);
  if (!allowed.ok()) FinishLocked(ToGrpcStatus(allowed));
}

void SubscribeReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&state_->mu);
  writing_ = false;
  // A finish requested while the write was in flight happens now.
  if (!ok) {
    if (!in_flight_id_.empty()) router_->Release(caller_, {in_flight_id_});
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed by the client"));
  }
  FillAndWriteLocked();
}

void SubscribeReactor::OnCancel() {
  absl::MutexLock lock(&state_->mu);
  FinishLocked(grpc::Status::CANCELLED);
}

void SubscribeReactor::OnDone() {
  {
    absl::MutexLock lock(&state_->mu);
    state_->reactor = nullptr;
  }
  registry_->RemoveListener(registry_listener_);
  router_->RemoveSubscriber(router_listener_);
  keys_->RemoveNoticeListener(notice_listener_);
  delete this;
}

}  // namespace silta::service
