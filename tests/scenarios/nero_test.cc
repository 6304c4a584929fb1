// Scenario: Kanta-Häme's NERO expert network (DESIGN.md §1). A
// family-centre worker consults the network anonymously: a message without
// a case that carries identifying fields is refused by the broker before
// anything is stored; the anonymous Consultation reaches every expert.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::vector<std::string> kExperts = {"wba-psychiatry", "rise-probation", "hml-youth"};

TEST(NeroScenario, IdentifyingFieldsAreRefusedAnonymousQuestionsGoThrough) {
  World world("nero");
  world.Keys("wba-social");
  for (const auto& org : kExperts) world.Keys(org);

  // A worker pastes the child's name into an anonymous message: refused whole.
  v1::Referral identifying;
  identifying.set_subject_name("Matti Meikäläinen");
  identifying.set_support_needs("what would you do?");
  const v1::SealedMessage refused =
      world.Seal("wba-social", "", identifying, kExperts, "", "", "expert_consultation");
  v1::SendResponse response;
  grpc::Status status = world.Send("wba-social", refused, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("subject_name"));
  EXPECT_THAT(status.error_message(), HasSubstr("CATEGORY_IDENTITY"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("Matti")));
  // Nothing was stored: no status, no audit entry, no delivery.
  {
    grpc::ClientContext context;
    v1::GetMessageStatusRequest request;
    request.set_message_id(refused.header().message_id());
    v1::GetMessageStatusResponse status_response;
    EXPECT_EQ(v1::MessageService::NewStub(world.Channel("wba-social"))
                  ->GetMessageStatus(&context, request, &status_response)
                  .error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  CommandResult r = world.Siltactl(
      "wba-dpo", {"audit", "query", "--org", "wba-social", "--type", "MESSAGE_ACCEPTED", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr(refused.header().message_id())));
  EXPECT_FALSE(world.Receive("hml-youth", absl::Seconds(1)).has_value());

  // The anonymous question itself reaches every expert, whole.
  v1::Consultation question;
  question.set_question("Repeated shoplifting with older youths: what has worked?");
  question.set_age_range("13-15");
  question.set_offence_type("theft");
  question.set_services_involved("family centre, school social worker");
  ASSERT_TRUE(
      world
          .Send("wba-social",
                world.Seal("wba-social", "", question, kExperts, "", "", "expert_consultation"),
                &response)
          .ok());
  for (const auto& expert : kExperts) {
    auto delivery = world.Receive(expert);
    ASSERT_TRUE(delivery.has_value()) << expert;
    v1::Consultation got;
    ASSERT_TRUE(world.Open("wba-social", expert, *delivery, &got).ok());
    EXPECT_EQ(got.question(), question.question()) << expert;
    EXPECT_EQ(got.offence_type(), question.offence_type()) << expert;
    EXPECT_EQ(delivery->withheld_field_count(), 0u);
    ASSERT_TRUE(world.Ack(expert, delivery->delivery_id()).ok());
  }
  // The evidence has no subject at all.
  r = world.Siltactl("wba-dpo", {"audit", "query", "--type", "MESSAGE_DELIVERED", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("RULE_POLICY"));
  EXPECT_THAT(r.output, Not(HasSubstr("subject_ref")));
}

}  // namespace
}  // namespace silta::testing
