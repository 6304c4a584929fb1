// File: server/identity/authenticator.h
//
// Resolves the verified TLS peer of a call to an organisation and decides
// whether it may call the method. This is the one place where identity is
// established: only the certificate verified by the TLS handshake counts
// (never metadata or request fields), read from the call's AuthContext.
//
// Refusals and their codes:
//   UNAUTHENTICATED    no verified peer, no SPIFFE id in the certificate, a
//                      malformed SPIFFE id, another trust domain, or an org id
//                      that is not in the registry
//   PERMISSION_DENIED  the org is suspended, or none of its roles may call
//                      the method (default deny for unknown methods)
//   RESOURCE_EXHAUSTED the org (by its certificate's org id) is over its
//                      calls per second (CallLimiter)
// Every refusal writes one "access_refused" log line with the method, the
// reason, the org id (when known), the peer address and a correlation id
// that is also in the caller's error message, and an ACCESS_REFUSED audit
// entry — with a limiter, at most a few a second per org; the next one
// recorded says how many were not.
//
// Thread-safe.
#ifndef SILTA_SERVER_IDENTITY_AUTHENTICATOR_H_
#define SILTA_SERVER_IDENTITY_AUTHENTICATOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_context.h"
#include "lib/common/clock.h"
#include "lib/identity/spiffe_id.h"
#include "server/identity/call_limiter.h"
#include "server/identity/caller.h"
#include "server/orgs/registry.h"
#include "server/store/store.h"
#include "silta/v1/common.pb.h"

namespace silta::identity {

class Authenticator {
 public:
  // `registry` must outlive the authenticator.
  // Refusals are logged and, if `audit` is set, appended to its audit log
  // as ACCESS_REFUSED (actor: the org the certificate names, if any).
  // `limiter` (optional) must outlive the authenticator. `clock` dates the
  // ACCESS_REFUSED entries.
  Authenticator(const orgs::OrgRegistry* registry, std::string trust_domain,
                store::Store* audit = nullptr, CallLimiter* limiter = nullptr,
                common::Clock clock = common::SystemClock())
      : registry_(registry),
        trust_domain_(std::move(trust_domain)),
        audit_(audit),
        limiter_(limiter),
        clock_(std::move(clock)) {}

  // Authenticates the peer of `auth_context` and authorises it for the full
  // method name `method`. `peer` is the transport address, for the log only.
  absl::StatusOr<Caller> Authorize(const grpc::AuthContext& auth_context,
                                   absl::string_view method, absl::string_view peer) const;

  // Re-checks an already authenticated caller (for long-lived streams):
  // PERMISSION_DENIED once its org is suspended or lost the role.
  absl::Status Recheck(const Caller& caller, absl::string_view method,
                       absl::string_view peer) const;

 private:
  absl::Status CheckOrg(const v1::Organization& org, absl::string_view method,
                        absl::string_view peer) const;

  // Logs and audits a refusal; returns the status for the caller: `hint`
  // says how to fix it, `reason` is the machine-readable code.
  absl::Status Refuse(absl::StatusCode code, absl::string_view method, absl::string_view peer,
                      absl::string_view org_id, absl::string_view reason,
                      absl::string_view hint) const;

  const orgs::OrgRegistry* const registry_;
  const std::string trust_domain_;
  store::Store* const audit_;
  CallLimiter* const limiter_;
  const common::Clock clock_;
};

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_AUTHENTICATOR_H_
