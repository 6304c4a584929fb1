#include "server/routing/message_checks.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "lib/identity/spiffe_id.h"
#include "silta/v1/options.pb.h"

namespace silta::routing {
namespace {

using crypto::kJustificationPath;
constexpr size_t kMaxId = 128;

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

}  // namespace

absl::Status CheckSealedMessage(const v1::SealedMessage& m, absl::string_view sender_org_id,
                                const v1::Policy& policy, const IsRegistered& is_registered,
                                const MessageLimits& limits) {
  if (!m.has_header()) return Invalid("message.header", "required");
  const v1::MessageHeader& h = m.header();
  if (!crypto::IsCanonicalUuid(h.message_id())) {
    return Invalid("header.message_id", "must be a lower-case UUID (UUIDv7 recommended)");
  }
  if (h.sender_org_id() != sender_org_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("header.sender_org_id must be your organisation (", sender_org_id, ")"));
  }
  if (h.format_version() != crypto::kWireFormatVersion) {
    return Invalid("header.format_version", absl::StrCat("must be ", crypto::kWireFormatVersion));
  }
  if (!crypto::IsKeyId(h.sender_key_id())) {
    return Invalid("header.sender_key_id",
                   "the key_id of your published key bundle (32 lower-case hex characters)");
  }
  if (m.signature().size() != crypto::kEd25519SignatureSize) {
    return Invalid("message.signature", "must be 64 bytes (Ed25519)");
  }
  if (h.acting_user().worker_id().empty() || h.acting_user().worker_id().size() > kMaxId) {
    return Invalid("header.acting_user.worker_id", "required, 1-128 characters");
  }
  if (!std::any_of(policy.purposes().begin(), policy.purposes().end(),
                   [&](const v1::PurposePolicy& p) { return p.code() == h.purpose(); })) {
    return Invalid("header.purpose", "not a purpose code of the policy");
  }
  if (!h.has_created_at()) return Invalid("header.created_at", "required");
  const google::protobuf::Descriptor* payload = crypto::PayloadDescriptor(h.payload_type());
  if (payload == nullptr) {
    return Invalid("header.payload_type", "not a payload type of silta/v1/payloads.proto");
  }
  if (h.recipient_org_ids().empty()) return Invalid("header.recipient_org_ids", "at least one");
  if (h.recipient_org_ids_size() > limits.max_recipients) {
    return Invalid("header.recipient_org_ids", absl::StrCat("at most ", limits.max_recipients));
  }
  // These checks run on every Send: the containers below view the
  // message's own strings, a recipient's other facts are kept by its place
  // in the header, and each error's place is spelled only when there is
  // an error.
  absl::flat_hash_map<absl::string_view, int> recipients;  // org id -> its place
  recipients.reserve(h.recipient_org_ids_size());
  for (int i = 0; i < h.recipient_org_ids_size(); ++i) {
    const std::string& r = h.recipient_org_ids(i);
    const auto where = [i] { return absl::StrCat("header.recipient_org_ids[", i, "]"); };
    if (!identity::IsValidOrgId(r) || !is_registered(r)) {
      return Invalid(where(), "organisation is not registered");
    }
    if (!recipients.emplace(r, i).second) return Invalid(where(), "listed twice");
  }
  // One HPKE context per recipient, of the wire format's sizes; the wrapped
  // keys below must use it. (Whether its key id names a usable bundle is
  // checked in Send, against the key directory.)
  // By the recipient's place; empty: no context yet (a key id is never empty).
  std::vector<absl::string_view> context_key_ids(h.recipient_org_ids_size());
  for (int i = 0; i < m.recipient_contexts_size(); ++i) {
    const v1::RecipientContext& rc = m.recipient_contexts(i);
    const auto where = [i] { return absl::StrCat("message.recipient_contexts[", i, "]"); };
    const auto recipient = recipients.find(rc.recipient_org_id());
    if (recipient == recipients.end()) {
      return Invalid(where(), "for an organisation that is not a recipient");
    }
    if (!crypto::IsKeyId(rc.recipient_key_id())) {
      return Invalid(absl::StrCat(where(), ".recipient_key_id"),
                     "must be a key_id (32 lower-case hex characters)");
    }
    if (rc.encapsulated_key().size() != crypto::kX25519KeySize) {
      return Invalid(absl::StrCat(where(), ".encapsulated_key"), "must be 32 bytes (X25519)");
    }
    absl::string_view& key_id = context_key_ids[recipient->second];
    if (!key_id.empty()) return Invalid(where(), "second context for the same recipient");
    key_id = rc.recipient_key_id();
  }
  for (int i = 0; i < h.recipient_org_ids_size(); ++i) {
    if (context_key_ids[i].empty()) {
      return Invalid("message.recipient_contexts",
                     absl::StrCat("none for ", h.recipient_org_ids(i), " (one per recipient)"));
    }
  }
  if (m.fields().empty()) return Invalid("message.fields", "at least one sealed field");
  if (m.fields_size() > limits.max_fields) {
    return Invalid("message.fields", absl::StrCat("at most ", limits.max_fields));
  }
  absl::flat_hash_set<absl::string_view> paths;
  paths.reserve(m.fields_size());
  std::vector<bool> wrapped_for(h.recipient_org_ids_size());  // by place, for one field
  for (int i = 0; i < m.fields_size(); ++i) {
    const v1::SealedField& f = m.fields(i);
    const auto where = [i] { return absl::StrCat("message.fields[", i, "]"); };
    if (!paths.insert(f.path()).second) return Invalid(where(), "path repeated");
    // The justification is a sealed field like the payload's: only its
    // category is fixed by the wire format instead of the schema.
    if (f.path() == kJustificationPath) {
      if (f.category() != v1::CATEGORY_FREE_TEXT) {
        return Invalid(where(), "justification is FREE_TEXT");
      }
    } else {
      const google::protobuf::FieldDescriptor* fd = payload->FindFieldByName(f.path());
      if (fd == nullptr) {
        return Invalid(where(), absl::StrCat("no field ", f.path(), " in ", h.payload_type()));
      }
      if (fd->options().GetExtension(v1::category) != f.category()) {
        return Invalid(where(), "category differs from the payload schema");
      }
    }
    if (f.commitment_salt().size() != crypto::kCommitmentSaltSize) {
      return Invalid(absl::StrCat(where(), ".commitment_salt"), "must be 32 bytes");
    }
    if (f.key_commitment().size() != crypto::kSha256Size) {
      return Invalid(absl::StrCat(where(), ".key_commitment"), "must be 32 bytes");
    }
    if (f.ciphertext().size() < crypto::kAeadNonceSize + crypto::kAeadTagSize) {
      return Invalid(absl::StrCat(where(), ".ciphertext"),
                     "must be at least 28 bytes (12-byte nonce, ciphertext, 16-byte tag)");
    }
    std::fill(wrapped_for.begin(), wrapped_for.end(), false);
    for (int j = 0; j < f.wrapped_keys_size(); ++j) {
      const v1::WrappedKey& k = f.wrapped_keys(j);
      const auto key_where = [&] { return absl::StrCat(where(), ".wrapped_keys[", j, "]"); };
      const auto recipient = recipients.find(k.recipient_org_id());
      if (recipient == recipients.end()) {
        return Invalid(key_where(), "for an organisation that is not a recipient");
      }
      if (wrapped_for[recipient->second]) {
        return Invalid(key_where(), "second wrapped key for the same recipient");
      }
      wrapped_for[recipient->second] = true;
      if (k.recipient_key_id() != context_key_ids[recipient->second]) {
        return Invalid(absl::StrCat(key_where(), ".recipient_key_id"),
                       "must be the key_id of that recipient's context");
      }
      if (k.wrapped_key().size() !=
          crypto::kAeadNonceSize + crypto::kFieldKeySize + crypto::kAeadTagSize) {
        return Invalid(absl::StrCat(key_where(), ".wrapped_key"),
                       "must be 60 bytes (12-byte nonce, 32-byte key, 16-byte tag)");
      }
    }
  }
  if (!h.statutory_basis().empty() &&
      std::none_of(policy.statutory_bases().begin(), policy.statutory_bases().end(),
                   [&](const v1::StatutoryBasis& s) { return s.code() == h.statutory_basis(); })) {
    return Invalid("header.statutory_basis", "not a statutory basis of the policy");
  }
  if (!m.withheld_commitments().empty()) {
    return Invalid("message.withheld_commitments", "must be empty when sending");
  }
  return absl::OkStatus();
}

}  // namespace silta::routing
