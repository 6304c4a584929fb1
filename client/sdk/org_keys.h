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

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/sealer.h"
#include "lib/crypto/primitives.h"
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

// Generates new keys, signs their bundle with the organisation's
// bundle-signing certificate and key (files in PEM; SPIFFE id
// .../org/<org-id>/keys/<name>) for [now, now + validity), and writes them
// under `dir` (created with mode 700 if absent). If `dir` has current keys
// that have not expired, the new bundle continues them: epoch one higher,
// previous_key_id their key id, and a continuity signature with their
// signing key. The epoch is at least `min_epoch` (the broker's current
// epoch + 1 when the directory is new). The caller publishes `bundle` with
// KeyService and then makes them current with SetCurrentKeyId.
absl::StatusOr<OrgKeys> CreateOrgKeys(absl::string_view org_id, absl::string_view signer_cert_file,
                                      absl::string_view signer_key_file, absl::Duration validity,
                                      absl::string_view dir, uint64_t min_epoch = 1);

// Writes `bytes` to `path` with `mode`, atomically and durably: a temp
// file, fsynced, renamed over `path`, and the directory fsynced, so that
// after a crash `path` holds either its old or its new bytes.
absl::Status WriteFileWithMode(const std::string& path, absl::string_view bytes, mode_t mode);

// Creates directory `d` with mode 700 (its parents as the umask says).
absl::Status MakeOwnerOnlyDirectory(const std::string& d);

// Loads the keys of `key_id` from `dir`; the private key files must have
// owner-only permissions. INVALID_ARGUMENT unless `key_id` is a key id
// (crypto::IsKeyId), before any file is touched.
absl::StatusOr<OrgKeys> LoadOrgKeys(absl::string_view dir, absl::string_view key_id);

// Records `key_id` as the current keys of `dir` (after publishing them).
absl::Status SetCurrentKeyId(absl::string_view dir, absl::string_view key_id);

// The key id recorded by SetCurrentKeyId. NOT_FOUND (with the command that
// creates keys) if there is none.
absl::StatusOr<std::string> CurrentKeyId(absl::string_view dir);

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_ORG_KEYS_H_
