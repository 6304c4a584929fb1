// File: tests/testing/audit_batch.h
//
// A one-entry audit batch for Store calls in tests: every mutating Store
// call takes the entries recording its change. Converts to the
// store::AuditEntries* the Store takes and lives until the end of the
// full expression:
//   store->InsertOrg(org, Audit());
#ifndef SILTA_TESTS_TESTING_AUDIT_BATCH_H_
#define SILTA_TESTS_TESTING_AUDIT_BATCH_H_

#include "lib/audit/log_entry.h"
#include "server/store/store.h"

namespace silta::testing {

class Audit {
 public:
  explicit Audit(v1::AuditEventType type = v1::ORG_ADDED, absl::string_view actor = "test-org")
      : entries_{audit::NewEntry(type, absl::Now(), actor)} {}
  operator store::AuditEntries*() { return &entries_; }  // NOLINT: implicit by design

 private:
  store::AuditEntries entries_;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_AUDIT_BATCH_H_
