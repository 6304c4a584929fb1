#include "server/consent/engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/common/time_util.h"
#include "server/consent/policy.h"

namespace silta::consent {
namespace {

using common::ToTime;

template <typename Repeated, typename T>
bool Contains(const Repeated& values, const T& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

v1::Decision MakeDecision(const DecisionQuery& q, v1::Verdict verdict, v1::RuleKind rule,
                          absl::string_view rule_id, std::string reason) {
  v1::Decision d;
  d.set_recipient_org_id(q.recipient->org_id());
  d.set_category(q.category);
  d.set_verdict(verdict);
  d.set_rule(rule);
  d.set_rule_id(std::string(rule_id));
  d.set_reason(std::move(reason));
  return d;
}

template <typename Record>
void FillCommon(const Record& record, uint64_t* categories, uint64_t* kinds,
                std::vector<std::string>* orgs) {
  for (int c : record.categories()) *categories |= Bit(c);
  for (const v1::Recipient& r : record.recipients()) {
    if (r.has_org_kind()) *kinds |= Bit(r.org_kind());
    if (!r.org_id().empty()) orgs->push_back(r.org_id());
  }
}

}  // namespace

DecisionQuery QueryInCase(const std::optional<v1::Case>& c, const v1::Organization& sender,
                          const v1::Organization& recipient, absl::string_view purpose,
                          v1::Category category, absl::Time at, absl::string_view statute_code,
                          bool has_justification) {
  DecisionQuery q;
  q.sender = &sender;
  q.recipient = &recipient;
  if (c.has_value()) {
    q.subject_ref = c->subject_ref();
    q.case_id = c->case_id();
    q.recipient_is_member = Contains(c->member_org_ids(), recipient.org_id());
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

bool DecisionEngine::Rule::CoversRecipient(const v1::Organization& recipient) const {
  if ((recipient_kinds & Bit(recipient.kind())) != 0) return true;
  return Contains(recipient_orgs, recipient.org_id());
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

void DecisionEngine::PutConsent(const v1::Consent& consent) {
  Rule rule;
  rule.id = consent.consent_id();
  FillCommon(consent, &rule.categories, &rule.recipient_kinds, &rule.recipient_orgs);
  rule.purposes.assign(consent.purposes().begin(), consent.purposes().end());
  rule.case_id = consent.case_id();
  if (consent.has_valid_from()) rule.valid_from = ToTime(consent.valid_from());
  if (consent.has_valid_until()) rule.valid_until = ToTime(consent.valid_until());
  rule.withdrawn_at = WithdrawnAt(consent.history());
  absl::MutexLock lock(&mu_);
  Put(subjects_[consent.subject_ref()].consents, std::move(rule));
}

void DecisionEngine::PutRefusal(const v1::Refusal& refusal) {
  Rule rule;
  rule.id = refusal.refusal_id();
  FillCommon(refusal, &rule.categories, &rule.recipient_kinds, &rule.recipient_orgs);
  if (refusal.has_valid_from()) rule.valid_from = ToTime(refusal.valid_from());
  if (refusal.has_valid_until()) rule.valid_until = ToTime(refusal.valid_until());
  rule.withdrawn_at = WithdrawnAt(refusal.history());
  absl::MutexLock lock(&mu_);
  Put(subjects_[refusal.subject_ref()].refusals, std::move(rule));
}

size_t DecisionEngine::RecordCount() const {
  absl::ReaderMutexLock lock(&mu_);
  size_t count = 0;
  for (const auto& [subject, rules] : subjects_) {
    count += rules.consents.size() + rules.refusals.size();
  }
  return count;
}

v1::Decision DecisionEngine::Decide(const DecisionQuery& q, const v1::Policy& policy) const {
  const std::string category = v1::Category_Name(q.category);
  const std::string& recipient = q.recipient->org_id();

  // 0. A suspended recipient receives nothing, whatever else applies.
  if (q.recipient->state() != v1::ACTIVE) {
    return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "",
                        absl::StrCat(recipient, " is suspended and receives nothing"));
  }

  // 1. No subject: only non-identifying categories.
  if (q.subject_ref.empty()) {
    const v1::CategoryPolicy* c = FindCategory(policy, q.category);
    if (c == nullptr || c->identifying()) {
      return MakeDecision(q, v1::DENY, v1::RULE_IDENTIFYING_WITHOUT_SUBJECT, "",
                          absl::StrCat(category,
                                       " identifies the person and may not be sent in a message "
                                       "without a subject (anonymous consultation)"));
    }
    return MakeDecision(q, v1::PERMIT, v1::RULE_POLICY, "",
                        absl::StrCat(category,
                                     " does not identify the person; an anonymous "
                                     "consultation may carry it"));
  }

  // 2. Case membership.
  if (!q.case_id.empty() && !q.recipient_is_member) {
    return MakeDecision(q, v1::DENY, v1::RULE_NOT_A_MEMBER, "",
                        absl::StrCat(recipient, " is not a member of case ", q.case_id));
  }

  // 3. A claimed statutory basis, within its scope.
  std::string statute_note;
  if (!q.statute_code.empty()) {
    const v1::StatutoryBasis* s = FindStatute(policy, q.statute_code);
    if (s == nullptr) {
      statute_note = absl::StrCat("; statutory basis ", q.statute_code, " is not in the policy");
    } else if (!Contains(s->sender_kinds(), static_cast<int>(q.sender->kind()))) {
      statute_note = absl::StrCat("; ", s->citation(), " cannot be used by a ",
                                  v1::OrgKind_Name(q.sender->kind()), " sender");
    } else if (!Contains(s->recipient_kinds(), static_cast<int>(q.recipient->kind()))) {
      statute_note = absl::StrCat("; ", s->citation(), " does not allow disclosure to a ",
                                  v1::OrgKind_Name(q.recipient->kind()));
    } else if (!Contains(s->categories(), static_cast<int>(q.category))) {
      statute_note = absl::StrCat("; ", s->citation(), " does not cover ", category);
    } else if (s->justification_required() && !q.has_justification) {
      statute_note = absl::StrCat("; ", s->citation(), " requires a written justification");
    } else {
      return MakeDecision(q, v1::PERMIT, v1::RULE_STATUTE, s->code(),
                          absl::StrCat(s->citation(), " permits ", category, " from ",
                                       v1::OrgKind_Name(q.sender->kind()), " to ",
                                       v1::OrgKind_Name(q.recipient->kind()), " without consent"));
    }
  }

  absl::ReaderMutexLock lock(&mu_);
  auto it = subjects_.find(q.subject_ref);
  if (it != subjects_.end()) {
    const uint64_t bit = Bit(q.category);
    // 4. Refusals override consents.
    for (const Rule& r : it->second.refusals) {
      if ((r.categories & bit) != 0 && r.InForce(q.at) && r.CoversRecipient(*q.recipient)) {
        return MakeDecision(
            q, v1::DENY, v1::RULE_REFUSAL, r.id,
            absl::StrCat("refusal ", r.id, " forbids ", category, " to ", recipient, statute_note));
      }
    }
    // 5. Consents.
    for (const Rule& r : it->second.consents) {
      if ((r.categories & bit) != 0 && r.InForce(q.at) && r.CoversRecipient(*q.recipient) &&
          Contains(r.purposes, q.purpose) && (r.case_id.empty() || r.case_id == q.case_id)) {
        return MakeDecision(q, v1::PERMIT, v1::RULE_CONSENT, r.id,
                            absl::StrCat("consent ", r.id, " permits ", category, " to ", recipient,
                                         " for ", q.purpose));
      }
    }
  }
  // 6. Default deny.
  return MakeDecision(q, v1::DENY, v1::RULE_DEFAULT_DENY, "",
                      absl::StrCat("no consent in force or statutory basis permits ", category,
                                   " to ", recipient, " for ", q.purpose, statute_note));
}

}  // namespace silta::consent
