// Key bundles over a real siltad: publication, verification by a peer,
// rotation (epochs, continuity) with retired keys kept, the owner's notice,
// and what siltad refuses: another org's keys, a TLS certificate as signer,
// a revoked signer, a replayed epoch, a bundle that breaks continuity, and
// keys of small order.
#include <sys/stat.h>

#include "client/sdk/org_keys.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/bundle_forge.h"
#include "tests/testing/process.h"

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
  // New keys in the org's keys directory (continuing its current ones).
  static sdk::OrgKeys Create(const std::string& org_id, const std::string& dir_suffix = "") {
    const std::string dir = setup_->dir + "/keys-" + org_id + dir_suffix;
    auto keys = sdk::CreateOrgKeys(org_id, OrgSignerCert(org_id), OrgSignerKey(org_id),
                                   absl::Hours(24 * 30), dir);
    EXPECT_TRUE(keys.ok()) << keys.status();
    if (!keys.ok()) return sdk::OrgKeys();
    EXPECT_TRUE(sdk::SetCurrentKeyId(dir, keys->bundle.key_id()).ok());
    return *std::move(keys);
  }
  static crypto::TrustAnchors Anchors() {
    return {ReadTextFile(PkiPath("ca.pem")), "silta.test", PkiPath("crl")};
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
  EXPECT_TRUE(
      crypto::VerifyKeyBundle(fetched.bundles(0), "rise-probation", Anchors(), absl::Now()).ok());
  EXPECT_EQ(fetched.bundles(0).epoch(), 1u);
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
  // The rotation is signed: the next epoch, naming and signed by the old key.
  EXPECT_EQ(second.bundle.epoch(), first.bundle.epoch() + 1);
  EXPECT_EQ(second.bundle.previous_key_id(), first.bundle.key_id());
  EXPECT_TRUE(crypto::VerifyContinuity(second.bundle, first.bundle).ok());
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

TEST_F(KeysTest, ATlsSystemCertificateCannotSignKeys) {
  // A stolen workstation certificate is not a bundle-signing credential.
  auto keys = sdk::CreateOrgKeys("asenne-ry", OrgCert("asenne-ry"), OrgKey("asenne-ry"),
                                 absl::Hours(24), setup_->dir + "/keys-asenne-tls");
  ASSERT_TRUE(keys.ok()) << keys.status();
  const grpc::Status status = Publish("asenne-ry", keys->bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not a bundle-signing certificate"));
}

TEST_F(KeysTest, ARevokedSignerCannotPublish) {
  crypto::SecretData unused;
  const v1::KeyBundle bundle =
      ForgeFreshBundle("police-hame", absl::Now() - absl::Minutes(1), absl::Now() + absl::Hours(24),
                       1, PkiPath("test/revoked-signer.pem"), PkiPath("test/revoked-signer.key"),
                       &unused);
  const grpc::Status status = Publish("police-hame", bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("revocation"));
}

TEST_F(KeysTest, ANewBundleMustContinueTheCurrentOne) {
  const sdk::OrgKeys first = Create("asenne-ry", "-a");
  ASSERT_TRUE(Publish("asenne-ry", first.bundle).ok());

  // Replayed: the same epoch again.
  const sdk::OrgKeys replay = Create("asenne-ry", "-b");
  const grpc::Status same_epoch = Publish("asenne-ry", replay.bundle);
  EXPECT_EQ(same_epoch.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(same_epoch.error_message(), HasSubstr("bundle.epoch: must be above"));

  // A higher epoch from someone who holds the signer but not the current
  // keys: no continuity signature while the current bundle is valid.
  auto orphan = sdk::CreateOrgKeys("asenne-ry", OrgSignerCert("asenne-ry"),
                                   OrgSignerKey("asenne-ry"), absl::Hours(24),
                                   setup_->dir + "/keys-asenne-ry-c", /*min_epoch=*/7);
  ASSERT_TRUE(orphan.ok());
  const grpc::Status no_link = Publish("asenne-ry", orphan->bundle);
  EXPECT_EQ(no_link.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(no_link.error_message(), HasSubstr("previous_key_id"));

  // ...or naming the current key with a continuity signature by another key.
  crypto::SecretData wrong;
  v1::KeyBundle forged = orphan->bundle;
  forged.set_previous_key_id(first.bundle.key_id());
  crypto::KeyPair other = *crypto::GenerateEd25519KeyPair();
  forged = ForgeKeyBundle(forged, OrgSignerCert("asenne-ry"), OrgSignerKey("asenne-ry"),
                          &other.private_key);
  const grpc::Status bad_link = Publish("asenne-ry", forged);
  EXPECT_EQ(bad_link.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(bad_link.error_message(), HasSubstr("continuity signature"));

  // The holder of the current keys rotates.
  const sdk::OrgKeys next = Create("asenne-ry", "-a");
  EXPECT_TRUE(Publish("asenne-ry", next.bundle).ok());
}

TEST_F(KeysTest, KeysOfSmallOrderAreRefused) {
  const sdk::OrgKeys good = Create("rise-prison", "-x");
  // The Ed25519 identity point, and the X25519 point of order 1 (u = 1).
  v1::KeyBundle small_signing = good.bundle;
  small_signing.set_signing_public_key(std::string("\x01") + std::string(31, '\0'));
  small_signing = ForgeKeyBundle(small_signing, OrgSignerCert("rise-prison"),
                                 OrgSignerKey("rise-prison"));
  const grpc::Status ed = Publish("rise-prison", small_signing);
  EXPECT_EQ(ed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ed.error_message(), HasSubstr("signing_public_key: Ed25519 public key has small order"));

  v1::KeyBundle small_hpke = good.bundle;
  small_hpke.set_hpke_public_key(std::string("\x01") + std::string(31, '\0'));
  small_hpke = ForgeKeyBundle(small_hpke, OrgSignerCert("rise-prison"), OrgSignerKey("rise-prison"));
  const grpc::Status x = Publish("rise-prison", small_hpke);
  EXPECT_EQ(x.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(x.error_message(), HasSubstr("hpke_public_key: X25519 public key has low order"));
  // The same bundle with good keys is accepted: it was only the keys.
  EXPECT_TRUE(Publish("rise-prison", good.bundle).ok());
}

TEST_F(KeysTest, TheOrgsOwnSubscribersHearOfEveryPublication) {
  auto channel = ChannelWith(siltad_->address(), OrgCert("hml-youth"), OrgKey("hml-youth"));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  v1::SubscribeRequest request;
  auto reader = v1::MessageService::NewStub(channel)->Subscribe(&context, request);
  // The stream is open once siltad answers a call made after it.
  absl::SleepFor(absl::Milliseconds(300));
  const sdk::OrgKeys keys = Create("hml-youth");
  ASSERT_TRUE(Publish("hml-youth", keys.bundle).ok());

  v1::Delivery delivery;
  ASSERT_TRUE(reader->Read(&delivery));
  ASSERT_TRUE(delivery.has_key_notice());
  EXPECT_EQ(delivery.key_notice().key_id(), keys.bundle.key_id());
  EXPECT_EQ(delivery.key_notice().epoch(), keys.bundle.epoch());
  EXPECT_EQ(delivery.key_notice().publisher_spiffe_id(), "spiffe://silta.test/org/hml-youth/sys/dev");
  EXPECT_EQ(delivery.key_notice().acting_user().worker_id(), "it-admin");
  EXPECT_TRUE(delivery.delivery_id().empty());
  context.TryCancel();
  reader->Finish().IgnoreError();
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
