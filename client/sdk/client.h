// File: client/sdk/client.h
//
// The Silta SDK for agency systems: one object per organisation system that
// talks to siltad over mutual TLS and does the end-to-end crypto locally.
//
//   Seal      asks PreviewDisclosure first, fetches each recipient's key
//             bundle, verifies it (below), then seals, wrapping field keys
//             only for permitted pairs, and signs.
//   Send      sends (retried on UNAVAILABLE: Send is idempotent by id;
//             retry.h says when the SDK retries).
//   Subscribe streams deliveries (and key notices) to a callback.
//   Open      refuses a message not addressed to this org, verifies the
//             sender's key bundle (below) and the message signature,
//             decrypts, reassembles the payload, and reports how many
//             fields were withheld.
//   Ack       confirms a delivery; AckAll many in one call and one commit.
//
// What the SDK trusts (docs/threat-model.md "What the SDK trusts"): the
// broker is not trusted with keys. A bundle is used for org X only if its
// signed org_id is X (the recipient asked for, or the header's
// sender_org_id); it is signed by a bundle-signing certificate of X that
// chains to the CA in connection.ca_file and is not revoked by a CRL in
// crl_directory; and its signed epoch is not older than the newest this SDK
// has seen for X (kept in keys_dir/peers/), a newer one continuing it
// (PeerBundles). For sealing the bundle must be valid now; for opening, at
// the header's created_at, which must lie between now - max_message_age
// and now + the clock skew. The trust domain comes from this SDK's own
// options or its own client certificate, never from the broker.
//
// Example:
//   SiltaClient::Options options;  // address, certificate, key, CA, CRLs, keys_dir
//   auto client = SiltaClient::Create(options);  // the org of the client certificate
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
#include "client/sdk/consent_client.h"
#include "client/sdk/key_client.h"
#include "client/sdk/message_client.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/peer_bundles.h"
#include "client/sdk/sealer.h"
#include "lib/crypto/key_bundle.h"
#include "silta/v1/message.pb.h"

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
  // A notification sent outside a case (case_id empty, a statutory basis
  // marked `notification`): the HETU of the person it is about. The broker
  // keeps only its pseudonymous ref. Empty otherwise.
  std::string subject_hetu;
};

class SiltaClient {
 public:
  struct Options {
    ConnectionOptions connection;
    // SPIFFE trust domain of the network, e.g. "silta.test". Empty: the
    // trust domain of the client certificate's SPIFFE id (which must chain
    // to the CA). When set, it must agree with that certificate.
    std::string trust_domain;
    // Hashed CRL directory of the trust domain (`openssl rehash`), the same
    // files siltad's tls.crl_directory holds. Required: without it a
    // revoked signing certificate could not be told from a valid one.
    std::string crl_directory;
    // Where this org's message keys live (sdk::CreateOrgKeys); the newest
    // key id is `current_key_id` (empty: the directory's current keys),
    // older ones still open old messages.
    std::string keys_dir;
    std::string current_key_id;
    // Oldest header.created_at that Open accepts (the broker keeps a message
    // at most 90 days), and how far ahead of this clock it may be.
    absl::Duration max_message_age = absl::Hours(24 * 90);
    absl::Duration clock_skew = absl::Minutes(5);
  };

  // Connects (lazily) and loads the current keys. `org_id` empty: the org of
  // the client certificate's SPIFFE id; otherwise it must be that org.
  // Errors name the file or option.
  static absl::StatusOr<std::unique_ptr<SiltaClient>> Create(Options options,
                                                             std::string org_id = "");
  // The same on an open connection, whose channel this client then shares
  // with the other clients made from it; options.connection is ignored.
  static absl::StatusOr<std::unique_ptr<SiltaClient>> Create(
      std::shared_ptr<const Connection> connection, Options options, std::string org_id = "");

  // This client's organisation and trust domain (from its own certificate).
  const std::string& org_id() const { return org_id_; }
  const std::string& trust_domain() const { return anchors_.trust_domain; }
  // Whether `key_id` is one of this org's own keys in keys_dir, so that a
  // KeyBundleNotice of a key nobody here created can be raised.
  bool IsOwnKey(absl::string_view key_id) const;

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
  // Sends a sealed message; `subject_hetu` as in SealRequest (a
  // notification outside a case). Retries UNAVAILABLE with the same id.
  absl::StatusOr<v1::DeliveryReceipt> Send(const v1::SealedMessage& message,
                                           absl::string_view subject_hetu = "");
  // Calls `on_delivery` for each delivery until it returns false, the
  // stream ends, or `max_wait` passes. OK on a normal end. A delivery with
  // key_notice set carries no message and needs no ack.
  absl::Status Subscribe(const std::function<bool(const v1::Delivery&)>& on_delivery,
                         absl::Duration ack_timeout, absl::Duration max_wait);
  absl::StatusOr<OpenedMessage> Open(const v1::Delivery& delivery,
                                     google::protobuf::Message* payload);
  absl::Status Ack(absl::string_view delivery_id);
  // Confirms many deliveries in one call (one commit at siltad), at most
  // 1000: the response lists those that were not acked (unknown, or no
  // longer DELIVERED) while the others count. A system that opens a batch
  // of deliveries acks them together after storing them.
  absl::StatusOr<v1::AckResponse> AckAll(const std::vector<std::string>& delivery_ids);
  absl::StatusOr<v1::GetMessageStatusResponse> Status(absl::string_view message_id);
  // Attaches a notification this org received outside a case to `case_id`
  // (a case of the same person this org is a member of), so that the
  // case's coordinator sees it. Returns the link's audit index. Idempotent.
  absl::StatusOr<uint64_t> LinkNotification(absl::string_view sender_org_id,
                                            absl::string_view message_id,
                                            absl::string_view case_id,
                                            const v1::ActingUser& acting_user);

 private:
  SiltaClient(Options options, std::string org_id, std::shared_ptr<const Connection> connection,
              crypto::TrustAnchors anchors, OrgKeys current);
  // Every bundle the broker has for `org_id`, retired ones included.
  absl::StatusOr<std::vector<v1::KeyBundle>> FetchBundles(absl::string_view org_id);
  // The bundle to seal to for `org_id`: verified now, of the highest epoch
  // served, and not older than the newest seen.
  absl::StatusOr<v1::KeyBundle> RecipientBundle(absl::string_view org_id);
  // The bundle that signed `header`, verified at its created_at.
  absl::StatusOr<v1::KeyBundle> SenderBundle(const v1::MessageHeader& header);

  const Options options_;
  const std::string org_id_;
  const std::shared_ptr<const Connection> connection_;
  const ConsentClient consent_;
  const KeyClient keys_;
  const MessageClient messages_;
  const crypto::TrustAnchors anchors_;
  PeerBundles peers_;
  const OrgKeys current_;
  std::map<std::string, OrgKeys> old_keys_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_CLIENT_H_
