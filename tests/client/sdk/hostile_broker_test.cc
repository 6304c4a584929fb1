// The SDK's end-to-end trust, tested as a hostile broker would attack it:
// a broker with siltad's own certificate between the SDK and a real siltad
// (tests/testing/hostile_broker.h) serves another org's genuine bundle, an
// older bundle, a forged continuation, bundles signed by expired, revoked or
// foreign certificates, messages signed as someone else, messages addressed
// to others, and key ids that walk out of the keys directory. The SDK must
// refuse each, and still work with an honest broker.
#include "tests/testing/hostile_broker.h"

#include <filesystem>

#include "client/sdk/client.h"
#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/random.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"
#include "tests/testing/bundle_forge.h"
#include "tests/testing/status_matchers.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

v1::Referral SimpleReferral() {
  v1::Referral r;
  r.set_education_employment("9th grade");
  return r;
}

class HostileBrokerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    world_ = new World("hostile-broker");
    case_id_ = new std::string(
        world_->OpenCase("police-hame", {"wba-social", "hml-youth", "asenne-ry"}));
    for (const char* org : {"wba-social", "hml-youth", "asenne-ry"}) {
      world_->Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, org);
    }
    for (const char* org : {"police-hame", "wba-social", "hml-youth", "asenne-ry"}) {
      world_->Keys(org);
    }
  }
  static void TearDownTestSuite() {
    delete case_id_;
    delete world_;
  }

  // An SDK client of `org` that talks to `broker` (a hostile one) instead
  // of siltad; its keys directory is the org's own.
  std::unique_ptr<sdk::SiltaClient> ClientVia(const std::string& org, const HostileBroker& broker) {
    world_->Keys(org);
    sdk::SiltaClient::Options options;
    options.connection.address = broker.address();
    options.connection.cert_file = OrgCert(org);
    options.connection.key_file = OrgKey(org);
    options.connection.ca_file = PkiPath("ca.pem");
    options.connection.server_name = "localhost";
    options.crl_directory = PkiPath("crl");
    options.keys_dir = world_->setup().dir + "/keys-" + org;
    auto client = sdk::SiltaClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }
  std::unique_ptr<HostileBroker> BrokerFor(const std::string& org) {
    return HostileBroker::Start(world_->siltad().address(), OrgCert(org), OrgKey(org));
  }
  static sdk::SealRequest To(std::vector<std::string> recipients) {
    return sdk::SealRequest{.case_id = *case_id_, .purpose = "referral",
                            .recipients = std::move(recipients), .worker_id = "officer-12"};
  }
  static v1::GetKeyBundlesResponse Bundles(const std::string& org) {
    grpc::ClientContext context;
    v1::GetKeyBundlesRequest request;
    request.set_org_id(org);
    request.set_include_retired(true);
    v1::GetKeyBundlesResponse response;
    EXPECT_TRUE(v1::KeyService::NewStub(world_->Channel("silta-admin"))
                    ->GetKeyBundles(&context, request, &response)
                    .ok());
    return response;
  }
  // A delivery made up by the broker, for `recipient`, of `message`.
  static v1::Delivery Delivery(const v1::SealedMessage& message, const std::string& recipient) {
    v1::Delivery d;
    d.set_delivery_id("forged-1");
    d.set_attempt(1);
    auto redacted = crypto::RedactForRecipient(message, recipient,
                                               [](auto, auto) { return true; }, nullptr);
    EXPECT_TRUE(redacted.ok());
    *d.mutable_message() = *redacted;
    return d;
  }
  // A message sealed by `sender` keys (any org id in the header) to `recipient`.
  static v1::SealedMessage SealAs(const sdk::SenderKeys& sender, const std::string& recipient,
                                  absl::Time created = absl::Now()) {
    const sdk::OrgKeys& r = world_->Keys(recipient);
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(absl::Now()));
    header.set_case_id(*case_id_);
    header.set_purpose("referral");
    *header.mutable_created_at() = common::ToTimestamp(created);
    auto sealed = sdk::SealPayload(SimpleReferral(), header, sender,
                                   {{recipient, r.bundle.key_id(), r.bundle.hpke_public_key()}},
                                   [](auto, auto) { return true; }, "", sdk::SystemRandom());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }
  // The first delivery the client's Subscribe yields, opened.
  static absl::StatusOr<sdk::OpenedMessage> OpenFirst(sdk::SiltaClient& client,
                                                      v1::Referral* out,
                                                      v1::Delivery* seen = nullptr) {
    absl::StatusOr<sdk::OpenedMessage> opened = absl::DeadlineExceededError("nothing delivered");
    const absl::Status streamed = client.Subscribe(
        [&](const v1::Delivery& d) {
          if (d.has_key_notice()) return true;
          if (seen != nullptr) *seen = d;
          opened = client.Open(d, out);
          return false;
        },
        absl::Seconds(1), absl::Seconds(5));
    EXPECT_TRUE(streamed.ok()) << streamed;
    return opened;
  }

  static World* world_;
  static std::string* case_id_;
};

