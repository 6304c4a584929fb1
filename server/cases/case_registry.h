// File: server/cases/case_registry.h
//
// Cases: who works with a young person, and the one adult who coordinates
// (DESIGN.md §1, "one adult"). The operations behind CaseService, on plain
// protos. Rules:
//   - a subject has at most one open case (the store enforces it too);
//   - the caller's organisation opens a case and coordinates it, with a
//     named worker; only the coordinating organisation changes membership,
//     transfers the coordinator role (an explicit, recorded hand-over) or
//     closes the case; closed cases do not change;
//   - only members see a case; anyone else gets PERMISSION_DENIED whether or
//     not it exists (no existence oracle);
//   - CheckExistingCase tells any agency only whether the subject has an
//     open case and which organisation coordinates it.
// Every change is stored atomically with a CaseEvent naming the acting user.
//
// Errors: INVALID_ARGUMENT naming the field (never echoing a HETU),
// PERMISSION_DENIED, FAILED_PRECONDITION (closed case, open case exists,
// coordinator rules), UNAVAILABLE (store). Thread-safe.
#ifndef SILTA_SERVER_CASES_CASE_REGISTRY_H_
#define SILTA_SERVER_CASES_CASE_REGISTRY_H_

#include <functional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/common/clock.h"
#include "server/cases/subject_refs.h"
#include "server/identity/caller.h"
#include "server/orgs/registry.h"
#include "server/store/domain_store.h"
#include "silta/v1/case.pb.h"

namespace silta::cases {

class CaseRegistry {
 public:
  // True if a purpose code is in the current policy.
  using PurposeCheck = std::function<bool(absl::string_view)>;
  // Whether `asker` may learn if the person `subject_ref` is a client of a
  // service and who coordinates the case (the consent engine's
  // DecideExistenceCheck; cases cannot depend on consent, so siltad
  // injects it). Must not depend on whether a case exists.
  struct ExistenceQuestion {
    const v1::Organization* asker = nullptr;
    absl::string_view subject_ref;
    absl::string_view purpose;
    absl::string_view statute_code;
    bool has_justification = false;
  };
  using ExistenceDecider = std::function<v1::Decision(const ExistenceQuestion&)>;

  static constexpr uint32_t kDefaultPageSize = 100;
  static constexpr uint32_t kMaxPageSize = 1000;
  static constexpr int kMaxMembers = 64;

  // All pointers must outlive the registry.
  // Without `may_learn_existence` nobody outside a case learns of it.
  CaseRegistry(store::DomainStore<store::CaseStore> store, const orgs::OrgRegistry* orgs,
               const SubjectRefs* subject_refs, PurposeCheck purpose_known,
               ExistenceDecider may_learn_existence, common::Clock clock = common::SystemClock())
      : store_(store),
        orgs_(orgs),
        subject_refs_(subject_refs),
        purpose_known_(std::move(purpose_known)),
        may_learn_existence_(std::move(may_learn_existence)),
        clock_(std::move(clock)) {}

  absl::StatusOr<v1::CreateCaseResponse> CreateCase(const identity::Caller& caller,
                                                    const v1::CreateCaseRequest& request);
  absl::StatusOr<v1::GetCaseResponse> GetCase(const identity::Caller& caller,
                                              const v1::GetCaseRequest& request);
  absl::StatusOr<v1::ListCasesResponse> ListCases(const identity::Caller& caller,
                                                  const v1::ListCasesRequest& request);
  absl::StatusOr<v1::AddMemberResponse> AddMember(const identity::Caller& caller,
                                                  const v1::AddMemberRequest& request);
  absl::StatusOr<v1::RemoveMemberResponse> RemoveMember(const identity::Caller& caller,
                                                        const v1::RemoveMemberRequest& request);
  absl::StatusOr<v1::TransferCoordinatorResponse> TransferCoordinator(
      const identity::Caller& caller, const v1::TransferCoordinatorRequest& request);
  absl::StatusOr<v1::CloseCaseResponse> CloseCase(const identity::Caller& caller,
                                                  const v1::CloseCaseRequest& request);
  absl::StatusOr<v1::CheckExistingCaseResponse> CheckExistingCase(
      const identity::Caller& caller, const v1::CheckExistingCaseRequest& request);

  // The case if the caller's organisation is a member; PERMISSION_DENIED
  // otherwise (also when it does not exist). For other components.
  absl::StatusOr<std::shared_ptr<const v1::Case>> GetCaseForMember(const identity::Caller& caller,
                                                                   absl::string_view case_id);

  // The case whatever the caller (for components that check rights
  // themselves); NOT_FOUND if absent.
  absl::StatusOr<std::shared_ptr<const v1::Case>> GetCaseUnchecked(absl::string_view case_id);

  // The subject's open case, if any.
  absl::StatusOr<std::optional<v1::Case>> FindOpenCase(absl::string_view subject_ref);

 private:
  // The decision whether the caller may learn of an open case of the person
  // (default deny without a decider).
  v1::Decision MayLearnExistence(const identity::Caller& caller, absl::string_view subject_ref,
                                 absl::string_view purpose, absl::string_view statute_code,
                                 absl::string_view justification) const;
  // The EXISTING_CASE_CHECKED entry of a check by the caller, with the
  // decision's rule; `detail` says how it ended.
  v1::AuditEntry ExistenceEntry(const identity::Caller& caller, const v1::ActingUser& user,
                                absl::string_view subject_ref, absl::string_view purpose,
                                const v1::Decision& decision, bool justified,
                                absl::string_view detail) const;
  // Loads a case the caller coordinates and that is open.
  absl::StatusOr<v1::Case> LoadForCoordinator(const identity::Caller& caller,
                                              absl::string_view case_id);
  absl::Status CheckMemberOrg(absl::string_view field, absl::string_view org_id) const;
  // The audit entries recording `event` on `c`.
  store::AuditEntries AuditEntriesFor(const v1::Case& c, const v1::CaseEvent& event) const;
  // Stores the case and its event with their audit entries, atomically.
  absl::Status StoreChange(const v1::Case& c, const v1::CaseEvent& event)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  v1::CaseEvent MakeEvent(const identity::Caller& caller, const v1::Case& c,
                          v1::CaseEventType type, const v1::ActingUser& user) const;

  const store::DomainStore<store::CaseStore> store_;
  const orgs::OrgRegistry* const orgs_;
  const SubjectRefs* const subject_refs_;
  const PurposeCheck purpose_known_;
  const ExistenceDecider may_learn_existence_;
  const common::Clock clock_;
  // Serialises read-modify-write of cases (one siltad instance per store).
  absl::Mutex write_mu_;
};

// True if `org_id` is a member of `c`.
bool IsMember(const v1::Case& c, absl::string_view org_id);

// Checks a worker id used as a case's coordinating worker: 1-128 printable.
absl::Status ValidateWorkerId(absl::string_view field, absl::string_view worker_id);

}  // namespace silta::cases

#endif  // SILTA_SERVER_CASES_CASE_REGISTRY_H_
