// File: client/sdk/key_client.h
//
// Message key bundles (KeyService), as the broker serves them. This client
// does not verify what it returns: SiltaClient verifies every bundle it
// seals to or opens with (client.h, "What the SDK trusts"), and
// sdk::CreateOrgKeys / RotateOrgKeys make the bundles to publish.
//
// Example:
//   sdk::KeyClient keys(connection);
//   v1::PublishKeyBundleRequest request;
//   *request.mutable_bundle() = org_keys.bundle;
//   absl::StatusOr<v1::PublishKeyBundleResponse> published = keys.PublishKeyBundle(request);
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_KEY_CLIENT_H_
#define SILTA_CLIENT_SDK_KEY_CLIENT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::sdk {

class KeyClient {
 public:
  explicit KeyClient(std::shared_ptr<const Connection> connection);

  // Publishes this org's new bundle (it must continue the current one).
  absl::StatusOr<v1::PublishKeyBundleResponse> PublishKeyBundle(
      const v1::PublishKeyBundleRequest& request) const;
  // An org's current bundle, and with include_retired its older ones.
  // Unverified.
  absl::StatusOr<v1::GetKeyBundlesResponse> GetKeyBundles(
      const v1::GetKeyBundlesRequest& request) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::KeyService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_KEY_CLIENT_H_
