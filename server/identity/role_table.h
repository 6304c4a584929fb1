// File: server/identity/role_table.h
//
// The one table that says which roles may call which RPC. Default deny: a
// method missing from the table is refused to everyone. A unit test checks
// that every RPC of the silta.v1 services has exactly one row, and the full
// method × role matrix.
#ifndef SILTA_SERVER_IDENTITY_ROLE_TABLE_H_
#define SILTA_SERVER_IDENTITY_ROLE_TABLE_H_

#include <initializer_list>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "silta/v1/common.pb.h"

namespace silta::identity {

// One row: a full gRPC method name ("/silta.v1.OrgService/AddOrg") and the
// roles allowed to call it.
struct MethodRoles {
  absl::string_view method;
  std::vector<v1::Role> roles;
};

// All rows.
absl::Span<const MethodRoles> RoleTable();

// True if an organisation holding `role` may call `method`.
bool RoleMayCall(v1::Role role, absl::string_view method);

// True if `method` takes a personal identity code (a HETU) in its request:
// such calls also count against limits.hetu_calls_per_hour_per_org.
bool TakesHetu(absl::string_view method);

// True if any of `roles` may call `method`.
bool AnyRoleMayCall(absl::Span<const v1::Role> roles, absl::string_view method);

}  // namespace silta::identity

#endif  // SILTA_SERVER_IDENTITY_ROLE_TABLE_H_
