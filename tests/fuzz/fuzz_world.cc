#include "tests/fuzz/fuzz_world.h"

#include <cstdio>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "lib/common/files.h"
#include "lib/common/textproto.h"
#include "lib/crypto/primitives.h"
#include "lib/policy/policy.h"
#include "server/orgs/registry.h"

namespace silta::fuzz {
namespace {

std::map<std::string, TargetFunction, std::less<>>& Targets() {
  static auto* targets = new std::map<std::string, TargetFunction, std::less<>>();
  return *targets;
}

crypto::SecretData Fixed(char c) { return crypto::SecretData::FromString(std::string(32, c)); }

// A setup step that cannot fail on a working checkout; if it does, the
// target cannot test anything, so it stops loudly.
template <typename T>
T Need(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) {
    std::fprintf(stderr, "fuzz setup: %s: %s\n", std::string(what).c_str(),
                 std::string(value.status().message()).c_str());
    std::abort();
  }
  return *std::move(value);
}

std::string KeyIdOf(char c) { return std::string(32, c); }

}  // namespace

bool Register(const char* name, TargetFunction function) {
  Targets()[name] = function;
  return true;
}

TargetFunction Find(absl::string_view name) {
  const auto it = Targets().find(name);
  return it == Targets().end() ? nullptr : it->second;
}

TargetFunction Only() { return Targets().size() == 1 ? Targets().begin()->second : nullptr; }

int accepted = 0;

void Accepted() { ++accepted; }
int AcceptedCount() { return accepted; }

void Fail(absl::string_view what) {
  std::fprintf(stderr, "fuzz finding: %s\n", std::string(what).c_str());
  std::abort();
}

std::string PkiDir() {
  const char* dir = std::getenv("SILTA_FUZZ_PKI");
  return dir != nullptr && *dir != '\0' ? dir : SILTA_TEST_PKI_DIR;
}

crypto::TrustAnchors Anchors() {
  static const crypto::TrustAnchors anchors{
      .ca_pem = Need(common::ReadFile(PkiDir() + "/ca.pem"), "the PKI's ca.pem"),
      .trust_domain = "silta.test",
      .crl_directory = PkiDir() + "/crl"};
  return anchors;
}

const v1::Policy& Policy() {
  static const v1::Policy* policy = new v1::Policy(
      Need(policy::LoadPolicyFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto"), "policy"));
  return *policy;
}

bool IsRegistered(absl::string_view org_id) {
  static const v1::OrgRegistryFile* registry = [] {
    auto* file = new v1::OrgRegistryFile();
    const absl::Status parsed = common::ParseTextProtoFile(PkiDir() + "/registry.textproto", file);
    if (!parsed.ok()) Need(absl::StatusOr<int>(parsed), "registry seed");
    return file;
  }();
  for (const v1::Organization& org : registry->orgs()) {
    if (org.org_id() == org_id) return true;
  }
  return false;
}

sdk::SenderKeys Sender() { return {"police-hame", KeyIdOf('5'), Fixed('s')}; }

std::string SenderPublicKey() {
  static const std::string key = Need(crypto::Ed25519PublicKey(Fixed('s')), "sender key");
  return key;
}

sdk::RecipientPrivateKey Recipient(absl::string_view org_id) {
  const char c = org_id == "wba-social" ? 'a' : 'b';
  return {std::string(org_id), KeyIdOf(c), Fixed(c)};
}

sdk::RecipientPublicKey RecipientPublic(absl::string_view org_id) {
  const sdk::RecipientPrivateKey me = Recipient(org_id);
  return {me.org_id, me.key_id,
          Need(crypto::X25519PublicKey(me.hpke_private_key), "recipient key")};
}

crypto::SecretData LogKey() { return Fixed('l'); }

std::string LogPublicKey() {
  static const std::string key = Need(crypto::Ed25519PublicKey(LogKey()), "log key");
  return key;
}

}  // namespace silta::fuzz
