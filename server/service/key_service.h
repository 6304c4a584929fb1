// File: server/service/key_service.h
//
// silta.v1.KeyService over orgs::KeyDirectory. Thin: no business logic.
#ifndef SILTA_SERVER_SERVICE_KEY_SERVICE_H_
#define SILTA_SERVER_SERVICE_KEY_SERVICE_H_

#include "server/identity/authenticator.h"
#include "server/orgs/key_directory.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::service {

class KeyService final : public v1::KeyService::CallbackService {
 public:
  // Both must outlive the service.
  KeyService(const identity::Authenticator* authenticator, orgs::KeyDirectory* keys)
      : authenticator_(authenticator), keys_(keys) {}

  grpc::ServerUnaryReactor* PublishKeyBundle(grpc::CallbackServerContext* context,
                                             const v1::PublishKeyBundleRequest* request,
                                             v1::PublishKeyBundleResponse* response) override;
  grpc::ServerUnaryReactor* GetKeyBundles(grpc::CallbackServerContext* context,
                                          const v1::GetKeyBundlesRequest* request,
                                          v1::GetKeyBundlesResponse* response) override;

 private:
  const identity::Authenticator* const authenticator_;
  orgs::KeyDirectory* const keys_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_KEY_SERVICE_H_
