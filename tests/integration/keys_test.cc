// Key bundles over a real siltad: publication, verification by a peer,
// rotation with retired keys kept, and refusals.
#include <sys/stat.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "client/sdk/org_keys.h"
#include "server/crypto/key_bundle.h"
#include "server/crypto/wire_format.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

class KeysTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_ = new SiltadSetup{MakeTempDir("keys")};
    siltad_ = StartSiltad(*setup_).release();
  }
  static void TearDownTestSuite() {
    delete siltad_;
    delete setup_;
  }
  void SetUp() override { ASSERT_NE(siltad_, nullptr); }

  static std::unique_ptr<v1::KeyService::Stub> Stub(const std::string& org_id) {
    return v1::KeyService::NewStub(ChannelWith(siltad_->address(), OrgCert(org_id), OrgKey(org_id)));
  }
  static sdk::OrgKeys Create(const std::string& org_id) {
    auto keys = sdk::CreateOrgKeys(org_id, OrgCert(org_id), OrgKey(org_id), absl::Hours(24 * 365),
                                   setup_->dir + "/keys-" + org_id);
    EXPECT_TRUE(keys.ok()) << keys.status();
    return keys.ok() ? *std::move(keys) : sdk::OrgKeys();
  }
  static grpc::Status Publish(const std::string& org_id, const v1::KeyBundle& bundle) {
    grpc::ClientContext context;
    v1::PublishKeyBundleRequest request;
    *request.mutable_bundle() = bundle;
    request.mutable_acting_user()->set_worker_id("it-admin");
    v1::PublishKeyBundleResponse response;
    return Stub(org_id)->PublishKeyBundle(&context, request, &response);
  }
  static v1::GetKeyBundlesResponse Fetch(const std::string& as, const std::string& org_id,
                                         bool retired) {
    grpc::ClientContext context;
    v1::GetKeyBundlesRequest request;
    request.set_org_id(org_id);
    request.set_include_retired(retired);
    v1::GetKeyBundlesResponse response;
    EXPECT_TRUE(Stub(as)->GetKeyBundles(&context, request, &response).ok());
    return response;
  }

  static SiltadSetup* setup_;
  static SiltadProcess* siltad_;
};

SiltadSetup* KeysTest::setup_ = nullptr;
SiltadProcess* KeysTest::siltad_ = nullptr;

TEST_F(KeysTest, PublishedBundleIsServedAndVerifiesForAPeer) {
  const sdk::OrgKeys keys = Create("rise-probation");
  ASSERT_TRUE(Publish("rise-probation", keys.bundle).ok());

  const v1::GetKeyBundlesResponse fetched = Fetch("wba-social", "rise-probation", false);

  ASSERT_EQ(fetched.bundles_size(), 1);
  EXPECT_EQ(fetched.bundles(0).key_id(), keys.bundle.key_id());
  EXPECT_TRUE(crypto::VerifyKeyBundle(fetched.bundles(0), ReadTextFile(PkiPath("ca.pem")),
                                      "silta.test", absl::Now())
                  .ok());
  struct stat st {};
  ASSERT_EQ(::stat((setup_->dir + "/keys-rise-probation/" + keys.bundle.key_id() + ".hpke.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto loaded = sdk::LoadOrgKeys(setup_->dir + "/keys-rise-probation", keys.bundle.key_id());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
}

TEST_F(KeysTest, RotationRetiresButKeepsTheOldBundle) {
  const sdk::OrgKeys first = Create("hml-youth");
  ASSERT_TRUE(Publish("hml-youth", first.bundle).ok());
  const sdk::OrgKeys second = Create("hml-youth");
  ASSERT_TRUE(Publish("hml-youth", second.bundle).ok());

  const auto current = Fetch("police-hame", "hml-youth", false);
  const auto all = Fetch("police-hame", "hml-youth", true);

  ASSERT_EQ(current.bundles_size(), 1);
  EXPECT_EQ(current.bundles(0).key_id(), second.bundle.key_id());
  ASSERT_EQ(all.bundles_size(), 2);
  EXPECT_EQ(all.bundles(1).key_id(), first.bundle.key_id());
  EXPECT_TRUE(all.bundles(1).retired());
  // The old private keys still open what was sealed to them.
  EXPECT_TRUE(sdk::LoadOrgKeys(setup_->dir + "/keys-hml-youth", first.bundle.key_id()).ok());
}

TEST_F(KeysTest, AnOrgCannotPublishAnotherOrgsKeysOrATamperedBundle) {
  const sdk::OrgKeys social = Create("wba-social");
  const grpc::Status foreign = Publish("police-hame", social.bundle);
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::KeyBundle tampered = social.bundle;
  tampered.set_signing_public_key(std::string(32, 'x'));
  tampered.set_key_id(crypto::KeyBundleId(tampered));
  const grpc::Status bad = Publish("wba-social", tampered);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("key bundle"));
}

TEST_F(KeysTest, SealToFetchedBundleAndOpenWithOwnKeys) {
  const sdk::OrgKeys police = Create("police-hame");
  const sdk::OrgKeys psych = Create("wba-psychiatry");
  ASSERT_TRUE(Publish("police-hame", police.bundle).ok());
  ASSERT_TRUE(Publish("wba-psychiatry", psych.bundle).ok());
  const v1::KeyBundle recipient = Fetch("police-hame", "wba-psychiatry", false).bundles(0);
  v1::Referral referral;
  referral.set_reason("needs support");
  v1::MessageHeader header;
  header.set_message_id("01890a5d-ac96-774b-bcce-b302099a0001");
  header.set_purpose("referral");

  auto sealed = sdk::SealPayload(referral, header, police.AsSender(),
                                 {{"wba-psychiatry", recipient.key_id(), recipient.hpke_public_key()}},
                                 [](auto, auto) { return true; }, "", sdk::SystemRandom());
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  const v1::KeyBundle sender = Fetch("wba-psychiatry", "police-hame", false).bundles(0);
  auto delivered = crypto::RedactForRecipient(*sealed, "wba-psychiatry", [](auto, auto) { return true; }, nullptr);
  v1::Referral opened;
  auto result = sdk::OpenMessage(*delivered, sender.signing_public_key(), psych.AsRecipient(), &opened);

  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(opened.reason(), "needs support");
}

}  // namespace
}  // namespace silta::testing
