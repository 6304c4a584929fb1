// Fuzz target: opening hostile bytes as a recipient. The first byte picks
//   even: a SealedMessage delivered to wba-social, opened with its fixed
//         key and the sender's fixed signing key (signature, commitments,
//         HPKE, unwrap of the field keys, AES-GCM of every field);
//   odd:  a raw HPKE base-mode open: 32-byte encapsulated key, 1-byte info
//         length, info, 1-byte AAD length, AAD, then the ciphertext.
// Properties: a message opens only if it names wba-social as a recipient,
// and what opens is of the header's payload type.
#include <algorithm>
#include <memory>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "lib/crypto/hpke.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {
namespace {

// Takes a length byte and that many bytes from `in`; false if too short.
bool Take(absl::string_view* in, absl::string_view* out) {
  if (in->empty()) return false;
  const size_t n = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void OpenSealed(absl::string_view bytes) {
  v1::SealedMessage message;
  if (!message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  const google::protobuf::Descriptor* type =
      crypto::PayloadDescriptor(message.header().payload_type());
  if (type == nullptr) type = crypto::PayloadDescriptor("silta.v1.Referral");
  std::unique_ptr<google::protobuf::Message> payload(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
  const sdk::RecipientPrivateKey me = Recipient("wba-social");
  const absl::StatusOr<sdk::OpenedMessage> opened =
      sdk::OpenMessage(message, SenderPublicKey(), me, payload.get());
  if (!opened.ok()) return;
  const auto& recipients = opened->header.recipient_org_ids();
  if (std::find(recipients.begin(), recipients.end(), me.org_id) == recipients.end()) {
    Fail("opened a message not addressed to me");
  }
  if (payload->GetDescriptor()->full_name() != opened->header.payload_type()) {
    Fail("opened a payload of another type than the header's");
  }
  Accepted();
}

void OpenHpke(absl::string_view in) {
  if (in.size() < crypto::kX25519KeySize) return;
  const absl::string_view enc = in.substr(0, crypto::kX25519KeySize);
  in.remove_prefix(crypto::kX25519KeySize);
  absl::string_view info, aad;
  if (!Take(&in, &info) || !Take(&in, &aad)) return;
  auto context = crypto::HpkeContext::SetupBaseRecipient(
      crypto::Aead::kAes256Gcm, enc, Recipient("wba-social").hpke_private_key, info);
  if (!context.ok()) return;
  if ((*context)->Open(aad, in).ok()) Accepted();
  (void)(*context)->Open(aad, in);  // the second sequence number, too
  (void)(*context)->Export(aad, in.size());  // any length: too long is an error
}

}  // namespace

SILTA_FUZZ_TARGET(open_message) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    OpenSealed(rest);
  } else {
    OpenHpke(rest);
  }
  return 0;
}

}  // namespace silta::fuzz
