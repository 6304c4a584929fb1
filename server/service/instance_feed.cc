#include "server/service/instance_feed.h"

#include "lib/common/status_macros.h"

namespace silta::service {

absl::Status InstanceFeed::Apply(const store::ChangeNotice& notice) {
  switch (notice.kind) {
    case store::ChangeNotice::kOrg:
      return orgs_->Reload(notice.key);
    case store::ChangeNotice::kConsentRecord:
      return consents_->ReloadRecord(notice.key, notice.subject_ref);
    case store::ChangeNotice::kKeyBundles:
      return keys_->AnnouncePublished(notice.key);
    case store::ChangeNotice::kCase:
      return absl::OkStatus();  // cases are read through the store's cache, cleared
  }
  // A kind from a newer siltad: what it touched is unknown, so read it all.
  return ReloadAll();
}

absl::Status InstanceFeed::ReloadAll() {
  SILTA_RETURN_IF_ERROR(orgs_->Reload(""));
  return consents_->LoadEngine();
}

absl::Status InstanceFeed::CatchUpPath() { return router_->Recover(); }

void InstanceFeed::OnPath(const store::PathNotice& notice) { router_->OnPathElsewhere(notice); }

}  // namespace silta::service
