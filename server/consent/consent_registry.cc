#include "server/consent/consent_registry.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/audit/log_entry.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "lib/identity/spiffe_id.h"
#include "server/cases/age.h"
#include "server/common/logging.h"
#include "server/consent/request_link.h"
#include "server/identity/caller.h"

namespace silta::consent {
namespace {

using cases::IsMember;
using common::ToTime;
using common::ToTimestamp;

constexpr size_t kMaxRef = 256;
constexpr size_t kMaxFieldPath = 256;
constexpr int kMaxListEntries = 64;

bool HasRole(const v1::Organization& org, v1::Role role) {
  return std::find(org.roles().begin(), org.roles().end(), role) != org.roles().end();
}

absl::Status Invalid(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", what));
}

absl::Status ValidateRef(absl::string_view field, absl::string_view ref, bool required) {
  if (required && ref.empty()) return Invalid(field, "required");
  if (ref.size() > kMaxRef) return Invalid(field, absl::StrCat("at most ", kMaxRef, " characters"));
  return absl::OkStatus();
}

// Validity: from defaults to now; until (when required or set) after from.
// `has_from` says whether the request set valid_from (else it becomes now).
absl::Status ValidateValidity(bool has_from, google::protobuf::Timestamp* from,
                              const google::protobuf::Timestamp* until, bool until_required,
                              absl::string_view prefix, absl::Time now) {
  if (!has_from) *from = ToTimestamp(now);
  if (until == nullptr) {
    if (until_required) return Invalid(absl::StrCat(prefix, ".valid_until"), "required");
    return absl::OkStatus();
  }
  if (ToTime(*until) <= ToTime(*from)) {
    return Invalid(absl::StrCat(prefix, ".valid_until"), "must be after valid_from");
  }
  return absl::OkStatus();
}

}  // namespace

bool PolicyHasPurpose(const v1::Policy& policy, absl::string_view purpose) {
  return std::any_of(policy.purposes().begin(), policy.purposes().end(),
                     [purpose](const v1::PurposePolicy& p) { return p.code() == purpose; });
}

absl::Status ConsentRegistry::ReloadRecord(absl::string_view record_id,
                                           absl::string_view subject_ref) {
  SILTA_ASSIGN_OR_RETURN(store::Store::ConsentRecords record, store_->GetConsentRecord(record_id));
  for (const v1::Consent& c : record.consents) engine_->PutConsent(c);
  for (const v1::Refusal& r : record.refusals) engine_->PutRefusal(r);
  for (const v1::CompetenceAssessment& a : record.assessments) engine_->PutAssessment(a);
  if (record.consents.empty() && record.refusals.empty() && record.assessments.empty()) {
    engine_->Forget(subject_ref, record_id);  // purged
  }
  return absl::OkStatus();
}

absl::Status ConsentRegistry::LoadEngine() {
  SILTA_ASSIGN_OR_RETURN(store::Store::ConsentRecords records, store_->ListConsentRecords(""));
  DecisionEngine fresh;
  for (const v1::Consent& c : records.consents) fresh.PutConsent(c);
  for (const v1::Refusal& r : records.refusals) fresh.PutRefusal(r);
  for (const v1::CompetenceAssessment& a : records.assessments) fresh.PutAssessment(a);
  engine_->ReplaceWith(fresh);
  return absl::OkStatus();
}

v1::ConsentEvent ConsentRegistry::MakeEvent(const identity::Caller& caller,
                                            v1::ConsentEventType type,
                                            const v1::ActingUser& user) const {
  v1::ConsentEvent event;
  event.set_type(type);
  *event.mutable_at() = ToTimestamp(clock_());
  event.set_recorded_by_org_id(caller.org.org_id());
  *event.mutable_recorded_by() = user;
  return event;
}

absl::Status ConsentRegistry::CheckMayRecord(const identity::Caller& caller,
                                             absl::string_view subject_ref,
                                             absl::string_view case_id) {
  if (HasRole(caller.org, v1::CONSENT_REGISTRAR)) return absl::OkStatus();
  const absl::Status denied = absl::PermissionDeniedError(
      "only a consent registrar, or the organisation coordinating the young person's case, "
      "may record or withdraw consents and refusals");
  if (!case_id.empty()) {
    absl::StatusOr<std::shared_ptr<const v1::Case>> c = cases_->GetCaseUnchecked(case_id);
    if (!c.ok() || (*c)->subject_ref() != subject_ref ||
        (*c)->coordinator().org_id() != caller.org.org_id() || (*c)->state() != v1::OPEN) {
      return denied;
    }
    return absl::OkStatus();
  }
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::Case> open, cases_->FindOpenCase(subject_ref));
  if (!open.has_value() || open->coordinator().org_id() != caller.org.org_id()) return denied;
  return absl::OkStatus();
}

