#include "server/crypto/key_bundle.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/crypto/primitives.h"
#include "server/crypto/wire_format.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace silta::crypto {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::ReadTextFile;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNow = absl::Now();

std::string Pki(const std::string& path) { return ReadTextFile(SILTA_TEST_PKI_DIR "/" + path); }

class KeyBundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hpke_ = *GenerateX25519KeyPair();
    signing_ = *GenerateEd25519KeyPair();
    ca_ = Pki("ca.pem");
    ASSERT_FALSE(ca_.empty()) << "run the test_pki_setup fixture first";
  }
  absl::StatusOr<v1::KeyBundle> Sign(const std::string& org_id, const std::string& cert_base,
                                     absl::Time not_after = kNow + absl::Hours(24 * 365)) {
    return SignKeyBundle(org_id, hpke_.public_key, signing_.public_key, kNow - absl::Hours(1),
                         not_after, Pki(cert_base + ".pem"), Pki(cert_base + ".key"));
  }
  KeyPair hpke_, signing_;
  std::string ca_;
};

TEST_F(KeyBundleTest, SignedBundleVerifies) {
  auto bundle = Sign("police-hame", "orgs/police-hame");
  ASSERT_THAT(bundle, IsOk());

  EXPECT_THAT(VerifyKeyBundle(*bundle, ca_, "silta.test", kNow), IsOk());
  EXPECT_EQ(bundle->key_id().size(), 32u);
}

TEST_F(KeyBundleTest, SubstitutedKeyIsDetectedEvenWithRecomputedId) {
  auto bundle = Sign("police-hame", "orgs/police-hame");
  ASSERT_THAT(bundle, IsOk());
  v1::KeyBundle swapped = *bundle;
  swapped.set_hpke_public_key(GenerateX25519KeyPair()->public_key);

  EXPECT_THAT(VerifyKeyBundle(swapped, ca_, "silta.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key_id")));
  swapped.set_key_id(KeyBundleId(swapped));
  EXPECT_THAT(VerifyKeyBundle(swapped, ca_, "silta.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("signature does not verify")));
}

TEST_F(KeyBundleTest, AnotherOrgsCertificateCannotVouchForTheKeys) {
  auto bundle = Sign("wba-social", "orgs/police-hame");
  ASSERT_THAT(bundle, IsOk());

  EXPECT_THAT(VerifyKeyBundle(*bundle, ca_, "silta.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a system certificate of wba-social")));
}

TEST_F(KeyBundleTest, ForeignCaExpiredCertificateAndWrongDomainAreRefused) {
  auto foreign = Sign("police-hame", "test/other-ca-client");
  auto expired = Sign("police-hame", "test/expired");
  auto ok = Sign("police-hame", "orgs/police-hame");

  EXPECT_THAT(VerifyKeyBundle(*foreign, ca_, "silta.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not verify to the trust-domain CA")));
  EXPECT_THAT(VerifyKeyBundle(*expired, ca_, "silta.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expired")));
  EXPECT_THAT(VerifyKeyBundle(*ok, ca_, "elsewhere.test", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a system certificate")));
}

TEST_F(KeyBundleTest, BundleOutsideItsValidityIsRefused) {
  auto bundle = Sign("police-hame", "orgs/police-hame", kNow + absl::Hours(1));
  ASSERT_THAT(bundle, IsOk());

  EXPECT_THAT(VerifyKeyBundle(*bundle, ca_, "silta.test", kNow + absl::Hours(2)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid at this time")));
}

}  // namespace
}  // namespace silta::crypto
