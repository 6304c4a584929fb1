#include "server/consent/engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/time_util.h"
#include "lib/policy/policy.h"
#include "server/cases/age.h"

namespace silta::consent {
namespace {

using common::ToTime;

template <typename Repeated, typename T>
bool Contains(const Repeated& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// `reason()` spells the reason, only if the query wants one.
template <typename Reason>
v1::Decision MakeDecision(const DecisionQuery& q, v1::Verdict verdict, v1::RuleKind rule,
                          absl::string_view rule_id, const Reason& reason) {
  v1::Decision d;
  d.set_recipient_org_id(q.recipient->org_id());
  d.set_category(q.category);
  d.set_verdict(verdict);
  d.set_rule(rule);
  d.set_rule_id(std::string(rule_id));
  if (q.with_reason) d.set_reason(reason());
  return d;
}

// Fills `set` from org targets; a guardian target names no organisation.
void FillOrgSet(const google::protobuf::RepeatedPtrField<v1::Recipient>& targets, uint64_t* kinds,
                std::vector<std::string>* orgs) {
  for (const v1::Recipient& r : targets) {
    if (r.has_org_kind()) *kinds |= Bit(r.org_kind());
    if (r.has_org_id()) orgs->push_back(r.org_id());
  }
}

}  // namespace

DecisionQuery QueryInCase(const v1::Case* c, absl::string_view outside_case_subject_ref,
                          const v1::Organization& sender, const v1::Organization& recipient,
                          absl::string_view purpose, v1::Category category, absl::Time at,
                          absl::string_view statute_code, bool has_justification) {
  DecisionQuery q;
  q.sender = &sender;
  q.recipient = &recipient;
  if (c != nullptr) {
    q.subject_ref = c->subject_ref();
    q.case_id = c->case_id();
    q.recipient_is_member = Contains(c->member_org_ids(), recipient.org_id());
  } else {
    q.subject_ref = outside_case_subject_ref;
    q.outside_case = !outside_case_subject_ref.empty();
  }
  q.purpose = purpose;
  q.category = category;
  q.at = at;
  q.statute_code = statute_code;
  q.has_justification = has_justification;
  return q;
}

absl::Time WithdrawnAt(const google::protobuf::RepeatedPtrField<v1::ConsentEvent>& history) {
  absl::Time withdrawn = absl::InfiniteFuture();
  for (const v1::ConsentEvent& e : history) {
    if (e.type() == v1::WITHDRAWN) withdrawn = ToTime(e.at());
  }
  return withdrawn;
}

bool DecisionEngine::OrgSet::Covers(const v1::Organization& org) const {
  if ((kinds & Bit(org.kind())) != 0) return true;
  return Contains(orgs, org.org_id());
}

void DecisionEngine::Put(std::vector<Rule>& rules, Rule rule) {
  for (Rule& existing : rules) {
    if (existing.id == rule.id) {
      existing = std::move(rule);
      return;
    }
  }
  rules.push_back(std::move(rule));
}

void DecisionEngine::NoteBirthDate(const std::string& subject_ref, absl::string_view birth_date) {
  std::optional<absl::CivilDay> day = cases::ParseBirthDate(birth_date);
  if (day.has_value()) subjects_[subject_ref].birth_date = day;
}

void DecisionEngine::PutConsent(const v1::Consent& consent) {
  Rule rule;
  rule.id = consent.consent_id();
  rule.grantor = consent.grantor();
  for (int c : consent.categories()) rule.categories |= Bit(c);
  FillOrgSet(consent.recipients(), &rule.recipients.kinds, &rule.recipients.orgs);
  FillOrgSet(consent.disclosers(), &rule.disclosers.kinds, &rule.disclosers.orgs);
  rule.purposes.assign(consent.purposes().begin(), consent.purposes().end());
  rule.case_id = consent.case_id();
  if (consent.has_valid_from()) rule.valid_from = ToTime(consent.valid_from());
  if (consent.has_valid_until()) rule.valid_until = ToTime(consent.valid_until());
  rule.withdrawn_at = WithdrawnAt(consent.history());
  absl::MutexLock lock(&mu_);
  NoteBirthDate(consent.subject_ref(), consent.subject_birth_date());
  Put(subjects_[consent.subject_ref()].consents, std::move(rule));
}

void DecisionEngine::PutRefusal(const v1::Refusal& refusal) {
  Rule rule;
  rule.id = refusal.refusal_id();
  rule.grantor = refusal.grantor();
  for (int c : refusal.categories()) rule.categories |= Bit(c);
  FillOrgSet(refusal.recipients(), &rule.recipients.kinds, &rule.recipients.orgs);
  FillOrgSet(refusal.disclosers(), &rule.disclosers.kinds, &rule.disclosers.orgs);
  rule.any_discloser = refusal.disclosers().empty();
  if (refusal.has_valid_from()) rule.valid_from = ToTime(refusal.valid_from());
  if (refusal.has_valid_until()) rule.valid_until = ToTime(refusal.valid_until());
  rule.withdrawn_at = WithdrawnAt(refusal.history());
  absl::MutexLock lock(&mu_);
  NoteBirthDate(refusal.subject_ref(), refusal.subject_birth_date());
  Put(subjects_[refusal.subject_ref()].refusals, std::move(rule));
}

void DecisionEngine::PutAssessment(const v1::CompetenceAssessment& assessment) {
  Rule rule;
  rule.id = assessment.assessment_id();
  for (int c : assessment.categories()) rule.categories |= Bit(c);
  rule.purposes.assign(assessment.purposes().begin(), assessment.purposes().end());
  if (assessment.has_assessed_at()) rule.valid_from = ToTime(assessment.assessed_at());
  if (assessment.has_valid_until()) rule.valid_until = ToTime(assessment.valid_until());
  rule.withdrawn_at = WithdrawnAt(assessment.history());
  absl::MutexLock lock(&mu_);
  NoteBirthDate(assessment.subject_ref(), assessment.subject_birth_date());
  Put(subjects_[assessment.subject_ref()].assessments, std::move(rule));
}

void DecisionEngine::ReplaceWith(DecisionEngine& fresh) {
  absl::MutexLock lock(&mu_);
  absl::MutexLock fresh_lock(&fresh.mu_);
  subjects_.swap(fresh.subjects_);
}

void DecisionEngine::Forget(absl::string_view subject_ref, absl::string_view record_id) {
  absl::MutexLock lock(&mu_);
  auto it = subjects_.find(subject_ref);
  if (it == subjects_.end()) return;
  for (std::vector<Rule>* rules :
       {&it->second.consents, &it->second.refusals, &it->second.assessments}) {
    std::erase_if(*rules, [&](const Rule& r) { return r.id == record_id; });
  }
  if (it->second.consents.empty() && it->second.refusals.empty() &&
      it->second.assessments.empty()) {
    subjects_.erase(it);
  }
}

std::optional<bool> DecisionEngine::AdultAt(const SubjectRules& rules, absl::Time at) {
  return rules.birth_date.has_value() ? cases::IsAdultAt(*rules.birth_date, at) : std::nullopt;
}

bool DecisionEngine::Competent(const SubjectRules& rules, uint64_t category_bit,
                               absl::string_view purpose, absl::Time at) {
  return std::any_of(rules.assessments.begin(), rules.assessments.end(), [&](const Rule& a) {
    return (a.categories & category_bit) != 0 && a.InForce(at) &&
           (purpose.empty() || Contains(a.purposes, purpose));
  });
}

bool DecisionEngine::IsAssessedCompetent(absl::string_view subject_ref, v1::Category category,
                                         absl::string_view purpose, absl::Time at) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = subjects_.find(subject_ref);
  return it != subjects_.end() && Competent(it->second, Bit(category), purpose, at);
}

bool DecisionEngine::GrantorCounts(const Rule& rule, bool is_refusal, std::optional<bool> adult,
                                   bool competent) {
  switch (rule.grantor) {
    case v1::SUBJECT:
    case v1::MINOR_ASSESSED_COMPETENT:
      return is_refusal || adult.value_or(false) || competent;
    case v1::GUARDIAN:
      if (!adult.has_value()) return is_refusal;
      return !*adult && !competent;
    default:
      return is_refusal;
  }
}

size_t DecisionEngine::RecordCount() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t count = 0;
  for (const auto& [subject, rules] : subjects_) {
    count += rules.consents.size() + rules.refusals.size() + rules.assessments.size();
  }
  return count;
}

