#include "client/sdk/client.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "server/common/files.h"
#include "server/common/status_macros.h"
#include "server/common/time_util.h"
#include "server/crypto/key_bundle.h"
#include "server/crypto/random.h"
#include "silta/v1/options.pb.h"

namespace silta::sdk {
namespace {

constexpr int kSendAttempts = 3;

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

SiltaClient::SiltaClient(Options options, std::string org_id,
                         std::shared_ptr<grpc::Channel> channel, std::string ca_pem,
                         OrgKeys current)
    : options_(std::move(options)),
      org_id_(std::move(org_id)),
      channel_(std::move(channel)),
      consent_(v1::ConsentService::NewStub(channel_)),
      keys_(v1::KeyService::NewStub(channel_)),
      messages_(v1::MessageService::NewStub(channel_)),
      ca_pem_(std::move(ca_pem)),
      current_(std::move(current)) {}

absl::StatusOr<std::unique_ptr<SiltaClient>> SiltaClient::Create(Options options,
                                                                 std::string org_id) {
  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, Connect(options.connection));
  SILTA_ASSIGN_OR_RETURN(std::string ca_pem, common::ReadFile(options.connection.ca_file));
  if (options.current_key_id.empty()) {
    SILTA_ASSIGN_OR_RETURN(options.current_key_id, CurrentKeyId(options.keys_dir));
  }
  SILTA_ASSIGN_OR_RETURN(OrgKeys current, LoadOrgKeys(options.keys_dir, options.current_key_id));
  if (current.bundle.org_id() != org_id) {
    return absl::InvalidArgumentError(absl::StrCat("keys in ", options.keys_dir, " belong to ",
                                                   current.bundle.org_id(), ", not ", org_id));
  }
  return std::unique_ptr<SiltaClient>(new SiltaClient(std::move(options), std::move(org_id),
                                                      std::move(channel), std::move(ca_pem),
                                                      std::move(current)));
}

void SiltaClient::SetDeadline(grpc::ClientContext* context) const {
  context->set_deadline(DeadlineAfter(options_.timeout));
}

absl::StatusOr<v1::KeyBundle> SiltaClient::VerifiedBundle(absl::string_view org_id,
                                                          absl::string_view key_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetKeyBundlesRequest request;
  request.set_org_id(std::string(org_id));
  request.set_include_retired(!key_id.empty());
  v1::GetKeyBundlesResponse response;
  SILTA_RETURN_IF_ERROR(FromGrpcStatus(keys_->GetKeyBundles(&context, request, &response)));
  for (const v1::KeyBundle& bundle : response.bundles()) {
    if (!key_id.empty() && bundle.key_id() != key_id) continue;
    // Retired bundles are checked at their own validity start: they opened
    // or signed messages while they were current.
    const absl::Time at = bundle.retired() ? common::ToTime(bundle.not_before()) : absl::Now();
    SILTA_RETURN_IF_ERROR(crypto::VerifyKeyBundle(bundle, ca_pem_, options_.trust_domain, at));
    return bundle;
  }
  return absl::NotFoundError(absl::StrCat(org_id, " has published no usable key bundle",
                                          key_id.empty() ? "" : absl::StrCat(" ", key_id)));
}

absl::StatusOr<v1::PreviewDisclosureResponse> SiltaClient::Preview(
    const google::protobuf::Message& payload, const SealRequest& request) {
  v1::PreviewDisclosureRequest preview;
  preview.set_case_id(request.case_id);
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
  preview.mutable_acting_user()->set_worker_id(request.worker_id);
  preview.mutable_acting_user()->set_role(request.worker_role);
  v1::PreviewDisclosureResponse decisions;
  grpc::ClientContext context;
  SetDeadline(&context);
  SILTA_RETURN_IF_ERROR(FromGrpcStatus(consent_->PreviewDisclosure(&context, preview, &decisions)));
  return decisions;
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
    SILTA_ASSIGN_OR_RETURN(v1::KeyBundle bundle, VerifiedBundle(r, ""));
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

absl::StatusOr<v1::DeliveryReceipt> SiltaClient::Send(const v1::SealedMessage& message) {
  v1::SendRequest request;
  *request.mutable_message() = message;
  grpc::Status status;
  for (int attempt = 0; attempt < kSendAttempts; ++attempt) {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::SendResponse response;
    status = messages_->Send(&context, request, &response);
    if (status.ok()) return response.receipt();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  return FromGrpcStatus(status);
}

absl::Status SiltaClient::Subscribe(const std::function<bool(const v1::Delivery&)>& on_delivery,
                                    absl::Duration ack_timeout, absl::Duration max_wait) {
  grpc::ClientContext context;
  context.set_deadline(DeadlineAfter(max_wait));
  v1::SubscribeRequest request;
  request.set_ack_timeout_seconds(static_cast<uint32_t>(absl::ToInt64Seconds(ack_timeout)));
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> reader = messages_->Subscribe(&context, request);
  v1::Delivery delivery;
  bool stopped = false;
  while (reader->Read(&delivery)) {
    if (!on_delivery(delivery)) {
      stopped = true;
      context.TryCancel();
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (stopped || status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  return FromGrpcStatus(status);
}

absl::StatusOr<OpenedMessage> SiltaClient::Open(const v1::Delivery& delivery,
                                                google::protobuf::Message* payload) {
  const v1::MessageHeader& header = delivery.message().header();
  SILTA_ASSIGN_OR_RETURN(v1::KeyBundle sender,
                         VerifiedBundle(header.sender_org_id(), header.sender_key_id()));
  // The message was sealed to one of our key ids; old ones still open it.
  std::string key_id = current_.bundle.key_id();
  for (const v1::RecipientContext& c : delivery.message().recipient_contexts()) {
    if (c.recipient_org_id() == org_id_) key_id = c.recipient_key_id();
  }
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
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::AckRequest request;
  request.set_delivery_id(std::string(delivery_id));
  v1::AckResponse response;
  return FromGrpcStatus(messages_->Ack(&context, request, &response));
}

absl::StatusOr<v1::GetMessageStatusResponse> SiltaClient::Status(absl::string_view message_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::GetMessageStatusRequest request;
  request.set_message_id(std::string(message_id));
  v1::GetMessageStatusResponse response;
  SILTA_RETURN_IF_ERROR(FromGrpcStatus(messages_->GetMessageStatus(&context, request, &response)));
  return response;
}

}  // namespace silta::sdk
