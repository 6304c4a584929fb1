#include "server/identity/authenticator.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/audit/log_entry.h"
#include "lib/common/retry_after.h"
#include "server/common/logging.h"
#include "server/identity/role_table.h"

namespace silta::identity {
namespace {

constexpr absl::string_view kSpiffeProperty = "peer_spiffe_id";
constexpr absl::string_view kUriProperty = "peer_uri";

std::string NewCorrelationId() {
  absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

}  // namespace

absl::Status Authenticator::Refuse(absl::StatusCode code, absl::string_view method,
                                   absl::string_view peer, absl::string_view org_id,
                                   absl::string_view reason, absl::string_view hint) const {
  const std::string correlation_id = NewCorrelationId();
  // Every refusal is answered; a flood of them is recorded a few a second.
  const std::optional<uint64_t> unrecorded =
      limiter_ != nullptr ? limiter_->RecordRefusal(org_id) : std::optional<uint64_t>(0);
  if (unrecorded.has_value()) {
    common::Log(common::LogLevel::kWarn, "access_refused",
                {{"method", std::string(method)},
                 {"reason", std::string(reason)},
                 {"org_id", std::string(org_id)},
                 {"peer", std::string(peer)},
                 {"code", absl::StatusCodeToString(code)},
                 {"correlation_id", correlation_id},
                 {"unrecorded_before", absl::StrCat(*unrecorded)}});
    if (audit_ != nullptr) {
      v1::AuditEntry e = audit::NewEntry(v1::ACCESS_REFUSED, clock_(), org_id);
      e.set_detail(absl::StrCat(method, " ", reason, " ", correlation_id,
                                *unrecorded > 0
                                    ? absl::StrCat(" (after ", *unrecorded,
                                                   " refusals not recorded one by one)")
                                    : ""));
      store::AuditEntries entries = {std::move(e)};
      if (absl::Status s = audit_->AppendAudit(&entries); !s.ok()) {
        common::Log(common::LogLevel::kError, "audit_append_failed",
                    {{"event", "access_refused"}, {"error", std::string(s.message())}});
      }
    }
  }
  return absl::Status(code, absl::StrCat(hint, " (correlation id ", correlation_id, ")"));
}

absl::StatusOr<Caller> Authenticator::Authorize(const grpc::AuthContext& auth_context,
                                                absl::string_view method,
                                                absl::string_view peer) const {
  if (!auth_context.IsPeerAuthenticated()) {
    return Refuse(absl::StatusCode::kUnauthenticated, method, peer, "", "no_verified_peer",
                  "a verified client certificate is required");
  }
  const std::vector<grpc::string_ref> spiffe = auth_context.FindPropertyValues(
      std::string(kSpiffeProperty));
  if (spiffe.size() != 1) {
    const bool has_uri = !auth_context.FindPropertyValues(std::string(kUriProperty)).empty();
    return Refuse(absl::StatusCode::kUnauthenticated, method, peer, "",
                  has_uri ? "uri_san_not_spiffe" : "no_spiffe_id",
                  "the client certificate must carry exactly one URI SAN "
                  "spiffe://<trust-domain>/org/<org-id>/sys/<system>");
  }
  const absl::string_view uri(spiffe[0].data(), spiffe[0].size());
  absl::StatusOr<SpiffeId> id = ParseSpiffeId(uri);
  if (!id.ok()) {
    return Refuse(absl::StatusCode::kUnauthenticated, method, peer, "", "malformed_spiffe_id",
                  id.status().message());
  }
  if (limiter_ != nullptr && !limiter_->AdmitCall(id->org_id)) {
    absl::Status refused = Refuse(
        absl::StatusCode::kResourceExhausted, method, peer, id->org_id, "rate_limited",
        absl::StrCat("organisation ", id->org_id, " made more than ", limiter_->calls_per_second(),
                     " calls per second; retry later, after at least ",
                     absl::FormatDuration(limiter_->CallRetryAfter()), ", with backoff"));
    common::SetRetryAfter(&refused, limiter_->CallRetryAfter());
    return refused;
  }
  if (id->trust_domain != trust_domain_) {
    return Refuse(absl::StatusCode::kUnauthenticated, method, peer, id->org_id,
                  "foreign_trust_domain",
                  absl::StrCat("certificate belongs to trust domain ", id->trust_domain,
                               ", this broker serves ", trust_domain_));
  }
  std::optional<v1::Organization> org = registry_->Find(id->org_id);
  if (!org.has_value()) {
    return Refuse(absl::StatusCode::kUnauthenticated, method, peer, id->org_id, "unknown_org",
                  absl::StrCat("organisation ", id->org_id,
                               " is not registered; ask the Silta administrator to add it"));
  }
  if (absl::Status s = CheckOrg(*org, method, peer); !s.ok()) return s;
  if (limiter_ != nullptr && TakesHetu(method)) {
    const CallLimiter::HetuAdmission hetu = limiter_->AdmitHetuCall(id->org_id);
    if (hetu.alert) {
      common::Log(common::LogLevel::kWarn, "hetu_quota_near",
                  {{"org_id", id->org_id},
                   {"method", std::string(method)},
                   {"remaining", absl::StrCat(static_cast<int64_t>(hetu.remaining))},
                   {"per_hour", absl::StrCat(limiter_->hetu_calls_per_hour())}});
    }
    if (!hetu.admitted) {
      absl::Status refused = Refuse(
          absl::StatusCode::kResourceExhausted, method, peer, id->org_id, "hetu_quota",
          absl::StrCat("organisation ", id->org_id, " made more than ",
                       limiter_->hetu_calls_per_hour(),
                       " calls with a personal identity code this hour; retry later, after at "
                       "least ",
                       absl::FormatDuration(limiter_->HetuRetryAfter()),
                       ", or ask the Silta administrator about "
                       "limits.hetu_calls_per_hour_per_org"));
      common::SetRetryAfter(&refused, limiter_->HetuRetryAfter());
      return refused;
    }
  }
  return Caller{*std::move(id), *std::move(org)};
}

absl::Status Authenticator::Recheck(const Caller& caller, absl::string_view method,
                                    absl::string_view peer) const {
  std::optional<v1::Organization> org = registry_->Find(caller.org.org_id());
  if (!org.has_value()) {
    return Refuse(absl::StatusCode::kPermissionDenied, method, peer, caller.org.org_id(),
                  "org_removed", "organisation is no longer registered");
  }
  return CheckOrg(*org, method, peer);
}

absl::Status Authenticator::CheckOrg(const v1::Organization& org, absl::string_view method,
                                     absl::string_view peer) const {
  if (org.state() != v1::ACTIVE) {
    return Refuse(absl::StatusCode::kPermissionDenied, method, peer, org.org_id(),
                  "org_suspended",
                  absl::StrCat("organisation ", org.org_id(),
                               " is suspended; contact the Silta administrator"));
  }
  std::vector<v1::Role> roles;
  for (int role : org.roles()) roles.push_back(static_cast<v1::Role>(role));
  if (!AnyRoleMayCall(roles, method)) {
    return Refuse(absl::StatusCode::kPermissionDenied, method, peer, org.org_id(),
                  "role_not_allowed",
                  absl::StrCat("organisation ", org.org_id(), " has no role that may call ",
                               method));
  }
  return absl::OkStatus();
}

}  // namespace silta::identity
