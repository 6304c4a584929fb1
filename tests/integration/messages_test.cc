// Sealed messages end to end over a real siltad: keys published, a case
// with consents, preview → seal → Send → Subscribe → open → Ack, with the
// broker withholding what a recipient may not have, at send and at
// delivery; idempotent ids; redelivery; and nothing lost across SIGKILL.
#include <signal.h>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "client/sdk/client.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "silta/v1/case.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

v1::RecipientState StateOf(const v1::GetMessageStatusResponse& status, const std::string& org) {
  for (const auto& r : status.recipients()) {
    if (r.recipient_org_id() == org) return r.state();
  }
  return v1::RECIPIENT_STATE_UNSPECIFIED;
}

TEST(MessagesTest, EachMemberGetsExactlyItsPermittedFieldsThenAckPurges) {
  World world("messages-flow");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth", "wba-social"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Consent(v1::CATEGORY_SOCIAL_WELFARE, "wba-social");
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "wba-social");
  const v1::SealedMessage m = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth", "wba-social"});

  v1::SendResponse sent;
  const grpc::Status status = world.Send("police-hame", m, &sent);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(sent.receipt().decisions_size(), 6);
  auto youth = world.Receive("hml-youth");
  ASSERT_TRUE(youth.has_value());
  v1::Referral youth_view;
  auto opened = world.Open("police-hame", "hml-youth", *youth, &youth_view);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(youth_view.education_employment(), "9th grade, absent often");
  EXPECT_TRUE(youth_view.support_needs().empty());
  EXPECT_TRUE(youth_view.mental_health_notes().empty());
  EXPECT_EQ(opened->withheld_fields, 2);
  EXPECT_EQ(youth->withheld_field_count(), 2u);

  auto social = world.Receive("wba-social");
  ASSERT_TRUE(social.has_value());
  v1::Referral social_view;
  ASSERT_TRUE(world.Open("police-hame", "wba-social", *social, &social_view).ok());
  EXPECT_EQ(social_view.support_needs(), "needs a support person");
  EXPECT_TRUE(social_view.mental_health_notes().empty());

  ASSERT_TRUE(world.Ack("hml-youth", youth->delivery_id()).ok());
  ASSERT_TRUE(world.Ack("hml-youth", youth->delivery_id()).ok());  // idempotent
  EXPECT_EQ(StateOf(world.Status("police-hame", m.header().message_id()), "hml-youth"), v1::ACKED);
  EXPECT_EQ(StateOf(world.Status("police-hame", m.header().message_id()), "wba-social"), v1::DELIVERED);
  ASSERT_TRUE(world.Ack("wba-social", social->delivery_id()).ok());
  // Everyone acked: nothing more to deliver, ciphertext purged.
  EXPECT_FALSE(world.Receive("hml-youth", absl::Milliseconds(1500)).has_value());
  // The receiver cannot read the sender's status; another org's ack is refused.
  EXPECT_EQ(world.Ack("wba-psychiatry", social->delivery_id()).error_code(), grpc::StatusCode::NOT_FOUND);
}

// The same flow through the SDK's client API, across a key rotation of the
// recipient: a message sealed to its old key still opens after rotation.
TEST(MessagesTest, SdkClientSealsSendsSubscribesOpensAndAcksAcrossKeyRotation) {
  World world("messages-sdk");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth", "wba-social"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("hml-youth");
  world.Keys("wba-social");
  auto police = world.Client("police-hame");
  ASSERT_NE(police, nullptr);
  sdk::SealRequest request;
  request.case_id = case_id;
  request.purpose = "referral";
  request.recipients = {"hml-youth", "wba-social"};
  request.worker_id = "officer-12";

  auto sealed = police->Seal(MixedReferral(), request);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  auto receipt = police->Send(*sealed);
  ASSERT_TRUE(receipt.ok()) << receipt.status();
  world.Keys("hml-youth", /*rotate=*/true);
  auto youth = world.Client("hml-youth");
  ASSERT_NE(youth, nullptr);
  v1::Referral view;
  std::optional<sdk::OpenedMessage> opened;
  std::string delivery_id;
  ASSERT_TRUE(youth->Subscribe(
                       [&](const v1::Delivery& d) {
                         auto o = youth->Open(d, &view);
                         EXPECT_TRUE(o.ok()) << o.status();
                         if (o.ok()) opened = *o;
                         delivery_id = d.delivery_id();
                         return false;
                       },
                       absl::Seconds(30), absl::Seconds(5))
                  .ok());

  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(view.education_employment(), "9th grade, absent often");
  EXPECT_EQ(opened->withheld_fields, 2);
  ASSERT_TRUE(youth->Ack(delivery_id).ok());
  auto status = police->Status(sealed->header().message_id());
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(StateOf(*status, "hml-youth"), v1::ACKED);
  // wba-social was permitted nothing: it gets nothing at all.
  EXPECT_EQ(StateOf(*status, "wba-social"), v1::NOTHING_PERMITTED);
}

