#include "server/cases/case_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/consent/consent_registry.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::cases {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::kAdult;
using ::silta::testing::kYouth15;
using ::silta::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

class CaseRegistryTest : public silta::testing::RegistryFixture {};

TEST_F(CaseRegistryTest, CreateCaseMakesCallerTheCoordinatorAndStoresOnlyTheRef) {
  const v1::Case c = OpenCase("police-hame", kYouth15, {"wba-social"});

  EXPECT_EQ(c.coordinator().org_id(), "police-hame");
  EXPECT_EQ(c.coordinator().worker_id(), "nurri-1");
  EXPECT_THAT(c.member_org_ids(), UnorderedElementsAre("police-hame", "wba-social"));
  EXPECT_EQ(c.state(), v1::OPEN);
  EXPECT_EQ(c.subject_ref().size(), 64u);
  EXPECT_THAT(c.DebugString(), Not(HasSubstr("150609")));
  EXPECT_EQ(*refs_->RefFor(kYouth15), c.subject_ref());
}

class ExistenceTest : public CaseRegistryTest {
 protected:
  // The subject's consent (the guardian's for a minor) that `org_id` may
  // learn whether the person is a client of a service, for referral.
  void ConsentToExistence(const std::string& hetu, const std::string& org_id,
                          v1::GrantorKind grantor) {
    v1::RecordConsentRequest consent;
    consent.mutable_subject()->set_hetu(hetu);
    consent.mutable_consent()->set_grantor(grantor);
    consent.mutable_consent()->add_disclosers()->set_org_kind(v1::WELLBEING_AREA);
    consent.mutable_consent()->add_purposes("referral");
    consent.mutable_consent()->add_categories(v1::CATEGORY_SERVICE_RELATIONSHIP);
    consent.mutable_consent()->add_recipients()->set_org_id(org_id);
    *consent.mutable_consent()->mutable_valid_until() = Ts(now_ + absl::Hours(24 * 90));
    consent.mutable_consent()->set_evidence_ref("form");
    *consent.mutable_acting_user() = Worker();
    ASSERT_THAT(consents_->RecordConsent(As("wba-registrar"), consent), IsOk());
  }
  absl::StatusOr<v1::CreateCaseResponse> SecondCase(const std::string& org_id) {
    v1::CreateCaseRequest request;
    request.mutable_subject()->set_hetu(kYouth15);
    request.set_purpose("referral");
    request.set_coordinator_worker_id("w2");
    *request.mutable_acting_user() = Worker();
    return cases_->CreateCase(As(org_id), request);
  }
  absl::StatusOr<v1::CheckExistingCaseResponse> Check(const std::string& org_id,
                                                      const std::string& hetu,
                                                      const std::string& basis = "",
                                                      const std::string& justification = "") {
    v1::CheckExistingCaseRequest request;
    request.mutable_subject()->set_hetu(hetu);
    request.set_purpose("referral");
    request.set_statutory_basis(basis);
    request.set_justification(justification);
    *request.mutable_acting_user() = Worker();
    return cases_->CheckExistingCase(As(org_id), request);
  }
  // The EXISTING_CASE_CHECKED entries, oldest first.
  std::vector<v1::AuditEntry> Checks() {
    store::AuditQuery q;
    q.types = {v1::EXISTING_CASE_CHECKED};
    auto entries = store_->QueryAudit(q);
    EXPECT_THAT(entries, IsOk());
    return entries.ok() ? *entries : std::vector<v1::AuditEntry>();
  }
};

