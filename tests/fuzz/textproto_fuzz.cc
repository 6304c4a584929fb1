// Fuzz target: the operator's files, parsed and validated as siltad loads
// them. The first byte picks siltad's config, the policy or the registry
// seed; the rest is the file.
// Property: a refusal names the file.
#include "absl/strings/match.h"
#include "lib/common/textproto.h"
#include "lib/policy/policy.h"
#include "server/orgs/registry.h"
#include "server/ops/config.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(textproto) {
  if (size == 0) return 0;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  absl::Status status;
  switch (data[0] % 3) {
    case 0: {
      v1::SiltadConfig config;
      status = common::ParseTextProto(
          "siltad.textproto", text, &config, [](const google::protobuf::Message& m) {
            return ops::ValidateConfig(static_cast<const v1::SiltadConfig&>(m));
          });
      break;
    }
    case 1: {
      v1::Policy policy;
      status = common::ParseTextProto(
          "policy.textproto", text, &policy, [](const google::protobuf::Message& m) {
            return policy::ValidatePolicy(static_cast<const v1::Policy&>(m));
          });
      break;
    }
    default: {
      v1::OrgRegistryFile registry;
      status = common::ParseTextProto(
          "registry.textproto", text, &registry, [](const google::protobuf::Message& m) {
            return orgs::ValidateRegistryFile(static_cast<const v1::OrgRegistryFile&>(m));
          });
      break;
    }
  }
  if (status.ok()) Accepted();
  if (!status.ok() && !absl::StrContains(status.message(), ".textproto:")) {
    Fail("a refusal that does not name the file");
  }
  return 0;
}

}  // namespace silta::fuzz
