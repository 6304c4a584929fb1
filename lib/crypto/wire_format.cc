#include "lib/crypto/wire_format.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/canonical_bytes.h"
#include "lib/crypto/primitives.h"
#include "silta/v1/payloads.pb.h"

namespace silta::crypto {
namespace {

constexpr absl::string_view kKeyCommitLabel = "SILTA-KEY-COMMIT-v1";

}  // namespace

const google::protobuf::Descriptor* PayloadDescriptor(absl::string_view full_name) {
  const google::protobuf::FileDescriptor* file = v1::Referral::descriptor()->file();
  constexpr absl::string_view kPrefix = "silta.v1.";
  if (!absl::StartsWith(full_name, kPrefix)) return nullptr;
  const google::protobuf::Descriptor* d =
      file->FindMessageTypeByName(std::string(full_name.substr(kPrefix.size())));
  if (d == nullptr || d == v1::ServiceTask::descriptor()) return nullptr;
  return d;
}

std::vector<std::string> PayloadTypeNames() {
  const google::protobuf::FileDescriptor* file = v1::Referral::descriptor()->file();
  std::vector<std::string> names;
  for (int i = 0; i < file->message_type_count(); ++i) {
    const google::protobuf::Descriptor* d = file->message_type(i);
    if (PayloadDescriptor(d->full_name()) == d) names.push_back(d->full_name());
  }
  return names;
}

bool HasJustification(const v1::SealedMessage& message) {
  return std::any_of(message.fields().begin(), message.fields().end(),
                     [](const v1::SealedField& f) { return f.path() == kJustificationPath; });
}

absl::StatusOr<std::string> FieldCommitment(const v1::SealedField& field) {
  if (field.commitment_salt().size() != kCommitmentSaltSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("field ", field.path(), ": commitment_salt must be 32 bytes"));
  }
  if (field.key_commitment().size() != kSha256Size) {
    return absl::InvalidArgumentError(
        absl::StrCat("field ", field.path(), ": key_commitment must be 32 bytes"));
  }
  std::string input = "SILTA-FIELD-COMMIT-v2";
  PutLp(&input, field.path());
  PutU32(&input, static_cast<uint32_t>(field.category()));
  input += Sha256String(field.ciphertext());
  input += field.commitment_salt();
  input += field.key_commitment();
  return Sha256String(input);
}

std::string KeyCommitment(const SecretData& field_key) {
  SecretData input(kKeyCommitLabel.size() + field_key.size());
  std::copy(kKeyCommitLabel.begin(), kKeyCommitLabel.end(), input.data());
  std::copy(field_key.data(), field_key.data() + field_key.size(),
            input.data() + kKeyCommitLabel.size());
  return Sha256String(View(input));
}

absl::StatusOr<std::string> ManifestBytes(
    const v1::MessageHeader& header,
    const google::protobuf::RepeatedPtrField<v1::SealedField>& fields,
    const google::protobuf::RepeatedPtrField<std::string>& withheld) {
  std::vector<std::string> commitments;
  for (const v1::SealedField& field : fields) {
    absl::StatusOr<std::string> c = FieldCommitment(field);
    if (!c.ok()) return c.status();
    commitments.push_back(*std::move(c));
  }
  for (const std::string& c : withheld) {
    if (c.size() != kSha256Size) {
      return absl::InvalidArgumentError("withheld_commitments: each must be 32 bytes");
    }
    commitments.push_back(c);
  }
  std::sort(commitments.begin(), commitments.end());
  std::string out = "SILTA-MANIFEST-v1";
  PutU32(&out, header.format_version());
  PutLp(&out, header.message_id());
  PutLp(&out, header.case_id());
  PutLp(&out, header.sender_org_id());
  PutLp(&out, header.sender_key_id());
  PutLp(&out, header.acting_user().worker_id());
  PutLp(&out, header.acting_user().role());
  PutLp(&out, header.purpose());
  PutLp(&out, header.payload_type());
  PutU32(&out, static_cast<uint32_t>(header.recipient_org_ids_size()));
  for (const std::string& r : header.recipient_org_ids()) PutLp(&out, r);
  PutU64(&out, Micros(header.created_at()));
  PutLp(&out, header.statutory_basis());
  PutLp(&out, header.reply_to());
  PutU32(&out, static_cast<uint32_t>(commitments.size()));
  for (const std::string& c : commitments) out += c;
  return out;
}

std::string FieldAad(const v1::MessageHeader& header, absl::string_view path,
                     v1::Category category) {
  std::string out = "SILTA-FIELD-v1";
  PutLp(&out, header.message_id());
  PutLp(&out, path);
  PutU32(&out, static_cast<uint32_t>(category));
  PutLp(&out, header.case_id());
  PutLp(&out, header.sender_org_id());
  return out;
}

