// File: server/consent/engine.h
//
// The disclosure decision engine: for one field category, from a sender to a
// recipient, about a subject, in a case, for a purpose, at a time — PERMIT or
// DENY, with the rule that determined it and a reason a person can read.
//
// Rules, in order:
//   0. A suspended recipient is denied everything (RULE_DEFAULT_DENY).
//   1. No subject (an anonymous consultation, NERO): identifying categories
//      are denied (RULE_IDENTIFYING_WITHOUT_SUBJECT); others are permitted by
//      policy (RULE_POLICY), since nothing identifies the person.
//   2. A statutory basis claimed in the message applies when it is in the
//      policy, the sender's kind, the recipient's kind and the category are in
//      its scope, and a justification is present where it requires one; a
//      basis for information on request applies only to an answer to the
//      recipient's own request. Outside its scope it does not apply.
//   3. With a case, the recipient must be a member (RULE_NOT_A_MEMBER),
//      unless the basis that applies is a notification (lsl 25 §, shl 35 §):
//      a notification does not wait for membership. A basis that applies
//      then permits (RULE_STATUTE), overriding refusals. A message about a
//      person outside any case (a notification sent with SendRequest.subject)
//      is released by nothing else (RULE_OUTSIDE_CASE).
//   4. A refusal in force for the category, recipient and sender (its
//      disclosers; none named means every sender), by a grantor whose word
//      counts, denies (RULE_REFUSAL).
//   5. A consent in force for the category, recipient, sender (one of its
//      disclosers), purpose and case, by a grantor whose word counts,
//      permits (RULE_CONSENT) — unless the policy marks the category
//      statute_only (THIRD_PARTY): no consent releases it; nor to a
//      recipient kind in its statute_only_to (criminal-offence data to an
//      NGO, GDPR Art. 10).
//   6. Otherwise default deny; the reason names a consent that nearly
//      applied (wrong discloser, or a grantor whose word does not count).
// Whose word counts (812/2000 10-11 §), on the decision's day in Finland,
// with the birth date the records carry from the HETU:
//   * SUBJECT: a consent from the 18th birthday, or before it where a
//     competence assessment in force covers the category and purpose; a
//     refusal always.
//   * GUARDIAN: before the 18th birthday and where no competence assessment
//     covers the category and purpose.
//   * Unknown birth date (records from before it was kept): consents that
//     depend on the age do not count; refusals do (fail closed).
// Validity is [valid_from, valid_until): inclusive of from, exclusive of
// until; a withdrawal takes effect at its time.
//
// Pure and in memory: records are indexed per subject; a decision reads one
// subject's few records under a reader lock. Thread-safe.
#ifndef SILTA_SERVER_CONSENT_ENGINE_H_
#define SILTA_SERVER_CONSENT_ENGINE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "silta/v1/case.pb.h"
#include "silta/v1/common.pb.h"
#include "silta/v1/config.pb.h"
#include "silta/v1/consent.pb.h"

namespace silta::consent {

// What one decision is about. Pointers and views must outlive the call.
struct DecisionQuery {
  const v1::Organization* sender = nullptr;
  const v1::Organization* recipient = nullptr;
  absl::string_view subject_ref;  // empty: no subject (consultation)
  absl::string_view case_id;      // empty: no case
  // A notification about subject_ref sent outside any case
  // (SendRequest.subject): only a notification basis releases anything.
  bool outside_case = false;
  bool recipient_is_member = false;
  absl::string_view purpose;
  v1::Category category = v1::CATEGORY_UNSPECIFIED;
  absl::Time at;
  absl::string_view statute_code;  // empty: none claimed
  bool has_justification = false;
  // The message is an InformationResponse answering an InformationRequest
  // the recipient sent to the sender (AnswersRecipientRequest); needed by
  // bases with only_in_reply_to_recipient_request.
  bool answers_recipient_request = false;
  // Whether the decision's reason, a sentence for people, is spelled out.
  // The re-decision at delivery leaves it out: only the verdict, the rule
  // and the rule id go into its audit entries.
  bool with_reason = true;
};

// The query for one field sent in case `c`: subject, case and the
// recipient's membership come from the case. Null: a message in no case,
// about `outside_case_subject_ref` (a notification) or, if that is empty,
// about no one (an anonymous consultation).
// `c`, `sender`, `recipient`, `purpose` and `statute_code` must outlive it.
DecisionQuery QueryInCase(const v1::Case* c, absl::string_view outside_case_subject_ref,
                          const v1::Organization& sender, const v1::Organization& recipient,
                          absl::string_view purpose, v1::Category category, absl::Time at,
                          absl::string_view statute_code, bool has_justification);

class DecisionEngine {
 public:
  DecisionEngine() = default;
  DecisionEngine(const DecisionEngine&) = delete;
  DecisionEngine& operator=(const DecisionEngine&) = delete;