TEST_F(ExistenceTest, ASecondCaseIsRefusedButTheCoordinatorIsNamedOnlyToWhoMayLearnIt) {
  OpenCase("wba-social", kYouth15, {"police-hame"});

  // Youth services have no consent: refused, and not told who coordinates.
  absl::StatusOr<v1::CreateCaseResponse> refused = SecondCase("hml-youth");
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("may not learn who coordinates it")));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("wba-social")));
  // A member knows already.
  EXPECT_THAT(SecondCase("police-hame"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("wba-social")));
  // With the guardian's consent the coordinator is named.
  ConsentToExistence(kYouth15, "hml-youth", v1::GUARDIAN);
  EXPECT_THAT(SecondCase("hml-youth"), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                HasSubstr("coordinated by wba-social")));

  // Each attempt is evidence; the one not named carries neither case nor
  // coordinator, since its asker reads its own entries.
  const std::vector<v1::AuditEntry> checks = Checks();
  ASSERT_EQ(checks.size(), 3u);
  EXPECT_EQ(checks[0].actor_org_id(), "hml-youth");
  EXPECT_EQ(checks[0].detail(), "create_case_refused");
  EXPECT_TRUE(checks[0].case_id().empty());
  EXPECT_TRUE(checks[0].counterpart_org_id().empty());
  EXPECT_EQ(checks[1].detail(), "create_case_refused_named");
  EXPECT_EQ(checks[2].detail(), "create_case_refused_named");
  EXPECT_EQ(checks[2].rule(), v1::RULE_CONSENT);
  EXPECT_EQ(checks[2].counterpart_org_id(), "wba-social");
  for (const v1::AuditEntry& e : checks) EXPECT_FALSE(e.subject_ref().empty());
}