std::string HpkeInfo(absl::string_view message_id, absl::string_view recipient_org_id,
                     absl::string_view recipient_key_id) {
  std::string out = "SILTA-HPKE-v1";
  PutLp(&out, message_id);
  PutLp(&out, recipient_org_id);
  PutLp(&out, recipient_key_id);
  return out;
}

std::string WrapExportContext(absl::string_view path) {
  std::string out = "SILTA-WRAP-v1";
  PutLp(&out, path);
  return out;
}

std::string WrapAad(absl::string_view message_id, absl::string_view path) {
  std::string out = "SILTA-WRAP-AAD-v1";
  PutLp(&out, message_id);
  PutLp(&out, path);
  return out;
}

std::string KeyBundleBytes(const v1::KeyBundle& bundle) {
  std::string out = "SILTA-KEYBUNDLE-v2";
  PutLp(&out, bundle.org_id());
  PutLp(&out, bundle.hpke_public_key());
  PutLp(&out, bundle.signing_public_key());
  PutU64(&out, Micros(bundle.not_before()));
  PutU64(&out, Micros(bundle.not_after()));
  PutU64(&out, bundle.epoch());
  PutLp(&out, bundle.previous_key_id());
  return out;
}

std::string KeyBundleId(const v1::KeyBundle& bundle) {
  return absl::BytesToHexString(Sha256String(KeyBundleBytes(bundle)).substr(0, 16));
}

absl::StatusOr<Redaction> PlanRedaction(const v1::SealedMessage& message,
                                        absl::string_view recipient_org_id,
                                        const FieldPolicy& may_receive) {
  Redaction plan;
  for (int i = 0; i < message.recipient_contexts_size(); ++i) {
    if (message.recipient_contexts(i).recipient_org_id() == recipient_org_id) {
      plan.contexts.push_back(i);
    }
  }
  for (int i = 0; i < message.fields_size(); ++i) {
    const v1::SealedField& field = message.fields(i);
    int key = -1;  // the last of the recipient's keys, if several
    for (int k = 0; k < field.wrapped_keys_size(); ++k) {
      if (field.wrapped_keys(k).recipient_org_id() == recipient_org_id) key = k;
    }
    if (key >= 0 && may_receive(recipient_org_id, field.path())) {
      plan.fields.push_back({.field = i, .key = key});
      continue;
    }
    SILTA_ASSIGN_OR_RETURN(std::string commitment, FieldCommitment(field));
    plan.withheld.push_back(std::move(commitment));
  }
  return plan;
}

v1::SealedMessage BuildRedacted(const v1::SealedMessage& message, const Redaction& redaction) {
  v1::SealedMessage out;
  *out.mutable_header() = message.header();
  out.set_signature(message.signature());
  *out.mutable_withheld_commitments() = message.withheld_commitments();
  for (const std::string& c : redaction.withheld) out.add_withheld_commitments(c);
  for (int i : redaction.contexts) *out.add_recipient_contexts() = message.recipient_contexts(i);
  for (const Redaction::KeptField& k : redaction.fields) {
    const v1::SealedField& field = message.fields(k.field);
    v1::SealedField* kept = out.add_fields();
    kept->set_path(field.path());
    kept->set_category(field.category());
    kept->set_ciphertext(field.ciphertext());
    kept->set_commitment_salt(field.commitment_salt());
    kept->set_key_commitment(field.key_commitment());
    *kept->add_wrapped_keys() = field.wrapped_keys(k.key);
  }
  return out;
}

absl::StatusOr<v1::SealedMessage> RedactForRecipient(const v1::SealedMessage& message,
                                                     absl::string_view recipient_org_id,
                                                     const FieldPolicy& may_receive,
                                                     int* withheld) {
  SILTA_ASSIGN_OR_RETURN(Redaction plan, PlanRedaction(message, recipient_org_id, may_receive));
  if (withheld != nullptr) *withheld = static_cast<int>(plan.withheld.size());
  return BuildRedacted(message, plan);
}

