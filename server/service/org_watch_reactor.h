// File: server/service/org_watch_reactor.h
//
// The server-streaming reactor of OrgService.WatchOrgs. It sends the
// registry, then every change, and re-checks its caller on every change so
// that a suspension (or a lost role) ends the stream at once with
// PERMISSION_DENIED. This is the pattern every long-lived stream of siltad
// follows (Subscribe will too).
//
// Lifetime: created with `new` by the service and deleted by itself in
// OnDone(), as gRPC's callback API requires (the one sanctioned use of
// raw new/delete in siltad). Registry notifications reach it through a
// shared WatchState, which OnDone() detaches before deleting the reactor.
// gRPC 1.51 never runs a user reactor's reactions inline, so holding the
// state mutex while calling StartWrite()/Finish() cannot deadlock.
#ifndef SILTA_SERVER_SERVICE_ORG_WATCH_REACTOR_H_
#define SILTA_SERVER_SERVICE_ORG_WATCH_REACTOR_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/identity/authenticator.h"
#include "server/orgs/registry.h"
#include "silta/v1/org.pb.h"

namespace silta::service {

class OrgWatchReactor final : public grpc::ServerWriteReactor<v1::OrgEvent> {
 public:
  // Events queued for a slow reader before the stream is ended with
  // RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxQueuedEvents = 10000;

  // Starts a watch for an authorised caller. `authenticator` and `registry`
  // must outlive the call (siltad drains streams before destroying them).
  static OrgWatchReactor* Start(const identity::Authenticator* authenticator,
                                orgs::OrgRegistry* registry, identity::Caller caller,
                                std::string method, std::string peer);

  // A reactor that finishes at once with `status` (refused callers).
  static grpc::ServerWriteReactor<v1::OrgEvent>* Refuse(const grpc::Status& status);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct WatchState {
    absl::Mutex mu;
    OrgWatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  };

  OrgWatchReactor(const identity::Authenticator* authenticator, orgs::OrgRegistry* registry,
                  identity::Caller caller, std::string method, std::string peer);

  void OnRegistryChangeLocked(const v1::Organization& org);
  void EnqueueLocked(const v1::Organization& org, bool initial);
  void MaybeWriteLocked();
  void FinishLocked(const grpc::Status& status);

  const identity::Authenticator* const authenticator_;
  orgs::OrgRegistry* const registry_;
  const identity::Caller caller_;
  const std::string method_;
  const std::string peer_;
  const std::shared_ptr<WatchState> state_ = std::make_shared<WatchState>();
  int listener_id_ = -1;

  // Guarded by state_->mu (not expressible to the analysis across objects).
  std::deque<v1::OrgEvent> queue_;
  v1::OrgEvent in_flight_;
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_ORG_WATCH_REACTOR_H_
