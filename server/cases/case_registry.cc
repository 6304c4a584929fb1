#include "server/cases/case_registry.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/log_entry.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "lib/identity/spiffe_id.h"
#include "server/common/logging.h"
#include "server/identity/caller.h"

namespace silta::cases {
namespace {

using common::ToTimestamp;

constexpr size_t kMaxWorkerId = 128;
constexpr size_t kMaxReason = 500;

absl::Status NotAMember(absl::string_view case_id) {
  return absl::PermissionDeniedError(absl::StrCat("your organisation is not a member of case ",
                                                  case_id, " (or it does not exist)"));
}

absl::Status ValidateCaseId(absl::string_view case_id) {
  if (!crypto::IsCanonicalUuid(case_id)) {
    return absl::InvalidArgumentError("case_id: must be a case id as returned by CreateCase");
  }
  return absl::OkStatus();
}

}  // namespace

bool IsMember(const v1::Case& c, absl::string_view org_id) {
  return std::find(c.member_org_ids().begin(), c.member_org_ids().end(), org_id) !=
         c.member_org_ids().end();
}

// A justification is only recorded as given; its text is not kept.
constexpr size_t kMaxJustificationBytes = 4096;

absl::Status ValidateWorkerId(absl::string_view field, absl::string_view worker_id) {
  if (worker_id.empty() || worker_id.size() > kMaxWorkerId) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": required, 1-", kMaxWorkerId, " characters"));
  }
  for (char c : worker_id) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": printable ASCII only"));
    }
  }
  return absl::OkStatus();
}

absl::Status CaseRegistry::CheckMemberOrg(absl::string_view field, absl::string_view org_id) const {
  if (!identity::IsValidOrgId(org_id)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": not a valid organisation id"));
  }
  std::optional<v1::Organization> org = orgs_->Find(org_id);
  if (!org.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": organisation ", org_id, " is not registered"));
  }
  if (org->state() != v1::ACTIVE) {
    return absl::FailedPreconditionError(
        absl::StrCat(field, ": organisation ", org_id, " is suspended"));
  }
  return absl::OkStatus();
}

v1::CaseEvent CaseRegistry::MakeEvent(const identity::Caller& caller, const v1::Case& c,
                                      v1::CaseEventType type, const v1::ActingUser& user) const {
  v1::CaseEvent event;
  event.set_case_id(c.case_id());
  event.set_type(type);
  *event.mutable_at() = ToTimestamp(clock_());
  event.set_actor_org_id(caller.org.org_id());
  *event.mutable_acting_user() = user;
  return event;
}

namespace {

v1::AuditEventType AuditType(v1::CaseEventType type) {
  switch (type) {
    case v1::CASE_OPENED:
      return v1::CASE_CREATED;
    case v1::MEMBER_ADDED:
      return v1::CASE_MEMBER_ADDED;
    case v1::MEMBER_REMOVED:
      return v1::CASE_MEMBER_REMOVED;
    case v1::COORDINATOR_CHANGED:
      return v1::COORDINATOR_TRANSFERRED;
    case v1::CASE_CLOSED_EVENT:
      return v1::CASE_CLOSED;
    default:
      return v1::AUDIT_EVENT_TYPE_UNSPECIFIED;
  }
}

}  // namespace

store::AuditEntries CaseRegistry::AuditEntriesFor(const v1::Case& c,
                                                  const v1::CaseEvent& event) const {
  v1::AuditEntry e = audit::NewEntry(AuditType(event.type()), common::ToTime(event.at()),
                                     event.actor_org_id(), event.acting_user());
  e.set_case_id(c.case_id());
  e.set_subject_ref(c.subject_ref());
  e.set_purpose(c.purpose());
  e.set_counterpart_org_id(event.counterpart_org_id());
  e.set_detail(event.reason());
  store::AuditEntries out = {e};
  if (event.type() == v1::CASE_OPENED) {
    // The initial members, one entry each, so that membership can be
    // replayed from the log alone.
    for (const std::string& org_id : c.member_org_ids()) {
      if (org_id == event.actor_org_id()) continue;
      v1::AuditEntry added = e;
      added.set_type(v1::CASE_MEMBER_ADDED);
      added.set_counterpart_org_id(org_id);
      added.set_detail("at_creation");
      out.push_back(std::move(added));
    }
  }
  return out;
}

