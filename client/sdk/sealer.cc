#include "client/sdk/sealer.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/hpke.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "silta/v1/options.pb.h"

namespace silta::sdk {
namespace {

using crypto::SecretData;

constexpr crypto::Aead kFieldAead = crypto::Aead::kAes256Gcm;

class SystemRandomSource final : public RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override { return crypto::RandomBytes(out); }
};

absl::StatusOr<std::string> RandomString(RandomSource& random, size_t size) {
  std::string out(size, '\0');
  SILTA_RETURN_IF_ERROR(
      random.Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), out.size())));
  return out;
}

absl::StatusOr<SecretData> RandomKey(RandomSource& random, size_t size) {
  SecretData key(size);
  SILTA_RETURN_IF_ERROR(random.Fill(absl::MakeSpan(key.data(), key.size())));
  return key;
}

// One plaintext field: its path, category and serialized bytes.
struct PlainField {
  std::string path;
  v1::Category category;
  std::string bytes;
};

// Splits a payload into its set top-level fields, each serialized alone.
absl::StatusOr<std::vector<PlainField>> SplitPayload(const google::protobuf::Message& payload) {
  const google::protobuf::Descriptor* descriptor = payload.GetDescriptor();
  const google::protobuf::Reflection* reflection = payload.GetReflection();
  std::vector<PlainField> fields;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = descriptor->field(i);
    const bool set = field->is_repeated() ? reflection->FieldSize(payload, field) > 0
                                          : reflection->HasField(payload, field);
    if (!set) continue;
    const v1::Category category = field->options().GetExtension(v1::category);
    if (category == v1::CATEGORY_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat(
          descriptor->full_name(), ".", field->name(), " has no (silta.v1.category) option"));
    }
    std::unique_ptr<google::protobuf::Message> part(payload.New());
    part->CopyFrom(payload);
    const google::protobuf::Reflection* part_reflection = part->GetReflection();
    for (int j = 0; j < descriptor->field_count(); ++j) {
      if (j != i) part_reflection->ClearField(part.get(), descriptor->field(j));
    }
    std::string bytes;
    if (!part->SerializeToString(&bytes)) {
      return absl::InternalError(absl::StrCat("cannot serialize field ", field->name()));
    }
    fields.push_back({field->name(), category, std::move(bytes)});
  }
  return fields;
}

// Whether `message` or any message inside it has fields its schema does not
// know: a part must say only what its path names.
bool HasUnknownFields(const google::protobuf::Message& message) {
  const google::protobuf::Reflection* reflection = message.GetReflection();
  if (!reflection->GetUnknownFields(message).empty()) return true;
  std::vector<const google::protobuf::FieldDescriptor*> set;
  reflection->ListFields(message, &set);
  for (const google::protobuf::FieldDescriptor* f : set) {
    if (f->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (f->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
        if (HasUnknownFields(reflection->GetRepeatedMessage(message, f, i))) return true;
      }
    } else if (HasUnknownFields(reflection->GetMessage(message, f))) {
      return true;
    }
  }
  return false;
}

}  // namespace

RandomSource& SystemRandom() {
  static SystemRandomSource* source = new SystemRandomSource();
  return *source;
}

