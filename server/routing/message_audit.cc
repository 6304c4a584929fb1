#include "server/routing/message_audit.h"

#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/audit/log_entry.h"
#include "lib/crypto/wire_format.h"
#include "lib/policy/policy.h"

namespace silta::routing {
namespace {

// The entry every event of this message starts from.
v1::AuditEntry MessageEntry(v1::AuditEventType type, const v1::MessageHeader& header,
                            absl::string_view subject_ref, absl::string_view sender_org_id,
                            absl::Time now) {
  v1::AuditEntry e = audit::NewEntry(type, now, sender_org_id, header.acting_user());
  e.set_purpose(header.purpose());
  e.set_case_id(header.case_id());
  e.set_subject_ref(std::string(subject_ref));
  e.set_message_id(header.message_id());
  e.set_payload_type(header.payload_type());
  return e;
}

// Decisions grouped by (recipient, rule, rule_id), each group's categories
// deduplicated in first-seen order.
using GroupKey = std::tuple<std::string, v1::RuleKind, std::string>;
std::map<GroupKey, std::vector<v1::Category>> Group(const std::vector<const v1::Decision*>& ds) {
  std::map<GroupKey, std::vector<v1::Category>> groups;
  for (const v1::Decision* d : ds) {
    auto& cats = groups[{d->recipient_org_id(), d->rule(), d->rule_id()}];
    if (std::find(cats.begin(), cats.end(), d->category()) == cats.end()) {
      cats.push_back(d->category());
    }
  }
  return groups;
}

// One entry per group, counterpart = recipient, rule and (for a statute)
// its citation and whether a justification was sent. `base` is copied for
// each group but the last, which takes it.
void AppendGroups(v1::AuditEntry base, const std::vector<const v1::Decision*>& ds,
                  const v1::Policy& policy, bool justified, absl::string_view detail,
                  store::AuditEntries* out) {
  const std::map<GroupKey, std::vector<v1::Category>> groups = Group(ds);
  size_t left = groups.size();
  for (const auto& [key, categories] : groups) {
    v1::AuditEntry e = --left == 0 ? std::move(base) : base;
    e.set_counterpart_org_id(std::get<0>(key));
    e.set_rule(std::get<1>(key));
    e.set_rule_id(std::get<2>(key));
    if (e.rule() == v1::RULE_STATUTE) {
      if (const v1::StatutoryBasis* b = policy::FindStatute(policy, e.rule_id())) {
        e.set_statute_citation(b->citation());
      }
      e.set_justification_present(justified);
    }
    for (v1::Category c : categories) e.add_categories(c);
    e.set_detail(std::string(detail));
    out->push_back(std::move(e));
  }
}

bool Justified(const v1::SealedMessage& message) {
  return !message.header().statutory_basis().empty() && crypto::HasJustification(message);
}

}  // namespace

store::AuditEntries AcceptanceEntries(const v1::SealedMessage& message,
                                      absl::string_view subject_ref,
                                      const v1::DeliveryReceipt& receipt, const v1::Policy& policy,
                                      absl::Time now) {
  const v1::MessageHeader& header = message.header();
  const bool justified = Justified(message);
  v1::AuditEntry accepted =
      MessageEntry(v1::MESSAGE_ACCEPTED, header, subject_ref, header.sender_org_id(), now);
  std::set<int> categories;
  for (const v1::SealedField& f : message.fields()) {
    if (categories.insert(f.category()).second) accepted.add_categories(f.category());
  }
  if (!header.statutory_basis().empty()) {
    accepted.set_rule(v1::RULE_STATUTE);
    accepted.set_rule_id(header.statutory_basis());
    if (const v1::StatutoryBasis* b = policy::FindStatute(policy, header.statutory_basis())) {
      accepted.set_statute_citation(b->citation());
    }
    accepted.set_justification_present(justified);
  }
  accepted.set_detail(absl::StrCat("recipients=", header.recipient_org_ids_size(),
                                   " fields=", message.fields_size()));
  store::AuditEntries out;
  out.push_back(std::move(accepted));
  v1::AuditEntry base =
      MessageEntry(v1::STATUTORY_BASIS_USED, header, subject_ref, header.sender_org_id(), now);
  std::vector<const v1::Decision*> statute;
  std::vector<const v1::Decision*> denied;
  for (const v1::Decision& d : receipt.decisions()) {
    if (d.verdict() == v1::PERMIT && d.rule() == v1::RULE_STATUTE) statute.push_back(&d);
    if (d.verdict() != v1::PERMIT) denied.push_back(&d);
  }
  v1::AuditEntry withheld = base;
  withheld.set_type(v1::FIELD_WITHHELD);
  AppendGroups(std::move(base), statute, policy, justified, "", &out);
  AppendGroups(std::move(withheld), denied, policy, justified, "at_send", &out);
  return out;
}

store::AuditEntries DeliveryEntries(const store::MessageRecord& message,
                                    absl::string_view subject_ref,
                                    const std::vector<v1::Decision>& permitted,
                                    const std::vector<v1::Decision>& revoked, uint32_t attempt,
                                    const v1::Policy& policy, absl::Time now) {
  store::AuditEntries out;
  if (!message.body.has_value()) return out;
  const v1::MessageHeader& header = message.body->header();
  const bool justified = Justified(*message.body);
  std::vector<const v1::Decision*> delivered;
  for (const v1::Decision& d : permitted) delivered.push_back(&d);
  std::vector<const v1::Decision*> withheld;
  for (const v1::Decision& d : revoked) withheld.push_back(&d);
  AppendGroups(MessageEntry(v1::MESSAGE_DELIVERED, header, subject_ref, message.sender_org_id, now),
               delivered, policy, justified, absl::StrCat("attempt=", attempt), &out);
  AppendGroups(MessageEntry(v1::FIELD_WITHHELD, header, subject_ref, message.sender_org_id, now), withheld,
               policy, justified, "at_delivery", &out);
  return out;
}

v1::AuditEntry AckEntry(const store::MessageRecord& message, absl::string_view subject_ref,
                        absl::string_view recipient_org_id, absl::Time now) {
  v1::AuditEntry e = audit::NewEntry(v1::MESSAGE_ACKED, now, recipient_org_id);
  e.set_counterpart_org_id(message.sender_org_id);
  e.set_case_id(message.case_id);
  e.set_subject_ref(std::string(subject_ref));
  e.set_message_id(message.message_id);
  return e;
}

v1::AuditEntry ExpiryEntry(const store::MessageRecord& message, absl::string_view recipient_org_id,
                           absl::Time now) {
  v1::AuditEntry e = audit::NewEntry(v1::MESSAGE_EXPIRED, now, "");
  e.set_counterpart_org_id(std::string(recipient_org_id));
  e.set_case_id(message.case_id);
  e.set_subject_ref(message.subject_ref);
  e.set_message_id(message.message_id);
  e.set_detail(absl::StrCat("sender=", message.sender_org_id));
  return e;
}

v1::AuditEntry LinkEntry(const store::MessageRecord& message, const v1::Case& c,
                         absl::string_view linker_org_id, const v1::ActingUser& acting_user,
                         const std::vector<v1::Category>& permitted, absl::Time now) {
  v1::AuditEntry e = audit::NewEntry(v1::NOTIFICATION_LINKED, now, linker_org_id, acting_user);
  e.set_counterpart_org_id(c.coordinator().org_id());
  e.set_case_id(c.case_id());
  e.set_subject_ref(c.subject_ref());
  e.set_message_id(message.message_id);
  e.set_payload_type(message.receipt.payload_type());
  for (v1::Category category : permitted) e.add_categories(category);
  for (const v1::Decision& d : message.receipt.decisions()) {
    if (d.recipient_org_id() == linker_org_id && d.verdict() == v1::PERMIT &&
        d.rule() == v1::RULE_STATUTE) {
      e.set_rule(v1::RULE_STATUTE);
      e.set_rule_id(d.rule_id());
      break;
    }
  }
  e.set_detail(absl::StrCat("notifier=", message.sender_org_id));
  return e;
}

}  // namespace silta::routing
