// Fuzz target: what Send checks of a hostile SendRequest, and the manifest
// and redaction of every message it lets through.
// Properties: a message the checks accept has a computable manifest, and
// redacting it for any recipient under any field policy leaves the signed
// manifest bytes unchanged (so the sender's signature still verifies), and
// the bytes the broker streams, written from the message itself
// (crypto::WriteRedacted), are the redacted message's.
#include "absl/strings/str_cat.h"
#include "lib/crypto/wire_format.h"
#include "server/routing/message_checks.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(send_request) {
  v1::SendRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const v1::SealedMessage& m = request.message();
  const absl::Status checked =
      routing::CheckSealedMessage(m, Sender().org_id, Policy(), IsRegistered, {});
  if (!checked.ok()) {
    if (checked.message().empty()) Fail("a refusal without a message");
    return 0;
  }
  const absl::StatusOr<std::string> manifest =
      crypto::ManifestBytes(m.header(), m.fields(), m.withheld_commitments());
  if (!manifest.ok()) {
    Fail(absl::StrCat("an accepted message has no manifest: ", manifest.status().message()));
  }
  // The field policy comes from the input too: permit a path by the parity
  // of its length and the recipient's.
  const crypto::FieldPolicy policy = [](absl::string_view recipient, absl::string_view path) {
    return (recipient.size() + path.size()) % 2 == 0;
  };
  for (const std::string& recipient : m.header().recipient_org_ids()) {
    int withheld = 0;
    const absl::StatusOr<v1::SealedMessage> redacted =
        crypto::RedactForRecipient(m, recipient, policy, &withheld);
    if (!redacted.ok()) {
      Fail(absl::StrCat("an accepted message cannot be redacted: ", redacted.status().message()));
    }
    const absl::StatusOr<std::string> after = crypto::ManifestBytes(
        redacted->header(), redacted->fields(), redacted->withheld_commitments());
    if (!after.ok() || *after != *manifest) Fail("redaction changed the signed manifest");
    if (redacted->fields_size() + withheld != m.fields_size()) Fail("redaction lost a field");
    for (const v1::SealedField& f : redacted->fields()) {
      for (const v1::WrappedKey& k : f.wrapped_keys()) {
        if (k.recipient_org_id() != recipient) Fail("another recipient's key was delivered");
      }
    }
    // What the broker streams is written from `m` itself: the same bytes.
    const absl::StatusOr<crypto::Redaction> plan = crypto::PlanRedaction(m, recipient, policy);
    if (!plan.ok()) Fail("a message that can be redacted has no redaction plan");
    std::string streamed(crypto::RedactedByteSize(m, *plan), '\0');
    uint8_t* const begin = reinterpret_cast<uint8_t*>(streamed.data());
    if (crypto::WriteRedacted(m, *plan, begin) != begin + streamed.size() ||
        streamed != redacted->SerializeAsString()) {
      Fail("the streamed bytes are not the redacted message's");
    }
  }
  Accepted();
  return 0;
}

}  // namespace silta::fuzz
