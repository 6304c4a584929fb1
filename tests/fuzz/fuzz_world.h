// File: tests/fuzz/fuzz_world.h
//
// What the fuzz targets and their seed writer share (TESTONLY): fixed keys,
// so that the seeds are messages the targets can open; the example policy;
// and the dev PKI the tests use, whose CA, CRLs, registry seed and
// bundle-signing certificates the key-bundle target verifies against.
//
// Each target is written once, with SILTA_FUZZ_TARGET, and linked two ways:
// into a libFuzzer binary (`make fuzz`, clang) and into `fuzz_replay`,
// which `make test` runs over the seeds and over tests/fuzz/regressions/.
#ifndef SILTA_TESTS_FUZZ_FUZZ_WORLD_H_
#define SILTA_TESTS_FUZZ_FUZZ_WORLD_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "client/sdk/sealer.h"
#include "lib/crypto/key_bundle.h"
#include "silta/v1/config.pb.h"

namespace silta::fuzz {

using TargetFunction = int (*)(const uint8_t* data, size_t size);

// Registers a target under `name`; returns true (for a static initialiser).
bool Register(const char* name, TargetFunction function);
// The target registered under `name`, or nullptr.
TargetFunction Find(absl::string_view name);
// The one registered target (libFuzzer binaries link exactly one).
TargetFunction Only();

// Counts an input that passed every check of its target (replay reports
// it, so that seeds that no longer reach the deep code are noticed).
void Accepted();
int AcceptedCount();

// Aborts with `what` when a property a target checks does not hold: a
// finding, like a crash.
void Fail(absl::string_view what);

// The dev PKI (certs/make-dev-pki.sh --test-extras): $SILTA_FUZZ_PKI, or
// the test PKI directory of this build.
std::string PkiDir();
crypto::TrustAnchors Anchors();
// The example policy (deploy/policy.example.textproto) and whether an org
// is in the PKI's registry seed.
const v1::Policy& Policy();
bool IsRegistered(absl::string_view org_id);

// Fixed keys: the sender police-hame (Ed25519 seed 32 x 's'), the
// recipients wba-social (X25519 32 x 'a') and hml-youth (32 x 'b'), and the
// audit log key (Ed25519 seed 32 x 'l').
sdk::SenderKeys Sender();
std::string SenderPublicKey();
sdk::RecipientPrivateKey Recipient(absl::string_view org_id);
sdk::RecipientPublicKey RecipientPublic(absl::string_view org_id);
crypto::SecretData LogKey();
std::string LogPublicKey();
inline constexpr absl::string_view kLogId = "silta:fuzz";

}  // namespace silta::fuzz

// Defines target `name`: int SiltaFuzz_name(const uint8_t* data, size_t size).
#define SILTA_FUZZ_TARGET(name)                                                   \
  static int SiltaFuzz_##name(const uint8_t* data, size_t size);                  \
  [[maybe_unused]] static const bool kSiltaFuzzRegistered_##name =                \
      ::silta::fuzz::Register(#name, &SiltaFuzz_##name);                          \
  static int SiltaFuzz_##name(const uint8_t* data, size_t size)

#endif  // SILTA_TESTS_FUZZ_FUZZ_WORLD_H_
