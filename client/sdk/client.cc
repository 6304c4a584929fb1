#include "client/sdk/client.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/certificate.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/random.h"
#include "lib/identity/spiffe_id.h"
#include "silta/v1/options.pb.h"

namespace silta::sdk {

SiltaClient::SiltaClient(Options options, std::string org_id,
                         std::shared_ptr<const Connection> connection, crypto::TrustAnchors anchors,
                         OrgKeys current)
    : options_(std::move(options)),
      org_id_(std::move(org_id)),
      connection_(std::move(connection)),
      consent_(connection_),
      keys_(connection_),
      messages_(connection_),
      anchors_(std::move(anchors)),
      peers_(options_.keys_dir),
      current_(std::move(current)) {}

absl::StatusOr<std::unique_ptr<SiltaClient>> SiltaClient::Create(Options options,
                                                                 std::string org_id) {
  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<const Connection> connection,
                         Connection::Open(options.connection));
  return Create(std::move(connection), std::move(options), std::move(org_id));
}

absl::StatusOr<std::unique_ptr<SiltaClient>> SiltaClient::Create(
    std::shared_ptr<const Connection> connection, Options options, std::string org_id) {
  options.connection = connection->options();
  crypto::TrustAnchors anchors;
  SILTA_ASSIGN_OR_RETURN(anchors.ca_pem, common::ReadFile(options.connection.ca_file));
  // Who we are and which trust domain we are in: from our own certificate,
  // checked against our own CA, never from the broker's WhoAmI.
  SILTA_ASSIGN_OR_RETURN(std::string cert_pem, common::ReadFile(options.connection.cert_file));
  if (absl::Status chained =
          crypto::VerifyClientCertificateChain(cert_pem, anchors.ca_pem, absl::Now());
      !chained.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(options.connection.cert_file,
                                                   ": does not verify to ",
                                                   options.connection.ca_file, ": ",
                                                   chained.message()));
  }
  SILTA_ASSIGN_OR_RETURN(const identity::SpiffeId me,
                         SystemIdentity(cert_pem, options.connection.cert_file));
  if (!options.trust_domain.empty() && options.trust_domain != me.trust_domain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "trust domain ", options.trust_domain, " is configured, but ",
        options.connection.cert_file, " is of ", me.trust_domain));
  }
  if (!org_id.empty() && org_id != me.org_id) {
    return absl::InvalidArgumentError(absl::StrCat(options.connection.cert_file, " is of ",
                                                   me.org_id, ", not of ", org_id));
  }
  anchors.trust_domain = me.trust_domain;
  if (options.crl_directory.empty()) {
    return absl::InvalidArgumentError(
        "crl_directory is required: the trust domain's CRL directory (the files of siltad's "
        "tls.crl_directory), so that keys signed by a revoked certificate are refused");
  }
  anchors.crl_directory = options.crl_directory;
  if (options.current_key_id.empty()) {
    SILTA_ASSIGN_OR_RETURN(options.current_key_id, CurrentKeyId(options.keys_dir));
  }
  SILTA_ASSIGN_OR_RETURN(OrgKeys current, LoadOrgKeys(options.keys_dir, options.current_key_id));
  if (current.bundle.org_id() != me.org_id) {
    return absl::InvalidArgumentError(absl::StrCat("keys in ", options.keys_dir, " belong to ",
                                                   current.bundle.org_id(), ", not ", me.org_id));
  }
  return std::unique_ptr<SiltaClient>(new SiltaClient(std::move(options), me.org_id,
                                                      std::move(connection), std::move(anchors),
                                                      std::move(current)));
}

bool SiltaClient::IsOwnKey(absl::string_view key_id) const {
  return key_id == current_.bundle.key_id() ||
         (crypto::IsKeyId(key_id) && LoadOrgKeys(options_.keys_dir, key_id).ok());
}