namespace {

// The statutory basis the query claims, if it applies: in the policy, and
// the sender's kind, the recipient's kind and the category in its scope,
// with a justification where required, and for a basis of information on
// request only in answer to the recipient's own request. Otherwise nullptr,
// and `note` says why ("; ..."), for the reason of a denial.
const v1::StatutoryBasis* ApplicableStatute(const DecisionQuery& q, const v1::Policy& policy,
                                            std::string* note) {
  if (q.statute_code.empty()) return nullptr;
  const v1::StatutoryBasis* s = policy::FindStatute(policy, q.statute_code);
  if (s == nullptr) {
    *note = absl::StrCat("; statutory basis ", q.statute_code, " is not in the policy");
  } else if (!Contains(s->sender_kinds(), static_cast<int>(q.sender->kind()))) {
    *note = absl::StrCat("; ", s->citation(), " cannot be used by a ",
                         v1::OrgKind_Name(q.sender->kind()), " sender");
  } else if (!Contains(s->recipient_kinds(), static_cast<int>(q.recipient->kind()))) {
    *note = absl::StrCat("; ", s->citation(), " does not allow disclosure to a ",
                         v1::OrgKind_Name(q.recipient->kind()));
  } else if (!Contains(s->categories(), static_cast<int>(q.category))) {
    *note = absl::StrCat("; ", s->citation(), " does not cover ", v1::Category_Name(q.category));
  } else if (s->justification_required() && !q.has_justification) {
    *note = absl::StrCat("; ", s->citation(), " requires a written justification");
  } else if (s->only_in_reply_to_recipient_request() && !q.answers_recipient_request) {
    *note = absl::StrCat("; ", s->citation(),
                         " applies only to an InformationResponse answering an "
                         "InformationRequest that ",
                         q.recipient->org_id(), " sent (header.reply_to)");
  } else {
    return s;
  }
  return nullptr;
}

}  // namespace