World* HostileBrokerTest::world_ = nullptr;
std::string* HostileBrokerTest::case_id_ = nullptr;

// Item 1, sealing: GetKeyBundles(X) answered with Y's genuine bundle.
TEST_F(HostileBrokerTest, SealRefusesAnotherOrgsGenuineBundle) {
  world_->Keys("hml-youth");
  auto broker = BrokerFor("police-hame");
  auto police = ClientVia("police-hame", *broker);
  ASSERT_NE(police, nullptr);
  // Control: through an honest broker the referral is sealed to wba-social.
  ASSERT_THAT(police->Seal(SimpleReferral(), To({"wba-social"})).status(), IsOk());

  const v1::GetKeyBundlesResponse youth = Bundles("hml-youth");
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "wba-social") *r = youth;
  });
  auto sealed = police->Seal(SimpleReferral(), To({"wba-social"}));

  EXPECT_THAT(sealed.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("it is the bundle of hml-youth, not of wba-social")));
}

// Item 1, opening: Y signs a message whose header says it is from X.
TEST_F(HostileBrokerTest, OpenRefusesAMessageSignedByAnotherOrgAsTheSender) {
  const sdk::OrgKeys& youth = world_->Keys("hml-youth");
  world_->Keys("police-hame");
  sdk::SenderKeys impostor = youth.AsSender();
  impostor.org_id = "police-hame";  // sender_org_id X, sender_key_id Y's key
  auto broker = BrokerFor("wba-social");
  broker->Inject(Delivery(SealAs(impostor, "wba-social"), "wba-social"));
  // The broker serves Y's genuine bundle for X's key id as well.
  const v1::GetKeyBundlesResponse youth_bundles = Bundles("hml-youth");
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "police-hame") *r = youth_bundles;
  });
  auto social = ClientVia("wba-social", *broker);

  v1::Referral out;
  auto opened = OpenFirst(*social, &out);

  EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("it is the bundle of hml-youth, not of police-hame")));
  EXPECT_TRUE(out.education_employment().empty());
}

// Item 2: after a rotation, the broker keeps serving the old bundle (and
// flips the unsigned `retired` flag to make it look current).
TEST_F(HostileBrokerTest, SealRefusesABundleOlderThanOneSeen) {
  world_->Keys("asenne-ry");
  auto broker = BrokerFor("police-hame");
  auto police = ClientVia("police-hame", *broker);
  const v1::GetKeyBundlesResponse before = Bundles("asenne-ry");
  world_->Keys("asenne-ry", /*rotate=*/true);
  ASSERT_THAT(police->Seal(SimpleReferral(), To({"asenne-ry"})).status(), IsOk());

  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org != "asenne-ry") return;
    *r = before;
    for (auto& b : *r->mutable_bundles()) b.set_retired(false);
  });
  auto sealed = police->Seal(SimpleReferral(), To({"asenne-ry"}));

  EXPECT_THAT(sealed.status(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("was seen before")));
}