absl::StatusOr<std::vector<v1::KeyBundle>> SiltaClient::FetchBundles(absl::string_view org_id) {
  v1::GetKeyBundlesRequest request;
  request.set_org_id(std::string(org_id));
  request.set_include_retired(true);  // the continuity chain; `retired` itself is ignored
  SILTA_ASSIGN_OR_RETURN(v1::GetKeyBundlesResponse response, keys_.GetKeyBundles(request));
  return std::vector<v1::KeyBundle>(response.bundles().begin(), response.bundles().end());
}

absl::StatusOr<v1::KeyBundle> SiltaClient::RecipientBundle(absl::string_view org_id) {
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::KeyBundle> newest, peers_.Newest(org_id));
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::KeyBundle> bundles, FetchBundles(org_id));
  const absl::Time now = absl::Now();
  const v1::KeyBundle* best = nullptr;
  absl::Status why = absl::NotFoundError(absl::StrCat(org_id, " has published no key bundle"));
  for (const v1::KeyBundle& bundle : bundles) {
    if (absl::Status verified = crypto::VerifyKeyBundle(bundle, org_id, anchors_, now);
        !verified.ok()) {
      why = verified;
      continue;
    }
    if (best == nullptr || bundle.epoch() > best->epoch()) best = &bundle;
  }
  if (best == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("no usable key bundle of ", org_id, ": ", why.message()));
  }
  if (newest.has_value() && best->epoch() < newest->epoch()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "key bundle refused: the broker serves epoch ", best->epoch(), " of ", org_id,
        " but epoch ", newest->epoch(), " (", newest->key_id(),
        ") was seen before; nothing is sealed to a replaced key"));
  }
  SILTA_RETURN_IF_ERROR(peers_.Accept(*best, bundles));
  return *best;
}

absl::StatusOr<v1::KeyBundle> SiltaClient::SenderBundle(const v1::MessageHeader& header) {
  const std::string& org_id = header.sender_org_id();
  const std::string& key_id = header.sender_key_id();
  if (!identity::IsValidOrgId(org_id)) {
    return absl::InvalidArgumentError("header.sender_org_id: not an organisation id");
  }
  if (!crypto::IsKeyId(key_id)) {
    return absl::InvalidArgumentError(
        "header.sender_key_id: must be exactly 32 lower-case hex characters");
  }
  const absl::Time now = absl::Now();
  const absl::Time created = common::ToTime(header.created_at());
  if (created > now + options_.clock_skew) {
    return absl::InvalidArgumentError(
        absl::StrCat("header.created_at ", absl::FormatTime(created, absl::UTCTimeZone()),
                     " is in the future (this clock allows ", absl::FormatDuration(options_.clock_skew),
                     " of skew)"));
  }
  if (created < now - options_.max_message_age) {
    return absl::InvalidArgumentError(
        absl::StrCat("header.created_at ", absl::FormatTime(created, absl::UTCTimeZone()),
                     " is older than the oldest message a broker keeps"));
  }
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::KeyBundle> newest, peers_.Newest(org_id));
  SILTA_ASSIGN_OR_RETURN(std::vector<v1::KeyBundle> bundles, FetchBundles(org_id));
  for (const v1::KeyBundle& bundle : bundles) {
    if (bundle.key_id() != key_id) continue;
    // Checked at the time the sender claims to have signed, which must lie
    // in the bundle's and its certificate's validity; revocation now.
    SILTA_RETURN_IF_ERROR(crypto::VerifyKeyBundle(bundle, org_id, anchors_, created));
    if (newest.has_value() && bundle.epoch() < newest->epoch() &&
        created >= common::ToTime(newest->not_before()) + crypto::kRotationOverlap) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key bundle refused: ", org_id, " replaced key ", key_id, " (epoch ", bundle.epoch(),
          ") by epoch ", newest->epoch(), " before this message was created"));
    }
    SILTA_RETURN_IF_ERROR(peers_.Accept(bundle, bundles));
    return bundle;
  }
  return absl::NotFoundError(absl::StrCat(org_id, " has published no key bundle ", key_id));
}

