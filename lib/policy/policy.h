// File: lib/policy/policy.h
//
// The disclosure policy as text: data categories, purposes, statutory bases
// and restriction grounds (schema: silta.v1.Policy in config.proto). siltad
// enforces it; siltactl checks a file before an administrator installs it.
#ifndef SILTA_LIB_POLICY_POLICY_H_
#define SILTA_LIB_POLICY_POLICY_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "silta/v1/config.pb.h"

namespace silta::policy {

// Checks a policy: every category listed at most once with a sensitivity;
// at least one purpose; purpose and statute codes [a-z0-9_]+ and unique;
// each statute with a citation, at least one sender kind, recipient kind and
// category, and only categories the policy lists. INVALID_ARGUMENT naming
// the entry and field.
absl::Status ValidatePolicy(const v1::Policy& policy);

// Reads and validates a policy textproto. INVALID_ARGUMENT names the file,
// line and field (see common::ParseTextProtoFile); NOT_FOUND if it is missing.
absl::StatusOr<v1::Policy> LoadPolicyFile(const std::string& path);

// The policy's entry for a category, or nullptr if the policy has none.
const v1::CategoryPolicy* FindCategory(const v1::Policy& policy, v1::Category category);

// The statutory basis with this code, or nullptr.
const v1::StatutoryBasis* FindStatute(const v1::Policy& policy, absl::string_view code);
// The restriction ground with `code`, or nullptr.
const v1::RestrictionGround* FindRestrictionGround(const v1::Policy& policy,
                                                   absl::string_view code);

}  // namespace silta::policy

#endif  // SILTA_LIB_POLICY_POLICY_H_