TEST_F(ExistenceTest, WithoutConsentOrBasisTheCheckIsRefusedAlikeWhetherOrNotACaseExists) {
  OpenCase("police-hame", kYouth15, {});
  const absl::Status exists = Check("hml-youth", kYouth15).status();
  const absl::Status absent = Check("hml-youth", kAdult).status();
  EXPECT_EQ(exists.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(absent.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(exists.message(), absent.message()) << "the refusal must not tell";
  EXPECT_THAT(exists.message(), HasSubstr("consent"));
  for (const v1::AuditEntry& e : Checks()) {
    EXPECT_EQ(e.detail(), "refused");
    EXPECT_TRUE(e.case_id().empty());
    EXPECT_TRUE(e.counterpart_org_id().empty());
  }
  // A purpose is required.
  v1::CheckExistingCaseRequest no_purpose;
  no_purpose.mutable_subject()->set_hetu(kYouth15);
  *no_purpose.mutable_acting_user() = Worker();
  EXPECT_THAT(cases_->CheckExistingCase(As("hml-youth"), no_purpose),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purpose")));
}

TEST_F(ExistenceTest, ConsentOrARightToRequestInformationAnswersTheCheck) {
  const v1::Case c = OpenCase("police-hame", kYouth15, {});
  // The guardian's consent for the minor, the adult's own for himself.
  ConsentToExistence(kYouth15, "hml-youth", v1::GUARDIAN);
  ConsentToExistence(kAdult, "hml-youth", v1::SUBJECT);
  auto found = Check("hml-youth", kYouth15);
  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->open_case_exists());
  EXPECT_EQ(found->coordinator_org_id(), "police-hame");
  EXPECT_EQ(found->coordinator_org_name(), "Org police-hame");
  EXPECT_THAT(found->DebugString(), Not(HasSubstr(c.case_id())));
  auto not_found = Check("hml-youth", kAdult);
  ASSERT_THAT(not_found, IsOk());
  EXPECT_FALSE(not_found->open_case_exists());
  EXPECT_TRUE(not_found->coordinator_org_id().empty());

  // Social welfare may ask under its right to request information, with a
  // justification; a notification basis is no right to ask.
  EXPECT_THAT(Check("wba-social", kYouth15, "information_on_request"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("justification")));
  EXPECT_THAT(Check("wba-social", kYouth15, "lsl_25", "assessing a notification"),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not a right to request")));
  auto asked = Check("wba-social", kYouth15, "information_on_request", "assessing a notification");
  ASSERT_THAT(asked, IsOk());
  EXPECT_EQ(asked->coordinator_org_id(), "police-hame");
  // An NGO, not a WELLBEING_AREA, may not use it.
  EXPECT_EQ(Check("asenne-ry", kYouth15, "information_on_request", "x").status().code(),
            absl::StatusCode::kPermissionDenied);

  const std::vector<v1::AuditEntry> checks = Checks();
  const v1::AuditEntry& by_statute = checks[checks.size() - 2];
  EXPECT_EQ(by_statute.actor_org_id(), "wba-social");
  EXPECT_EQ(by_statute.rule(), v1::RULE_STATUTE);
  EXPECT_EQ(by_statute.rule_id(), "information_on_request");
  EXPECT_TRUE(by_statute.justification_present());
  EXPECT_EQ(by_statute.detail(), "found");
  EXPECT_EQ(by_statute.counterpart_org_id(), "police-hame");
  EXPECT_THAT(by_statute.DebugString(), Not(HasSubstr("assessing")));
}

TEST_F(ExistenceTest, TheYoungPersonsRefusalBeatsTheGuardiansConsent) {
  OpenCase("police-hame", kYouth15, {});
  ConsentToExistence(kYouth15, "hml-youth", v1::GUARDIAN);
  ASSERT_THAT(Check("hml-youth", kYouth15), IsOk());
  v1::RecordRefusalRequest refusal;
  refusal.mutable_subject()->set_hetu(kYouth15);
  refusal.mutable_refusal()->set_grantor(v1::SUBJECT);
  refusal.mutable_refusal()->add_categories(v1::CATEGORY_SERVICE_RELATIONSHIP);
  refusal.mutable_refusal()->add_recipients()->set_org_id("hml-youth");
  refusal.mutable_refusal()->set_evidence_ref("form");
  *refusal.mutable_acting_user() = Worker();
  ASSERT_THAT(consents_->RecordRefusal(As("wba-registrar"), refusal), IsOk());
  EXPECT_THAT(Check("hml-youth", kYouth15),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("refusal")));
}

TEST_F(CaseRegistryTest, NonMemberCannotTellWhetherACaseExists) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::GetCaseRequest existing;
  existing.set_case_id(c.case_id());
  v1::GetCaseRequest missing;
  missing.set_case_id("01890000-0000-7000-8000-000000000000");

  const absl::Status a = cases_->GetCase(As("asenne-ry"), existing).status();
  const absl::Status b = cases_->GetCase(As("asenne-ry"), missing).status();

  EXPECT_EQ(a.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(b.code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(CaseRegistryTest, OnlyCoordinatorChangesMembership) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"police-hame"});
  v1::AddMemberRequest add;
  add.set_case_id(c.case_id());
  add.set_org_id("hml-youth");
  *add.mutable_acting_user() = Worker();

  EXPECT_THAT(cases_->AddMember(As("police-hame"), add),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("coordinating")));
  auto added = cases_->AddMember(As("wba-social"), add);
  ASSERT_THAT(added, IsOk());
  EXPECT_THAT(added->case_().member_org_ids(),
              UnorderedElementsAre("wba-social", "police-hame", "hml-youth"));
}

TEST_F(CaseRegistryTest, UnknownMemberOrgIsInvalidArgument) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::AddMemberRequest add;
  add.set_case_id(c.case_id());
  add.set_org_id("no-such-org");
  *add.mutable_acting_user() = Worker();

  EXPECT_THAT(cases_->AddMember(As("wba-social"), add),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("org_id")));
}

