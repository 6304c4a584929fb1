// Statutory notifications (lastensuojelulaki 25 §, sosiaalihuoltolaki 35 §)
// over a real siltad: an organisation outside any case notifies without
// first asking a coordinator, the receiving organisation links the
// notification to its case, and the coordinator then sees it. Everything a
// hostile or mistaken caller might try around it is refused.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/audit.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/test_hetu.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

v1::ChildWelfareNotification Notification() {
  v1::ChildWelfareNotification n;
  n.set_child_name("Child Person");
  n.set_contact("040 000 0000");
  n.set_concern("left alone at night repeatedly");
  n.set_urgent(true);
  return n;
}

class NotificationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = std::make_unique<World>("notifications");
    for (const char* org : {"police-hame", "wba-social", "wba-psychiatry", "hml-youth"}) {
      world_->Keys(org);
    }
    // The police coordinate a case of the child with social services; the
    // youth services are in no case of the child.
    case_id_ = world_->OpenCase("police-hame", {"wba-social"});
  }

  grpc::Status Link(const std::string& org, const std::string& sender,
                    const std::string& message_id, const std::string& case_id,
                    v1::LinkNotificationResponse* response) {
    grpc::ClientContext context;
    v1::LinkNotificationRequest request;
    request.set_sender_org_id(sender);
    request.set_message_id(message_id);
    request.set_case_id(case_id);
    request.mutable_acting_user()->set_worker_id("sw-7");
    return v1::MessageService::NewStub(world_->Channel(org))
        ->LinkNotification(&context, request, response);
  }

  std::vector<v1::AuditEntry> Entries(const std::string& org, v1::AuditEventType type) {
    grpc::ClientContext context;
    v1::QueryEntriesRequest request;
    request.set_case_id(case_id_);
    request.add_types(type);
    v1::QueryEntriesResponse response;
    const grpc::Status status =
        v1::AuditService::NewStub(world_->Channel(org))->QueryEntries(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.entries().begin(), response.entries().end()};
  }

  // The youth services notify social services about the child, in no case.
  v1::SendResponse NotifyOutsideCase() {
    v1::SendResponse sent;
    const grpc::Status status =
        world_->Send("hml-youth",
                     world_->Seal("hml-youth", "", Notification(), {"wba-social"}, "lsl_25",
                                  "seen at the youth centre at 2 a.m. three nights running",
                                  "child_welfare_notification", "", kHetu),
                     &sent, kHetu);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return sent;
  }

  std::unique_ptr<World> world_;
  std::string case_id_;
};

TEST_F(NotificationsTest, AnOrganisationOutsideAnyCaseNotifiesAndTheCoordinatorSeesItOnceLinked) {
  const v1::SendResponse sent = NotifyOutsideCase();
  ASSERT_GT(sent.receipt().decisions_size(), 0);
  for (const v1::Decision& d : sent.receipt().decisions()) {
    if (d.field_path() == crypto::kJustificationPath) continue;  // not previewed here
    EXPECT_EQ(d.verdict(), v1::PERMIT) << d.field_path() << ": " << d.reason();
    EXPECT_EQ(d.rule_id(), "lsl_25");
  }
  const std::string message_id = sent.receipt().message_id();

  const std::optional<v1::Delivery> delivery = world_->Receive("wba-social");
  ASSERT_TRUE(delivery.has_value());
  v1::ChildWelfareNotification opened;
  ASSERT_TRUE(world_->Open("hml-youth", "wba-social", *delivery, &opened).ok());
  EXPECT_EQ(opened.concern(), "left alone at night repeatedly");
  ASSERT_TRUE(world_->Ack("wba-social", delivery->delivery_id()).ok());

  // Before the link the coordinator sees nothing of it in the case.
  EXPECT_THAT(Entries("police-hame", v1::NOTIFICATION_LINKED), ::testing::IsEmpty());

  v1::LinkNotificationResponse linked;
  const grpc::Status status = Link("wba-social", "hml-youth", message_id, case_id_, &linked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::vector<v1::AuditEntry> seen = Entries("police-hame", v1::NOTIFICATION_LINKED);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].index(), linked.audit_index());
  EXPECT_EQ(seen[0].actor_org_id(), "wba-social");
  EXPECT_EQ(seen[0].counterpart_org_id(), "police-hame");
  EXPECT_EQ(seen[0].message_id(), message_id);
  EXPECT_EQ(seen[0].rule_id(), "lsl_25");
  EXPECT_EQ(seen[0].detail(), "notifier=hml-youth");
  EXPECT_EQ(seen[0].payload_type(), "silta.v1.ChildWelfareNotification");
  EXPECT_THAT(seen[0].categories(), ::testing::Contains(v1::CATEGORY_CHILD_WELFARE));

  // Linking again is the same link.
  v1::LinkNotificationResponse again;
  ASSERT_TRUE(Link("wba-social", "hml-youth", message_id, case_id_, &again).ok());
  EXPECT_EQ(again.audit_index(), linked.audit_index());
  EXPECT_EQ(Entries("police-hame", v1::NOTIFICATION_LINKED).size(), 1u);
}

