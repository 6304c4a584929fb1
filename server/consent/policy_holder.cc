#include "server/consent/policy_holder.h"

#include "lib/common/status_macros.h"

namespace silta::consent {

absl::Status PolicyHolder::Replace(v1::Policy policy) {
  SILTA_RETURN_IF_ERROR(policy::ValidatePolicy(policy));
  auto next = std::make_shared<const v1::Policy>(std::move(policy));
  absl::MutexLock lock(&mu_);
  current_ = std::move(next);
  return absl::OkStatus();
}

}  // namespace silta::consent