TEST_F(CaseRegistryTest, TransferIsRecordedWithActingUserAndMovesTheRole) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"hml-youth"});
  v1::TransferCoordinatorRequest transfer;
  transfer.set_case_id(c.case_id());
  transfer.mutable_new_coordinator()->set_org_id("hml-youth");
  transfer.mutable_new_coordinator()->set_worker_id("youth-worker-3");
  transfer.set_reason("young person moved to youth services");
  *transfer.mutable_acting_user() = Worker("social-worker-9");

  auto moved = cases_->TransferCoordinator(As("wba-social"), transfer);

  ASSERT_THAT(moved, IsOk());
  EXPECT_EQ(moved->case_().coordinator().org_id(), "hml-youth");
  auto events = store_->ListCaseEvents(c.case_id());
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].type(), v1::COORDINATOR_CHANGED);
  EXPECT_EQ((*events)[1].acting_user().worker_id(), "social-worker-9");
  EXPECT_EQ((*events)[1].counterpart_org_id(), "hml-youth");
  EXPECT_EQ((*events)[1].coordinator_worker_id(), "youth-worker-3");
  // The former coordinator can no longer change the case.
  v1::CloseCaseRequest close;
  close.set_case_id(c.case_id());
  *close.mutable_acting_user() = Worker();
  EXPECT_THAT(cases_->CloseCase(As("wba-social"), close),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("hml-youth")));
}

TEST_F(CaseRegistryTest, TransferToNonMemberIsRefused) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::TransferCoordinatorRequest transfer;
  transfer.set_case_id(c.case_id());
  transfer.mutable_new_coordinator()->set_org_id("hml-youth");
  transfer.mutable_new_coordinator()->set_worker_id("w");
  *transfer.mutable_acting_user() = Worker();

  EXPECT_THAT(cases_->TransferCoordinator(As("wba-social"), transfer),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not a member")));
}

TEST_F(CaseRegistryTest, ClosedCaseAllowsANewCaseAndRefusesChanges) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::CloseCaseRequest close;
  close.set_case_id(c.case_id());
  *close.mutable_acting_user() = Worker();
  ASSERT_THAT(cases_->CloseCase(As("wba-social"), close), IsOk());

  v1::AddMemberRequest add;
  add.set_case_id(c.case_id());
  add.set_org_id("hml-youth");
  *add.mutable_acting_user() = Worker();
  EXPECT_THAT(cases_->AddMember(As("wba-social"), add),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("closed")));
  const v1::Case second = OpenCase("hml-youth", kYouth15, {});
  EXPECT_NE(second.case_id(), c.case_id());
}

TEST_F(CaseRegistryTest, CoordinatorCannotBeRemoved) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {});
  v1::RemoveMemberRequest remove;
  remove.set_case_id(c.case_id());
  remove.set_org_id("wba-social");
  *remove.mutable_acting_user() = Worker();

  EXPECT_THAT(cases_->RemoveMember(As("wba-social"), remove),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("transfer")));
}

TEST_F(CaseRegistryTest, ListCasesPagesNewestFirstAndOnlyOwnCases) {
  const char* hetus[] = {"150609B934Y", "010311D950J", "241185Y912P", "070777X913F", "080888W914T"};
  std::vector<std::string> opened;
  for (const char* hetu : hetus) {
    now_ += absl::Seconds(1);
    opened.push_back(OpenCase("wba-social", hetu, {}).case_id());
  }
  OpenCase("police-hame", "090999V9154", {});
  v1::ListCasesRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  do {
    auto page = cases_->ListCases(As("wba-social"), request);
    ASSERT_THAT(page, IsOk());
    for (const auto& c : page->cases()) seen.push_back(c.case_id());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());

  EXPECT_THAT(seen, ElementsAre(opened[4], opened[3], opened[2], opened[1], opened[0]));
}

TEST_F(CaseRegistryTest, InvalidInputNamesFieldWithoutEchoingHetu) {
  v1::CreateCaseRequest request;
  request.mutable_subject()->set_hetu("150609B934X");  // wrong check character
  request.set_purpose("service_coordination");
  request.set_coordinator_worker_id("w");
  *request.mutable_acting_user() = Worker();

  const absl::Status status = cases_->CreateCase(As("wba-social"), request).status();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subject.hetu")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("150609")));
  request.mutable_subject()->set_hetu(kYouth15);
  request.set_purpose("gossip");
  EXPECT_THAT(cases_->CreateCase(As("wba-social"), request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("purpose")));
}

}  // namespace
}  // namespace silta::cases
