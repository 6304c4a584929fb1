#include <algorithm>

#include "absl/strings/str_cat.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/random.h"
#include "server/common/logging.h"
#include "server/routing/message_audit.h"
#include "server/routing/router.h"
#include "server/routing/router_internal.h"

namespace silta::routing {

absl::StatusOr<v1::LinkNotificationResponse> Router::LinkNotification(
    const identity::Caller& caller, const v1::LinkNotificationRequest& request) {
  if (!identity::IsValidOrgId(request.sender_org_id())) {
    return internal::Invalid("sender_org_id", "must be the notification's header.sender_org_id");
  }
  if (!crypto::IsCanonicalUuid(request.message_id())) {
    return internal::Invalid("message_id", "must be the notification's header.message_id");
  }
  if (!crypto::IsCanonicalUuid(request.case_id())) {
    return internal::Invalid("case_id", "must be the id of a case you are a member of");
  }
  // Only a recipient that was given the notification may link it; to anyone
  // else it does not exist.
  SILTA_ASSIGN_OR_RETURN(std::optional<store::MessageRecord> m,
                         store_->GetMessage(request.sender_org_id(), request.message_id()));
  const auto received = [&](const store::DeliveryRecord& d) {
    return d.recipient_org_id == caller.org.org_id() &&
           (d.state == v1::DELIVERED || d.state == v1::ACKED);
  };
  if (!m.has_value() || std::none_of(m->deliveries.begin(), m->deliveries.end(), received)) {
    return absl::NotFoundError(absl::StrCat("no message ", request.message_id(), " of ",
                                            request.sender_org_id(), " was delivered to you"));
  }
  if (m->subject_ref.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "message ", request.message_id(),
        " is not a notification sent outside a case; only those are linked to a case"));
  }
  SILTA_ASSIGN_OR_RETURN(const std::shared_ptr<const v1::Case> shared,
                         cases_->GetCaseForMember(caller, request.case_id()));
  const v1::Case& c = *shared;
  if (c.state() != v1::OPEN) {
    return absl::FailedPreconditionError(absl::StrCat("case ", c.case_id(), " is closed"));
  }
  if (c.subject_ref() != m->subject_ref) {
    return absl::FailedPreconditionError(
        absl::StrCat("case ", c.case_id(), " is about another person than notification ",
                     request.message_id(), "; link it to a case of the person it names"));
  }
  if (!m->linked_case_id.empty()) {
    if (m->linked_case_id != c.case_id()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "notification ", request.message_id(), " is already linked to case ", m->linked_case_id));
    }
    return LinkResponse(caller, *m);
  }
  std::vector<v1::Category> permitted;
  for (const v1::Decision& d : m->receipt.decisions()) {
    if (d.recipient_org_id() == caller.org.org_id() && d.verdict() == v1::PERMIT &&
        std::find(permitted.begin(), permitted.end(), d.category()) == permitted.end()) {
      permitted.push_back(d.category());
    }
  }
  store::AuditEntries audit = {
      LinkEntry(*m, c, caller.org.org_id(), request.acting_user(), permitted, clock_())};
  const absl::Status linked =
      store_->LinkMessageToCase(request.sender_org_id(), request.message_id(), c.case_id(), &audit);
  if (absl::IsFailedPrecondition(linked)) {
    // Linked by a concurrent call: to this case it is the same link.
    SILTA_ASSIGN_OR_RETURN(m, store_->GetMessage(request.sender_org_id(), request.message_id()));
    if (m.has_value() && m->linked_case_id == c.case_id()) return LinkResponse(caller, *m);
  }
  SILTA_RETURN_IF_ERROR(linked);
  common::Log(common::LogLevel::kInfo, "notification_linked",
              {{"message_id", request.message_id()},
               {"sender_org_id", request.sender_org_id()},
               {"org_id", caller.org.org_id()},
               {"case_id", c.case_id()}});
  v1::LinkNotificationResponse response;
  response.set_audit_index(audit.front().index());
  return response;
}

absl::StatusOr<v1::LinkNotificationResponse> Router::LinkResponse(
    const identity::Caller& caller, const store::MessageRecord& m) const {
  // The first link's entry, found in the caller's own view of the log.
  store::AuditQuery q;
  q.case_id = m.linked_case_id;
  q.types = {v1::NOTIFICATION_LINKED};
  q.limit = 1000;
  v1::LinkNotificationResponse response;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, store_->QueryAudit(q));
    for (const v1::AuditEntry& e : entries) {
      if (e.message_id() == m.message_id && e.detail() == "notifier=" + m.sender_org_id) {
        response.set_audit_index(e.index());
        return response;
      }
    }
    if (entries.size() < q.limit) break;
    q.after_index = entries.back().index() + 1;
  }
  return absl::InternalError(
      absl::StrCat("the link of notification ", m.message_id, " has no audit entry"));
}

}  // namespace silta::routing
