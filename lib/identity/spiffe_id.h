// File: lib/identity/spiffe_id.h
//
// Parsing of the SPIFFE ids that identify organisations' systems:
//   spiffe://<trust-domain>/org/<org-id>/sys/<system-name>
// Pure functions; no gRPC.
#ifndef SILTA_LIB_IDENTITY_SPIFFE_ID_H_
#define SILTA_LIB_IDENTITY_SPIFFE_ID_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::identity {

// A parsed system identity.
struct SpiffeId {
  std::string trust_domain;  // e.g. "silta.example.fi"
  std::string org_id;        // registry key, e.g. "hki-police"
  std::string system;        // the agency system, e.g. "case-mgmt"
};

// Parses `uri`. INVALID_ARGUMENT (with what is wrong, and the expected form)
// unless it is exactly spiffe://<trust-domain>/org/<org-id>/sys/<system>
// where the trust domain is lower-case [a-z0-9.-], and org id and system are
// 1-64 characters of [a-z0-9-] starting with a letter or digit. No query,
// fragment, port, user info, empty segments or percent-encoding.
absl::StatusOr<SpiffeId> ParseSpiffeId(absl::string_view uri);

// True if `org_id` is a well-formed organisation id: 1-64 of [a-z0-9-],
// starting with a lower-case letter or digit.
bool IsValidOrgId(absl::string_view org_id);

}  // namespace silta::identity

#endif  // SILTA_LIB_IDENTITY_SPIFFE_ID_H_
