// File: tests/testing/bundle_forge.h
//
// What an attacker who holds some signing key can make (TESTONLY): a key
// bundle with any fields, signed with that key and carrying that chain,
// bypassing every check SignKeyBundle makes. The tests hand these to siltad
// and to the SDK through a hostile broker and expect them refused.
#ifndef SILTA_TESTS_TESTING_BUNDLE_FORGE_H_
#define SILTA_TESTS_TESTING_BUNDLE_FORGE_H_

#include <string>

#include "absl/time/time.h"
#include "lib/crypto/secret_data.h"
#include "silta/v1/org.pb.h"

namespace silta::testing {

// Sets certificate_chain_pem from `chain_file`, recomputes key_id and signs
// `bundle` with the PEM private key in `key_file`; with `previous_signing_key`
// also sets a continuity signature by it.
v1::KeyBundle ForgeKeyBundle(v1::KeyBundle bundle, const std::string& chain_file,
                             const std::string& key_file,
                             const crypto::SecretData* previous_signing_key = nullptr);

// A bundle of `org_id` with fresh keys, valid [not_before, not_after), of
// `epoch`, forged with the given certificate; its private signing key in
// *signing_key (to sign messages as that bundle).
v1::KeyBundle ForgeFreshBundle(const std::string& org_id, absl::Time not_before,
                               absl::Time not_after, uint64_t epoch,
                               const std::string& chain_file, const std::string& key_file,
                               crypto::SecretData* signing_key);

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_BUNDLE_FORGE_H_
