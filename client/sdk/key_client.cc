#include "client/sdk/key_client.h"

#include <utility>

namespace silta::sdk {

KeyClient::KeyClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)), stub_(v1::KeyService::NewStub(connection_->channel())) {}

absl::StatusOr<v1::PublishKeyBundleResponse> KeyClient::PublishKeyBundle(
    const v1::PublishKeyBundleRequest& request) const {
  return connection_->Unary(*stub_, &v1::KeyService::Stub::PublishKeyBundle, request,
                            Idempotency::kNotIdempotent);
}

absl::StatusOr<v1::GetKeyBundlesResponse> KeyClient::GetKeyBundles(
    const v1::GetKeyBundlesRequest& request) const {
  return connection_->Unary(*stub_, &v1::KeyService::Stub::GetKeyBundles, request,
                            Idempotency::kIdempotent);
}

}  // namespace silta::sdk
