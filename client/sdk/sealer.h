// File: client/sdk/sealer.h
//
// Sealing and opening typed case messages (DESIGN.md §5, docs/wire-format.md).
//
// SealPayload splits a payload (a message from silta/v1/payloads.proto) into
// its set top-level fields, encrypts each under its own random 256-bit key
// with AES-256-GCM, sets up one HPKE context per recipient and wraps each
// field key only for the (recipient, field) pairs the caller permits — the
// PreviewDisclosure answer — and signs the manifest with the sender's
// Ed25519 key. OpenMessage verifies the signature (withheld fields count
// through their commitments), unwraps the recipient's field keys, decrypts
// and reassembles the payload, and says how many fields were withheld.
//
// Example:
//   auto sealed = SealPayload(referral, header, sender, recipients,
//                             [&](auto recipient, auto path) { return permitted(recipient, path); },
//                             /*justification=*/"", SystemRandom());
//   ...
//   silta::v1::Referral received;
//   auto opened = OpenMessage(delivery.message(), sender_signing_public_key, my_keys, &received);
#ifndef SILTA_CLIENT_SDK_SEALER_H_
#define SILTA_CLIENT_SDK_SEALER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "google/protobuf/message.h"
#include "lib/crypto/secret_data.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/message.pb.h"

namespace silta::sdk {

// Path of the sealed field that carries a statutory claim's justification.
using crypto::kJustificationPath;

// The sender's signing identity: its key bundle's id and Ed25519 private key.
struct SenderKeys {
  std::string org_id;
  std::string key_id;
  crypto::SecretData signing_private_key;
};

// A recipient's published HPKE key (from its verified key bundle).
struct RecipientPublicKey {
  std::string org_id;
  std::string key_id;
  std::string hpke_public_key;
};

// A recipient's own HPKE private key.
struct RecipientPrivateKey {
  std::string org_id;
  std::string key_id;
  crypto::SecretData hpke_private_key;
};

// Whether `recipient_org_id` may receive the field at `path`.
using WrapPolicy = crypto::FieldPolicy;

// Where sealing randomness comes from. The default is the system CSPRNG;
// tests pass a deterministic source to produce golden vectors.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual absl::Status Fill(absl::Span<uint8_t> out) = 0;
};
RandomSource& SystemRandom();

// Seals `payload`. `header` supplies message id, case, purpose, acting user,
// creation time, statutory basis and reply-to; sender, key id, payload type,
// recipients and format version are set here. `justification` (required
// when header.statutory_basis is set) is sealed at kJustificationPath as
// free text. INVALID_ARGUMENT for a field without a category, no
// recipients, or a statutory basis without justification.
absl::StatusOr<v1::SealedMessage> SealPayload(const google::protobuf::Message& payload,
                                              v1::MessageHeader header, const SenderKeys& sender,
                                              const std::vector<RecipientPublicKey>& recipients,
                                              const WrapPolicy& may_receive,
                                              absl::string_view justification,
                                              RandomSource& random);

// What OpenMessage learned besides the payload.
struct OpenedMessage {
  v1::MessageHeader header;
  int withheld_fields = 0;
  std::string justification;  // empty unless a statutory claim carried one
};

// Verifies and opens a message delivered to `me`. `payload` must be of the
// header's payload type; it is cleared and filled with the fields `me` may
// read. PERMISSION_DENIED if `me` is not among the signed recipients;
// INVALID_ARGUMENT "authentication failed ..." if the signature, a
// commitment, a wrapped key, a key commitment or a ciphertext does not
// verify, and INVALID_ARGUMENT if a part carries other or unknown fields.
// The caller checks that `sender_signing_public_key` is the sender's: it
// comes from the bundle of header.sender_org_id (SiltaClient::Open does).
absl::StatusOr<OpenedMessage> OpenMessage(const v1::SealedMessage& message,
                                          absl::string_view sender_signing_public_key,
                                          const RecipientPrivateKey& me,
                                          google::protobuf::Message* payload);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_SEALER_H_