absl::Status ConsentRegistry::ValidateOrgTargets(
    const google::protobuf::RepeatedPtrField<v1::Recipient>& targets, absl::string_view field,
    absl::string_view what, bool required, bool allow_guardian) const {
  if (required && targets.empty()) {
    return Invalid(field, absl::StrCat("at least one ", what, " is required"));
  }
  if (targets.size() > kMaxListEntries) {
    return Invalid(field, absl::StrCat("at most ", kMaxListEntries, " ", what, "s"));
  }
  for (int i = 0; i < targets.size(); ++i) {
    const v1::Recipient& r = targets.Get(i);
    const std::string where = absl::StrCat(field, "[", i, "]");
    switch (r.target_case()) {
      case v1::Recipient::kOrgId:
        if (!identity::IsValidOrgId(r.org_id()) || !orgs_->Contains(r.org_id())) {
          return Invalid(where, absl::StrCat("organisation ", r.org_id(), " is not registered"));
        }
        break;
      case v1::Recipient::kOrgKind:
        if (r.org_kind() == v1::ORG_KIND_UNSPECIFIED || !v1::OrgKind_IsValid(r.org_kind())) {
          return Invalid(where, "unknown organisation kind");
        }
        break;
      case v1::Recipient::kGuardian:
        if (!allow_guardian || !r.guardian()) {
          return Invalid(where,
                         absl::StrCat("a ", what,
                                      " is an organisation (org_id or org_kind); only a "
                                      "refusal's recipients may name the guardian"));
        }
        break;
      case v1::Recipient::TARGET_NOT_SET:
        return Invalid(where, "set org_id or org_kind");
    }
  }
  return absl::OkStatus();
}

