// File: server/orgs/registry.h
//
// The organisation registry: who may call siltad, as what, and whether they
// are currently allowed to. The store is the source of truth; the registry
// keeps an in-memory copy so that resolving the caller on every RPC costs a
// hash lookup, and writes through to the store before changing the copy.
//
// Seeding: at start-up and on SIGHUP the registry file is applied. Orgs in
// the file that the store lacks are added (with the file's state, ACTIVE if
// unset); orgs present are updated in name, kind, roles and region. State is
// never changed by the file once an org exists: suspension and resumption
// are admin actions over the API, and a restart must not undo them. Orgs
// added over the API and absent from the file stay.
//
// Thread-safe.
#ifndef SILTA_SERVER_ORGS_REGISTRY_H_
#define SILTA_SERVER_ORGS_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "lib/audit/log_entry.h"
#include "lib/common/clock.h"
#include "server/store/domain_store.h"
#include "silta/v1/common.pb.h"
#include "silta/v1/config.pb.h"

namespace silta::orgs {

// Checks one registry entry: org id form, display name (1-200 chars), kind
// set, at least one role, no unspecified or repeated role. INVALID_ARGUMENT
// naming the field.
absl::Status ValidateOrg(const v1::Organization& org);

// Checks a whole registry file: every entry valid and org ids unique.
// INVALID_ARGUMENT naming the entry (by index and org id) and the field.
absl::Status ValidateRegistryFile(const v1::OrgRegistryFile& file);

// What applying a seed file changed.
struct SeedResult {
  int added = 0;
  int updated = 0;
  int unchanged = 0;
};

class OrgRegistry {
 public:
  // Loads the registry from `store`, which must outlive the registry.
  // `clock` dates the entries' created_at/updated_at and their audit entries.
  static absl::StatusOr<std::unique_ptr<OrgRegistry>> Create(
      store::DomainStore<store::OrgStore> store, common::Clock clock = common::SystemClock());

  OrgRegistry(const OrgRegistry&) = delete;
  OrgRegistry& operator=(const OrgRegistry&) = delete;

  // Applies a validated seed file (see the file comment). INVALID_ARGUMENT if
  // the file is invalid (nothing applied); UNAVAILABLE on store failure.
  // Each added org is audited as ORG_ADDED by siltad (detail
  // "registry_file"); a changed entry as ORG_ADDED with detail
  // "registry_file_update".
  absl::StatusOr<SeedResult> ApplySeed(const v1::OrgRegistryFile& file);

  // The organisation, or nullopt if unknown.
  std::optional<v1::Organization> Find(absl::string_view org_id) const;
  // The same, shared and read-only (on the message path), or null if
  // unknown.
  std::shared_ptr<const v1::Organization> Get(absl::string_view org_id) const;
  // Whether it is registered.
  bool Contains(absl::string_view org_id) const;

  // All organisations ordered by org id.
  std::vector<v1::Organization> List() const;

  // Adds a new organisation (state ACTIVE unless given). INVALID_ARGUMENT,
  // ALREADY_EXISTS, UNAVAILABLE. Audited as ORG_ADDED by `actor`.
  absl::StatusOr<v1::Organization> Add(v1::Organization org, const audit::Actor& actor);

  // Sets an organisation's state. NOT_FOUND if unknown. Idempotent. The
  // change is visible to the next Find on any thread.
  // Audited as ORG_SUSPENDED / ORG_RESUMED by `actor` with `reason` as
  // detail.
  absl::StatusOr<v1::Organization> SetState(absl::string_view org_id, v1::OrgState state,
                                            const audit::Actor& actor, absl::string_view reason);

  // Reads `org_id` (empty: every organisation) from the store again, after
  // another siltad instance changed it; listeners hear of each org that
  // changed, as for a change made here.
  absl::Status Reload(absl::string_view org_id);

  // Called with the new entry after every change (add, state change, seed
  // update), on the changing thread, after the change is visible to Find and
  // with no registry lock held (a listener may call Find). Long-lived
  // streams use this to end as soon as their caller's org is suspended.
  using Listener = std::function<void(const v1::Organization&)>;
  // Registers a listener; returns its id for RemoveListener.
  int AddListener(Listener listener);
  // Unregisters. A notification already running may still complete (it holds
  // a copy of the listener), so listeners must own what they capture.
  void RemoveListener(int id);

 private:
  OrgRegistry(store::DomainStore<store::OrgStore> store, common::Clock clock)
      : store_(store), clock_(std::move(clock)) {}
  void Notify(const std::vector<v1::Organization>& changed) const;

  const store::DomainStore<store::OrgStore> store_;
  const common::Clock clock_;
  mutable absl::Mutex mu_;
  // Replaced whole on a change, never changed in place: a reader's shared
  // copy stays as it was read.
  absl::flat_hash_map<std::string, std::shared_ptr<const v1::Organization>> orgs_
      ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex listeners_mu_;
  int next_listener_id_ ABSL_GUARDED_BY(listeners_mu_) = 0;
  std::map<int, Listener> listeners_ ABSL_GUARDED_BY(listeners_mu_);
};

}  // namespace silta::orgs

#endif  // SILTA_SERVER_ORGS_REGISTRY_H_