absl::StatusOr<v1::SealedMessage> SealPayload(const google::protobuf::Message& payload,
                                              v1::MessageHeader header, const SenderKeys& sender,
                                              const std::vector<RecipientPublicKey>& recipients,
                                              const WrapPolicy& may_receive,
                                              absl::string_view justification,
                                              RandomSource& random) {
  if (recipients.empty()) return absl::InvalidArgumentError("at least one recipient is required");
  if (!header.statutory_basis().empty() && justification.empty()) {
    return absl::InvalidArgumentError(
        "a statutory basis needs a written justification (sealed, never read by the broker)");
  }
  header.set_sender_org_id(sender.org_id);
  header.set_sender_key_id(sender.key_id);
  header.set_payload_type(payload.GetDescriptor()->full_name());
  header.set_format_version(crypto::kWireFormatVersion);
  header.clear_recipient_org_ids();
  for (const RecipientPublicKey& r : recipients) header.add_recipient_org_ids(r.org_id);

  SILTA_ASSIGN_OR_RETURN(std::vector<PlainField> plain, SplitPayload(payload));
  if (!justification.empty()) {
    plain.push_back({std::string(kJustificationPath), v1::CATEGORY_FREE_TEXT,
                     std::string(justification)});
  }

  v1::SealedMessage message;
  *message.mutable_header() = header;
  // Field keys stay in memory only while wrapping.
  std::vector<SecretData> field_keys;
  for (PlainField& f : plain) {
    SILTA_ASSIGN_OR_RETURN(SecretData key, RandomKey(random, crypto::kFieldKeySize));
    SILTA_ASSIGN_OR_RETURN(std::string nonce, RandomString(random, crypto::kAeadNonceSize));
    SILTA_ASSIGN_OR_RETURN(std::string ct,
                           crypto::AeadSeal(kFieldAead, key, nonce,
                                            crypto::FieldAad(header, f.path, f.category), f.bytes));
    SILTA_ASSIGN_OR_RETURN(std::string salt, RandomString(random, crypto::kCommitmentSaltSize));
    v1::SealedField* sealed = message.add_fields();
    sealed->set_path(f.path);
    sealed->set_category(f.category);
    sealed->set_ciphertext(nonce + ct);
    sealed->set_commitment_salt(salt);
    sealed->set_key_commitment(crypto::KeyCommitment(key));
    field_keys.push_back(std::move(key));
  }

  for (const RecipientPublicKey& r : recipients) {
    SILTA_ASSIGN_OR_RETURN(SecretData ephemeral, RandomKey(random, crypto::kX25519KeySize));
    SILTA_ASSIGN_OR_RETURN(
        std::unique_ptr<crypto::HpkeContext> context,
        crypto::HpkeContext::SetupBaseSenderWithEphemeralKey(
            crypto::Aead::kAes256Gcm, r.hpke_public_key,
            crypto::HpkeInfo(header.message_id(), r.org_id, r.key_id), ephemeral));
    v1::RecipientContext* rc = message.add_recipient_contexts();
    rc->set_recipient_org_id(r.org_id);
    rc->set_recipient_key_id(r.key_id);
    rc->set_encapsulated_key(context->encapsulated_key());
    for (int i = 0; i < message.fields_size(); ++i) {
      v1::SealedField* field = message.mutable_fields(i);
      if (!may_receive(r.org_id, field->path())) continue;
      SILTA_ASSIGN_OR_RETURN(SecretData wrap_key,
                             context->Export(crypto::WrapExportContext(field->path()),
                                             crypto::kFieldKeySize));
      SILTA_ASSIGN_OR_RETURN(std::string nonce, RandomString(random, crypto::kAeadNonceSize));
      SILTA_ASSIGN_OR_RETURN(
          std::string wrapped,
          crypto::AeadSeal(kFieldAead, wrap_key, nonce,
                           crypto::WrapAad(header.message_id(), field->path()),
                           crypto::View(field_keys[i])));
      v1::WrappedKey* k = field->add_wrapped_keys();
      k->set_recipient_org_id(r.org_id);
      k->set_recipient_key_id(r.key_id);
      k->set_wrapped_key(nonce + wrapped);
    }
  }

  SILTA_ASSIGN_OR_RETURN(std::string manifest,
                         crypto::ManifestBytes(header, message.fields(), {}));
  SILTA_ASSIGN_OR_RETURN(std::string signature,
                         crypto::Ed25519Sign(sender.signing_private_key, manifest));
  message.set_signature(signature);
  return message;
}

