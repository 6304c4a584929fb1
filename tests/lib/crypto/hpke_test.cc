#include "lib/crypto/hpke.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/vectors.h"

namespace silta::crypto {
namespace {

using ::silta::testing::Hex;
using ::silta::testing::IsOk;
using ::silta::testing::LoadVectors;
using ::silta::testing::SecretHex;
using ::silta::testing::StatusIs;
using ::silta::testing::Str;
using ::silta::testing::ToHex;
using ::testing::HasSubstr;

double Num(const google::protobuf::Struct& s, const std::string& key) {
  return s.fields().at(key).number_value();
}

// Every RFC 9180 Appendix A vector in tests/vectors/ (DHKEM(X25519,
// HKDF-SHA256), HKDF-SHA256; base and PSK modes; all three AEADs): enc,
// every kept encryption (sender and recipient) and every export.
TEST(HpkeTest, MatchesEveryRfc9180Vector) {
  const auto file = LoadVectors("hpke_rfc9180.json");
  const auto& vectors = file.fields().at("vectors").list_value().values();
  ASSERT_EQ(vectors.size(), 6);
  int encryptions = 0, exports = 0;
  for (const auto& value : vectors) {
    const auto& v = value.struct_value();
    ASSERT_EQ(Num(v, "kem_id"), 32);
    ASSERT_EQ(Num(v, "kdf_id"), 1);
    const HpkeMode mode = static_cast<HpkeMode>(static_cast<int>(Num(v, "mode")));
    const Aead aead = static_cast<Aead>(static_cast<int>(Num(v, "aead_id")));
    HpkePsk psk;
    if (mode == HpkeMode::kPsk) {
      psk.psk = SecretHex(v, "psk");
      psk.psk_id = Hex(v, "psk_id");
    }
    const std::string name = Str(v, "suite") + " mode " + std::to_string(static_cast<int>(mode));

    auto sender = HpkeContext::SetupSenderWithEphemeralKeyForTest(
        mode, aead, Hex(v, "pkRm"), Hex(v, "info"), SecretHex(v, "skEm"), psk);
    ASSERT_THAT(sender, IsOk()) << name;
    EXPECT_EQ(ToHex((*sender)->encapsulated_key()), Str(v, "enc")) << name;
    auto recipient = HpkeContext::SetupRecipient(mode, aead, Hex(v, "enc"), SecretHex(v, "skRm"),
                                                 Hex(v, "info"), psk);
    ASSERT_THAT(recipient, IsOk()) << name;

    for (const auto& e : v.fields().at("encryptions").list_value().values()) {
      const auto& enc = e.struct_value();
      const uint64_t seq = static_cast<uint64_t>(Num(enc, "seq"));
      (*sender)->SetSequenceNumberForTest(seq);
      (*recipient)->SetSequenceNumberForTest(seq);
      auto ct = (*sender)->Seal(Hex(enc, "aad"), Hex(enc, "pt"));
      ASSERT_THAT(ct, IsOk()) << name << " seq " << seq;
      EXPECT_EQ(ToHex(*ct), Str(enc, "ct")) << name << " seq " << seq;
      auto pt = (*recipient)->Open(Hex(enc, "aad"), Hex(enc, "ct"));
      ASSERT_THAT(pt, IsOk()) << name << " seq " << seq;
      EXPECT_EQ(*pt, Hex(enc, "pt"));
      ++encryptions;
    }
    for (const auto& x : v.fields().at("exports").list_value().values()) {
      const auto& ex = x.struct_value();
      const size_t length = static_cast<size_t>(Num(ex, "L"));
      auto from_sender = (*sender)->Export(Hex(ex, "exporter_context"), length);
      auto from_recipient = (*recipient)->Export(Hex(ex, "exporter_context"), length);
      ASSERT_THAT(from_sender, IsOk());
      EXPECT_EQ(ToHex(View(*from_sender)), Str(ex, "exported_value")) << name;
      EXPECT_EQ(ToHex(View(*from_recipient)), Str(ex, "exported_value")) << name;
      ++exports;
    }
  }
  EXPECT_EQ(encryptions, 6 * 7);
  EXPECT_EQ(exports, 6 * 3);
}

class HpkeRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pair = GenerateX25519KeyPair();
    ASSERT_THAT(pair, IsOk());
    recipient_ = *std::move(pair);
    auto sender = HpkeContext::SetupBaseSender(Aead::kAes256Gcm, recipient_.public_key, "info");
    ASSERT_THAT(sender, IsOk());
    sender_ = *std::move(sender);
  }
  std::unique_ptr<HpkeContext> Recipient(absl::string_view info = "info") {
    auto r = HpkeContext::SetupBaseRecipient(Aead::kAes256Gcm, sender_->encapsulated_key(),
                                             recipient_.private_key, info);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? *std::move(r) : nullptr;
  }
  KeyPair recipient_;
  std::unique_ptr<HpkeContext> sender_;
};

TEST_F(HpkeRoundTripTest, SealsOpensAndExportsTheSameKeyOnBothSides) {
  auto ct1 = sender_->Seal("aad", "first");
  auto ct2 = sender_->Seal("aad", "second");
  auto recipient = Recipient();

  EXPECT_EQ(*recipient->Open("aad", *ct1), "first");
  EXPECT_EQ(*recipient->Open("aad", *ct2), "second");
  EXPECT_EQ(View(*sender_->Export("field:a", 32)), View(*recipient->Export("field:a", 32)));
  EXPECT_NE(View(*sender_->Export("field:a", 32)), View(*sender_->Export("field:b", 32)));
}

TEST_F(HpkeRoundTripTest, WrongInfoWrongKeyTamperingAndReorderingFail) {
  auto ct = sender_->Seal("aad", "secret");
  ASSERT_THAT(ct, IsOk());
  std::string tampered = *ct;
  tampered.back() ^= 1;

  EXPECT_THAT(Recipient("other info")->Open("aad", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(Recipient()->Open("aad", tampered),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(Recipient()->Open("AAD", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  auto second = sender_->Seal("aad", "next");
  EXPECT_THAT(Recipient()->Open("aad", *second),  // out of order: sequence 1 read as 0
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  auto stranger = GenerateX25519KeyPair();
  auto wrong = HpkeContext::SetupBaseRecipient(Aead::kAes256Gcm, sender_->encapsulated_key(),
                                               stranger->private_key, "info");
  ASSERT_THAT(wrong, IsOk());
  EXPECT_THAT((*wrong)->Open("aad", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
}

TEST(HpkeTest, RejectsMismatchedPskInputs) {
  auto pair = GenerateX25519KeyPair();
  HpkePsk half;
  half.psk = SecretData::FromString("0123456789abcdef0123456789abcdef");

  EXPECT_THAT(HpkeContext::SetupRecipient(HpkeMode::kPsk, Aead::kAes256Gcm, pair->public_key,
                                          pair->private_key, "", half),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("psk")));
  EXPECT_THAT(HpkeContext::SetupRecipient(HpkeMode::kPsk, Aead::kAes256Gcm, pair->public_key,
                                          pair->private_key, "", HpkePsk{}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("psk")));
}

TEST(HpkeTest, RejectsMalformedEncapsulatedKey) {
  auto pair = GenerateX25519KeyPair();

  EXPECT_THAT(HpkeContext::SetupBaseRecipient(Aead::kAes256Gcm, "short", pair->private_key, ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace silta::crypto