absl::Status ConsentRegistry::CheckGrantorMay(
    v1::GrantorKind grantor, const Subject& subject,
    const google::protobuf::RepeatedField<int>& categories,
    const google::protobuf::RepeatedPtrField<std::string>* purposes, absl::string_view field,
    absl::Time now) const {
  const std::optional<bool> adult = cases::IsAdultAt(subject.birth_date, now);
  if (!adult.has_value()) return cases::CheckFinnishTime();
  if (grantor == v1::GUARDIAN) {
    if (*adult) {
      return absl::FailedPreconditionError(absl::StrCat(
          field, ": the young person is 18 or older and decides alone; a guardian's consent or "
                 "refusal no longer counts (812/2000 10 §)"));
    }
    return absl::OkStatus();
  }
  if (*adult) return absl::OkStatus();
  // A minor's own grant: each category, for each purpose (any purpose when
  // none is given), needs an assessment in force.
  std::vector<std::string> wanted = {""};
  if (purposes != nullptr && !purposes->empty()) wanted.assign(purposes->begin(), purposes->end());
  for (int c : categories) {
    const auto category = static_cast<v1::Category>(c);
    for (const std::string& purpose : wanted) {
      if (!engine_->IsAssessedCompetent(subject.ref, category, purpose, now)) {
        return absl::FailedPreconditionError(absl::StrCat(
            field, ": the young person is under 18 and no competence assessment in force covers ",
            v1::Category_Name(category), purpose.empty() ? "" : " for ", purpose,
            "; record the assessment first (siltactl consent assess), or the guardian's grant"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ConsentRegistry::ValidateCategories(
    const google::protobuf::RepeatedField<int>& categories, absl::string_view field,
    const v1::Policy& policy) const {
  if (categories.empty()) return Invalid(field, "at least one category is required");
  for (int i = 0; i < categories.size(); ++i) {
    const int category = categories.Get(i);
    const bool known =
        std::any_of(policy.categories().begin(), policy.categories().end(),
                    [category](const v1::CategoryPolicy& c) { return c.category() == category; });
    if (!known) {
      return Invalid(absl::StrCat(field, "[", i, "]"), "not a data category of the policy");
    }
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateGrantor(v1::GrantorKind grantor, absl::string_view field) {
  if (grantor == v1::MINOR_ASSESSED_COMPETENT) {
    return Invalid(field,
                   "MINOR_ASSESSED_COMPETENT is no longer accepted: record the competence "
                   "assessment (RecordCompetenceAssessment) and use SUBJECT");
  }
  if (grantor != v1::SUBJECT && grantor != v1::GUARDIAN) return Invalid(field, "SUBJECT or GUARDIAN");
  return absl::OkStatus();
}

absl::Status ValidatePurposes(const google::protobuf::RepeatedPtrField<std::string>& purposes,
                              absl::string_view field, const v1::Policy& policy) {
  if (purposes.empty()) return Invalid(field, "at least one is required");
  if (purposes.size() > kMaxListEntries) {
    return Invalid(field, absl::StrCat("at most ", kMaxListEntries));
  }
  for (int i = 0; i < purposes.size(); ++i) {
    if (!PolicyHasPurpose(policy, purposes.Get(i))) {
      return Invalid(absl::StrCat(field, "[", i, "]"), "not a purpose code of the policy");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::RecordConsentResponse> ConsentRegistry::RecordConsent(
    const identity::Caller& caller, const v1::RecordConsentRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_ASSIGN_OR_RETURN(Subject subject, subject_refs_->Resolve(request.subject().hetu()));
  const std::string& subject_ref = subject.ref;
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  v1::Consent consent = request.consent();
  SILTA_RETURN_IF_ERROR(ValidateGrantor(consent.grantor(), "consent.grantor"));
  SILTA_RETURN_IF_ERROR(ValidatePurposes(consent.purposes(), "consent.purposes", *policy));
  SILTA_RETURN_IF_ERROR(ValidateCategories(consent.categories(), "consent.categories", *policy));
  for (int i = 0; i < consent.categories_size(); ++i) {
    const v1::CategoryPolicy* category = policy::FindCategory(*policy, consent.categories(i));
    if (category != nullptr && category->statute_only()) {
      return Invalid(absl::StrCat("consent.categories[", i, "]"),
                     absl::StrCat(v1::Category_Name(consent.categories(i)),
                                  " is released only under a statute: it is about someone other "
                                  "than the young person, who cannot consent for them"));
    }
    if (category == nullptr) continue;
    for (int r = 0; r < consent.recipients_size(); ++r) {
      const v1::Recipient& target = consent.recipients(r);
      v1::OrgKind kind = target.org_kind();
      if (!target.org_id().empty()) {
        const std::optional<v1::Organization> org = orgs_->Find(target.org_id());
        kind = org.has_value() ? org->kind() : v1::ORG_KIND_UNSPECIFIED;
      }
      if (std::find(category->statute_only_to().begin(), category->statute_only_to().end(),
                    static_cast<int>(kind)) != category->statute_only_to().end()) {
        return Invalid(
            absl::StrCat("consent.categories[", i, "]"),
            absl::StrCat(v1::Category_Name(consent.categories(i)), " goes to a ",
                         v1::OrgKind_Name(kind), " (consent.recipients[", r,
                         "]) only under a statutory basis, never on consent alone (GDPR Art. 10, "
                         "tietosuojalaki 7 §): leave the category out for that recipient"));
      }
    }
  }
  SILTA_RETURN_IF_ERROR(ValidateOrgTargets(consent.recipients(), "consent.recipients", "recipient",
                                           /*required=*/true, /*allow_guardian=*/false));
  SILTA_RETURN_IF_ERROR(ValidateOrgTargets(consent.disclosers(), "consent.disclosers", "discloser",
                                           /*required=*/true, /*allow_guardian=*/false));
  SILTA_RETURN_IF_ERROR(ValidateRef("consent.evidence_ref", consent.evidence_ref(), true));
  const absl::Time now = clock_();
  SILTA_RETURN_IF_ERROR(
      ValidateValidity(consent.has_valid_from(), consent.mutable_valid_from(),
                       consent.has_valid_until() ? &consent.valid_until() : nullptr,
                       /*until_required=*/true, "consent", now));
  if (!consent.case_id().empty()) {
    absl::StatusOr<std::shared_ptr<const v1::Case>> c = cases_->GetCaseUnchecked(consent.case_id());
    if (!c.ok() || (*c)->subject_ref() != subject_ref) {
      return Invalid("consent.case_id", "no such case for this young person");
    }
  }
  SILTA_RETURN_IF_ERROR(CheckMayRecord(caller, subject_ref, consent.case_id()));
  SILTA_RETURN_IF_ERROR(CheckGrantorMay(consent.grantor(), subject, consent.categories(),
                                        &consent.purposes(), "consent.grantor", now));

  SILTA_ASSIGN_OR_RETURN(std::string id, crypto::NewUuidV7(now));
  consent.set_consent_id(id);
  consent.set_subject_ref(subject_ref);
  consent.set_subject_birth_date(cases::FormatBirthDate(subject.birth_date));
  consent.clear_competence_assessment_ref();
  consent.clear_history();
  *consent.add_history() = MakeEvent(caller, v1::GIVEN, request.acting_user());
  store::AuditEntries audit = {ConsentEntry(v1::CONSENT_GIVEN, caller, request.acting_user(),
                                            subject_ref, id, consent.categories())};
  audit[0].set_case_id(consent.case_id());
  audit[0].set_purpose(absl::StrJoin(consent.purposes(), ","));
  audit[0].set_detail(v1::GrantorKind_Name(consent.grantor()));
  // Until the engine has it, a delivery decided meanwhile does not commit.
  const store::ChangeSequence::Change change = store_.changes().Begin();
  SILTA_RETURN_IF_ERROR(store_->InsertConsent(consent, &audit));
  engine_->PutConsent(consent);
  common::Log(common::LogLevel::kInfo, "consent_given",
              {{"consent_id", id}, {"org_id", caller.org.org_id()}});
  v1::RecordConsentResponse response;
  *response.mutable_consent() = std::move(consent);
  return response;
}

v1::AuditEntry ConsentRegistry::ConsentEntry(
    v1::AuditEventType type, const identity::Caller& caller, const v1::ActingUser& user,
    absl::string_view subject_ref, absl::string_view record_id,
    const google::protobuf::RepeatedField<int>& categories) const {
  v1::AuditEntry e = audit::NewEntry(type, clock_(), caller.org.org_id(), user);
  e.set_subject_ref(std::string(subject_ref));
  e.set_rule(type == v1::REFUSAL_RECORDED || type == v1::REFUSAL_WITHDRAWN ? v1::RULE_REFUSAL
                                                                           : v1::RULE_CONSENT);
  if (type == v1::COMPETENCE_ASSESSED || type == v1::COMPETENCE_ASSESSMENT_WITHDRAWN) {
    e.set_rule(v1::RULE_KIND_UNSPECIFIED);
  }
  e.set_rule_id(std::string(record_id));
  for (int c : categories) e.add_categories(static_cast<v1::Category>(c));
  return e;
}

absl::StatusOr<v1::RecordRefusalResponse> ConsentRegistry::RecordRefusal(
    const identity::Caller& caller, const v1::RecordRefusalRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_ASSIGN_OR_RETURN(Subject subject, subject_refs_->Resolve(request.subject().hetu()));
  const std::string& subject_ref = subject.ref;
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  v1::Refusal refusal = request.refusal();
  SILTA_RETURN_IF_ERROR(ValidateGrantor(refusal.grantor(), "refusal.grantor"));
  SILTA_RETURN_IF_ERROR(ValidateCategories(refusal.categories(), "refusal.categories", *policy));
  SILTA_RETURN_IF_ERROR(ValidateOrgTargets(refusal.recipients(), "refusal.recipients", "recipient",
                                           /*required=*/true, /*allow_guardian=*/true));
  SILTA_RETURN_IF_ERROR(ValidateOrgTargets(refusal.disclosers(), "refusal.disclosers", "discloser",
                                           /*required=*/false, /*allow_guardian=*/false));
  const bool prohibition = std::any_of(refusal.recipients().begin(), refusal.recipients().end(),
                                       [](const v1::Recipient& r) { return r.has_guardian(); });
  if (prohibition && refusal.recipients_size() != 1) {
    return Invalid("refusal.recipients",
                   "a prohibition of disclosure to the guardian names only the guardian; record "
                   "a refusal to organisations separately");
  }
  SILTA_RETURN_IF_ERROR(ValidateRef("refusal.evidence_ref", refusal.evidence_ref(), true));
  const absl::Time now = clock_();
  SILTA_RETURN_IF_ERROR(
      ValidateValidity(refusal.has_valid_from(), refusal.mutable_valid_from(),
                       refusal.has_valid_until() ? &refusal.valid_until() : nullptr,
                       /*until_required=*/false, "refusal", now));
  SILTA_RETURN_IF_ERROR(CheckMayRecord(caller, subject_ref, ""));
  if (prohibition) {
    // Only the minor forbids, and only one able to judge the matter
    // (812/2000 11 § 2 mom; potilaslaki 9 § 2 mom).
    if (refusal.grantor() != v1::SUBJECT) {
      return Invalid("refusal.grantor",
                     "a prohibition of disclosure to the guardian is the young person's own "
                     "(SUBJECT)");
    }
    const std::optional<bool> adult = cases::IsAdultAt(subject.birth_date, now);
    if (!adult.has_value()) return cases::CheckFinnishTime();
    if (*adult) {
      return absl::FailedPreconditionError(
          "refusal.recipients: the young person is 18 or older; a guardian has no right to "
          "their data, so there is nothing to forbid");
    }
    SILTA_RETURN_IF_ERROR(CheckGrantorMay(v1::SUBJECT, subject, refusal.categories(), nullptr,
                                          "refusal.recipients", now));
  } else if (refusal.grantor() == v1::GUARDIAN) {
    SILTA_RETURN_IF_ERROR(CheckGrantorMay(v1::GUARDIAN, subject, refusal.categories(), nullptr,
                                          "refusal.grantor", now));
  }

  SILTA_ASSIGN_OR_RETURN(std::string id, crypto::NewUuidV7(now));
  refusal.set_refusal_id(id);
  refusal.set_subject_ref(subject_ref);
  refusal.set_subject_birth_date(cases::FormatBirthDate(subject.birth_date));
  refusal.clear_history();
  *refusal.add_history() = MakeEvent(caller, v1::GIVEN, request.acting_user());
  store::AuditEntries audit = {ConsentEntry(v1::REFUSAL_RECORDED, caller, request.acting_user(),
                                            subject_ref, id, refusal.categories())};
  audit[0].set_detail(prohibition ? "GUARDIAN_PROHIBITED" : v1::GrantorKind_Name(refusal.grantor()));
  const store::ChangeSequence::Change change = store_.changes().Begin();
  SILTA_RETURN_IF_ERROR(store_->InsertRefusal(refusal, &audit));
  engine_->PutRefusal(refusal);
  common::Log(common::LogLevel::kInfo, "refusal_recorded",
              {{"refusal_id", id}, {"org_id", caller.org.org_id()}});
  v1::RecordRefusalResponse response;
  *response.mutable_refusal() = std::move(refusal);
  return response;
}

absl::StatusOr<v1::RecordCompetenceAssessmentResponse> ConsentRegistry::RecordCompetenceAssessment(
    const identity::Caller& caller, const v1::RecordCompetenceAssessmentRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_ASSIGN_OR_RETURN(Subject subject, subject_refs_->Resolve(request.subject().hetu()));
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  v1::CompetenceAssessment assessment = request.assessment();
  SILTA_RETURN_IF_ERROR(
      ValidateCategories(assessment.categories(), "assessment.categories", *policy));
  SILTA_RETURN_IF_ERROR(ValidatePurposes(assessment.purposes(), "assessment.purposes", *policy));
  if (!identity::ValidateActingUser(assessment.assessed_by()).ok()) {
    return Invalid("assessment.assessed_by.worker_id",
                   "the assessing worker's id in your own directory is required (1-128 printable "
                   "characters, never a HETU)");
  }
  SILTA_RETURN_IF_ERROR(ValidateRef("assessment.evidence_ref", assessment.evidence_ref(), true));
  const absl::Time now = clock_();
  if (!assessment.has_assessed_at()) {
    return Invalid("assessment.assessed_at", "the date of the assessment is required");
  }
  if (ToTime(assessment.assessed_at()) > now) {
    return Invalid("assessment.assessed_at", "must not be in the future");
  }
  if (assessment.has_valid_until() &&
      ToTime(assessment.valid_until()) <= ToTime(assessment.assessed_at())) {
    return Invalid("assessment.valid_until", "must be after assessed_at");
  }
  const std::optional<bool> adult = cases::IsAdultAt(subject.birth_date, now);
  if (!adult.has_value()) return cases::CheckFinnishTime();
  if (*adult) {
    return absl::FailedPreconditionError(
        "assessment: the young person is 18 or older and decides alone; no competence "
        "assessment is needed");
  }
  SILTA_RETURN_IF_ERROR(CheckMayRecord(caller, subject.ref, ""));

  SILTA_ASSIGN_OR_RETURN(std::string id, crypto::NewUuidV7(now));
  assessment.set_assessment_id(id);
  assessment.set_subject_ref(subject.ref);
  assessment.set_assessed_by_org_id(caller.org.org_id());
  assessment.set_subject_birth_date(cases::FormatBirthDate(subject.birth_date));
  assessment.clear_history();
  *assessment.add_history() = MakeEvent(caller, v1::GIVEN, request.acting_user());
  store::AuditEntries audit = {ConsentEntry(v1::COMPETENCE_ASSESSED, caller, request.acting_user(),
                                            subject.ref, id, assessment.categories())};
  audit[0].set_purpose(absl::StrJoin(assessment.purposes(), ","));
  const store::ChangeSequence::Change change = store_.changes().Begin();
  SILTA_RETURN_IF_ERROR(store_->InsertAssessment(assessment, &audit));
  engine_->PutAssessment(assessment);
  common::Log(common::LogLevel::kInfo, "competence_assessed",
              {{"assessment_id", id}, {"org_id", caller.org.org_id()}});
  v1::RecordCompetenceAssessmentResponse response;
  *response.mutable_assessment() = std::move(assessment);
  return response;
}

absl::StatusOr<v1::WithdrawConsentResponse> ConsentRegistry::WithdrawConsent(
    const identity::Caller& caller, const v1::WithdrawConsentRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  if (!crypto::IsCanonicalUuid(request.record_id())) {
    return Invalid("record_id", "must be a consent, refusal or competence assessment id");
  }
  SILTA_ASSIGN_OR_RETURN(store::Store::ConsentRecords all,
                         store_->GetConsentRecord(request.record_id()));
  const v1::ConsentEvent event = MakeEvent(caller, v1::WITHDRAWN, request.acting_user());
  // Withdraws one record of any kind: checks, audits, stores, feeds the engine.
  auto withdraw = [&](auto record, v1::AuditEventType type, absl::string_view case_id,
                      auto put) -> absl::Status {
    if (WithdrawnAt(record.history()) != absl::InfiniteFuture()) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.record_id(), " has already been withdrawn"));
    }
    SILTA_RETURN_IF_ERROR(CheckMayRecord(caller, record.subject_ref(), case_id));
    store::AuditEntries audit = {ConsentEntry(type, caller, request.acting_user(),
                                              record.subject_ref(), request.record_id(),
                                              record.categories())};
    audit[0].set_case_id(std::string(case_id));
    const store::ChangeSequence::Change change = store_.changes().Begin();
    SILTA_RETURN_IF_ERROR(store_->AppendConsentEvent(request.record_id(), event, &audit));
    *record.add_history() = event;
    put(record);
    return absl::OkStatus();
  };
  if (!all.consents.empty()) {
    const v1::Consent& c = all.consents.front();
    SILTA_RETURN_IF_ERROR(withdraw(c, v1::CONSENT_WITHDRAWN, c.case_id(),
                                   [&](const v1::Consent& r) { engine_->PutConsent(r); }));
  } else if (!all.refusals.empty()) {
    SILTA_RETURN_IF_ERROR(withdraw(all.refusals.front(), v1::REFUSAL_WITHDRAWN, "",
                                   [&](const v1::Refusal& r) { engine_->PutRefusal(r); }));
  } else if (!all.assessments.empty()) {
    SILTA_RETURN_IF_ERROR(
        withdraw(all.assessments.front(), v1::COMPETENCE_ASSESSMENT_WITHDRAWN, "",
                 [&](const v1::CompetenceAssessment& r) { engine_->PutAssessment(r); }));
  } else {
    return absl::NotFoundError(
        absl::StrCat("no consent, refusal or competence assessment ", request.record_id()));
  }
  common::Log(common::LogLevel::kInfo, "consent_withdrawn",
              {{"record_id", request.record_id()}, {"org_id", caller.org.org_id()}});
  v1::WithdrawConsentResponse response;
  *response.mutable_effective_at() = event.at();
  return response;
}

absl::StatusOr<v1::ListSubjectConsentsResponse> ConsentRegistry::ListSubjectConsents(
    const identity::Caller& caller, const v1::ListSubjectConsentsRequest& request) {
  SILTA_RETURN_IF_ERROR(identity::ValidateActingUser(request.acting_user()));
  SILTA_ASSIGN_OR_RETURN(std::string subject_ref, subject_refs_->RefFor(request.subject().hetu()));
  if (!HasRole(caller.org, v1::CONSENT_REGISTRAR)) {
    SILTA_ASSIGN_OR_RETURN(std::optional<v1::Case> open, cases_->FindOpenCase(subject_ref));
    if (!open.has_value() || !IsMember(*open, caller.org.org_id())) {
      return absl::PermissionDeniedError(
          "only a consent registrar or a member of the young person's open case may list "
          "their consents");
    }
  }
  SILTA_ASSIGN_OR_RETURN(store::Store::ConsentRecords records,
                         store_->ListConsentRecords(subject_ref));
  // Reading a person's consent records is processing of their data: it
  // appears in their subject report.
  v1::AuditEntry listed = audit::NewEntry(v1::CONSENTS_LISTED, clock_(), caller.org.org_id(),
                                          request.acting_user());
  listed.set_subject_ref(subject_ref);
  listed.set_detail(absl::StrCat("records=", records.consents.size() + records.refusals.size() +
                                                 records.assessments.size()));
  store::AuditEntries audit = {std::move(listed)};
  SILTA_RETURN_IF_ERROR(store_.audit().AppendAudit(&audit));
  v1::ListSubjectConsentsResponse response;
  for (auto it = records.consents.rbegin(); it != records.consents.rend(); ++it) {
    *response.add_consents() = std::move(*it);
  }
  for (auto it = records.refusals.rbegin(); it != records.refusals.rend(); ++it) {
    *response.add_refusals() = std::move(*it);
  }
  for (auto it = records.assessments.rbegin(); it != records.assessments.rend(); ++it) {
    *response.add_assessments() = std::move(*it);
  }
  return response;
}

absl::StatusOr<v1::PreviewDisclosureResponse> ConsentRegistry::PreviewDisclosure(
    const identity::Caller& caller, const v1::PreviewDisclosureRequest& request) {
  const std::shared_ptr<const v1::Policy> policy = policy_->Get();
  if (!PolicyHasPurpose(*policy, request.purpose())) {
    return Invalid("purpose", "not a purpose code of the policy");
  }
  if (request.recipient_org_ids().empty()) {
    return Invalid("recipient_org_ids", "at least one recipient is required");
  }
  if (request.recipient_org_ids_size() > kMaxPreviewRecipients) {
    return Invalid("recipient_org_ids", absl::StrCat("at most ", kMaxPreviewRecipients));
  }
  if (request.fields().empty()) return Invalid("fields", "at least one field is required");
  if (request.fields_size() > kMaxPreviewFields) {
    return Invalid("fields", absl::StrCat("at most ", kMaxPreviewFields));
  }
  absl::flat_hash_set<std::string> paths;
  for (int i = 0; i < request.fields_size(); ++i) {
    const v1::DraftField& f = request.fields(i);
    const std::string where = absl::StrCat("fields[", i, "]");
    if (f.path().empty() || f.path().size() > kMaxFieldPath) {
      return Invalid(absl::StrCat(where, ".path"), "1-256 characters");
    }
    if (!paths.insert(f.path()).second) return Invalid(absl::StrCat(where, ".path"), "repeated");
    google::protobuf::RepeatedField<int> one;
    one.Add(f.category());
    SILTA_RETURN_IF_ERROR(ValidateCategories(one, absl::StrCat(where, ".category"), *policy));
  }
  if (!request.statutory_basis().empty() &&
      std::none_of(
          policy->statutory_bases().begin(), policy->statutory_bases().end(),
          [&](const v1::StatutoryBasis& s) { return s.code() == request.statutory_basis(); })) {
    return Invalid("statutory_basis", "not a statutory basis of the policy");
  }
  std::vector<v1::Organization> recipients;
  for (int i = 0; i < request.recipient_org_ids_size(); ++i) {
    std::optional<v1::Organization> org = identity::IsValidOrgId(request.recipient_org_ids(i))
                                              ? orgs_->Find(request.recipient_org_ids(i))
                                              : std::nullopt;
    if (!org.has_value()) {
      return Invalid(absl::StrCat("recipient_org_ids[", i, "]"), "organisation is not registered");
    }
    recipients.push_back(*std::move(org));
  }
  std::shared_ptr<const v1::Case> c;
  if (!request.case_id().empty()) {
    if (request.has_subject()) {
      return Invalid("subject", "a case names its person: leave subject unset");
    }
    SILTA_ASSIGN_OR_RETURN(c, cases_->GetCaseForMember(caller, request.case_id()));
    if (c->state() != v1::OPEN) {
      return absl::FailedPreconditionError(absl::StrCat("case ", c->case_id(), " is closed"));
    }
  }
  // A notification outside a case: only its statutory basis decides, so the
  // preview reveals nothing about the person's consents.
  std::string outside_case_subject_ref;
  if (request.has_subject()) {
    SILTA_ASSIGN_OR_RETURN(cases::SubjectRefs::Subject subject,
                           subject_refs_->Resolve(request.subject().hetu()));
    outside_case_subject_ref = std::move(subject.ref);
  }
  const absl::Time now = clock_();
  v1::PreviewDisclosureResponse response;
  for (const v1::Organization& recipient : recipients) {
    SILTA_ASSIGN_OR_RETURN(
        const bool answers,
        AnswersRecipientRequest(store_.Of<store::MessageStore>(), *policy,
                                request.statutory_basis(), caller.org.org_id(), recipient.org_id(),
                                request.payload_type(), request.reply_to()));
    for (const v1::DraftField& f : request.fields()) {
      v1::Decision* d = response.add_decisions();
      DecisionQuery query =
          QueryInCase(c.get(), outside_case_subject_ref, caller.org, recipient, request.purpose(),
                      f.category(), now, request.statutory_basis(), request.has_justification());
      query.answers_recipient_request = answers;
      *d = engine_->Decide(query, *policy);
      d->set_field_path(f.path());
    }
  }
  return response;
}

cases::CaseRegistry::ExistenceDecider ExistenceDecider(const DecisionEngine* engine,
                                                       const PolicyHolder* policy,
                                                       common::Clock clock) {
  return [engine, policy,
          clock = std::move(clock)](const cases::CaseRegistry::ExistenceQuestion& question) {
    DecisionQuery query;
    query.recipient = question.asker;
    query.subject_ref = question.subject_ref;
    query.purpose = question.purpose;
    query.at = clock();
    query.statute_code = question.statute_code;
    query.has_justification = question.has_justification;
    return engine->DecideExistenceCheck(query, *policy->Get());
  };
}

}  // namespace silta::consent