absl::Status CaseRegistry::StoreChange(const v1::Case& c, const v1::CaseEvent& event) {
  store::AuditEntries audit = AuditEntriesFor(c, event);
  // The store's case cache is cleared before it returns.
  const store::ChangeSequence::Change change = store_.changes().Begin();
  if (event.type() == v1::CASE_OPENED) return store_->CreateCase(c, event, &audit);
  return store_->UpdateCase(c, event, &audit);
}

absl::StatusOr<v1::CreateCaseResponse> CaseRegistry::CreateCase(
    const identity::Caller& caller, const v1::CreateCaseRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_ASSIGN_OR_RETURN(std::string subject_ref, subject_refs_->RefFor(request.subject().hetu()));
  if (!purpose_known_(request.purpose())) {
    return absl::InvalidArgumentError("purpose: not a purpose code of the policy");
  }
  SILTA_RETURN_IF_ERROR(ValidateWorkerId("coordinator_worker_id", request.coordinator_worker_id()));
  if (request.justification().size() > kMaxJustificationBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("justification: at most ", kMaxJustificationBytes, " bytes"));
  }
  if (request.member_org_ids_size() + 1 > kMaxMembers) {
    return absl::InvalidArgumentError(
        absl::StrCat("member_org_ids: a case has at most ", kMaxMembers, " members"));
  }
  const absl::Time now = clock_();
  SILTA_ASSIGN_OR_RETURN(std::string case_id, crypto::NewUuidV7(now));
  v1::Case c;
  c.set_case_id(case_id);
  c.set_subject_ref(subject_ref);
  c.set_purpose(request.purpose());
  c.mutable_coordinator()->set_org_id(caller.org.org_id());
  c.mutable_coordinator()->set_worker_id(request.coordinator_worker_id());
  c.add_member_org_ids(caller.org.org_id());
  for (int i = 0; i < request.member_org_ids_size(); ++i) {
    const std::string& org_id = request.member_org_ids(i);
    SILTA_RETURN_IF_ERROR(CheckMemberOrg(absl::StrCat("member_org_ids[", i, "]"), org_id));
    if (!IsMember(c, org_id)) c.add_member_org_ids(org_id);
  }
  c.set_state(v1::OPEN);
  *c.mutable_created_at() = ToTimestamp(now);
  v1::CaseEvent event = MakeEvent(caller, c, v1::CASE_OPENED, request.acting_user());
  event.set_coordinator_worker_id(request.coordinator_worker_id());

  absl::MutexLock lock(&write_mu_);
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::Case> open, store_->FindOpenCase(subject_ref));
  if (open.has_value()) {
    // One case per person. The refusal itself tells that the person is a
    // client somewhere, which cannot be helped; who coordinates is told
    // only to a member of that case or to an organisation that may learn
    // it (consent or a right to request information). Either way the
    // check is evidence.
    const v1::Decision may_learn =
        IsMember(*open, caller.org.org_id())
            ? v1::Decision()
            : MayLearnExistence(caller, subject_ref, request.purpose(),
                                request.statutory_basis(), request.justification());
    const bool named = IsMember(*open, caller.org.org_id()) || may_learn.verdict() == v1::PERMIT;
    v1::AuditEntry entry =
        ExistenceEntry(caller, request.acting_user(), subject_ref, request.purpose(), may_learn,
                       !request.justification().empty(),
                       named ? "create_case_refused_named" : "create_case_refused");
    if (named) {
      entry.set_case_id(open->case_id());
      entry.set_counterpart_org_id(open->coordinator().org_id());
    }
    store::AuditEntries audit = {std::move(entry)};
    SILTA_RETURN_IF_ERROR(store_.audit().AppendAudit(&audit));
    if (!named) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the young person already has an open case; your organisation may not learn who "
          "coordinates it (",
          may_learn.reason(),
          "). Ask the young person or the guardian, or check again with a basis "
          "(CheckExistingCase)"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "the young person already has an open case coordinated by ", open->coordinator().org_id(),
        "; ask them to add your organisation as a member"));
  }
  SILTA_RETURN_IF_ERROR(StoreChange(c, event));
  common::Log(common::LogLevel::kInfo, "case_opened",
              {{"case_id", c.case_id()}, {"org_id", caller.org.org_id()}});
  v1::CreateCaseResponse response;
  *response.mutable_case_() = std::move(c);
  return response;
}

