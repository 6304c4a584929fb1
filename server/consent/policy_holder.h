// File: server/consent/policy_holder.h
//
// The policy siltad enforces: loaded at start-up, replaced atomically on
// SIGHUP; readers hold an immutable snapshot.
#ifndef SILTA_SERVER_CONSENT_POLICY_HOLDER_H_
#define SILTA_SERVER_CONSENT_POLICY_HOLDER_H_

#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "lib/policy/policy.h"
#include "silta/v1/config.pb.h"

namespace silta::consent {

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

#endif  // SILTA_SERVER_CONSENT_POLICY_HOLDER_H_
