// File: server/store/store.h
//
// The storage interface of siltad. Two implementations: SQLite (embedded,
// one instance; store/sqlite/) and PostgreSQL (several instances; a later
// issue). Callers see protos and absl::Status, never SQL or driver types.
//
// Implementations are expected to be thread-safe. Every mutating call is
// durable (fsynced) when it returns OK. Errors:
//   NOT_FOUND          the row does not exist (where noted)
//   ALREADY_EXISTS     a unique key is taken
//   UNAVAILABLE        transient database failure (busy, I/O); safe to retry
//   INTERNAL           corrupt data or a broken invariant
#ifndef SILTA_SERVER_STORE_STORE_H_
#define SILTA_SERVER_STORE_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "silta/v1/common.pb.h"

namespace silta::store {

class Store {
 public:
  virtual ~Store() = default;

  // The schema version the database is at (the highest applied migration).
  virtual absl::StatusOr<int> SchemaVersion() = 0;

  // Inserts a new organisation. ALREADY_EXISTS if org_id is taken.
  virtual absl::Status InsertOrg(const v1::Organization& org) = 0;

  // Replaces an existing organisation's row. NOT_FOUND if absent.
  virtual absl::Status UpdateOrg(const v1::Organization& org) = 0;

  // Returns the organisation or std::nullopt if unknown.
  virtual absl::StatusOr<std::optional<v1::Organization>> GetOrg(
      absl::string_view org_id) = 0;

  // Returns every organisation ordered by org_id.
  virtual absl::StatusOr<std::vector<v1::Organization>> ListOrgs() = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_STORE_H_
