// File: server/store/org_store.h
//
// Organisations and their key bundles.
//
// Part of Store (store.h), which says how errors are reported and how every
// mutating call appends its audit entries in its own transaction.
#ifndef SILTA_SERVER_STORE_ORG_STORE_H_
#define SILTA_SERVER_STORE_ORG_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/audit_store.h"
#include "silta/v1/org.pb.h"

namespace silta::store {

// An organisation's key bundles, newest first.
using KeyBundles = std::shared_ptr<const std::vector<v1::KeyBundle>>;

class OrgStore {
 public:
  virtual ~OrgStore() = default;

  // Inserts a new organisation. ALREADY_EXISTS if org_id is taken.
  virtual absl::Status InsertOrg(const v1::Organization& org, AuditEntries* audit) = 0;

  // Replaces an existing organisation's row. NOT_FOUND if absent.
  virtual absl::Status UpdateOrg(const v1::Organization& org, AuditEntries* audit) = 0;

  // Returns the organisation or std::nullopt if unknown.
  virtual absl::StatusOr<std::optional<v1::Organization>> GetOrg(absl::string_view org_id) = 0;

  // Returns every organisation ordered by org_id.
  virtual absl::StatusOr<std::vector<v1::Organization>> ListOrgs() = 0;

  // ---- Key bundles. ----

  // Stores a verified bundle as its org's current one and marks the org's
  // earlier bundles retired (they stay, to open old messages), atomically.
  // ALREADY_EXISTS if the key_id is taken.
  virtual absl::Status PublishKeyBundle(const v1::KeyBundle& bundle, AuditEntries* audit) = 0;
  // An org's bundles, newest first; retired ones only if asked. Never null;
  // shared with the store's cache, so read-only (one Send asks four times).
  virtual absl::StatusOr<KeyBundles> ListKeyBundles(absl::string_view org_id,
                                                    bool include_retired) = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_ORG_STORE_H_
