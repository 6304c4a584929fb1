// File: tests/testing/hostile_broker.h
//
// A hostile broker for the SDK's tests (TESTONLY): a gRPC server with
// siltad's own server certificate that sits between an SDK and a real
// siltad, forwards every call the SDK makes as the SDK's own organisation,
// and lets a test rewrite what comes back: other key bundles, forged or
// rewritten deliveries, a lying WhoAmI. This is what a compromised broker
// (or its operator) can do, so every promise the SDK makes about keys is
// tested against it.
//
// Example:
//   auto broker = HostileBroker::Start(siltad.address(), OrgCert("police-hame"),
//                                      OrgKey("police-hame"));
//   // Hooks run on the broker's threads: capture by value what they use.
//   broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
//     if (org == "wba-social") *r = hml_youth_bundles;  // another org's genuine keys
//   });
//   options.connection.address = broker->address();
#ifndef SILTA_TESTS_TESTING_HOSTILE_BROKER_H_
#define SILTA_TESTS_TESTING_HOSTILE_BROKER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "silta/v1/broker.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::testing {

class HostileBroker {
 public:
  // Rewrites the real answer to GetKeyBundles(org).
  using KeyBundlesHook = std::function<void(const std::string& org, v1::GetKeyBundlesResponse*)>;
  // Rewrites each real delivery before the SDK sees it.
  using DeliveryHook = std::function<void(v1::Delivery*)>;
  // Rewrites the real WhoAmI answer.
  using WhoAmIHook = std::function<void(v1::WhoAmIResponse*)>;

  // Listens on a free loopback port with the test PKI's server certificate
  // (requiring client certificates of the CA) and forwards to `upstream`
  // with `cert`/`key` (the organisation whose SDK it fools).
  static std::unique_ptr<HostileBroker> Start(const std::string& upstream, const std::string& cert,
                                              const std::string& key);
  ~HostileBroker();

  std::string address() const { return address_; }

  void SetKeyBundles(KeyBundlesHook hook);
  void SetDeliveries(DeliveryHook hook);
  void SetWhoAmI(WhoAmIHook hook);
  // Deliveries written first on the next Subscribe stream(s), made up by
  // the broker.
  void Inject(v1::Delivery delivery);

  // Hooks, read by the services.
  struct Hooks {
    KeyBundlesHook key_bundles;
    DeliveryHook delivery;
    WhoAmIHook whoami;
    std::vector<v1::Delivery> injected;
  };
  Hooks hooks() const;
  std::vector<v1::Delivery> TakeInjected();
  // Registers (open) or forgets an upstream Subscribe call, so that the
  // destructor can end it.
  void TrackStream(grpc::ClientContext* context, bool open);

 private:
  HostileBroker() = default;

  std::string address_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  std::unique_ptr<grpc::Server> server_;
  mutable absl::Mutex mu_;
  Hooks hooks_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> upstream_streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_HOSTILE_BROKER_H_
