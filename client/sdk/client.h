// File: client/sdk/client.h
//
// The Silta SDK for agency systems: one object per organisation system that
// talks to siltad over mutual TLS and does the end-to-end crypto locally.
//
//   Seal      asks PreviewDisclosure first, fetches each recipient's key
//             bundle and verifies it against the trust-domain CA, then
//             seals, wrapping field keys only for permitted pairs, and signs.
//   Send      sends (retried on UNAVAILABLE: Send is idempotent by id).
//   Subscribe streams deliveries to a callback.
//   Open      verifies the sender's key bundle against the CA and the
//             message signature, decrypts, reassembles the payload, and
//             reports how many fields were withheld.
//   Ack       confirms a delivery.
//
// Example:
//   SiltaClient::Options options;  // address, certificate, key, CA, keys_dir
//   auto client = SiltaClient::Create(options, "police-hame");
//   SealRequest r{.case_id = case_id, .purpose = "referral",
//                 .recipients = {"wba-social", "hml-youth"}, .worker_id = "officer-12"};
//   auto sealed = (*client)->Seal(referral, r);
//   auto receipt = (*client)->Send(*sealed);
//
// Thread-compatible: use one object per thread or synchronise externally.
#ifndef SILTA_CLIENT_SDK_CLIENT_H_
#define SILTA_CLIENT_SDK_CLIENT_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/connection.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/sealer.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"

namespace silta::sdk {

// What to seal, besides the payload.
struct SealRequest {
  std::string case_id;  // empty: an anonymous consultation
  std::string purpose;
  std::vector<std::string> recipients;
  std::string worker_id;
  std::string worker_role;
  std::string statutory_basis;  // optional statute code
  std::string justification;    // required with a statutory basis
  std::string reply_to;
};

class SiltaClient {
 public:
  struct Options {
    ConnectionOptions connection;
    // SPIFFE trust domain of the network, e.g. "silta.test".
    std::string trust_domain;
    // Where this org's message keys live (sdk::CreateOrgKeys); the newest
    // key id is `current_key_id` (empty: the directory's current keys),
    // older ones still open old messages.
    std::string keys_dir;
    std::string current_key_id;
    // Deadline of each unary call.
    absl::Duration timeout = absl::Seconds(10);
  };

  // Connects (lazily) and loads the current keys. Errors name the file.
  static absl::StatusOr<std::unique_ptr<SiltaClient>> Create(Options options, std::string org_id);

  // What the broker would let each recipient have of `payload` now: one
  // decision per (recipient, field) with its rule and reason. Seal() asks
  // this itself; call it to show the sender before sealing.
  absl::StatusOr<v1::PreviewDisclosureResponse> Preview(const google::protobuf::Message& payload,
                                                        const SealRequest& request);
  // Previews, then seals with those decisions.
  absl::StatusOr<v1::SealedMessage> Seal(const google::protobuf::Message& payload,
                                         const SealRequest& request);
  // Seals wrapping field keys only for the pairs `preview` permits, so
  // that what the sender was shown is what is sealed.
  absl::StatusOr<v1::SealedMessage> Seal(const google::protobuf::Message& payload,
                                         const SealRequest& request,
                                         const v1::PreviewDisclosureResponse& preview);
  absl::StatusOr<v1::DeliveryReceipt> Send(const v1::SealedMessage& message);
  // Calls `on_delivery` for each delivery until it returns false, the
  // stream ends, or `max_wait` passes. OK on a normal end.
  absl::Status Subscribe(const std::function<bool(const v1::Delivery&)>& on_delivery,
                         absl::Duration ack_timeout, absl::Duration max_wait);
  absl::StatusOr<OpenedMessage> Open(const v1::Delivery& delivery,
                                     google::protobuf::Message* payload);
  absl::Status Ack(absl::string_view delivery_id);
  absl::StatusOr<v1::GetMessageStatusResponse> Status(absl::string_view message_id);

 private:
  SiltaClient(Options options, std::string org_id, std::shared_ptr<grpc::Channel> channel,
              std::string ca_pem, OrgKeys current);
  // A verified bundle of `org_id` (`key_id` empty: the current one).
  absl::StatusOr<v1::KeyBundle> VerifiedBundle(absl::string_view org_id, absl::string_view key_id);
  void SetDeadline(grpc::ClientContext* context) const;

  const Options options_;
  const std::string org_id_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ConsentService::Stub> consent_;
  std::unique_ptr<v1::KeyService::Stub> keys_;
  std::unique_ptr<v1::MessageService::Stub> messages_;
  const std::string ca_pem_;
  const OrgKeys current_;
  std::map<std::string, OrgKeys> old_keys_;
};

// absl::Status of a finished gRPC call (same canonical codes).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_CLIENT_H_
