#include "lib/audit/tree_head.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/merkle.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/canonical_bytes.h"
#include "lib/crypto/primitives.h"

namespace silta::audit {

std::string TreeHeadBytes(const v1::SignedTreeHead& head) {
  std::string out = "SILTA-TREE-HEAD-v2";
  crypto::PutLp(&out, head.log_id());
  crypto::PutLp(&out, head.log_key_id());
  crypto::PutU64(&out, head.tree_size());
  out += head.root_hash();
  crypto::PutU64(&out, crypto::Micros(head.timestamp()));
  return out;
}

std::string LogKeyId(absl::string_view public_key) {
  return absl::BytesToHexString(crypto::Sha256String(public_key).substr(0, 8));
}

absl::Status SignTreeHead(const crypto::SecretData& log_private_key, absl::string_view log_id,
                          v1::SignedTreeHead* head) {
  if (head->root_hash().size() != kHashSize) {
    return absl::InvalidArgumentError("a tree head's root hash must be 32 bytes");
  }
  if (log_id.empty()) return absl::InvalidArgumentError("a tree head must name its log");
  SILTA_ASSIGN_OR_RETURN(std::string public_key, crypto::Ed25519PublicKey(log_private_key));
  head->set_log_id(std::string(log_id));
  head->set_log_key_id(LogKeyId(public_key));
  SILTA_ASSIGN_OR_RETURN(std::string signature,
                         crypto::Ed25519Sign(log_private_key, TreeHeadBytes(*head)));
  head->set_signature(std::move(signature));
  return absl::OkStatus();
}

absl::Status VerifyTreeHead(absl::string_view log_public_key, const v1::SignedTreeHead& head,
                            absl::string_view expected_log_id) {
  if (head.log_id().empty()) {
    return absl::UnauthenticatedError("the tree head names no log (a head of an older format)");
  }
  if (!expected_log_id.empty() && head.log_id() != expected_log_id) {
    return absl::UnauthenticatedError(
        absl::StrCat("the tree head is of log ", head.log_id(), ", not of ", expected_log_id));
  }
  if (head.log_key_id() != LogKeyId(log_public_key)) {
    return absl::UnauthenticatedError(
        absl::StrCat("the tree head names log key ", head.log_key_id(), " but the key given is ",
                     LogKeyId(log_public_key), "; use the public key of the log that signed it"));
  }
  if (head.root_hash().size() != kHashSize) {
    return absl::UnauthenticatedError("the tree head's root hash is not 32 bytes");
  }
  if (!crypto::Ed25519Verify(log_public_key, TreeHeadBytes(head), head.signature()).ok()) {
    return absl::UnauthenticatedError(
        "the tree head's signature does not verify: its size, root or time was changed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadLogPublicKey(const std::string& path) {
  SILTA_ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  if (text.find("-----BEGIN") != std::string::npos) {
    absl::StatusOr<std::string> key = crypto::Ed25519PublicKeyFromPem(text);
    if (!key.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
    }
    return key;
  }
  const std::string hex(absl::StripAsciiWhitespace(text));
  if (hex.size() == 64 && hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
    return absl::HexStringToBytes(hex);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      ": not an Ed25519 public key (expected PEM from `openssl pkey -pubout` or 64 hex digits)"));
}

}  // namespace silta::audit