// Item 2/3: someone with the org's signing certificate but not its current
// keys publishes (or the broker serves) a higher epoch: no continuity.
TEST_F(HostileBrokerTest, SealRefusesANewerBundleThatDoesNotContinueTheKnownOne) {
  const sdk::OrgKeys& social = world_->Keys("wba-social");
  auto broker = BrokerFor("police-hame");
  auto police = ClientVia("police-hame", *broker);
  ASSERT_THAT(police->Seal(SimpleReferral(), To({"wba-social"})).status(), IsOk());

  crypto::SecretData attacker_key;
  v1::KeyBundle forged = ForgeFreshBundle(
      "wba-social", absl::Now() - absl::Minutes(1), absl::Now() + absl::Hours(24),
      social.bundle.epoch() + 1, OrgSignerCert("wba-social"), OrgSignerKey("wba-social"),
      &attacker_key);
  forged.set_previous_key_id(social.bundle.key_id());
  crypto::KeyPair not_the_old_key = *crypto::GenerateEd25519KeyPair();
  forged = ForgeKeyBundle(forged, OrgSignerCert("wba-social"), OrgSignerKey("wba-social"),
                          &not_the_old_key.private_key);
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "wba-social") *r->add_bundles() = forged;
  });
  auto sealed = police->Seal(SimpleReferral(), To({"wba-social"}));

  EXPECT_THAT(sealed.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("continuity signature")));
}

// Item 2: an expired signing certificate's key signs a bundle backdated into
// its life; the message is backdated too.
TEST_F(HostileBrokerTest, OpenRefusesABackdatedBundleOfAnExpiredCertificate) {
  world_->Keys("wba-social");
  const absl::Time then = absl::FromUnixSeconds(1593561600);  // 2020-07-01
  crypto::SecretData signing;
  const v1::KeyBundle old = ForgeFreshBundle("police-hame", then - absl::Hours(1),
                                             then + absl::Hours(24 * 20), 1,
                                             PkiPath("test/expired-signer.pem"),
                                             PkiPath("test/expired-signer.key"), &signing);
  auto broker = BrokerFor("wba-social");
  broker->Inject(Delivery(SealAs({"police-hame", old.key_id(), signing}, "wba-social", then),
                          "wba-social"));
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "police-hame") *r->add_bundles() = old;
  });
  auto social = ClientVia("wba-social", *broker);

  v1::Referral out;
  auto opened = OpenFirst(*social, &out);

  EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("older than the oldest message")));
}

// Item 2: a revoked signing certificate's bundle, valid by its dates.
TEST_F(HostileBrokerTest, OpenRefusesABundleOfARevokedCertificate) {
  world_->Keys("wba-social");
  crypto::SecretData signing;
  const v1::KeyBundle revoked = ForgeFreshBundle(
      "police-hame", absl::Now() - absl::Minutes(10), absl::Now() + absl::Hours(24), 1,
      PkiPath("test/revoked-signer.pem"), PkiPath("test/revoked-signer.key"), &signing);
  auto broker = BrokerFor("wba-social");
  broker->Inject(
      Delivery(SealAs({"police-hame", revoked.key_id(), signing}, "wba-social"), "wba-social"));
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "police-hame") *r->add_bundles() = revoked;
  });
  auto social = ClientVia("wba-social", *broker);

  v1::Referral out;
  auto opened = OpenFirst(*social, &out);

  EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("certificate revoked")));
}

// Item 5: an authentic message of police to wba-social, handed to hml-youth.
TEST_F(HostileBrokerTest, OpenRefusesAMessageNotAddressedToThisOrg) {
  world_->Keys("hml-youth");
  const v1::SealedMessage to_social = SealAs(world_->Keys("police-hame").AsSender(), "wba-social");
  v1::Delivery misdirected = Delivery(to_social, "wba-social");
  // The broker even adds a context for hml-youth: the signed header decides.
  v1::RecipientContext* extra = misdirected.mutable_message()->add_recipient_contexts();
  *extra = misdirected.message().recipient_contexts(0);
  extra->set_recipient_org_id("hml-youth");
  auto broker = BrokerFor("hml-youth");
  broker->Inject(misdirected);
  auto youth = ClientVia("hml-youth", *broker);

  v1::Referral out;
  auto opened = OpenFirst(*youth, &out);

  EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                        HasSubstr("is not addressed to hml-youth")));
}

// Item 9: the broker's unsigned recipient_key_id walks out of the keys dir.
TEST_F(HostileBrokerTest, OpenRefusesAKeyIdThatIsNotAKeyId) {
  world_->Keys("wba-social");
  // A file that a naive path join would reach.
  const std::string outside = world_->setup().dir + "/x.hpke.key";
  WriteTextFile(outside, std::string(32, 'k'));
  auto broker = BrokerFor("wba-social");
  v1::Delivery d = Delivery(SealAs(world_->Keys("police-hame").AsSender(), "wba-social"),
                            "wba-social");
  d.mutable_message()->mutable_recipient_contexts(0)->set_recipient_key_id("../x");
  broker->Inject(d);
  auto social = ClientVia("wba-social", *broker);

  v1::Referral out;
  auto opened = OpenFirst(*social, &out);

  EXPECT_THAT(opened.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                        HasSubstr("32 lower-case hex")));
}

