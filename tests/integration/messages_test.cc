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
#include "server/common/time_util.h"
#include "server/crypto/random.h"
#include "silta/v1/case.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHetu = "020412E960K";  // test code (individual number 960)

// One running siltad with keys, a case and consents, as the orgs see it.
class World {
 public:
  explicit World(const std::string& name) {
    setup_.dir = MakeTempDir(name);
    setup_.extra_config = "routing { ack_timeout_seconds: 1 }\n";
    Restart();
  }

  void Restart() {
    siltad_.reset();
    siltad_ = StartSiltad(setup_);
  }
  void Kill() {
    siltad_->Signal(SIGKILL);
    siltad_->WaitForExit(absl::Seconds(10)).IgnoreError();
  }
  SiltadProcess& siltad() { return *siltad_; }

  std::shared_ptr<grpc::Channel> Channel(const std::string& org) {
    return ChannelWith(siltad_->address(), OrgCert(org), OrgKey(org));
  }

  // Creates and publishes keys for `org` (new ones if `rotate`).
  const sdk::OrgKeys& Keys(const std::string& org, bool rotate = false) {
    auto it = keys_.find(org);
    if (it != keys_.end() && !rotate) return it->second;
    if (it != keys_.end()) keys_.erase(it);
    auto keys = sdk::CreateOrgKeys(org, OrgCert(org), OrgKey(org), absl::Hours(24 * 30),
                                   setup_.dir + "/keys-" + org);
    EXPECT_TRUE(keys.ok()) << keys.status();
    grpc::ClientContext context;
    v1::PublishKeyBundleRequest request;
    *request.mutable_bundle() = keys->bundle;
    request.mutable_acting_user()->set_worker_id("it");
    v1::PublishKeyBundleResponse response;
    const grpc::Status status =
        v1::KeyService::NewStub(Channel(org))->PublishKeyBundle(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return keys_.emplace(org, *std::move(keys)).first->second;
  }

  std::string OpenCase(const std::string& coordinator, const std::vector<std::string>& members) {
    grpc::ClientContext context;
    v1::CreateCaseRequest request;
    request.mutable_subject()->set_hetu(kHetu);
    request.set_purpose("referral");
    request.set_coordinator_worker_id("w1");
    for (const auto& m : members) request.add_member_org_ids(m);
    request.mutable_acting_user()->set_worker_id("w1");
    v1::CreateCaseResponse response;
    const grpc::Status status =
        v1::CaseService::NewStub(Channel(coordinator))->CreateCase(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.case_().case_id();
  }

  std::string Consent(v1::Category category, const std::string& recipient) {
    grpc::ClientContext context;
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(kHetu);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(v1::GUARDIAN);
    c->add_purposes("referral");
    c->add_categories(category);
    c->add_recipients()->set_org_id(recipient);
    *c->mutable_valid_until() = common::ToTimestamp(absl::Now() + absl::Hours(24 * 30));
    c->set_evidence_ref("form-1");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordConsentResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(Channel("wba-registrar"))
                                    ->RecordConsent(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.consent().consent_id();
  }

  void Withdraw(const std::string& consent_id) {
    grpc::ClientContext context;
    v1::WithdrawConsentRequest request;
    request.set_record_id(consent_id);
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::WithdrawConsentResponse response;
    ASSERT_TRUE(v1::ConsentService::NewStub(Channel("wba-registrar"))
                    ->WithdrawConsent(&context, request, &response)
                    .ok());
  }

  // Preview, then seal only permitted pairs, as the SDK user would.
  v1::SealedMessage Seal(const std::string& sender, const std::string& case_id,
                         const google::protobuf::Message& payload,
                         const std::vector<std::string>& recipients) {
    v1::PreviewDisclosureRequest preview;
    preview.set_case_id(case_id);
    preview.set_purpose("referral");
    for (const auto& r : recipients) preview.add_recipient_org_ids(r);
    std::vector<const google::protobuf::FieldDescriptor*> set;
    payload.GetReflection()->ListFields(payload, &set);
    for (const auto* f : set) {
      v1::DraftField* field = preview.add_fields();
      field->set_path(f->name());
      field->set_category(f->options().GetExtension(v1::category));
    }
    grpc::ClientContext context;
    v1::PreviewDisclosureResponse decisions;
    EXPECT_TRUE(v1::ConsentService::NewStub(Channel(sender))
                    ->PreviewDisclosure(&context, preview, &decisions)
                    .ok());
    auto permitted = std::make_shared<absl::flat_hash_set<std::string>>();
    for (const auto& d : decisions.decisions()) {
      if (d.verdict() == v1::PERMIT) permitted->insert(d.recipient_org_id() + "/" + d.field_path());
    }
    const sdk::SenderKeys sender_keys = Keys(sender).AsSender();
    std::vector<sdk::RecipientPublicKey> keys;
    for (const auto& r : recipients) {
      const sdk::OrgKeys& k = Keys(r);
      keys.push_back({r, k.bundle.key_id(), k.bundle.hpke_public_key()});
    }
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(absl::Now()));
    header.set_case_id(case_id);
    header.mutable_acting_user()->set_worker_id("officer-12");
    header.set_purpose("referral");
    *header.mutable_created_at() = common::ToTimestamp(absl::Now());
    auto sealed = sdk::SealPayload(
        payload, header, sender_keys, keys,
        [permitted](absl::string_view r, absl::string_view path) {
          return permitted->contains(absl::StrCat(r, "/", path));
        },
        "", sdk::SystemRandom());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }

  grpc::Status Send(const std::string& sender, const v1::SealedMessage& m,
                    v1::SendResponse* response) {
    grpc::ClientContext context;
    v1::SendRequest request;
    *request.mutable_message() = m;
    return v1::MessageService::NewStub(Channel(sender))->Send(&context, request, response);
  }

  // Subscribes as `org` and returns the first delivery (or nullopt after `wait`).
  std::optional<v1::Delivery> Receive(const std::string& org, absl::Duration wait = absl::Seconds(5)) {
    auto stub = v1::MessageService::NewStub(Channel(org));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + wait));
    v1::SubscribeRequest request;
    request.set_ack_timeout_seconds(1);
    auto reader = stub->Subscribe(&context, request);
    v1::Delivery delivery;
    const bool got = reader->Read(&delivery);
    context.TryCancel();
    reader->Finish().IgnoreError();
    if (!got) return std::nullopt;
    return delivery;
  }

