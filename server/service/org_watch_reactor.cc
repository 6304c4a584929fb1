#include "server/service/org_watch_reactor.h"

#include "server/service/grpc_status.h"

namespace silta::service {
namespace {

// Finishes at once; used for callers refused before the stream starts.
class RefusedWriteReactor final : public grpc::ServerWriteReactor<v1::OrgEvent> {
 public:
  explicit RefusedWriteReactor(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerWriteReactor<v1::OrgEvent>* OrgWatchReactor::Refuse(const grpc::Status& status) {
  return new RefusedWriteReactor(status);
}

OrgWatchReactor::OrgWatchReactor(const identity::Authenticator* authenticator,
                                 orgs::OrgRegistry* registry, identity::Caller caller,
                                 std::string method, std::string peer)
    : authenticator_(authenticator),
      registry_(registry),
      caller_(std::move(caller)),
      method_(std::move(method)),
      peer_(std::move(peer)) {}

OrgWatchReactor* OrgWatchReactor::Start(const identity::Authenticator* authenticator,
                                        orgs::OrgRegistry* registry, identity::Caller caller,
                                        std::string method, std::string peer) {
  auto* reactor = new OrgWatchReactor(authenticator, registry, std::move(caller),
                                      std::move(method), std::move(peer));
  std::shared_ptr<WatchState> state = reactor->state_;
  absl::MutexLock lock(&state->mu);
  state->reactor = reactor;
  // Listen first, then list: a change between the two is sent (twice at
  // worst), never lost.
  reactor->listener_id_ = registry->AddListener([state](const v1::Organization& org) {
    absl::MutexLock listener_lock(&state->mu);
    if (state->reactor != nullptr) state->reactor->OnRegistryChangeLocked(org);
  });
  for (const v1::Organization& org : registry->List()) reactor->EnqueueLocked(org, true);
  reactor->MaybeWriteLocked();
  return reactor;
}

void OrgWatchReactor::OnRegistryChangeLocked(const v1::Organization& org) {
  if (finished_ || finish_requested_) return;
  const absl::Status allowed = authenticator_->Recheck(caller_, method_, peer_);
  if (!allowed.ok()) {
    FinishLocked(ToGrpcStatus(allowed));
    return;
  }
  if (queue_.size() >= kMaxQueuedEvents) {
    FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                              "registry watch fell too far behind; reconnect to resume"));
    return;
  }
  EnqueueLocked(org, false);
  MaybeWriteLocked();
}

void OrgWatchReactor::EnqueueLocked(const v1::Organization& org, bool initial) {
  v1::OrgEvent event;
  *event.mutable_org() = org;
  event.set_initial(initial);
  queue_.push_back(std::move(event));
}

void OrgWatchReactor::MaybeWriteLocked() {
  if (writing_ || finished_) return;
  if (finish_requested_) {
    finished_ = true;
    Finish(finish_status_);
    return;
  }
  if (queue_.empty()) return;
  in_flight_ = std::move(queue_.front());
  queue_.pop_front();
  writing_ = true;
  StartWrite(&in_flight_);
}

void OrgWatchReactor::FinishLocked(const grpc::Status& status) {
  if (finished_ || finish_requested_) return;
  finish_requested_ = true;
  finish_status_ = status;
  queue_.clear();
  MaybeWriteLocked();  // finishes now, or after the write in flight
}

void OrgWatchReactor::OnWriteDone(bool ok) {
  absl::MutexLock lock(&state_->mu);
  writing_ = false;
  // A finish requested while the write was in flight (a cancellation, a
  // suspension) happens now.
  if (!ok) FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream closed by the client"));
  MaybeWriteLocked();
}

void OrgWatchReactor::OnCancel() {
  absl::MutexLock lock(&state_->mu);
  FinishLocked(grpc::Status::CANCELLED);
}

void OrgWatchReactor::OnDone() {
  {
    absl::MutexLock lock(&state_->mu);
    state_->reactor = nullptr;
  }
  registry_->RemoveListener(listener_id_);
  delete this;
}

}  // namespace silta::service