v1::Decision DecisionEngine::Decide(const DecisionQuery& q, const v1::Policy& policy) const {
  const auto category = [&q]() -> const std::string& { return v1::Category_Name(q.category); };
  const std::string& recipient = q.recipient->org_id();

  // 0. A suspended recipient receives nothing, whatever else applies.
  if (q.recipient->state() != v1::ACTIVE) {
    return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "", [&] {
      return absl::StrCat(recipient, " is suspended and receives nothing");
    });
  }

  // 1. No subject: only non-identifying categories.
  if (q.subject_ref.empty()) {
    const v1::CategoryPolicy* c = policy::FindCategory(policy, q.category);
    if (c == nullptr || c->identifying()) {
      return MakeDecision(q, v1::DENY, v1::RULE_IDENTIFYING_WITHOUT_SUBJECT, "", [&] {
        return absl::StrCat(category(),
                            " identifies the person and may not be sent in a message "
                            "without a subject (anonymous consultation)");
      });
    }
    return MakeDecision(q, v1::PERMIT, v1::RULE_POLICY, "", [&] {
      return absl::StrCat(category(),
                          " does not identify the person; an anonymous "
                          "consultation may carry it");
    });
  }

  // 2-3. The claimed statutory basis, within its scope; then membership,
  // which a statutory notification does not wait for.
  std::string statute_note;
  const v1::StatutoryBasis* statute = ApplicableStatute(q, policy, &statute_note);
  if (!q.case_id.empty() && !q.recipient_is_member &&
      (statute == nullptr || !statute->notification())) {
    return MakeDecision(q, v1::DENY, v1::RULE_NOT_A_MEMBER, "", [&] {
      return absl::StrCat(recipient, " is not a member of case ", q.case_id);
    });
  }
  if (statute != nullptr && q.outside_case && !statute->notification()) {
    statute_note = absl::StrCat("; ", statute->citation(),
                                " is not a notification: open a case and send it there");
    statute = nullptr;
  }
  if (statute != nullptr) {
    return MakeDecision(q, v1::PERMIT, v1::RULE_STATUTE, statute->code(), [&] {
      return absl::StrCat(statute->citation(), " permits ", category(), " from ",
                          v1::OrgKind_Name(q.sender->kind()), " to ",
                          v1::OrgKind_Name(q.recipient->kind()), " without consent");
    });
  }
  // A message about a person outside any case is a notification: only its
  // statutory basis releases anything.
  if (q.outside_case) {
    return MakeDecision(q, v1::DENY, v1::RULE_OUTSIDE_CASE, "", [&] {
      return absl::StrCat(
          "outside a case only a statutory notification basis "
          "releases ",
          category(), statute_note);
    });
  }

  absl::ReaderMutexLock lock(&mu_);
  auto it = subjects_.find(q.subject_ref);
  std::string consent_note;
  if (it != subjects_.end()) {
    const SubjectRules& subject = it->second;
    const uint64_t bit = Bit(q.category);
    const std::optional<bool> adult = AdultAt(subject, q.at);
    const bool competent = Competent(subject, bit, q.purpose, q.at);
    // 4. Refusals override consents.
    for (const Rule& r : subject.refusals) {
      if ((r.categories & bit) != 0 && r.InForce(q.at) && r.recipients.Covers(*q.recipient) &&
          (r.any_discloser || r.disclosers.Covers(*q.sender)) &&
          GrantorCounts(r, /*is_refusal=*/true, adult, competent)) {
        return MakeDecision(q, v1::DENY, v1::RULE_REFUSAL, r.id, [&] {
          return absl::StrCat("refusal ", r.id, " (", v1::GrantorKind_Name(r.grantor), ") forbids ",
                              category(), " to ", recipient, statute_note);
        });
      }
    }
    // 5. Consents, unless only a statute may release the category.
    const v1::CategoryPolicy* category_policy = policy::FindCategory(policy, q.category);
    if (category_policy != nullptr && category_policy->statute_only()) {
      return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "", [&] {
        return absl::StrCat(category(),
                            " is released only under a statutory basis, "
                            "never on consent",
                            statute_note);
      });
    }
    if (category_policy != nullptr &&
        Contains(category_policy->statute_only_to(), static_cast<int>(q.recipient->kind()))) {
      return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "", [&] {
        return absl::StrCat(category(), " goes to a ", v1::OrgKind_Name(q.recipient->kind()),
                            " only under a statutory basis, never on consent alone (GDPR Art. 10)",
                            statute_note);
      });
    }
    for (const Rule& r : subject.consents) {
      if ((r.categories & bit) == 0 || !r.InForce(q.at) || !r.recipients.Covers(*q.recipient) ||
          !Contains(r.purposes, q.purpose) || (!r.case_id.empty() && r.case_id != q.case_id)) {
        continue;
      }
      if (!r.disclosers.Covers(*q.sender)) {
        if (consent_note.empty()) {
          consent_note = absl::StrCat("; consent ", r.id, " does not name ", q.sender->org_id(),
                                      " as a discloser");
        }
        continue;
      }
      if (!GrantorCounts(r, /*is_refusal=*/false, adult, competent)) {
        if (consent_note.empty()) {
          consent_note = absl::StrCat(
              "; consent ", r.id, " was given by ", v1::GrantorKind_Name(r.grantor), ", but ",
              !adult.has_value() ? "the young person's age is unknown (record the consent again)"
              : r.grantor == v1::GUARDIAN
                  ? (*adult ? "the young person is 18 or older and decides"
                            : "the young person is assessed competent and decides")
                  : "the young person is under 18 and not assessed competent for this");
        }
        continue;
      }
      return MakeDecision(q, v1::PERMIT, v1::RULE_CONSENT, r.id, [&] {
        return absl::StrCat("consent ", r.id, " (", v1::GrantorKind_Name(r.grantor), ") permits ",
                            category(), " from ", q.sender->org_id(), " to ", recipient, " for ",
                            q.purpose);
      });
    }
  }
  // 6. Default deny.
  return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "", [&] {
    return absl::StrCat("no consent in force or statutory basis permits ", category(), " to ",
                        recipient, " for ", q.purpose, consent_note, statute_note);
  });
}

