// File: lib/audit/tree_head.h
//
// Signed tree heads: the canonical bytes the log key signs
// (docs/wire-format.md §8), signing with the Ed25519 log key and verifying
// with its public key. Shared by siltad and siltactl's offline verifier.
#ifndef SILTA_LIB_AUDIT_TREE_HEAD_H_
#define SILTA_LIB_AUDIT_TREE_HEAD_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/crypto/secret_data.h"
#include "silta/v1/audit.pb.h"

namespace silta::audit {

// "SILTA-TREE-HEAD-v2" ‖ LP(log_id) ‖ LP(log_key_id) ‖ u64(tree_size) ‖
// root_hash ‖ u64(micros(timestamp)).
std::string TreeHeadBytes(const v1::SignedTreeHead& head);

// Hex of the first 8 bytes of SHA-256(public key).
std::string LogKeyId(absl::string_view public_key);

// Sets log_id, log_key_id and signature. INVALID_ARGUMENT for a bad key or
// root, or an empty log id.
absl::Status SignTreeHead(const crypto::SecretData& log_private_key, absl::string_view log_id,
                          v1::SignedTreeHead* head);

// OK if the head names a log (`expected_log_id` when not empty) and is
// signed by `log_public_key` (32 raw bytes); UNAUTHENTICATED naming what is
// wrong otherwise.
absl::Status VerifyTreeHead(absl::string_view log_public_key, const v1::SignedTreeHead& head,
                            absl::string_view expected_log_id = "");

// Reads an Ed25519 public key from a PEM file (the log's .pub file) or a
// file holding 64 hex digits. INVALID_ARGUMENT if neither.
absl::StatusOr<std::string> ReadLogPublicKey(const std::string& path);

}  // namespace silta::audit

#endif  // SILTA_LIB_AUDIT_TREE_HEAD_H_
