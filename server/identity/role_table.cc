#include "server/identity/role_table.h"

#include <algorithm>

namespace silta::identity {
namespace {

using v1::ADMIN;
using v1::AGENCY;
using v1::AUDITOR;
using v1::CONSENT_REGISTRAR;

const std::vector<MethodRoles>& Table() {
  static const auto* table = new std::vector<MethodRoles>{
      // Organisation registry: administrators only.
      {"/silta.v1.OrgService/AddOrg", {ADMIN}},
      {"/silta.v1.OrgService/ListOrgs", {ADMIN}},
      {"/silta.v1.OrgService/GetOrg", {ADMIN}},
      {"/silta.v1.OrgService/SuspendOrg", {ADMIN}},
      {"/silta.v1.OrgService/ResumeOrg", {ADMIN}},
      {"/silta.v1.OrgService/WatchOrgs", {ADMIN}},
      // Key bundles: agencies publish their own; anyone who seals or audits reads.
      {"/silta.v1.KeyService/PublishKeyBundle", {AGENCY}},
      {"/silta.v1.KeyService/GetKeyBundles", {AGENCY, AUDITOR, ADMIN}},
      // Cases: agencies (membership checked per case).
      {"/silta.v1.CaseService/CreateCase", {AGENCY}},
      {"/silta.v1.CaseService/GetCase", {AGENCY}},
      {"/silta.v1.CaseService/ListCases", {AGENCY}},
      {"/silta.v1.CaseService/AddMember", {AGENCY}},
      {"/silta.v1.CaseService/RemoveMember", {AGENCY}},
      {"/silta.v1.CaseService/TransferCoordinator", {AGENCY}},
      {"/silta.v1.CaseService/CloseCase", {AGENCY}},
      {"/silta.v1.CaseService/CheckExistingCase", {AGENCY}},
      // Consent: registrars, and agencies as a case's coordinator (checked per case).
      {"/silta.v1.ConsentService/RecordConsent", {CONSENT_REGISTRAR, AGENCY}},
      {"/silta.v1.ConsentService/RecordRefusal", {CONSENT_REGISTRAR, AGENCY}},
      {"/silta.v1.ConsentService/RecordCompetenceAssessment", {CONSENT_REGISTRAR, AGENCY}},
      {"/silta.v1.ConsentService/WithdrawConsent", {CONSENT_REGISTRAR, AGENCY}},
      {"/silta.v1.ConsentService/ListSubjectConsents", {CONSENT_REGISTRAR, AGENCY}},
      {"/silta.v1.ConsentService/PreviewDisclosure", {AGENCY}},
      // Messages: agencies.
      {"/silta.v1.MessageService/Send", {AGENCY}},
      {"/silta.v1.MessageService/Subscribe", {AGENCY}},
      {"/silta.v1.MessageService/Ack", {AGENCY}},
      {"/silta.v1.MessageService/GetMessageStatus", {AGENCY}},
      {"/silta.v1.MessageService/LinkNotification", {AGENCY}},
      // Audit: auditors; agencies only about their own traffic (checked per entry).
      {"/silta.v1.AuditService/QueryEntries", {AUDITOR, AGENCY}},
      {"/silta.v1.AuditService/GetTreeHead", {AUDITOR, AGENCY, CONSENT_REGISTRAR, ADMIN}},
      {"/silta.v1.AuditService/GetInclusionProof", {AUDITOR, AGENCY, CONSENT_REGISTRAR, ADMIN}},
      {"/silta.v1.AuditService/GetConsistencyProof", {AUDITOR, AGENCY, CONSENT_REGISTRAR, ADMIN}},
      {"/silta.v1.AuditService/Export", {AUDITOR}},
      {"/silta.v1.AuditService/SubjectReport", {CONSENT_REGISTRAR}},
      {"/silta.v1.AuditService/Indicators", {AUDITOR, ADMIN}},
      // A sender restricts its own message's lines in the subject report.
      {"/silta.v1.AuditService/RestrictInSubjectReport", {AGENCY}},
      // The broker itself.
      {"/silta.v1.BrokerService/WhoAmI", {AGENCY, CONSENT_REGISTRAR, AUDITOR, ADMIN}},
      {"/silta.v1.BrokerService/ReloadConfig", {ADMIN}},
  };
  return *table;
}

}  // namespace

absl::Span<const MethodRoles> RoleTable() { return Table(); }

bool RoleMayCall(v1::Role role, absl::string_view method) {
  for (const MethodRoles& row : Table()) {
    if (row.method == method) {
      return std::find(row.roles.begin(), row.roles.end(), role) != row.roles.end();
    }
  }
  return false;
}

bool AnyRoleMayCall(absl::Span<const v1::Role> roles, absl::string_view method) {
  return std::any_of(roles.begin(), roles.end(),
                     [method](v1::Role role) { return RoleMayCall(role, method); });
}

bool TakesHetu(absl::string_view method) {
  // AuditService.QueryEntries may take one too, but an agency sees only its
  // own traffic there; auditors are not limited.
  static constexpr absl::string_view kHetuMethods[] = {
      "/silta.v1.CaseService/CreateCase",        "/silta.v1.CaseService/CheckExistingCase",
      "/silta.v1.ConsentService/RecordConsent",  "/silta.v1.ConsentService/RecordRefusal",
      "/silta.v1.ConsentService/RecordCompetenceAssessment",
      "/silta.v1.AuditService/SubjectReport"};
  return std::find(std::begin(kHetuMethods), std::end(kHetuMethods), method) !=
         std::end(kHetuMethods);
}

}  // namespace silta::identity