  grpc::Status Ack(const std::string& org, const std::string& delivery_id) {
    grpc::ClientContext context;
    v1::AckRequest request;
    request.set_delivery_id(delivery_id);
    v1::AckResponse response;
    return v1::MessageService::NewStub(Channel(org))->Ack(&context, request, &response);
  }

  v1::GetMessageStatusResponse Status(const std::string& sender, const std::string& message_id) {
    grpc::ClientContext context;
    v1::GetMessageStatusRequest request;
    request.set_message_id(message_id);
    v1::GetMessageStatusResponse response;
    EXPECT_TRUE(v1::MessageService::NewStub(Channel(sender))
                    ->GetMessageStatus(&context, request, &response)
                    .ok());
    return response;
  }

  // An SDK client for `org` with its current keys.
  std::unique_ptr<sdk::SiltaClient> Client(const std::string& org) {
    sdk::SiltaClient::Options options;
    options.connection.address = siltad_->address();
    options.connection.cert_file = OrgCert(org);
    options.connection.key_file = OrgKey(org);
    options.connection.ca_file = PkiPath("ca.pem");
    options.connection.server_name = "localhost";
    options.trust_domain = "silta.test";
    options.keys_dir = setup_.dir + "/keys-" + org;
    options.current_key_id = Keys(org).bundle.key_id();
    auto client = sdk::SiltaClient::Create(options, org);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Opens a delivery with the recipient's keys, verifying the sender's bundle signature key.
  absl::StatusOr<sdk::OpenedMessage> Open(const std::string& sender, const std::string& org,
                                          const v1::Delivery& d, google::protobuf::Message* out) {
    return sdk::OpenMessage(d.message(), Keys(sender).bundle.signing_public_key(),
                            Keys(org).AsRecipient(), out);
  }

 private:
  SiltadSetup setup_;
  std::unique_ptr<SiltadProcess> siltad_;
  std::map<std::string, sdk::OrgKeys> keys_;
};

v1::RecipientState StateOf(const v1::GetMessageStatusResponse& status, const std::string& org) {
  for (const auto& r : status.recipients()) {
    if (r.recipient_org_id() == org) return r.state();
  }
  return v1::RECIPIENT_STATE_UNSPECIFIED;
}

v1::Referral MixedReferral() {
  v1::Referral r;
  r.set_education_employment("9th grade, absent often");
  r.set_support_needs("needs a support person");
  r.set_mental_health_notes("psychiatric nurse's assessment");
  return r;
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

  grpc::ClientContext admin_context;
  v1::SetOrgStateRequest suspend;
  suspend.set_org_id("hml-youth");
  suspend.mutable_acting_user()->set_worker_id("admin-1");
  v1::SetOrgStateResponse suspended;
  ASSERT_TRUE(v1::OrgService::NewStub(world.Channel("silta-admin"))
                  ->SuspendOrg(&admin_context, suspend, &suspended)
                  .ok());

  v1::Delivery delivery;
  EXPECT_FALSE(reader->Read(&delivery));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("suspended"));
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
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);

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