// The redacted message's bytes, in the order and with the presence rules of
// protobuf's own serialization of BuildRedacted's result (fields by number;
// proto3 scalars and strings only when not empty; a set message field
// always), so that the bytes are the same as SerializeAsString's
// (outgoing_delivery_test and the send_request fuzz target compare them).
namespace {

using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedOutputStream;
// Their field numbers, from the generated code.
using Field = v1::SealedField;
using Sealed = v1::SealedMessage;

// A length-delimited field of `size` bytes, with its tag.
size_t Delimited(int number, size_t size) {
  return WireFormatLite::TagSize(number, WireFormatLite::TYPE_BYTES) +
         WireFormatLite::LengthDelimitedSize(size);
}

size_t StringField(int number, const std::string& value) {
  return value.empty() ? 0 : Delimited(number, value.size());
}

uint8_t* WriteString(int number, const std::string& value, uint8_t* target) {
  return value.empty() ? target : WireFormatLite::WriteBytesToArray(number, value, target);
}

uint8_t* WriteMessage(int number, const google::protobuf::MessageLite& message, uint8_t* target) {
  target =
      WireFormatLite::WriteTagToArray(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, target);
  // ByteSizeLong sets the cached sizes that the write below uses.
  target = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(message.ByteSizeLong()),
                                                   target);
  return message.SerializeWithCachedSizesToArray(target);
}

// One kept field with only the recipient's key, as BuildRedacted builds it.
size_t KeptFieldSize(const v1::SealedField& field, const v1::WrappedKey& key) {
  return StringField(Field::kPathFieldNumber, field.path()) +
         (field.category() == 0
              ? 0
              : WireFormatLite::TagSize(Field::kCategoryFieldNumber, WireFormatLite::TYPE_ENUM) +
                    WireFormatLite::EnumSize(field.category())) +
         StringField(Field::kCiphertextFieldNumber, field.ciphertext()) +
         StringField(Field::kCommitmentSaltFieldNumber, field.commitment_salt()) +
         Delimited(Field::kWrappedKeysFieldNumber, key.ByteSizeLong()) +
         StringField(Field::kKeyCommitmentFieldNumber, field.key_commitment());
}

}  // namespace

size_t RedactedByteSize(const v1::SealedMessage& message, const Redaction& redaction) {
  size_t size = Delimited(Sealed::kHeaderFieldNumber, message.header().ByteSizeLong());
  for (const Redaction::KeptField& k : redaction.fields) {
    const v1::SealedField& field = message.fields(k.field);
    size += Delimited(Sealed::kFieldsFieldNumber, KeptFieldSize(field, field.wrapped_keys(k.key)));
  }
  for (int i : redaction.contexts) {
    size += Delimited(Sealed::kRecipientContextsFieldNumber,
                      message.recipient_contexts(i).ByteSizeLong());
  }
  size += StringField(Sealed::kSignatureFieldNumber, message.signature());
  for (const std::string& c : message.withheld_commitments()) {
    size += Delimited(Sealed::kWithheldCommitmentsFieldNumber, c.size());
  }
  for (const std::string& c : redaction.withheld) {
    size += Delimited(Sealed::kWithheldCommitmentsFieldNumber, c.size());
  }
  return size;
}

uint8_t* WriteRedacted(const v1::SealedMessage& message, const Redaction& redaction,
                       uint8_t* target) {
  target = WriteMessage(Sealed::kHeaderFieldNumber, message.header(), target);
  for (const Redaction::KeptField& k : redaction.fields) {
    const v1::SealedField& field = message.fields(k.field);
    const v1::WrappedKey& key = field.wrapped_keys(k.key);
    target = WireFormatLite::WriteTagToArray(Sealed::kFieldsFieldNumber,
                                             WireFormatLite::WIRETYPE_LENGTH_DELIMITED, target);
    target = CodedOutputStream::WriteVarint32ToArray(
        static_cast<uint32_t>(KeptFieldSize(field, key)), target);
    target = WriteString(Field::kPathFieldNumber, field.path(), target);
    if (field.category() != 0) {
      target =
          WireFormatLite::WriteEnumToArray(Field::kCategoryFieldNumber, field.category(), target);
    }
    target = WriteString(Field::kCiphertextFieldNumber, field.ciphertext(), target);
    target = WriteString(Field::kCommitmentSaltFieldNumber, field.commitment_salt(), target);
    target = WriteMessage(Field::kWrappedKeysFieldNumber, key, target);
    target = WriteString(Field::kKeyCommitmentFieldNumber, field.key_commitment(), target);
  }
  for (int i : redaction.contexts) {
    target =
        WriteMessage(Sealed::kRecipientContextsFieldNumber, message.recipient_contexts(i), target);
  }
  target = WriteString(Sealed::kSignatureFieldNumber, message.signature(), target);
  for (const std::string& c : message.withheld_commitments()) {
    target = WireFormatLite::WriteBytesToArray(Sealed::kWithheldCommitmentsFieldNumber, c, target);
  }
  for (const std::string& c : redaction.withheld) {
    target = WireFormatLite::WriteBytesToArray(Sealed::kWithheldCommitmentsFieldNumber, c, target);
  }
  return target;
}

}  // namespace silta::crypto