// Item 11: the broker claims another trust domain and serves a bundle
// signed in it; siltactl takes its trust domain from its own certificate.
TEST_F(HostileBrokerTest, TheTrustDomainIsNeverTheBrokersWord) {
  world_->Keys("police-hame");
  crypto::SecretData unused;
  const v1::KeyBundle foreign = ForgeFreshBundle(
      "wba-social", absl::Now() - absl::Minutes(1), absl::Now() + absl::Hours(24), 99,
      PkiPath("test/other-domain-signer.pem"), PkiPath("test/other-domain-signer.key"), &unused);
  auto broker = BrokerFor("police-hame");
  broker->SetWhoAmI([](v1::WhoAmIResponse* r) { r->set_trust_domain("elsewhere.test"); });
  broker->SetKeyBundles([=](const std::string& org, v1::GetKeyBundlesResponse* r) {
    if (org == "wba-social") {
      r->clear_bundles();
      *r->add_bundles() = foreign;
    }
  });
  const std::string payload = world_->setup().dir + "/referral.textproto";
  WriteTextFile(payload, "education_employment: \"9th grade\"\n");

  const CommandResult r = RunCommandWithInput(
      {SILTACTL_PATH, "--address", broker->address(), "--cert", OrgCert("police-hame"), "--key",
       OrgKey("police-hame"), "--ca", PkiPath("ca.pem"), "--server-name", "localhost",
       "--crl-dir", PkiPath("crl"), "--keys-dir", world_->setup().dir + "/keys-police-hame",
       "message", "send", "--type", "Referral", "--payload", payload, "--case", *case_id_,
       "--to", "wba-social", "--worker", "officer-12", "--yes"},
      "", {"XDG_CONFIG_HOME=" + world_->setup().dir}, absl::Seconds(60));

  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not a bundle-signing certificate of wba-social (spiffe://silta.test/"));
}

// Item 11 in the SDK itself: a configured trust domain must agree with the
// client certificate; there is no broker answer to take it from.
TEST_F(HostileBrokerTest, AConfiguredTrustDomainMustBeTheCertificates) {
  sdk::SiltaClient::Options options;
  options.connection = {world_->siltad().address(), OrgCert("police-hame"), OrgKey("police-hame"),
                        PkiPath("ca.pem"), "localhost"};
  options.trust_domain = "elsewhere.test";
  options.crl_directory = PkiPath("crl");
  options.keys_dir = world_->setup().dir + "/keys-police-hame";

  EXPECT_THAT(sdk::SiltaClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("trust domain elsewhere.test is configured")));
  options.trust_domain.clear();
  options.crl_directory.clear();
  EXPECT_THAT(sdk::SiltaClient::Create(options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crl_directory is required")));
}

// Honest broker, for contrast: the same SDK seals, sends, opens.
TEST_F(HostileBrokerTest, AnHonestBrokerPassesEveryCheck) {
  world_->Keys("wba-social");
  auto to_police = BrokerFor("police-hame");
  auto police = ClientVia("police-hame", *to_police);
  auto sealed = police->Seal(SimpleReferral(), To({"wba-social"}));
  ASSERT_THAT(sealed.status(), IsOk());
  ASSERT_THAT(police->Send(*sealed).status(), IsOk());

  auto to_social = BrokerFor("wba-social");
  auto social = ClientVia("wba-social", *to_social);
  v1::Referral out;
  v1::Delivery seen;
  absl::StatusOr<sdk::OpenedMessage> opened = absl::UnknownError("");
  // Earlier tests may have left their own messages queued: open ours.
  ASSERT_THAT(social->Subscribe(
                  [&](const v1::Delivery& d) {
                    if (!d.has_message() ||
                        d.message().header().message_id() != sealed->header().message_id()) {
                      return true;
                    }
                    opened = social->Open(d, &out);
                    return false;
                  },
                  absl::Seconds(1), absl::Seconds(5)),
              IsOk());
  ASSERT_THAT(opened.status(), IsOk());
  EXPECT_EQ(out.education_employment(), "9th grade");
}

}  // namespace
}  // namespace silta::testing
