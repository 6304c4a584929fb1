// File: server/service/subscribe_reactor.h
//
// The server-streaming reactor of MessageService.Subscribe: it writes the
// caller system's due deliveries one at a time, refills from the router
// when its queue runs dry, wakes when the router says deliveries became due
// (a Send to this org, or a redelivery deadline), writes a key notice when a
// key bundle is published for the caller's own org, and ends with
// PERMISSION_DENIED as soon as the caller's org is suspended (registry
// listener + Authenticator::Recheck, as OrgWatchReactor does).
//
// Lifetime: `new` in the service, `delete this` in OnDone() (gRPC callback
// API); listeners reach it through a shared state detached in OnDone().
// gRPC 1.51 does not run user reactions inline, so StartWrite()/Finish()
// are called with the state mutex held. No store write and no wait for a
// commit happens under it: deliveries are asked for with TakeDueAsync and
// come back on the store's completion thread once their marks are durable.
#ifndef SILTA_SERVER_SERVICE_SUBSCRIBE_REACTOR_H_
#define SILTA_SERVER_SERVICE_SUBSCRIBE_REACTOR_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "server/identity/authenticator.h"
#include "server/orgs/key_directory.h"
#include "server/orgs/registry.h"
#include "server/routing/router.h"
#include "silta/v1/message.pb.h"

namespace silta::service {

// Writes v1.Delivery messages as bytes (MessageService registers Subscribe
// raw): routing::OutgoingDelivery serializes each straight from the stored
// message when it is written.
class SubscribeReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // Deliveries taken from the router per refill.
  static constexpr uint32_t kBatch = 64;

  // Starts the stream for an authorised caller. All pointers must outlive it.
  static SubscribeReactor* Start(const identity::Authenticator* authenticator,
                                 orgs::OrgRegistry* registry, routing::Router* router,
                                 orgs::KeyDirectory* keys, identity::Caller caller, absl::Duration ack_timeout,
                                 std::string method, std::string peer);
  // A stream that finishes at once with `status`.
  static grpc::ServerWriteReactor<grpc::ByteBuffer>* Refuse(const grpc::Status& status);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  struct State {
    absl::Mutex mu;
    SubscribeReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;
  };

  SubscribeReactor(const identity::Authenticator* authenticator, orgs::OrgRegistry* registry,
                   routing::Router* router, orgs::KeyDirectory* keys, identity::Caller caller, absl::Duration ack_timeout,
                   std::string method, std::string peer);

  void FillAndWriteLocked();
  void RefillLocked();
  // Where the router sends deliveries it took for this stream (TakeDueAsync,
  // or a Send that reserved the stream): back to OnRefilledLocked.
  routing::Router::DeliveriesDone RefillDoneLocked();
  // A Send's reservation of this stream (Router::Subscriber::claim).
  std::optional<routing::Router::DirectTake> ClaimLocked();
  // Router::Subscriber::busy: a take or a write is under way, or it ends.
  bool BusyLocked() const;
  void OnRefilledLocked(absl::StatusOr<std::vector<routing::OutgoingDelivery>> due);
  void FinishLocked(const grpc::Status& status);
  void OnRegistryChangeLocked();

  const identity::Authenticator* const authenticator_;
  orgs::OrgRegistry* const registry_;
  routing::Router* const router_;
  orgs::KeyDirectory* const keys_;
  const identity::Caller caller_;
  const absl::Duration ack_timeout_;
  const std::string method_;
  const std::string peer_;
  const std::shared_ptr<State> state_ = std::make_shared<State>();
  int registry_listener_ = -1;
  int router_listener_ = -1;
  int notice_listener_ = -1;

  // Guarded by state_->mu.
  std::deque<routing::OutgoingDelivery> queue_;
  grpc::ByteBuffer in_flight_;  // the serialized delivery being written
  std::string in_flight_id_;    // its id (empty for a key notice)
  bool writing_ = false;
  bool wrote_before_ = false;  // the initial metadata has gone with a write
  bool refilling_ = false;  // a TakeDueAsync is out, or a Send reserved the stream
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_SUBSCRIBE_REACTOR_H_