absl::StatusOr<std::shared_ptr<const v1::Case>> CaseRegistry::GetCaseUnchecked(
    absl::string_view case_id) {
  SILTA_RETURN_IF_ERROR(ValidateCaseId(case_id));
  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<const v1::Case> c, store_->GetCase(case_id));
  if (c == nullptr) return absl::NotFoundError(absl::StrCat("case ", case_id, " not found"));
  return c;
}

absl::StatusOr<std::shared_ptr<const v1::Case>> CaseRegistry::GetCaseForMember(
    const identity::Caller& caller, absl::string_view case_id) {
  SILTA_RETURN_IF_ERROR(ValidateCaseId(case_id));
  SILTA_ASSIGN_OR_RETURN(std::shared_ptr<const v1::Case> c, store_->GetCase(case_id));
  if (c == nullptr || !IsMember(*c, caller.org.org_id())) return NotAMember(case_id);
  return c;
}

absl::StatusOr<std::optional<v1::Case>> CaseRegistry::FindOpenCase(absl::string_view subject_ref) {
  return store_->FindOpenCase(subject_ref);
}

absl::StatusOr<v1::Case> CaseRegistry::LoadForCoordinator(const identity::Caller& caller,
                                                          absl::string_view case_id) {
  SILTA_ASSIGN_OR_RETURN(const std::shared_ptr<const v1::Case> shared,
                         GetCaseForMember(caller, case_id));
  v1::Case c = *shared;  // the caller changes it
  if (c.coordinator().org_id() != caller.org.org_id()) {
    return absl::PermissionDeniedError(absl::StrCat("only the coordinating organisation (",
                                                    c.coordinator().org_id(), ") may change case ",
                                                    case_id));
  }
  if (c.state() != v1::OPEN) {
    return absl::FailedPreconditionError(absl::StrCat("case ", case_id, " is closed"));
  }
  return c;
}

absl::StatusOr<v1::GetCaseResponse> CaseRegistry::GetCase(const identity::Caller& caller,
                                                          const v1::GetCaseRequest& request) {
  SILTA_ASSIGN_OR_RETURN(const std::shared_ptr<const v1::Case> c,
                         GetCaseForMember(caller, request.case_id()));
  v1::GetCaseResponse response;
  *response.mutable_case_() = *c;
  return response;
}

absl::StatusOr<v1::ListCasesResponse> CaseRegistry::ListCases(const identity::Caller& caller,
                                                              const v1::ListCasesRequest& request) {
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size: at most ", kMaxPageSize));
  }
  if (!v1::CaseState_IsValid(request.state())) {
    return absl::InvalidArgumentError("state: unknown case state");
  }
  const uint32_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  uint32_t offset = 0;
  if (!request.page_token().empty() && !absl::SimpleAtoi(request.page_token(), &offset)) {
    return absl::InvalidArgumentError("page_token: not a token returned by ListCases");
  }
  SILTA_ASSIGN_OR_RETURN(
      std::vector<v1::Case> cases,
      store_->ListCasesForOrg(caller.org.org_id(), request.state(), offset, page_size + 1));
  v1::ListCasesResponse response;
  for (size_t i = 0; i < cases.size() && i < page_size; ++i) {
    *response.add_cases() = std::move(cases[i]);
  }
  if (cases.size() > page_size) response.set_next_page_token(absl::StrCat(offset + page_size));
  return response;
}

absl::StatusOr<v1::AddMemberResponse> CaseRegistry::AddMember(const identity::Caller& caller,
                                                              const v1::AddMemberRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_RETURN_IF_ERROR(CheckMemberOrg("org_id", request.org_id()));
  absl::MutexLock lock(&write_mu_);
  SILTA_ASSIGN_OR_RETURN(v1::Case c, LoadForCoordinator(caller, request.case_id()));
  if (!IsMember(c, request.org_id())) {
    if (c.member_org_ids_size() >= kMaxMembers) {
      return absl::FailedPreconditionError(
          absl::StrCat("case ", c.case_id(), " already has ", kMaxMembers, " members"));
    }
    c.add_member_org_ids(request.org_id());
    v1::CaseEvent event = MakeEvent(caller, c, v1::MEMBER_ADDED, request.acting_user());
    event.set_counterpart_org_id(request.org_id());
    SILTA_RETURN_IF_ERROR(StoreChange(c, event));
  }
  v1::AddMemberResponse response;
  *response.mutable_case_() = std::move(c);
  return response;
}

