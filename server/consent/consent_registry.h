// File: server/consent/consent_registry.h
//
// Consent records and disclosure previews: the operations behind
// ConsentService, on plain protos.
//
// Who may record: a CONSENT_REGISTRAR organisation, or an AGENCY that
// coordinates the case the record is about (a consent scoped to that case;
// a refusal or unscoped record about a subject whose open case it
// coordinates). The same rule applies to withdrawals. A subject's records
// may be listed by a registrar or by a member of the subject's open case.
// Records are events: a withdrawal is appended; nothing is edited.
// Every change reaches the decision engine before the call returns.
//
// Errors: INVALID_ARGUMENT naming the field without echoing personal data,
// PERMISSION_DENIED, FAILED_PRECONDITION, NOT_FOUND, UNAVAILABLE.
// Thread-safe.
#ifndef SILTA_SERVER_CONSENT_CONSENT_REGISTRY_H_
#define SILTA_SERVER_CONSENT_CONSENT_REGISTRY_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "server/cases/case_registry.h"
#include "server/cases/subject_refs.h"
#include "server/consent/engine.h"
#include "server/consent/policy_holder.h"
#include "server/identity/caller.h"
#include "server/orgs/registry.h"
#include "server/store/domain_store.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/consent.pb.h"

namespace silta::consent {

class ConsentRegistry {
 public:

  // Most recipients and fields in one PreviewDisclosure.
  static constexpr int kMaxPreviewRecipients = 64;
  static constexpr int kMaxPreviewFields = 256;

  // All pointers must outlive the registry.
  ConsentRegistry(store::DomainStore<store::ConsentStore, store::MessageStore> store,
                  const orgs::OrgRegistry* orgs, const cases::SubjectRefs* subject_refs,
                  cases::CaseRegistry* cases, const PolicyHolder* policy, DecisionEngine* engine,
                  common::Clock clock = common::SystemClock())
      : store_(store),
        orgs_(orgs),
        subject_refs_(subject_refs),
        cases_(cases),
        policy_(policy),
        engine_(engine),
        clock_(std::move(clock)) {}

  // Feeds every stored record into the engine (start-up).
  absl::Status LoadEngine();
  // After another siltad instance changed the record `record_id` of
  // `subject_ref` (or purged it): the engine takes it as stored now.
  absl::Status ReloadRecord(absl::string_view record_id, absl::string_view subject_ref);

  absl::StatusOr<v1::RecordConsentResponse> RecordConsent(const identity::Caller& caller,
                                                          const v1::RecordConsentRequest& request);
  absl::StatusOr<v1::RecordRefusalResponse> RecordRefusal(const identity::Caller& caller,
                                                          const v1::RecordRefusalRequest& request);
  absl::StatusOr<v1::RecordCompetenceAssessmentResponse> RecordCompetenceAssessment(
      const identity::Caller& caller, const v1::RecordCompetenceAssessmentRequest& request);
  absl::StatusOr<v1::WithdrawConsentResponse> WithdrawConsent(
      const identity::Caller& caller, const v1::WithdrawConsentRequest& request);
  absl::StatusOr<v1::ListSubjectConsentsResponse> ListSubjectConsents(
      const identity::Caller& caller, const v1::ListSubjectConsentsRequest& request);
  absl::StatusOr<v1::PreviewDisclosureResponse> PreviewDisclosure(
      const identity::Caller& caller, const v1::PreviewDisclosureRequest& request);

 private:
  // PERMISSION_DENIED unless the caller may record or withdraw for
  // `subject_ref` (optionally scoped to `case_id`).
  absl::Status CheckMayRecord(const identity::Caller& caller, absl::string_view subject_ref,
                              absl::string_view case_id);
  // Org ids and kinds; `what` names them in errors ("recipient",
  // "discloser"). A guardian target is accepted only if `allow_guardian`.
  absl::Status ValidateOrgTargets(const google::protobuf::RepeatedPtrField<v1::Recipient>& r,
                                  absl::string_view field, absl::string_view what,
                                  bool required, bool allow_guardian) const;
  using Subject = cases::SubjectRefs::Subject;
  // FAILED_PRECONDITION unless `grantor` may give a grant for `subject`
  // now: a guardian only before the 18th birthday, the subject from it or
  // where an assessment covers every category (for every purpose, if any).
  absl::Status CheckGrantorMay(v1::GrantorKind grantor, const Subject& subject,
                               const google::protobuf::RepeatedField<int>& categories,
                               const google::protobuf::RepeatedPtrField<std::string>* purposes,
                               absl::string_view field, absl::Time now) const;
  absl::Status ValidateCategories(const google::protobuf::RepeatedField<int>& categories,
                                  absl::string_view field, const v1::Policy& policy) const;
  // The audit entry of a consent or refusal change (rule_id = its id).
  v1::AuditEntry ConsentEntry(v1::AuditEventType type, const identity::Caller& caller,
                              const v1::ActingUser& user, absl::string_view subject_ref,
                              absl::string_view record_id,
                              const google::protobuf::RepeatedField<int>& categories) const;
  v1::ConsentEvent MakeEvent(const identity::Caller& caller, v1::ConsentEventType type,
                             const v1::ActingUser& user) const;

  const store::DomainStore<store::ConsentStore, store::MessageStore> store_;
  const orgs::OrgRegistry* const orgs_;
  const cases::SubjectRefs* const subject_refs_;
  cases::CaseRegistry* const cases_;
  const PolicyHolder* const policy_;
  DecisionEngine* const engine_;
  const common::Clock clock_;
};

// True if `purpose` is a purpose code of `policy`.
bool PolicyHasPurpose(const v1::Policy& policy, absl::string_view purpose);

// The CaseRegistry's existence-check decider: `engine` under the policy
// `policy` holds at the time of each call, at `clock()`. Both must outlive
// the decider.
cases::CaseRegistry::ExistenceDecider ExistenceDecider(const DecisionEngine* engine,
                                                       const PolicyHolder* policy,
                                                       common::Clock clock);

}  // namespace silta::consent

#endif  // SILTA_SERVER_CONSENT_CONSENT_REGISTRY_H_
