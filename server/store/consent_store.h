// File: server/store/consent_store.h
//
// Consents, refusals and competence assessments: records plus append-only
// events.
//
// Part of Store (store.h), which says how errors are reported and how every
// mutating call appends its audit entries in its own transaction.
#ifndef SILTA_SERVER_STORE_CONSENT_STORE_H_
#define SILTA_SERVER_STORE_CONSENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/audit_store.h"
#include "silta/v1/consent.pb.h"

namespace silta::store {

class ConsentStore {
 public:
  virtual ~ConsentStore() = default;

  // Inserts a consent whose history holds its GIVEN event. ALREADY_EXISTS
  // for a taken id.
  virtual absl::Status InsertConsent(const v1::Consent& consent, AuditEntries* audit) = 0;
  // Inserts a refusal whose history holds its GIVEN event.
  virtual absl::Status InsertRefusal(const v1::Refusal& refusal, AuditEntries* audit) = 0;
  // Inserts a competence assessment whose history holds its GIVEN event.
  virtual absl::Status InsertAssessment(const v1::CompetenceAssessment& assessment,
                                        AuditEntries* audit) = 0;
  // Appends an event to a consent's, refusal's or assessment's history.
  // NOT_FOUND if absent.
  virtual absl::Status AppendConsentEvent(absl::string_view record_id,
                                          const v1::ConsentEvent& event, AuditEntries* audit) = 0;

  // A subject's consents, refusals and competence assessments with full
  // histories; an empty subject_ref lists every subject's (engine rebuild
  // at start-up).
  struct ConsentRecords {
    std::vector<v1::Consent> consents;
    std::vector<v1::Refusal> refusals;
    std::vector<v1::CompetenceAssessment> assessments;
  };
  virtual absl::StatusOr<ConsentRecords> ListConsentRecords(absl::string_view subject_ref) = 0;
  // The one consent, refusal or assessment with this id (all vectors empty
  // if none).
  virtual absl::StatusOr<ConsentRecords> GetConsentRecord(absl::string_view record_id) = 0;

  // Deletes consents, refusals and competence assessments that ended (their
  // valid_until passed, or they were withdrawn) before `ended_before_us`,
  // with their events; returns (subject_ref, record id) of each.
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> PurgeEndedConsentRecords(
      int64_t ended_before_us) = 0;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_CONSENT_STORE_H_
