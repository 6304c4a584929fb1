// File: server/consent/policy.h
//
// The disclosure policy: data categories, purposes and statutory bases
// (schema: silta.v1.Policy in config.proto). Loaded at start-up, replaced
// atomically on SIGHUP; readers hold an immutable snapshot.
#ifndef SILTA_SERVER_CONSENT_POLICY_H_
#define SILTA_SERVER_CONSENT_POLICY_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "silta/v1/config.pb.h"

namespace silta::consent {

// Checks a policy: every category listed at most once with a sensitivity;
// at least one purpose; purpose and statute codes [a-z0-9_]+ and unique;
// each statute with a citation, at least one sender kind, recipient kind and
// category, and only categories the policy lists. INVALID_ARGUMENT naming
// the entry and field.
absl::Status ValidatePolicy(const v1::Policy& policy);

// Reads and validates a policy textproto. INVALID_ARGUMENT names the file,
// line and field (see ops::ParseTextProtoFile); NOT_FOUND if it is missing.
absl::StatusOr<v1::Policy> LoadPolicyFile(const std::string& path);

// The policy's entry for a category, or nullptr if the policy has none.
const v1::CategoryPolicy* FindCategory(const v1::Policy& policy, v1::Category category);

// The statutory basis with this code, or nullptr.
const v1::StatutoryBasis* FindStatute(const v1::Policy& policy, absl::string_view code);
// The restriction ground with `code`, or nullptr.
const v1::RestrictionGround* FindRestrictionGround(const v1::Policy& policy,
                                                  absl::string_view code);

// Holds the current policy. Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(v1::Policy policy)
      : current_(std::make_shared<const v1::Policy>(std::move(policy))) {}

  // The current snapshot; stays valid while held.
  std::shared_ptr<const v1::Policy> Get() const {
    absl::MutexLock lock(&mu_);
    return current_;
  }

  // Replaces the policy after validating it; on error the old one stays.
  absl::Status Replace(v1::Policy policy);

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const v1::Policy> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::consent

#endif  // SILTA_SERVER_CONSENT_POLICY_H_