absl::StatusOr<v1::PreviewDisclosureResponse> SiltaClient::Preview(
    const google::protobuf::Message& payload, const SealRequest& request) {
  v1::PreviewDisclosureRequest preview;
  preview.set_case_id(request.case_id);
  if (!request.subject_hetu.empty()) preview.mutable_subject()->set_hetu(request.subject_hetu);
  preview.set_purpose(request.purpose);
  for (const std::string& r : request.recipients) preview.add_recipient_org_ids(r);
  std::vector<const google::protobuf::FieldDescriptor*> set;
  payload.GetReflection()->ListFields(payload, &set);
  for (const google::protobuf::FieldDescriptor* f : set) {
    v1::DraftField* field = preview.add_fields();
    field->set_path(f->name());
    field->set_category(f->options().GetExtension(v1::category));
  }
  if (!request.justification.empty()) {
    v1::DraftField* field = preview.add_fields();
    field->set_path(std::string(kJustificationPath));
    field->set_category(v1::CATEGORY_FREE_TEXT);
  }
  preview.set_statutory_basis(request.statutory_basis);
  preview.set_has_justification(!request.justification.empty());
  preview.set_reply_to(request.reply_to);
  preview.set_payload_type(payload.GetDescriptor()->full_name());
  preview.mutable_acting_user()->set_worker_id(request.worker_id);
  preview.mutable_acting_user()->set_role(request.worker_role);
  return consent_.PreviewDisclosure(preview);
}

absl::StatusOr<v1::SealedMessage> SiltaClient::Seal(const google::protobuf::Message& payload,
                                                    const SealRequest& request) {
  SILTA_ASSIGN_OR_RETURN(v1::PreviewDisclosureResponse decisions, Preview(payload, request));
  return Seal(payload, request, decisions);
}

absl::StatusOr<v1::SealedMessage> SiltaClient::Seal(const google::protobuf::Message& payload,
                                                    const SealRequest& request,
                                                    const v1::PreviewDisclosureResponse& decisions) {
  absl::flat_hash_set<std::string> permitted;
  for (const v1::Decision& d : decisions.decisions()) {
    if (d.verdict() == v1::PERMIT) permitted.insert(absl::StrCat(d.recipient_org_id(), "/", d.field_path()));
  }
  // 2. Recipients' verified keys.
  std::vector<RecipientPublicKey> recipients;
  for (const std::string& r : request.recipients) {
    SILTA_ASSIGN_OR_RETURN(v1::KeyBundle bundle, RecipientBundle(r));
    recipients.push_back({r, bundle.key_id(), bundle.hpke_public_key()});
  }
  // 3. Seal and sign.
  v1::MessageHeader header;
  SILTA_ASSIGN_OR_RETURN(std::string message_id, crypto::NewUuidV7(absl::Now()));
  header.set_message_id(message_id);
  header.set_case_id(request.case_id);
  header.mutable_acting_user()->set_worker_id(request.worker_id);
  header.mutable_acting_user()->set_role(request.worker_role);
  header.set_purpose(request.purpose);
  header.set_statutory_basis(request.statutory_basis);
  header.set_reply_to(request.reply_to);
  *header.mutable_created_at() = common::ToTimestamp(absl::Now());
  return SealPayload(
      payload, header, current_.AsSender(), recipients,
      [&permitted](absl::string_view r, absl::string_view path) {
        return permitted.contains(absl::StrCat(r, "/", path));
      },
      request.justification, SystemRandom());
}