absl::StatusOr<v1::RemoveMemberResponse> CaseRegistry::RemoveMember(
    const identity::Caller& caller, const v1::RemoveMemberRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  if (!identity::IsValidOrgId(request.org_id())) {
    return absl::InvalidArgumentError("org_id: not a valid organisation id");
  }
  absl::MutexLock lock(&write_mu_);
  SILTA_ASSIGN_OR_RETURN(v1::Case c, LoadForCoordinator(caller, request.case_id()));
  if (request.org_id() == c.coordinator().org_id()) {
    return absl::FailedPreconditionError(
        "the coordinating organisation cannot be removed; transfer the coordinator role first");
  }
  auto* members = c.mutable_member_org_ids();
  auto it = std::find(members->begin(), members->end(), request.org_id());
  if (it != members->end()) {
    members->erase(it);
    v1::CaseEvent event = MakeEvent(caller, c, v1::MEMBER_REMOVED, request.acting_user());
    event.set_counterpart_org_id(request.org_id());
    SILTA_RETURN_IF_ERROR(StoreChange(c, event));
  }
  v1::RemoveMemberResponse response;
  *response.mutable_case_() = std::move(c);
  return response;
}

absl::StatusOr<v1::TransferCoordinatorResponse> CaseRegistry::TransferCoordinator(
    const identity::Caller& caller, const v1::TransferCoordinatorRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_RETURN_IF_ERROR(
      CheckMemberOrg("new_coordinator.org_id", request.new_coordinator().org_id()));
  SILTA_RETURN_IF_ERROR(
      ValidateWorkerId("new_coordinator.worker_id", request.new_coordinator().worker_id()));
  if (request.reason().size() > kMaxReason) {
    return absl::InvalidArgumentError(absl::StrCat("reason: at most ", kMaxReason, " characters"));
  }
  absl::MutexLock lock(&write_mu_);
  SILTA_ASSIGN_OR_RETURN(v1::Case c, LoadForCoordinator(caller, request.case_id()));
  if (!IsMember(c, request.new_coordinator().org_id())) {
    return absl::FailedPreconditionError(
        absl::StrCat("new_coordinator.org_id: ", request.new_coordinator().org_id(),
                     " is not a member of the case; add it first"));
  }
  *c.mutable_coordinator() = request.new_coordinator();
  v1::CaseEvent event = MakeEvent(caller, c, v1::COORDINATOR_CHANGED, request.acting_user());
  event.set_counterpart_org_id(request.new_coordinator().org_id());
  event.set_coordinator_worker_id(request.new_coordinator().worker_id());
  event.set_reason(request.reason());
  SILTA_RETURN_IF_ERROR(StoreChange(c, event));
  common::Log(common::LogLevel::kInfo, "coordinator_transferred",
              {{"case_id", c.case_id()},
               {"from_org_id", caller.org.org_id()},
               {"to_org_id", c.coordinator().org_id()}});
  v1::TransferCoordinatorResponse response;
  *response.mutable_case_() = std::move(c);
  return response;
}

absl::StatusOr<v1::CloseCaseResponse> CaseRegistry::CloseCase(const identity::Caller& caller,
                                                              const v1::CloseCaseRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  absl::MutexLock lock(&write_mu_);
  SILTA_ASSIGN_OR_RETURN(v1::Case c, LoadForCoordinator(caller, request.case_id()));
  c.set_state(v1::CLOSED);
  *c.mutable_closed_at() = ToTimestamp(clock_());
  SILTA_RETURN_IF_ERROR(
      StoreChange(c, MakeEvent(caller, c, v1::CASE_CLOSED_EVENT, request.acting_user())));
  v1::CloseCaseResponse response;
  *response.mutable_case_() = std::move(c);
  return response;
}

