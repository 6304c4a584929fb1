// Scenario: Oulu's one-adult model (DESIGN.md §1). A second agency tries to
// open a case for the same young person and is told that one exists and
// who coordinates it; the coordinator role is handed over explicitly and
// recorded; the subject report lists every disclosure.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/registry_fixture.h"

namespace silta::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(OneAdultScenario, OneCaseOneCoordinatorAndEveryDisclosureReported) {
  World world("one-adult");
  for (const char* org : {"hml-youth", "police-hame", "wba-social"}) world.Keys(org);
  const std::string case_id = world.OpenCase("hml-youth", {"wba-social"}, kYouth17);

  // Police would open a second case: refused. Who coordinates is named
  // only once the young person's guardian consents to the police learning
  // it (issue #13 §7); the check itself is then answered too.
  const auto create = [&]() {
    grpc::ClientContext context;
    v1::CreateCaseRequest request;
    request.mutable_subject()->set_hetu(kYouth17);
    request.set_purpose("referral");
    request.set_coordinator_worker_id("officer-12");
    request.mutable_acting_user()->set_worker_id("officer-12");
    v1::CreateCaseResponse response;
    return v1::CaseService::NewStub(world.Channel("police-hame"))
        ->CreateCase(&context, request, &response);
  };
  const auto check = [&](v1::CheckExistingCaseResponse* response) {
    grpc::ClientContext context;
    v1::CheckExistingCaseRequest request;
    request.mutable_subject()->set_hetu(kYouth17);
    request.set_purpose("referral");
    request.mutable_acting_user()->set_worker_id("officer-12");
    return v1::CaseService::NewStub(world.Channel("police-hame"))
        ->CheckExistingCase(&context, request, response);
  };
  grpc::Status status = create();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("already has an open case"));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("hml-youth")));
  v1::CheckExistingCaseResponse response;
  EXPECT_EQ(check(&response).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  world.ConsentTo(kYouth17, {v1::CATEGORY_SERVICE_RELATIONSHIP}, "police-hame", {"referral"});
  status = create();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("coordinated by hml-youth"));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr(kYouth17)));
  ASSERT_TRUE(check(&response).ok());
  EXPECT_TRUE(response.open_case_exists());
  EXPECT_EQ(response.coordinator_org_id(), "hml-youth");
  // The youth worker hands the one-adult role to social services.
  {
    grpc::ClientContext context;
    v1::TransferCoordinatorRequest request;
    request.set_case_id(case_id);
    request.mutable_new_coordinator()->set_org_id("wba-social");
    request.mutable_new_coordinator()->set_worker_id("social-worker-3");
    request.set_reason("child-welfare client now");
    request.mutable_acting_user()->set_worker_id("youth-worker-1");
    v1::TransferCoordinatorResponse response;
    ASSERT_TRUE(v1::CaseService::NewStub(world.Channel("hml-youth"))
                    ->TransferCoordinator(&context, request, &response)
                    .ok());
    EXPECT_EQ(response.case_().coordinator().org_id(), "wba-social");
  }
  CommandResult r = world.Siltactl(
      "wba-dpo", {"audit", "query", "--case", case_id, "--type", "COORDINATOR_TRANSFERRED"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("hml-youth"), HasSubstr("wba-social"),
                              HasSubstr("child-welfare client now")));

  // Two disclosures under consent, both in the report.
  world.Assess(kYouth17, {v1::CATEGORY_EDUCATION_EMPLOYMENT}, {"referral"});
  world.ConsentTo(kYouth17, {v1::CATEGORY_EDUCATION_EMPLOYMENT}, "wba-social", {"referral"},
                  v1::SUBJECT, absl::Hours(24 * 30));
  for (int i = 0; i < 2; ++i) {
    v1::Referral referral;
    referral.set_education_employment(i == 0 ? "vocational school" : "apprenticeship");
    v1::SendResponse sent;
    ASSERT_TRUE(
        world.Send("hml-youth", world.Seal("hml-youth", case_id, referral, {"wba-social"}), &sent)
            .ok());
    auto delivery = world.Receive("wba-social");
    ASSERT_TRUE(delivery.has_value());
    ASSERT_TRUE(world.Ack("wba-social", delivery->delivery_id()).ok());
  }
  r = world.Siltactl("wba-registrar", {"report", "subject", "--requester", "subject", "--json", "--worker", "registrar-1"},
                     std::string(kYouth17) + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  v1::SubjectReportResponse report;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.output, &report).ok()) << r.output;
  int disclosed = 0;
  for (const auto& d : report.disclosures()) {
    if (d.withheld()) continue;
    ++disclosed;
    EXPECT_EQ(d.basis(), v1::RULE_CONSENT);
    EXPECT_FALSE(d.basis_reference().empty());
  }
  EXPECT_EQ(disclosed, 2);
}

}  // namespace
}  // namespace silta::testing