absl::StatusOr<v1::DeliveryReceipt> SiltaClient::Send(const v1::SealedMessage& message,
                                                      absl::string_view subject_hetu) {
  v1::SendRequest request;
  *request.mutable_message() = message;
  if (!subject_hetu.empty()) request.mutable_subject()->set_hetu(std::string(subject_hetu));
  SILTA_ASSIGN_OR_RETURN(v1::SendResponse response, messages_.Send(request));
  return response.receipt();
}

absl::Status SiltaClient::Subscribe(const std::function<bool(const v1::Delivery&)>& on_delivery,
                                    absl::Duration ack_timeout, absl::Duration max_wait) {
  v1::SubscribeRequest request;
  request.set_ack_timeout_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(ack_timeout)));
  return messages_.Subscribe(request, on_delivery, max_wait);
}

absl::StatusOr<OpenedMessage> SiltaClient::Open(const v1::Delivery& delivery,
                                                google::protobuf::Message* payload) {
  if (!delivery.has_message()) {
    return absl::InvalidArgumentError("the delivery carries no message (a key notice?)");
  }
  const v1::MessageHeader& header = delivery.message().header();
  const auto& recipients = header.recipient_org_ids();
  if (std::find(recipients.begin(), recipients.end(), org_id_) == recipients.end()) {
    return absl::PermissionDeniedError(absl::StrCat("message ", header.message_id(),
                                                    " is not addressed to ", org_id_,
                                                    "; refusing to open it"));
  }
  // The message was sealed to one of our key ids; old ones still open it.
  // The id comes from the broker unsigned: checked before it names a file.
  std::string key_id = current_.bundle.key_id();
  for (const v1::RecipientContext& c : delivery.message().recipient_contexts()) {
    if (c.recipient_org_id() != org_id_) continue;
    if (!crypto::IsKeyId(c.recipient_key_id())) {
      return absl::InvalidArgumentError(
          "recipient_contexts.recipient_key_id: must be exactly 32 lower-case hex characters");
    }
    key_id = c.recipient_key_id();
  }
  SILTA_ASSIGN_OR_RETURN(v1::KeyBundle sender, SenderBundle(header));
  const OrgKeys* keys = &current_;
  if (key_id != current_.bundle.key_id()) {
    auto it = old_keys_.find(key_id);
    if (it == old_keys_.end()) {
      SILTA_ASSIGN_OR_RETURN(OrgKeys old, LoadOrgKeys(options_.keys_dir, key_id));
      it = old_keys_.emplace(key_id, std::move(old)).first;
    }
    keys = &it->second;
  }
  return OpenMessage(delivery.message(), sender.signing_public_key(), keys->AsRecipient(), payload);
}

absl::Status SiltaClient::Ack(absl::string_view delivery_id) {
  v1::AckRequest request;
  request.set_delivery_id(std::string(delivery_id));
  return messages_.Ack(request).status();
}

absl::StatusOr<v1::AckResponse> SiltaClient::AckAll(const std::vector<std::string>& delivery_ids) {
  v1::AckRequest request;
  for (const std::string& id : delivery_ids) request.add_delivery_ids(id);
  return messages_.Ack(request);
}

absl::StatusOr<v1::GetMessageStatusResponse> SiltaClient::Status(absl::string_view message_id) {
  v1::GetMessageStatusRequest request;
  request.set_message_id(std::string(message_id));
  return messages_.GetMessageStatus(request);
}

absl::StatusOr<uint64_t> SiltaClient::LinkNotification(absl::string_view sender_org_id,
                                                       absl::string_view message_id,
                                                       absl::string_view case_id,
                                                       const v1::ActingUser& acting_user) {
  v1::LinkNotificationRequest request;
  request.set_sender_org_id(std::string(sender_org_id));
  request.set_message_id(std::string(message_id));
  request.set_case_id(std::string(case_id));
  *request.mutable_acting_user() = acting_user;
  SILTA_ASSIGN_OR_RETURN(v1::LinkNotificationResponse response,
                         messages_.LinkNotification(request));
  return response.audit_index();
}

}  // namespace silta::sdk