TEST_F(NotificationsTest, OnlyTheRecipientLinksAndOnlyToACaseOfTheSamePerson) {
  const std::string message_id = NotifyOutsideCase().receipt().message_id();
  v1::LinkNotificationResponse linked;

  // Not yet delivered: to the recipient it does not exist yet.
  EXPECT_EQ(Link("wba-social", "hml-youth", message_id, case_id_, &linked).error_code(),
            grpc::StatusCode::NOT_FOUND);
  const std::optional<v1::Delivery> delivery = world_->Receive("wba-social");
  ASSERT_TRUE(delivery.has_value());

  // The sender, and a member of the case that did not receive it, cannot.
  for (const char* other : {"hml-youth", "police-hame"}) {
    const grpc::Status status = Link(other, "hml-youth", message_id, case_id_, &linked);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << other;
    EXPECT_THAT(status.error_message(), HasSubstr("was delivered to you")) << other;
  }
  // A case of another young person.
  const std::string other_case = world_->OpenCase("wba-social", {}, TestHetu(16, 971));
  grpc::Status status = Link("wba-social", "hml-youth", message_id, other_case, &linked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("another person"));
  // A case the recipient is not a member of.
  const std::string foreign_case = world_->OpenCase("wba-psychiatry", {}, TestHetu(15, 972));
  status = Link("wba-social", "hml-youth", message_id, foreign_case, &linked);
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
  // A message in a case is not a notification outside one.
  world_->Consent(v1::CATEGORY_SOCIAL_WELFARE, "wba-social");
  v1::Referral referral;
  referral.set_support_needs("support person");
  v1::SendResponse in_case;
  ASSERT_TRUE(world_
                  ->Send("police-hame",
                         world_->Seal("police-hame", case_id_, referral, {"wba-social"}), &in_case)
                  .ok());
  (void)world_->Receive("wba-social");
  (void)world_->Receive("wba-social");
  status = Link("wba-social", "police-hame", in_case.receipt().message_id(), case_id_, &linked);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("not a notification sent outside a case"));
  // The right one.
  ASSERT_TRUE(Link("wba-social", "hml-youth", message_id, case_id_, &linked).ok());
}

TEST_F(NotificationsTest, APersonOutsideACaseNeedsANotificationBasis) {
  const auto send = [&](const std::string& basis, const std::string& case_id,
                        const std::string& subject) {
    const std::string sender = case_id.empty() ? "hml-youth" : "police-hame";
    v1::SendResponse sent;
    return world_->Send(sender,
                        world_->Seal(sender, case_id, Notification(), {"wba-social"}, basis,
                                     "reason", "child_welfare_notification"),
                        &sent, subject);
  };
  // No basis, or a basis that is not a notification: open a case instead.
  for (const std::string basis : {"", "nuorisolaki_11"}) {
    const grpc::Status status = send(basis, "", kHetu);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << basis;
    EXPECT_THAT(status.error_message(), HasSubstr("only a notification")) << basis;
  }
  // A case names its person already.
  const grpc::Status in_case = send("lsl_25", case_id_, kHetu);
  EXPECT_EQ(in_case.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(in_case.error_message(), HasSubstr("leave subject unset"));
  // A malformed HETU is named as such, never echoed.
  const grpc::Status bad = send("lsl_25", "", "010101-0000");
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("subject.hetu"));
  EXPECT_THAT(bad.error_message(), ::testing::Not(HasSubstr("010101-0000")));
  // Without a subject the identifying fields make it an anonymous
  // consultation, which may not identify anyone.
  EXPECT_EQ(send("lsl_25", "", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(NotificationsTest, OutsideACaseOnlyTheBasisReleasesAndOnlyToItsRecipientKinds) {
  // A consent for the police to get everything counts for nothing outside a case.
  world_->ConsentTo(kHetu, {v1::CATEGORY_CHILD_WELFARE, v1::CATEGORY_IDENTITY}, "police-hame",
                    {"child_welfare_notification"});
  v1::SendResponse sent;
  ASSERT_TRUE(world_
                  ->Send("hml-youth",
                         world_->Seal("hml-youth", "", Notification(), {"police-hame"}, "lsl_25",
                                      "reason", "child_welfare_notification", "", kHetu),
                         &sent, kHetu)
                  .ok());
  ASSERT_GT(sent.receipt().decisions_size(), 0);
  for (const v1::Decision& d : sent.receipt().decisions()) {
    EXPECT_EQ(d.verdict(), v1::DENY) << d.field_path();
    EXPECT_EQ(d.rule(), v1::RULE_OUTSIDE_CASE) << d.reason();
    EXPECT_THAT(d.reason(), HasSubstr("does not allow disclosure to a POLICE"));
  }
}

TEST_F(NotificationsTest, InACaseANotificationReachesARecipientThatIsNotAMember) {
  // wba-psychiatry is not a member of the police's case; a notification
  // does not wait for the coordinator to add it.
  v1::SendResponse sent;
  ASSERT_TRUE(world_
                  ->Send("police-hame",
                         world_->Seal("police-hame", case_id_, Notification(), {"wba-psychiatry"},
                                      "lsl_25", "reason", "child_welfare_notification"),
                         &sent)
                  .ok());
  for (const v1::Decision& d : sent.receipt().decisions()) {
    if (d.field_path() == crypto::kJustificationPath) continue;  // not previewed here
    EXPECT_EQ(d.verdict(), v1::PERMIT) << d.field_path() << ": " << d.reason();
  }
  // Without a notification basis the membership rule stands.
  v1::Referral referral;
  referral.set_support_needs("support person");
  ASSERT_TRUE(world_
                  ->Send("police-hame",
                         world_->Seal("police-hame", case_id_, referral, {"wba-psychiatry"},
                                      "threat_to_life", "reason"),
                         &sent)
                  .ok());
  for (const v1::Decision& d : sent.receipt().decisions()) {
    EXPECT_EQ(d.rule(), v1::RULE_NOT_A_MEMBER) << d.reason();
  }
}

}  // namespace
}  // namespace silta::testing
