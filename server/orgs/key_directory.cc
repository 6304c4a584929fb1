#include "server/orgs/key_directory.h"

#include "absl/strings/str_cat.h"
#include "lib/audit/log_entry.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/identity/spiffe_id.h"
#include "server/common/logging.h"
#include "server/orgs/org_admin.h"

namespace silta::orgs {
namespace {

// A new bundle must have a higher epoch than `current`, and continue it
// while it is valid: only whoever holds the current keys rotates them.
absl::Status CheckSuccession(const v1::KeyBundle& bundle, const v1::KeyBundle* current,
                             absl::Time now) {
  if (current == nullptr) {
    if (!bundle.previous_key_id().empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "bundle.previous_key_id: ", bundle.org_id(), " has no current bundle ",
          bundle.previous_key_id(), "; publish without previous_key_id"));
    }
    return absl::OkStatus();
  }
  if (bundle.epoch() <= current->epoch()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle.epoch: must be above ", current->epoch(), ", the epoch of the current bundle ",
        current->key_id(), "; create the new keys in the keys directory that holds it"));
  }
  const bool current_valid = common::ToTime(current->not_after()) > now;
  if (bundle.previous_key_id().empty()) {
    if (!current_valid) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "bundle.previous_key_id: the current bundle ", current->key_id(),
        " is valid until ", absl::FormatTime(common::ToTime(current->not_after())),
        "; a new bundle must continue it (signed with its key: `siltactl keys rotate` in the "
        "keys directory that holds it), or wait until it expires"));
  }
  if (absl::Status linked = crypto::VerifyContinuity(bundle, *current); !linked.ok()) {
    return absl::FailedPreconditionError(linked.message());
  }
  return absl::OkStatus();
}

std::string SpiffeUri(const identity::Caller& caller) {
  return absl::StrCat("spiffe://", caller.spiffe_id.trust_domain, "/org/", caller.spiffe_id.org_id,
                      "/sys/", caller.spiffe_id.system);
}

}  // namespace

absl::StatusOr<v1::PublishKeyBundleResponse> KeyDirectory::PublishKeyBundle(
    const identity::Caller& caller, const v1::PublishKeyBundleRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  const v1::KeyBundle& bundle = request.bundle();
  if (bundle.org_id() != caller.org.org_id()) {
    return absl::PermissionDeniedError(
        absl::StrCat("an organisation publishes only its own keys; bundle.org_id must be ",
                     caller.org.org_id()));
  }
  const absl::Time now = clock_();
  crypto::TrustAnchors anchors{.ca_pem = "", .trust_domain = trust_domain_,
                               .crl_directory = crl_directory_};
  SILTA_ASSIGN_OR_RETURN(anchors.ca_pem, common::ReadFile(ca_file_));
  SILTA_RETURN_IF_ERROR(crypto::VerifyKeyBundle(bundle, caller.org.org_id(), anchors, now));
  SILTA_ASSIGN_OR_RETURN(const store::KeyBundles current,
                         store_->ListKeyBundles(bundle.org_id(), /*include_retired=*/false));
  SILTA_RETURN_IF_ERROR(
      CheckSuccession(bundle, current->empty() ? nullptr : &current->front(), now));
  v1::AuditEntry entry = audit::NewEntry(v1::KEY_BUNDLE_PUBLISHED, now, caller.org.org_id(),
                                         request.acting_user());
  entry.set_detail(absl::StrCat(bundle.key_id(), " epoch ", bundle.epoch(), " by ",
                                SpiffeUri(caller)));
  store::AuditEntries audit = {std::move(entry)};
  SILTA_RETURN_IF_ERROR(store_->PublishKeyBundle(bundle, &audit));
  common::Log(common::LogLevel::kInfo, "key_bundle_published",
              {{"org_id", bundle.org_id()},
               {"key_id", bundle.key_id()},
               {"epoch", absl::StrCat(bundle.epoch())},
               {"publisher", SpiffeUri(caller)}});
  v1::KeyBundleNotice notice;
  notice.set_key_id(bundle.key_id());
  notice.set_epoch(bundle.epoch());
  *notice.mutable_acting_user() = request.acting_user();
  notice.set_publisher_spiffe_id(SpiffeUri(caller));
  *notice.mutable_published_at() = common::ToTimestamp(now);
  for (const NoticeListener& listener : listeners_.Of({bundle.org_id()})) listener(notice);
  v1::PublishKeyBundleResponse response;
  *response.mutable_bundle() = bundle;
  return response;
}

int KeyDirectory::AddNoticeListener(absl::string_view org_id, NoticeListener listener) {
  return listeners_.Add(org_id, std::move(listener));
}

void KeyDirectory::RemoveNoticeListener(int id) { listeners_.Remove(id); }

absl::Status KeyDirectory::AnnouncePublished(absl::string_view org_id) {
  SILTA_ASSIGN_OR_RETURN(const store::KeyBundles current,
                         store_->ListKeyBundles(org_id, /*include_retired=*/false));
  if (current->empty()) return absl::OkStatus();
  v1::KeyBundleNotice notice;
  notice.set_key_id(current->front().key_id());
  notice.set_epoch(current->front().epoch());
  *notice.mutable_published_at() = common::ToTimestamp(clock_());
  for (const NoticeListener& listener : listeners_.Of({std::string(org_id)})) listener(notice);
  return absl::OkStatus();
}

absl::StatusOr<v1::GetKeyBundlesResponse> KeyDirectory::GetKeyBundles(
    const v1::GetKeyBundlesRequest& request) {
  if (!identity::IsValidOrgId(request.org_id())) {
    return absl::InvalidArgumentError("org_id: must be 1-64 characters of a-z, 0-9 and '-'");
  }
  SILTA_ASSIGN_OR_RETURN(const store::KeyBundles bundles,
                         store_->ListKeyBundles(request.org_id(), request.include_retired()));
  v1::GetKeyBundlesResponse response;
  for (const v1::KeyBundle& b : *bundles) *response.add_bundles() = b;
  return response;
}

absl::StatusOr<std::shared_ptr<const v1::KeyBundle>> KeyDirectory::UsableBundle(
    absl::string_view org_id, absl::string_view key_id, absl::Time now, absl::string_view field) {
  SILTA_ASSIGN_OR_RETURN(const store::KeyBundles bundles,
                         store_->ListKeyBundles(org_id, /*include_retired=*/true));
  // Newest first: the bundle before `key_id` in the list replaced it.
  for (size_t i = 0; i < bundles->size(); ++i) {
    const v1::KeyBundle& b = (*bundles)[i];
    if (b.key_id() != key_id) continue;
    const absl::Time not_after = common::ToTime(b.not_after());
    if (now < common::ToTime(b.not_before()) || now >= not_after) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": key ", key_id, " of ", org_id, " is not valid now (valid until ",
          absl::FormatTime(not_after, absl::UTCTimeZone()), "); use the current key"));
    }
    if (i > 0) {
      const v1::KeyBundle& successor = (*bundles)[i - 1];
      const absl::Time replaced = common::ToTime(successor.not_before());
      if (now >= replaced + crypto::kRotationOverlap) {
        return absl::InvalidArgumentError(absl::StrCat(
            field, ": key ", key_id, " of ", org_id, " was replaced by ", successor.key_id(),
            " at ", absl::FormatTime(replaced, absl::UTCTimeZone()),
            "; use the current key"));
      }
    }
    return std::shared_ptr<const v1::KeyBundle>(bundles, &b);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", org_id, " has published no key bundle ", key_id));
}

}  // namespace silta::orgs
