// File: server/service/instance_feed.h
//
// Keeps this siltad's in-memory state in step with what the other siltad
// instances on the same PostgreSQL database commit (store::ChangeFeed): the
// org registry (a suspension ends this instance's streams of that org, as
// one made here does), the consent engine, and key bundle notices to the
// org's streams, and the delivery queues (a message accepted there reaches
// a recipient's stream here at once). The store clears its own caches (cases, key bundles)
// before it calls the feed, and calls it inside a ChangeSequence::Change,
// so no delivery decides on a half-applied change.
//
// Example:
//   InstanceFeed feed(registry, consents, keys, router);
//   SILTA_RETURN_IF_ERROR(store->FollowOthers(&feed));
//   ...
//   store->StopFollowing();  // before `feed` dies
#ifndef SILTA_SERVER_SERVICE_INSTANCE_FEED_H_
#define SILTA_SERVER_SERVICE_INSTANCE_FEED_H_

#include "server/consent/consent_registry.h"
#include "server/orgs/key_directory.h"
#include "server/orgs/registry.h"
#include "server/routing/router.h"
#include "server/store/store.h"

namespace silta::service {

class InstanceFeed final : public store::ChangeFeed {
 public:
  // All must outlive the feed's use by the store.
  InstanceFeed(orgs::OrgRegistry* orgs, consent::ConsentRegistry* consents,
               orgs::KeyDirectory* keys, routing::Router* router)
      : orgs_(orgs), consents_(consents), keys_(keys), router_(router) {}

  absl::Status Apply(const store::ChangeNotice& notice) override;
  absl::Status ReloadAll() override;
  absl::Status CatchUpPath() override;
  void OnPath(const store::PathNotice& notice) override;

 private:
  orgs::OrgRegistry* const orgs_;
  consent::ConsentRegistry* const consents_;
  orgs::KeyDirectory* const keys_;
  routing::Router* const router_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_INSTANCE_FEED_H_
