// File: lib/crypto/key_bundle.h
//
// Organisation key bundles (docs/wire-format.md §8): an org's X25519 (HPKE)
// and Ed25519 (signing) public keys with their epoch, signed with the org's
// bundle-signing certificate (SPIFFE id .../org/<org-id>/keys/<name>, not a
// TLS system certificate) and carried with its chain, so that anyone
// holding the trust-domain CA can check that the keys belong to the org and
// a broker that substitutes a key is caught. Each bundle after the first
// names the one it replaces and carries a continuity signature by that
// bundle's Ed25519 key.
//
// What the bundle alone proves is checked by VerifyKeyBundle; which bundle
// is the current one is decided by the reader from the signed epochs
// (sdk::PeerBundles), never from the broker's `retired` flag.
#ifndef SILTA_LIB_CRYPTO_KEY_BUNDLE_H_
#define SILTA_LIB_CRYPTO_KEY_BUNDLE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lib/crypto/secret_data.h"
#include "silta/v1/org.pb.h"

namespace silta::crypto {

// Bundles live weeks, not years: `keys publish` makes them valid for 30 days
// by default, and no verifier accepts one valid for longer than 90.
inline constexpr absl::Duration kDefaultKeyBundleValidity = absl::Hours(24 * 30);
inline constexpr absl::Duration kMaxKeyBundleValidity = absl::Hours(24 * 90);
// After a rotation, messages signed with the replaced key are accepted (by
// siltad at Send, and by recipients for a created_at) for this long after
// the new bundle's not_before: sealing in flight, not a second key.
inline constexpr absl::Duration kRotationOverlap = absl::Minutes(10);

// What a bundle says before it is signed.
struct KeyBundleDraft {
  std::string org_id;
  std::string hpke_public_key;     // 32 bytes
  std::string signing_public_key;  // 32 bytes
  absl::Time not_before;
  absl::Time not_after;
  uint64_t epoch = 1;
  std::string previous_key_id;  // empty for epoch 1 (or after the previous expired)
};

// Builds and signs a bundle. `signer_chain_pem` is the org's bundle-signing
// certificate (leaf first); `signer_key_pem` its private key (EC or
// Ed25519). With a previous_key_id, `previous_signing_key` (the Ed25519
// private key of that bundle) makes the continuity signature. Sets key_id.
// INVALID_ARGUMENT for unusable PEM, keys or times.
absl::StatusOr<v1::KeyBundle> SignKeyBundle(const KeyBundleDraft& draft,
                                            absl::string_view signer_chain_pem,
                                            absl::string_view signer_key_pem,
                                            const SecretData* previous_signing_key);

// What a verifier trusts: the trust-domain CA certificates (PEM), the
// trust domain (from the verifier's own configuration, never from the
// broker) and a hashed CRL directory (`openssl rehash`).
struct TrustAnchors {
  std::string ca_pem;
  std::string trust_domain;
  std::string crl_directory;  // empty: revocation is not checked (siltad without CRLs only)
};

// Verifies a bundle for `expected_org_id` at time `at`:
// - its signed org_id is `expected_org_id` (the recipient asked for, or a
//   message header's sender_org_id);
// - the public keys are canonical points of large order; key_id matches;
// - epoch >= 1; previous_key_id is empty or a key id, with a 64-byte
//   continuity signature exactly when it is set;
// - it is valid at `at` and for no longer than kMaxKeyBundleValidity;
// - the chain verifies to the CA at `at`, its leaf's only URI SAN is
//   spiffe://<trust_domain>/org/<expected_org_id>/keys/<name>, and (with a
//   CRL directory) no certificate of the chain is revoked, now;
// - the signature verifies with the leaf key.
// INVALID_ARGUMENT "key bundle: ..." saying which check failed.
absl::Status VerifyKeyBundle(const v1::KeyBundle& bundle, absl::string_view expected_org_id,
                             const TrustAnchors& anchors, absl::Time at);

// OK if `next` continues `previous`: same org, next.previous_key_id is
// previous.key_id, a higher epoch, and the continuity signature verifies
// with previous.signing_public_key. INVALID_ARGUMENT otherwise.
absl::Status VerifyContinuity(const v1::KeyBundle& next, const v1::KeyBundle& previous);

// True if `key_id` has the form of a bundle key id: exactly 32 lower-case
// hex characters. Key ids that arrive from the broker are checked with it
// before any other use (they name files in an SDK's keys directory).
bool IsKeyId(absl::string_view key_id);

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_KEY_BUNDLE_H_
