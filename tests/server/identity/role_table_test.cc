#include "server/identity/role_table.h"

#include <map>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/contract.h"

namespace silta::identity {
namespace {

using v1::ADMIN;
using v1::AGENCY;
using v1::AUDITOR;
using v1::CONSENT_REGISTRAR;

std::set<std::string> AllContractMethods() { return silta::testing::ContractMethods(); }

TEST(RoleTableTest, HasExactlyOneRowForEveryContractMethod) {
  std::map<std::string, int> rows;
  for (const MethodRoles& row : RoleTable()) ++rows[std::string(row.method)];

  for (const std::string& method : AllContractMethods()) {
    EXPECT_EQ(rows[method], 1) << method;
  }
  EXPECT_EQ(rows.size(), AllContractMethods().size()) << "table names a method not in the protos";
}

TEST(RoleTableTest, DeniesUnknownMethodToEveryRole) {
  for (v1::Role role : {AGENCY, CONSENT_REGISTRAR, AUDITOR, ADMIN, v1::ROLE_UNSPECIFIED}) {
    EXPECT_FALSE(RoleMayCall(role, "/silta.v1.OrgService/DropDatabase"));
    EXPECT_FALSE(RoleMayCall(role, "/grpc.health.v1.Health/Check"));
  }
}

TEST(RoleTableTest, UnspecifiedRoleMayCallNothing) {
  for (const std::string& method : AllContractMethods()) {
    EXPECT_FALSE(RoleMayCall(v1::ROLE_UNSPECIFIED, method)) << method;
  }
}

// The full matrix, written out independently of the table so that a change
// to who may do what has to be made (and reviewed) in two places.
struct MatrixRow {
  const char* method;
  bool agency, registrar, auditor, admin;
};

constexpr MatrixRow kMatrix[] = {
    {"/silta.v1.OrgService/AddOrg", false, false, false, true},
    {"/silta.v1.OrgService/ListOrgs", false, false, false, true},
    {"/silta.v1.OrgService/GetOrg", false, false, false, true},
    {"/silta.v1.OrgService/SuspendOrg", false, false, false, true},
    {"/silta.v1.OrgService/ResumeOrg", false, false, false, true},
    {"/silta.v1.OrgService/WatchOrgs", false, false, false, true},
    {"/silta.v1.KeyService/PublishKeyBundle", true, false, false, false},
    {"/silta.v1.KeyService/GetKeyBundles", true, false, true, true},
    {"/silta.v1.CaseService/CreateCase", true, false, false, false},
    {"/silta.v1.CaseService/GetCase", true, false, false, false},
    {"/silta.v1.CaseService/ListCases", true, false, false, false},
    {"/silta.v1.CaseService/AddMember", true, false, false, false},
    {"/silta.v1.CaseService/RemoveMember", true, false, false, false},
    {"/silta.v1.CaseService/TransferCoordinator", true, false, false, false},
    {"/silta.v1.CaseService/CloseCase", true, false, false, false},
    {"/silta.v1.CaseService/CheckExistingCase", true, false, false, false},
    {"/silta.v1.ConsentService/RecordConsent", true, true, false, false},
    {"/silta.v1.ConsentService/RecordRefusal", true, true, false, false},
    {"/silta.v1.ConsentService/RecordCompetenceAssessment", true, true, false, false},
    {"/silta.v1.ConsentService/WithdrawConsent", true, true, false, false},
    {"/silta.v1.ConsentService/ListSubjectConsents", true, true, false, false},
    {"/silta.v1.ConsentService/PreviewDisclosure", true, false, false, false},
    {"/silta.v1.MessageService/Send", true, false, false, false},
    {"/silta.v1.MessageService/Subscribe", true, false, false, false},
    {"/silta.v1.MessageService/Ack", true, false, false, false},
    {"/silta.v1.MessageService/GetMessageStatus", true, false, false, false},
    {"/silta.v1.MessageService/LinkNotification", true, false, false, false},
    {"/silta.v1.AuditService/QueryEntries", true, false, true, false},
    {"/silta.v1.AuditService/GetTreeHead", true, true, true, true},
    {"/silta.v1.AuditService/GetInclusionProof", true, true, true, true},
    {"/silta.v1.AuditService/GetConsistencyProof", true, true, true, true},
    {"/silta.v1.AuditService/Export", false, false, true, false},
    {"/silta.v1.AuditService/SubjectReport", false, true, false, false},
    {"/silta.v1.AuditService/Indicators", false, false, true, true},
    {"/silta.v1.AuditService/RestrictInSubjectReport", true, false, false, false},
    {"/silta.v1.BrokerService/WhoAmI", true, true, true, true},
    {"/silta.v1.BrokerService/ReloadConfig", false, false, false, true},
};

class RoleMatrixTest : public ::testing::TestWithParam<MatrixRow> {};

TEST_P(RoleMatrixTest, AllowsExactlyTheListedRoles) {
  const MatrixRow& row = GetParam();

  EXPECT_EQ(RoleMayCall(AGENCY, row.method), row.agency) << row.method << " AGENCY";
  EXPECT_EQ(RoleMayCall(CONSENT_REGISTRAR, row.method), row.registrar)
      << row.method << " CONSENT_REGISTRAR";
  EXPECT_EQ(RoleMayCall(AUDITOR, row.method), row.auditor) << row.method << " AUDITOR";
  EXPECT_EQ(RoleMayCall(ADMIN, row.method), row.admin) << row.method << " ADMIN";
}

INSTANTIATE_TEST_SUITE_P(EveryMethod, RoleMatrixTest, ::testing::ValuesIn(kMatrix));

TEST(RoleMatrixTest, MatrixCoversEveryContractMethod) {
  std::set<std::string> in_matrix;
  for (const MatrixRow& row : kMatrix) in_matrix.insert(row.method);

  EXPECT_EQ(in_matrix, AllContractMethods());
}

TEST(RoleTableTest, AnyRoleMayCallCombinesRoles) {
  const std::vector<v1::Role> roles = {AUDITOR, ADMIN};

  EXPECT_TRUE(AnyRoleMayCall(roles, "/silta.v1.OrgService/AddOrg"));
  EXPECT_TRUE(AnyRoleMayCall(roles, "/silta.v1.AuditService/Export"));
  EXPECT_FALSE(AnyRoleMayCall(roles, "/silta.v1.MessageService/Send"));
  EXPECT_FALSE(AnyRoleMayCall({}, "/silta.v1.OrgService/AddOrg"));
}

}  // namespace
}  // namespace silta::identity
