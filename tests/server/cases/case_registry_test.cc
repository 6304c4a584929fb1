#include "server/cases/case_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

TEST_F(CaseRegistryTest, SecondCaseForSameSubjectNamesTheCoordinator) {
  OpenCase("wba-social", kYouth15, {});
  v1::CreateCaseRequest request;
  request.mutable_subject()->set_hetu(kYouth15);
  request.set_purpose("referral");
  request.set_coordinator_worker_id("w2");
  *request.mutable_acting_user() = Worker();

  EXPECT_THAT(cases_->CreateCase(As("hml-youth"), request),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("wba-social")));
}

TEST_F(CaseRegistryTest, CheckExistingCaseRevealsOnlyExistenceAndCoordinator) {
  const v1::Case c = OpenCase("wba-social", kYouth15, {"police-hame"});
  v1::CheckExistingCaseRequest request;
  request.mutable_subject()->set_hetu(kYouth15);
  *request.mutable_acting_user() = Worker();

  auto found = cases_->CheckExistingCase(As("hml-youth"), request);
  request.mutable_subject()->set_hetu(kAdult);
  auto not_found = cases_->CheckExistingCase(As("hml-youth"), request);

  ASSERT_THAT(found, IsOk());
  EXPECT_TRUE(found->open_case_exists());
  EXPECT_EQ(found->coordinator_org_id(), "wba-social");
  EXPECT_EQ(found->coordinator_org_name(), "Org wba-social");
  EXPECT_THAT(found->DebugString(), Not(HasSubstr(c.case_id())));
  ASSERT_THAT(not_found, IsOk());
  EXPECT_FALSE(not_found->open_case_exists());
  EXPECT_TRUE(not_found->coordinator_org_id().empty());
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
  const char* hetus[] = {"150609B934Y", "010311D950J", "241185Y912P", "070777X913F",
                         "080888W914T"};
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