v1::Decision DecisionEngine::DecideExistenceCheck(const DecisionQuery& query,
                                                  const v1::Policy& policy) const {
  constexpr v1::Category kCategory = v1::CATEGORY_SERVICE_RELATIONSHIP;
  DecisionQuery q = query;
  q.category = kCategory;
  const std::string& asker = q.recipient->org_id();
  if (q.recipient->state() != v1::ACTIVE) {
    return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "",
                        [&] { return absl::StrCat(asker, " is suspended"); });
  }
  std::string statute_note;
  if (!q.statute_code.empty()) {
    const v1::StatutoryBasis* s = policy::FindStatute(policy, q.statute_code);
    if (s == nullptr) {
      statute_note = absl::StrCat("; statutory basis ", q.statute_code, " is not in the policy");
    } else if (!s->only_in_reply_to_recipient_request()) {
      statute_note = absl::StrCat("; ", s->citation(),
                                  " is not a right to request information, so it does not "
                                  "let you ask");
    } else if (!Contains(s->recipient_kinds(), static_cast<int>(q.recipient->kind()))) {
      statute_note = absl::StrCat("; ", s->citation(), " gives no right to ask to a ",
                                  v1::OrgKind_Name(q.recipient->kind()));
    } else if (!Contains(s->categories(), static_cast<int>(kCategory))) {
      statute_note = absl::StrCat("; ", s->citation(), " does not cover ",
                                  v1::Category_Name(kCategory));
    } else if (s->justification_required() && !q.has_justification) {
      statute_note = absl::StrCat("; ", s->citation(), " requires a written justification");
    } else {
      return MakeDecision(q, v1::PERMIT, v1::RULE_STATUTE, s->code(), [&] {
        return absl::StrCat(s->citation(), " lets a ", v1::OrgKind_Name(q.recipient->kind()),
                            " ask whether the person is a client");
      });
    }
  }
  absl::ReaderMutexLock lock(&mu_);
  auto it = subjects_.find(q.subject_ref);
  if (it != subjects_.end()) {
    const SubjectRules& subject = it->second;
    const uint64_t bit = Bit(kCategory);
    const std::optional<bool> adult = AdultAt(subject, q.at);
    const bool competent = Competent(subject, bit, q.purpose, q.at);
    for (const Rule& r : subject.refusals) {
      if ((r.categories & bit) != 0 && r.InForce(q.at) && r.recipients.Covers(*q.recipient) &&
          GrantorCounts(r, /*is_refusal=*/true, adult, competent)) {
        return MakeDecision(q, v1::DENY, v1::RULE_REFUSAL, r.id, [&] {
          return absl::StrCat("refusal ", r.id, " forbids telling ", asker,
                              " whether the person is a client");
        });
      }
    }
    for (const Rule& r : subject.consents) {
      if ((r.categories & bit) != 0 && r.InForce(q.at) && r.recipients.Covers(*q.recipient) &&
          Contains(r.purposes, q.purpose) && r.case_id.empty() &&
          GrantorCounts(r, /*is_refusal=*/false, adult, competent)) {
        return MakeDecision(q, v1::PERMIT, v1::RULE_CONSENT, r.id, [&] {
          return absl::StrCat("consent ", r.id, " lets ", asker,
                              " learn whether the person is a client, for ", q.purpose);
        });
      }
    }
  }
  return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "", [&] {
    return absl::StrCat("whether the person is a client of a service is ",
                        v1::Category_Name(kCategory), ": ", asker,
                        " needs the person's consent to it for ", q.purpose,
                        ", or a statutory right to request information", statute_note);
  });
}

}  // namespace silta::consent