TEST(MessagesTest, ManyDeliveriesAreAckedInOneCallAndTheRestAreNamed) {
  World world("messages-ack-batch");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("hml-youth");
  auto police = world.Client("police-hame");
  ASSERT_NE(police, nullptr);
  sdk::SealRequest request{.case_id = case_id,
                           .purpose = "referral",
                           .recipients = {"hml-youth"},
                           .worker_id = "officer-12"};
  std::vector<std::string> message_ids;
  for (int i = 0; i < 3; ++i) {
    auto sealed = police->Seal(MixedReferral(), request);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    ASSERT_TRUE(police->Send(*sealed).ok());
    message_ids.push_back(sealed->header().message_id());
  }
  auto youth = world.Client("hml-youth");
  ASSERT_NE(youth, nullptr);
  const std::vector<std::string> delivery_ids = world.TakeDeliveryIds("hml-youth", 3);
  ASSERT_EQ(delivery_ids.size(), 3u);
  // Another org's delivery id, and one nobody has: named, and the rest count.
  const std::string unknown = *crypto::NewUuidV7(absl::Now());
  std::vector<std::string> batch = delivery_ids;
  batch.push_back(unknown);
  batch.push_back(delivery_ids[0]);  // twice in one call is once

  absl::StatusOr<v1::AckResponse> acked = youth->AckAll(batch);

  ASSERT_TRUE(acked.ok()) << acked.status();
  ASSERT_EQ(acked->rejected_size(), 1);
  EXPECT_EQ(acked->rejected(0).delivery_id(), unknown);
  EXPECT_EQ(acked->rejected(0).reason(), "not found");
  for (const std::string& id : message_ids) {
    auto status = police->Status(id);
    ASSERT_TRUE(status.ok());
    EXPECT_EQ(StateOf(*status, "hml-youth"), v1::ACKED) << id;
  }
  // Again: acked deliveries ack OK; a malformed id refuses the whole call.
  acked = youth->AckAll(delivery_ids);
  ASSERT_TRUE(acked.ok()) << acked.status();
  EXPECT_EQ(acked->rejected_size(), 0);
  EXPECT_EQ(youth->AckAll({delivery_ids[0], "not-a-uuid"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The police cannot ack the youth services' deliveries.
  auto others = police->AckAll(delivery_ids);
  ASSERT_TRUE(others.ok());
  EXPECT_EQ(others->rejected_size(), 3);
}

TEST(MessagesTest, SameIdSameContentIsIdempotentOtherContentIsRefused) {
  World world("messages-idempotent");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  v1::SealedMessage m = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  v1::SendResponse first, again, other;
  ASSERT_TRUE(world.Send("police-hame", m, &first).ok());

  ASSERT_TRUE(world.Send("police-hame", m, &again).ok());
  EXPECT_EQ(again.receipt().SerializeAsString(), first.receipt().SerializeAsString());
  v1::Referral changed = MixedReferral();
  changed.set_housing("new flat");
  v1::SealedMessage replay = world.Seal("police-hame", case_id, changed, {"hml-youth"});
  *replay.mutable_header()->mutable_message_id() = m.header().message_id();
  const grpc::Status status = world.Send("police-hame", replay, &other);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // Issue #12 item 4: ids are unique per sender. Another sender using the
  // same id is neither refused nor told that the id exists.
  const sdk::OrgKeys& police = world.Keys("police-hame");
  v1::MessageHeader header;
  header.set_message_id(m.header().message_id());
  header.set_case_id(case_id);
  header.mutable_acting_user()->set_worker_id("youth-worker-1");
  header.set_purpose("referral");
  *header.mutable_created_at() = common::ToTimestamp(absl::Now());
  auto same_id = sdk::SealPayload(
      MixedReferral(), header, world.Keys("hml-youth").AsSender(),
      {{"police-hame", police.bundle.key_id(), police.bundle.hpke_public_key()}},
      [](auto, auto) { return true; }, "", sdk::SystemRandom());
  ASSERT_TRUE(same_id.ok()) << same_id.status();
  v1::SendResponse youth_receipt;
  const grpc::Status youth_sent = world.Send("hml-youth", *same_id, &youth_receipt);
  ASSERT_TRUE(youth_sent.ok()) << youth_sent.error_message();
  EXPECT_EQ(youth_receipt.receipt().message_id(), m.header().message_id());
  EXPECT_NE(youth_receipt.receipt().audit_index(), first.receipt().audit_index());
  // Each sender sees the status of its own message under that id.
  EXPECT_EQ(world.Status("hml-youth", m.header().message_id()).recipients(0).recipient_org_id(),
            "police-hame");
  EXPECT_EQ(world.Status("police-hame", m.header().message_id()).recipients(0).recipient_org_id(),
            "hml-youth");
}

TEST(MessagesTest, WithdrawalBeforeDeliveryStripsTheFieldAtDelivery) {
  World world("messages-withdrawal");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  const std::string social = world.Consent(v1::CATEGORY_SOCIAL_WELFARE, "hml-youth");
  const v1::SealedMessage m = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  v1::SendResponse sent;
  ASSERT_TRUE(world.Send("police-hame", m, &sent).ok());

  world.Withdraw(social);
  auto delivery = world.Receive("hml-youth");

  ASSERT_TRUE(delivery.has_value());
  v1::Referral view;
  auto opened = world.Open("police-hame", "hml-youth", *delivery, &view);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(view.education_employment(), "9th grade, absent often");
  EXPECT_TRUE(view.support_needs().empty());
  EXPECT_EQ(opened->withheld_fields, 2);
}

TEST(MessagesTest, UnackedDeliveryComesAgainAfterTheAckTimeout) {
  World world("messages-redelivery");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  v1::SendResponse sent;
  ASSERT_TRUE(world.Send("police-hame", world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"}), &sent).ok());

  auto first = world.Receive("hml-youth");
  ASSERT_TRUE(first.has_value());
  auto second = world.Receive("hml-youth", absl::Seconds(10));  // not acked: due again after 1 s

  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->delivery_id(), first->delivery_id());
  EXPECT_EQ(second->attempt(), 2u);
}

TEST(MessagesTest, AcceptedMessageSurvivesSigkillAndIsDeliveredAfterRestart) {
  World world("messages-crash");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  const v1::SealedMessage m = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  v1::SendResponse sent;
  ASSERT_TRUE(world.Send("police-hame", m, &sent).ok());

  world.Kill();  // right after the receipt
  world.Restart();
  auto delivery = world.Receive("hml-youth");

  ASSERT_TRUE(delivery.has_value());
  v1::Referral view;
  ASSERT_TRUE(world.Open("police-hame", "hml-youth", *delivery, &view).ok());
  EXPECT_EQ(view.education_employment(), "9th grade, absent often");
  EXPECT_EQ(delivery->message().header().message_id(), m.header().message_id());
}

TEST(MessagesTest, SuspendingTheRecipientOrgEndsItsOpenSubscription) {
  World world("messages-suspend");
  auto stub = v1::MessageService::NewStub(world.Channel("hml-youth"));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  auto reader = stub->Subscribe(&context, v1::SubscribeRequest());
  // Make sure the stream is open before suspending: wait for the subscriber log line.
  ASSERT_TRUE(world.siltad().WaitForLog("subscriber_connected", absl::Seconds(10)));

  world.Suspend("hml-youth");

  v1::Delivery delivery;
  EXPECT_FALSE(reader->Read(&delivery));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("suspended"));
}

// Issue #12 item 2: nothing is accepted that no recipient could open.
TEST(MessagesTest, FieldsThatCanNeverBeOpenedAreRefusedNamingTheField) {
  World world("messages-unopenable");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth", "asenne-ry"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  const v1::SealedMessage good = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  const auto refused = [&](const v1::SealedMessage& m, const std::string& field) {
    v1::SendResponse response;
    const grpc::Status s = world.Send("police-hame", m, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << field;
    EXPECT_THAT(s.error_message(), HasSubstr(field));
  };
  int permitted = -1;  // the field with hml-youth's wrapped key
  for (int i = 0; i < good.fields_size(); ++i) {
    if (good.fields(i).wrapped_keys_size() > 0) permitted = i;
  }
  ASSERT_GE(permitted, 0);

  v1::SealedMessage m = good;
  m.mutable_recipient_contexts(0)->mutable_encapsulated_key()->resize(31);
  refused(m, "message.recipient_contexts[0].encapsulated_key");
  m = good;
  m.mutable_fields(permitted)->mutable_wrapped_keys(0)->mutable_wrapped_key()->resize(10);
  refused(m, absl::StrCat("message.fields[", permitted, "].wrapped_keys[0].wrapped_key"));
  m = good;
  m.mutable_fields(0)->mutable_ciphertext()->resize(5);
  refused(m, "message.fields[0].ciphertext");
  m = good;
  m.mutable_fields(0)->mutable_key_commitment()->resize(31);
  refused(m, "message.fields[0].key_commitment");
  m = good;
  m.mutable_recipient_contexts(0)->set_recipient_key_id("0123456789abcdef0123456789abcdef");
  for (v1::SealedField& f : *m.mutable_fields()) {
    for (v1::WrappedKey& k : *f.mutable_wrapped_keys()) {
      k.set_recipient_key_id("0123456789abcdef0123456789abcdef");
    }
  }
  refused(m, "message.recipient_contexts[0].recipient_key_id: hml-youth has published no key bundle");
  m = good;
  m.clear_recipient_contexts();
  refused(m, "message.recipient_contexts: none for hml-youth");

  // A recipient bundle that has expired (published valid for one second).
  auto short_lived = sdk::CreateOrgKeys("asenne-ry", OrgSignerCert("asenne-ry"),
                                        OrgSignerKey("asenne-ry"), absl::Seconds(1),
                                        world.setup().dir + "/keys-asenne-short");
  ASSERT_TRUE(short_lived.ok()) << short_lived.status();
  {
    grpc::ClientContext context;
    v1::PublishKeyBundleRequest request;
    *request.mutable_bundle() = short_lived->bundle;
    request.mutable_acting_user()->set_worker_id("it");
    v1::PublishKeyBundleResponse published;
    ASSERT_TRUE(v1::KeyService::NewStub(world.Channel("asenne-ry"))
                    ->PublishKeyBundle(&context, request, &published)
                    .ok());
  }
  absl::SleepFor(absl::Seconds(1.2));
  v1::MessageHeader header;
  header.set_message_id(*crypto::NewUuidV7(absl::Now()));
  header.set_case_id(case_id);
  header.mutable_acting_user()->set_worker_id("officer-12");
  header.set_purpose("referral");
  *header.mutable_created_at() = common::ToTimestamp(absl::Now());
  auto expired = sdk::SealPayload(
      MixedReferral(), header, world.Keys("police-hame").AsSender(),
      {{"asenne-ry", short_lived->bundle.key_id(), short_lived->bundle.hpke_public_key()}},
      [](auto, auto) { return true; }, "", sdk::SystemRandom());
  ASSERT_TRUE(expired.ok());
  refused(*expired, "message.recipient_contexts[0].recipient_key_id: key " +
                        short_lived->bundle.key_id() + " of asenne-ry is not valid now");
  // The good message itself still goes through.
  v1::SendResponse response;
  EXPECT_TRUE(world.Send("police-hame", good, &response).ok());
}

TEST(MessagesTest, BadMessagesGetClearErrors) {
  World world("messages-bad");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  const v1::SealedMessage good = world.Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  v1::SendResponse response;

  v1::SealedMessage bad_signature = good;
  (*bad_signature.mutable_signature())[0] ^= 1;
  grpc::Status s = world.Send("police-hame", bad_signature, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("signature"));

  v1::SealedMessage unknown_key = good;
  unknown_key.mutable_header()->set_sender_key_id("no-such-key");
  s = world.Send("police-hame", unknown_key, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("header.sender_key_id"));

  v1::SealedMessage wrong_category = good;
  wrong_category.mutable_fields(0)->set_category(v1::CATEGORY_HOUSING);
  s = world.Send("police-hame", wrong_category, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("category"));

  v1::SealedMessage spoofed = good;
  spoofed.mutable_header()->set_sender_org_id("wba-social");
  EXPECT_EQ(world.Send("police-hame", spoofed, &response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  v1::SealedMessage too_many = good;
  for (int i = 0; i < 70; ++i) *too_many.add_fields() = good.fields(0);
  s = world.Send("police-hame", too_many, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("at most 64"));

  v1::SealedMessage too_many_recipients = good;
  for (int i = 0; i < 40; ++i) {
    too_many_recipients.mutable_header()->add_recipient_org_ids(absl::StrCat("org-", i));
  }
  s = world.Send("police-hame", too_many_recipients, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("at most 32"));

  v1::SealedMessage too_large = good;  // the test siltad accepts 64 KiB requests
  too_large.mutable_fields(0)->mutable_ciphertext()->append(100 * 1024, 'x');
  EXPECT_EQ(world.Send("police-hame", too_large, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  // Nothing of the above was accepted.
  EXPECT_FALSE(world.Receive("hml-youth", absl::Milliseconds(1500)).has_value());
}

}  // namespace
}  // namespace silta::testing