  // Adds (or replaces, by id) a consent, refusal or competence assessment
  // with its history; the last WITHDRAWN event, if any, ends it. Records
  // must already be valid.
  void PutConsent(const v1::Consent& consent);
  void PutRefusal(const v1::Refusal& refusal);
  void PutAssessment(const v1::CompetenceAssessment& assessment);

  // Drops a record purged under the retention policy (an ended one: it
  // decides nothing any more).
  void Forget(absl::string_view subject_ref, absl::string_view record_id);

  // Whether a competence assessment in force at `at` lets the subject
  // decide on `category` for `purpose` (any purpose if empty).
  bool IsAssessedCompetent(absl::string_view subject_ref, v1::Category category,
                           absl::string_view purpose, absl::Time at) const;

  // Decides one field for one recipient under `policy`.
  v1::Decision Decide(const DecisionQuery& query, const v1::Policy& policy) const;

  // Whether `asker` may learn that the person `subject_ref` is a client of
  // a service in the network, and which organisation coordinates the case
  // (CheckExistingCase, and the refusal of a second CreateCase): that is
  // CATEGORY_SERVICE_RELATIONSHIP to `asker` for `purpose`, permitted
  //   * by the claimed basis, when it covers that category to the asker's
  //     kind and lets the asker request information
  //     (only_in_reply_to_recipient_request: the check is the asker's own
  //     request), with a justification where it requires one; or
  //   * by a consent in force for it, of a grantor whose word counts, and
  //     no refusal in force of it to the asker.
  // Who would tell is not consulted (the consent's and the refusal's
  // disclosers, the basis's sender kinds): the answer must not depend on
  // whether a case exists, or a refusal would itself tell that one does.
  // `query.sender`, `case_id` and `recipient_is_member` are ignored;
  // `query.recipient` is the asker. Default deny.
  v1::Decision DecideExistenceCheck(const DecisionQuery& query, const v1::Policy& policy) const;

  // Number of consents, refusals and assessments held (for start-up logs
  // and tests).
  size_t RecordCount() const;

  // Takes every record of `fresh` in place of this engine's, at once (a
  // reload: no decision sees half of it). `fresh` is left with the old.
  void ReplaceWith(DecisionEngine& fresh);

 private:
  // An organisation set: org ids and kinds.
  struct OrgSet {
    uint64_t kinds = 0;  // bit per OrgKind number
    std::vector<std::string> orgs;
    bool Covers(const v1::Organization& org) const;
  };
  struct Rule {
    std::string id;
    v1::GrantorKind grantor = v1::GRANTOR_KIND_UNSPECIFIED;
    uint64_t categories = 0;  // bit per Category number
    OrgSet recipients;
    OrgSet disclosers;
    bool any_discloser = false;         // refusals naming no discloser
    std::vector<std::string> purposes;  // consents and assessments
    std::string case_id;                // consents only; empty = any case
    absl::Time valid_from = absl::InfinitePast();
    absl::Time valid_until = absl::InfiniteFuture();
    absl::Time withdrawn_at = absl::InfiniteFuture();

    bool InForce(absl::Time at) const {
      return at >= valid_from && at < valid_until && at < withdrawn_at;
    }
  };
  struct SubjectRules {
    std::optional<absl::CivilDay> birth_date;
    std::vector<Rule> consents;
    std::vector<Rule> refusals;
    std::vector<Rule> assessments;
  };

  // Whether `rule`'s grantor has the say for the query (see the class
  // comment); `adult` is nullopt when the age is unknown.
  static bool GrantorCounts(const Rule& rule, bool is_refusal, std::optional<bool> adult,
                            bool competent);
  // Whether the subject is 18 or older at `at`; nullopt if the birth date
  // is unknown.
  static std::optional<bool> AdultAt(const SubjectRules& rules, absl::Time at);
  static bool Competent(const SubjectRules& rules, uint64_t category_bit,
                        absl::string_view purpose, absl::Time at);
  void NoteBirthDate(const std::string& subject_ref, absl::string_view birth_date)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static void Put(std::vector<Rule>& rules, Rule rule);

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, SubjectRules> subjects_ ABSL_GUARDED_BY(mu_);
};

// Bit of a category or org kind in a Rule mask.
constexpr uint64_t Bit(int value) { return value >= 0 && value < 64 ? uint64_t{1} << value : 0; }

// The time of the last WITHDRAWN event in `history`, or InfiniteFuture.
absl::Time WithdrawnAt(const google::protobuf::RepeatedPtrField<v1::ConsentEvent>& history);

}  // namespace silta::consent

#endif  // SILTA_SERVER_CONSENT_ENGINE_H_
