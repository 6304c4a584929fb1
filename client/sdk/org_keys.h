// File: client/sdk/org_keys.h
//
// An organisation's message keys on its own side: an X25519 key for HPKE and
// an Ed25519 signing key, kept in files only the owner can read, and the key
// bundle that publishes their public halves signed with the org's client
// certificate key. Keys are stored per key id, so after a rotation the old
// keys still open old messages.
//
//   <dir>/<key_id>.hpke.key     32 raw bytes, mode 600
//   <dir>/<key_id>.signing.key  32 raw bytes, mode 600
//   <dir>/<key_id>.bundle.pb    the signed bundle (binary protobuf), mode 644
//   <dir>/current               the newest key id (text), mode 644
#ifndef SILTA_CLIENT_SDK_ORG_KEYS_H_
#define SILTA_CLIENT_SDK_ORG_KEYS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/sealer.h"
#include "server/crypto/primitives.h"
#include "silta/v1/org.pb.h"

namespace silta::sdk {

struct OrgKeys {
  v1::KeyBundle bundle;
  crypto::KeyPair hpke;
  crypto::KeyPair signing;

  // The sealing and opening views of these keys.
  SenderKeys AsSender() const;
  RecipientPrivateKey AsRecipient() const;
};

// Generates new keys, signs their bundle with the certificate key (files in
// PEM) for [now, now + validity), and writes them under `dir` (created with
// mode 700 if absent). The caller publishes `bundle` with KeyService and
// then makes them current with SetCurrentKeyId.
absl::StatusOr<OrgKeys> CreateOrgKeys(absl::string_view org_id, absl::string_view cert_chain_file,
                                      absl::string_view cert_key_file, absl::Duration validity,
                                      absl::string_view dir);

// Loads the keys of `key_id` from `dir`; the private key files must have
// owner-only permissions.
absl::StatusOr<OrgKeys> LoadOrgKeys(absl::string_view dir, absl::string_view key_id);

// Records `key_id` as the current keys of `dir` (after publishing them).
absl::Status SetCurrentKeyId(absl::string_view dir, absl::string_view key_id);

// The key id recorded by SetCurrentKeyId. NOT_FOUND (with the command that
// creates keys) if there is none.
absl::StatusOr<std::string> CurrentKeyId(absl::string_view dir);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_ORG_KEYS_H_
