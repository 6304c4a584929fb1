#include "server/service/key_service.h"

#include "server/service/unary_call.h"

namespace silta::service {

grpc::ServerUnaryReactor* KeyService::PublishKeyBundle(grpc::CallbackServerContext* context,
                                                       const v1::PublishKeyBundleRequest* request,
                                                       v1::PublishKeyBundleResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.KeyService/PublishKeyBundle", response,
                     [&](const identity::Caller& caller) {
                       return keys_->PublishKeyBundle(caller, *request);
                     });
}

grpc::ServerUnaryReactor* KeyService::GetKeyBundles(grpc::CallbackServerContext* context,
                                                    const v1::GetKeyBundlesRequest* request,
                                                    v1::GetKeyBundlesResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.KeyService/GetKeyBundles", response,
                     [&](const identity::Caller&) { return keys_->GetKeyBundles(*request); });
}

}  // namespace silta::service
