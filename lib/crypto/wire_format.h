// File: lib/crypto/wire_format.h
//
// The byte-exact parts of sealed messages that both ends and the broker
// compute: the signed manifest, field commitments, AADs, the HPKE info and
// exporter contexts, and the key-bundle bytes. docs/wire-format.md is the
// normative description; tests/vectors/golden_sealed_message.textproto
// pins the bytes.
//
// Encoding: LP(x) = u32be(len(x)) || x; u32be / u64be big-endian integers;
// times as u64be Unix microseconds (two's complement).
#ifndef SILTA_LIB_CRYPTO_WIRE_FORMAT_H_
#define SILTA_LIB_CRYPTO_WIRE_FORMAT_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "lib/crypto/secret_data.h"
#include "silta/v1/message.pb.h"
#include "silta/v1/org.pb.h"

namespace silta::crypto {

// Version 2 added key commitments and signed bundle epochs (docs/wire-format.md §10).
inline constexpr uint32_t kWireFormatVersion = 2;
inline constexpr size_t kCommitmentSaltSize = 32;
inline constexpr size_t kFieldKeySize = 32;
// Path of the sealed field that carries a statutory claim's justification.
inline constexpr absl::string_view kJustificationPath = "_statutory_justification";

// The descriptor of payload type `full_name` ("silta.v1.Referral"), if it
// is one of the payloads of silta/v1/payloads.proto; nullptr otherwise
// (ServiceTask is part of ServicePlan, not a payload).
const google::protobuf::Descriptor* PayloadDescriptor(absl::string_view full_name);

// The full names of every payload type, in payloads.proto order.
std::vector<std::string> PayloadTypeNames();

// Whether the message carries a statutory justification field.
bool HasJustification(const v1::SealedMessage& message);

// The 32-byte commitment to one sealed field:
// SHA-256("SILTA-FIELD-COMMIT-v2" || LP(path) || u32be(category) ||
//         SHA-256(ciphertext) || salt || key_commitment).
// INVALID_ARGUMENT if the salt or the key commitment is not 32 bytes.
absl::StatusOr<std::string> FieldCommitment(const v1::SealedField& field);

// SHA-256("SILTA-KEY-COMMIT-v1" || field_key): binds a field to its one AES
// key, so that a sender cannot wrap different keys for different recipients
// of the same signed ciphertext (AES-GCM alone does not commit to its key).
std::string KeyCommitment(const SecretData& field_key);

// The bytes the sender signs: the header and the sorted commitments of all
// fields (present ones computed from `fields`, withheld ones given).
// INVALID_ARGUMENT if a commitment cannot be computed.
absl::StatusOr<std::string> ManifestBytes(
    const v1::MessageHeader& header,
    const google::protobuf::RepeatedPtrField<v1::SealedField>& fields,
    const google::protobuf::RepeatedPtrField<std::string>& withheld);

// AAD of a field's AES-256-GCM encryption: binds message, path, category,
// case and sender.
std::string FieldAad(const v1::MessageHeader& header, absl::string_view path,
                     v1::Category category);

// HPKE info for one recipient of one message.
std::string HpkeInfo(absl::string_view message_id, absl::string_view recipient_org_id,
                     absl::string_view recipient_key_id);

// Exporter context of the key that wraps the field key of `path`.
std::string WrapExportContext(absl::string_view path);

// AAD of a wrapped field key.
std::string WrapAad(absl::string_view message_id, absl::string_view path);

// The bytes of a key bundle that the certificate key signs.
std::string KeyBundleBytes(const v1::KeyBundle& bundle);

// key_id of a bundle: lower-case hex of the first 16 bytes of
// SHA-256(KeyBundleBytes).
std::string KeyBundleId(const v1::KeyBundle& bundle);

// Whether `recipient_org_id` may receive the field at `path`.
using FieldPolicy = std::function<bool(absl::string_view recipient_org_id, absl::string_view path)>;

// What the broker does before delivering to `recipient_org_id`: keeps only
// that recipient's HPKE context and wrapped keys, drops the fields for which
// `may_receive` is false or that carry no key for the recipient (their
// commitments move to withheld_commitments, so the sender's signature still
// verifies) and reports how many were withheld.
absl::StatusOr<v1::SealedMessage> RedactForRecipient(const v1::SealedMessage& message,
                                                     absl::string_view recipient_org_id,
                                                     const FieldPolicy& may_receive, int* withheld);

// RedactForRecipient's choice, before anything is copied: which fields,
// wrapped keys and HPKE contexts of a message one recipient keeps, by
// index, and the commitments of the fields it withholds.
//
// WARNING: it refers into the message it was planned for, which must
// outlive it unchanged.
struct Redaction {
  struct KeptField {
    int field = 0;  // index in message.fields()
    int key = 0;    // index in that field's wrapped_keys()
  };
  std::vector<KeptField> fields;
  std::vector<int> contexts;          // indexes in message.recipient_contexts()
  std::vector<std::string> withheld;  // the withheld fields' commitments, in field order
};

// Plans the redaction of `message` for `recipient_org_id`.
// INVALID_ARGUMENT if a withheld field's commitment cannot be computed.
absl::StatusOr<Redaction> PlanRedaction(const v1::SealedMessage& message,
                                        absl::string_view recipient_org_id,
                                        const FieldPolicy& may_receive);

// The redacted message itself, built (what RedactForRecipient returns).
v1::SealedMessage BuildRedacted(const v1::SealedMessage& message, const Redaction& redaction);

// The size of BuildRedacted(message, redaction)'s serialization, and its
// bytes written at `target` straight from `message`, with no redacted copy
// built: what the broker streams to a recipient. WriteRedacted writes
// exactly RedactedByteSize bytes and returns the end. Both may run on
// several threads at once for the same const message.
size_t RedactedByteSize(const v1::SealedMessage& message, const Redaction& redaction);
uint8_t* WriteRedacted(const v1::SealedMessage& message, const Redaction& redaction,
                       uint8_t* target);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_WIRE_FORMAT_H_
