// Statutory bases over a real siltad, where a condition needs more than the
// engine's table (statute_table_test has the table): information given on
// request (lastensuojelulaki 41 §) only answers the recipient's own signed
// InformationRequest, checked by the broker from the stored request.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

// The decisions of a receipt for one recipient, as "path=VERDICT".
std::vector<std::string> Verdicts(const v1::DeliveryReceipt& receipt, const std::string& org) {
  std::vector<std::string> out;
  for (const v1::Decision& d : receipt.decisions()) {
    if (d.recipient_org_id() == org) {
      out.push_back(absl::StrCat(d.field_path(), "=", v1::Verdict_Name(d.verdict())));
    }
  }
  return out;
}

TEST(StatutoryBasesTest, InformationOnRequestAnswersOnlyTheRecipientsOwnRequest) {
  World world("statutory-bases");
  const std::string case_id = world.OpenCase("wba-social", {"police-hame", "hml-youth"});

  // Social welfare asks the police; nothing in the request is consented, so
  // the police get only its existence, but the request is on record.
  v1::InformationRequest question;
  question.set_question("contacts with the police this year?");
  v1::SendResponse request_sent;
  ASSERT_TRUE(world.Send("wba-social", world.Seal("wba-social", case_id, question, {"police-hame"}),
                         &request_sent)
                  .ok());
  const std::string request_id = request_sent.receipt().message_id();
  // A Referral is not a request for information.
  v1::Referral referral;
  referral.set_support_needs("support person");
  v1::SendResponse referral_sent;
  ASSERT_TRUE(world.Send("wba-social", world.Seal("wba-social", case_id, referral, {"police-hame"}),
                         &referral_sent)
                  .ok());
  // A request social welfare sent to someone else.
  v1::SendResponse other_sent;
  ASSERT_TRUE(world.Send("wba-social", world.Seal("wba-social", case_id, question, {"hml-youth"}),
                         &other_sent)
                  .ok());

  v1::InformationResponse answer;
  answer.set_criminal_offence("two shoplifting reports in 2026");
  answer.set_answer("no other contacts");
  auto reply = [&](const std::string& reply_to) {
    v1::SendResponse response;
    const grpc::Status status = world.Send(
        "police-hame",
        world.Seal("police-hame", case_id, answer, {"wba-social"}, "information_on_request",
                   "answer to the social worker's request of today", "referral", reply_to),
        &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.receipt();
  };

  const v1::DeliveryReceipt answered = reply(request_id);
  EXPECT_THAT(Verdicts(answered, "wba-social"),
              ::testing::IsSupersetOf({"criminal_offence=PERMIT", "answer=PERMIT"}));
  for (const v1::Decision& d : answered.decisions()) {
    if (d.verdict() != v1::PERMIT) continue;
    EXPECT_EQ(d.rule(), v1::RULE_STATUTE) << d.reason();
    EXPECT_EQ(d.rule_id(), "information_on_request");
  }

  for (const std::string& not_a_request :
       {std::string(), referral_sent.receipt().message_id(), other_sent.receipt().message_id(),
        std::string("01a00000-0000-7000-8000-000000000000")}) {
    const v1::DeliveryReceipt unlinked = reply(not_a_request);
    ASSERT_GT(unlinked.decisions_size(), 0);
    for (const v1::Decision& d : unlinked.decisions()) {
      EXPECT_EQ(d.verdict(), v1::DENY) << "reply_to=" << not_a_request;
      EXPECT_THAT(d.reason(), HasSubstr("applies only to an InformationResponse answering an "
                                        "InformationRequest that wba-social sent"));
    }
  }
}

}  // namespace
}  // namespace silta::testing