v1::Decision CaseRegistry::MayLearnExistence(const identity::Caller& caller,
                                             absl::string_view subject_ref,
                                             absl::string_view purpose,
                                             absl::string_view statute_code,
                                             absl::string_view justification) const {
  if (!may_learn_existence_) {
    v1::Decision denied;
    denied.set_verdict(v1::DENY);
    denied.set_rule(v1::RULE_DEFAULT_DENY);
    denied.set_reason("no consent or statutory basis can be checked");
    return denied;
  }
  return may_learn_existence_(ExistenceQuestion{.asker = &caller.org,
                                                .subject_ref = subject_ref,
                                                .purpose = purpose,
                                                .statute_code = statute_code,
                                                .has_justification = !justification.empty()});
}

v1::AuditEntry CaseRegistry::ExistenceEntry(const identity::Caller& caller,
                                            const v1::ActingUser& user,
                                            absl::string_view subject_ref,
                                            absl::string_view purpose,
                                            const v1::Decision& decision, bool justified,
                                            absl::string_view detail) const {
  v1::AuditEntry entry =
      audit::NewEntry(v1::EXISTING_CASE_CHECKED, clock_(), caller.org.org_id(), user);
  entry.set_subject_ref(std::string(subject_ref));
  entry.set_purpose(std::string(purpose));
  entry.add_categories(v1::CATEGORY_SERVICE_RELATIONSHIP);
  entry.set_rule(decision.rule());
  entry.set_rule_id(decision.rule_id());
  entry.set_justification_present(justified);
  entry.set_detail(std::string(detail));
  return entry;
}

absl::StatusOr<v1::CheckExistingCaseResponse> CaseRegistry::CheckExistingCase(
    const identity::Caller& caller, const v1::CheckExistingCaseRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  if (!purpose_known_(request.purpose())) {
    return absl::InvalidArgumentError(
        "purpose: required, a purpose code of the policy (what you would open the case for)");
  }
  if (request.justification().size() > kMaxJustificationBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("justification: at most ", kMaxJustificationBytes, " bytes"));
  }
  SILTA_ASSIGN_OR_RETURN(std::string subject_ref, subject_refs_->RefFor(request.subject().hetu()));
  const v1::Decision may_learn =
      MayLearnExistence(caller, subject_ref, request.purpose(), request.statutory_basis(),
                        request.justification());
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::Case> open, store_->FindOpenCase(subject_ref));
  // A member of the case knows of it already; anyone else is answered only
  // when permitted, and refused alike whether or not a case exists.
  const bool member = open.has_value() && IsMember(*open, caller.org.org_id());
  const bool answered = member || may_learn.verdict() == v1::PERMIT;
  // Asking is itself a disclosure (that the person is a client of some
  // service), so it is evidence too, answered or not.
  v1::AuditEntry entry = ExistenceEntry(
      caller, request.acting_user(), subject_ref, request.purpose(), may_learn,
      !request.justification().empty(),
      !answered ? "refused" : (open.has_value() ? "found" : "not_found"));
  if (answered && open.has_value()) {
    entry.set_case_id(open->case_id());
    entry.set_counterpart_org_id(open->coordinator().org_id());
  }
  store::AuditEntries audit = {std::move(entry)};
  SILTA_RETURN_IF_ERROR(store_.audit().AppendAudit(&audit));
  common::Log(common::LogLevel::kInfo, "existing_case_checked",
              {{"org_id", caller.org.org_id()},
               {"answered", answered ? "yes" : "no"},
               {"found", answered ? (open.has_value() ? "yes" : "no") : "not told"}});
  if (!answered) {
    return absl::PermissionDeniedError(absl::StrCat(
        "not told whether the young person has a case: ", may_learn.reason()));
  }
  v1::CheckExistingCaseResponse response;
  if (open.has_value()) {
    response.set_open_case_exists(true);
    response.set_coordinator_org_id(open->coordinator().org_id());
    std::optional<v1::Organization> org = orgs_->Find(open->coordinator().org_id());
    if (org.has_value()) response.set_coordinator_org_name(org->display_name());
  }
  return response;
}

}  // namespace silta::cases