absl::StatusOr<OpenedMessage> OpenMessage(const v1::SealedMessage& message,
                                          absl::string_view sender_signing_public_key,
                                          const RecipientPrivateKey& me,
                                          google::protobuf::Message* payload) {
  const v1::MessageHeader& header = message.header();
  if (header.format_version() != crypto::kWireFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported wire format version ", header.format_version()));
  }
  if (header.payload_type() != payload->GetDescriptor()->full_name()) {
    return absl::InvalidArgumentError(absl::StrCat("message carries ", header.payload_type(),
                                                   ", not ", payload->GetDescriptor()->full_name()));
  }
  // The broker may hand any org an authentic header of someone else's
  // message: only the signed recipients may open it.
  if (std::find(header.recipient_org_ids().begin(), header.recipient_org_ids().end(), me.org_id) ==
      header.recipient_org_ids().end()) {
    return absl::PermissionDeniedError(absl::StrCat("message ", header.message_id(),
                                                    " is not addressed to ", me.org_id,
                                                    "; refusing to open it"));
  }
  SILTA_ASSIGN_OR_RETURN(std::string manifest,
                         crypto::ManifestBytes(header, message.fields(),
                                               message.withheld_commitments()));
  SILTA_RETURN_IF_ERROR(
      crypto::Ed25519Verify(sender_signing_public_key, manifest, message.signature()));

  const v1::RecipientContext* context = nullptr;
  for (const v1::RecipientContext& c : message.recipient_contexts()) {
    if (c.recipient_org_id() == me.org_id && c.recipient_key_id() == me.key_id) context = &c;
  }
  payload->Clear();
  OpenedMessage opened;
  opened.header = header;
  opened.withheld_fields = message.withheld_commitments_size();
  if (context == nullptr) {
    if (message.fields_size() == 0) return opened;
    return absl::InvalidArgumentError(
        absl::StrCat("authentication failed: no key context for ", me.org_id, " key ", me.key_id));
  }
  SILTA_ASSIGN_OR_RETURN(
      std::unique_ptr<crypto::HpkeContext> hpke,
      crypto::HpkeContext::SetupBaseRecipient(
          crypto::Aead::kAes256Gcm, context->encapsulated_key(), me.hpke_private_key,
          crypto::HpkeInfo(header.message_id(), me.org_id, me.key_id)));
  for (const v1::SealedField& field : message.fields()) {
    const v1::WrappedKey* wrapped = nullptr;
    for (const v1::WrappedKey& k : field.wrapped_keys()) {
      if (k.recipient_org_id() == me.org_id && k.recipient_key_id() == me.key_id) wrapped = &k;
    }
    if (wrapped == nullptr || wrapped->wrapped_key().size() < crypto::kAeadNonceSize ||
        field.ciphertext().size() < crypto::kAeadNonceSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("authentication failed: field ", field.path(), " has no usable key for ",
                       me.org_id));
    }
    SILTA_ASSIGN_OR_RETURN(SecretData wrap_key, hpke->Export(crypto::WrapExportContext(field.path()),
                                                             crypto::kFieldKeySize));
    const absl::string_view wk = wrapped->wrapped_key();
    SILTA_ASSIGN_OR_RETURN(
        const SecretData key,
        crypto::AeadOpenSecret(kFieldAead, wrap_key, wk.substr(0, crypto::kAeadNonceSize),
                               crypto::WrapAad(header.message_id(), field.path()),
                               wk.substr(crypto::kAeadNonceSize)));
    // The signed commitment names one key: another one, wrapped for us by a
    // sender who shows others a different text, is refused.
    if (crypto::KeyCommitment(key) != field.key_commitment()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "authentication failed: field ", field.path(), " key does not match its commitment"));
    }
    const absl::string_view ct = field.ciphertext();
    SILTA_ASSIGN_OR_RETURN(
        std::string plaintext,
        crypto::AeadOpen(kFieldAead, key, ct.substr(0, crypto::kAeadNonceSize),
                         crypto::FieldAad(header, field.path(), field.category()),
                         ct.substr(crypto::kAeadNonceSize)));
    if (field.path() == kJustificationPath) {
      opened.justification = std::move(plaintext);
      continue;
    }
    // A field's bytes must set exactly the field its path names.
    const google::protobuf::FieldDescriptor* descriptor =
        payload->GetDescriptor()->FindFieldByName(field.path());
    if (descriptor == nullptr ||
        descriptor->options().GetExtension(v1::category) != field.category()) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", field.path(), " is not a field of ", header.payload_type(),
                       " with category ", v1::Category_Name(field.category())));
    }
    std::unique_ptr<google::protobuf::Message> part(payload->New());
    if (!part->ParseFromString(plaintext)) {
      return absl::InvalidArgumentError(absl::StrCat("field ", field.path(), " does not parse"));
    }
    if (HasUnknownFields(*part)) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", field.path(), " carries fields unknown to ", header.payload_type()));
    }
    std::vector<const google::protobuf::FieldDescriptor*> set;
    part->GetReflection()->ListFields(*part, &set);
    if (set.size() != 1 || set[0] != descriptor) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", field.path(), " carries other fields than its own"));
    }
    payload->MergeFrom(*part);
  }
  return opened;
}

}  // namespace silta::sdk
