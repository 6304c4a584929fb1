// File: server/crypto/key_bundle.h
//
// Organisation key bundles (docs/wire-format.md §8): an org's X25519 (HPKE)
// and Ed25519 (signing) public keys, signed with the private key of the
// org's own client certificate and carried with its chain, so that anyone
// holding the trust-domain CA can check that the keys belong to the org —
// and a broker that substitutes a key is caught.
#ifndef SILTA_SERVER_CRYPTO_KEY_BUNDLE_H_
#define SILTA_SERVER_CRYPTO_KEY_BUNDLE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "silta/v1/org.pb.h"

namespace silta::crypto {

// Builds and signs a bundle. `certificate_chain_pem` is the org's client
// certificate (leaf first); `certificate_key_pem` its private key (EC or
// Ed25519). Sets key_id. INVALID_ARGUMENT for unusable PEM or key sizes.
absl::StatusOr<v1::KeyBundle> SignKeyBundle(absl::string_view org_id,
                                            absl::string_view hpke_public_key,
                                            absl::string_view signing_public_key,
                                            absl::Time not_before, absl::Time not_after,
                                            absl::string_view certificate_chain_pem,
                                            absl::string_view certificate_key_pem);

// Verifies a bundle at time `now`: key sizes; key_id; the chain verifies to
// `ca_pem` (CA certificates in PEM) for client authentication; the leaf has
// the URI SAN spiffe://<trust_domain>/org/<org_id>/sys/<any>; the signature
// verifies with the leaf key; now is within [not_before, not_after).
// INVALID_ARGUMENT "key bundle: ..." saying which check failed.
absl::Status VerifyKeyBundle(const v1::KeyBundle& bundle, absl::string_view ca_pem,
                             absl::string_view trust_domain, absl::Time now);

}  // namespace silta::crypto

#endif  // SILTA_SERVER_CRYPTO_KEY_BUNDLE_H_
