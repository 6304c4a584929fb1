#include "lib/crypto/primitives.h"

#include <type_traits>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/crypto/random.h"
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

// ---- X25519, RFC 7748 ----

TEST(X25519Test, MatchesEveryScalarMultVector) {
  const auto file = LoadVectors("x25519_rfc7748.json");
  const auto& vectors = file.fields().at("scalar_mult").list_value().values();
  ASSERT_GE(vectors.size(), 2);
  for (const auto& v : vectors) {
    const auto& f = v.struct_value();
    auto out = X25519(SecretHex(f, "scalar"), Hex(f, "u_coordinate"));
    ASSERT_THAT(out, IsOk()) << Str(f, "name");
    EXPECT_EQ(ToHex(View(*out)), Str(f, "output")) << Str(f, "name");
  }
}

TEST(X25519Test, MatchesIteratedVectors) {
  const auto file = LoadVectors("x25519_rfc7748.json");
  const auto& results =
      file.fields().at("iterated").struct_value().fields().at("results").list_value().values();
  ASSERT_EQ(results.size(), 3);
  std::string k(32, '\0'), u(32, '\0');
  k[0] = u[0] = 9;
  int done = 0;
  for (const auto& r : results) {
    const int iterations =
        static_cast<int>(r.struct_value().fields().at("iterations").number_value());
#ifdef SILTA_TEST_SANITIZED
    // The same code path as 1 and 1000 steps; the Release run checks the
    // million (about 3 minutes here, longer than the rest of the suite).
    if (iterations > 1000) continue;
#endif
    for (; done < iterations; ++done) {
      auto next = X25519(SecretData::FromString(k), u);
      // Not ASSERT_THAT: a matcher a million times over is most of the time.
      if (!next.ok()) FAIL() << "iteration " << done << ": " << next.status();
      u = k;
      k = std::string(View(*next));
    }
    EXPECT_EQ(ToHex(k), Str(r.struct_value(), "output")) << iterations << " iterations";
  }
}

TEST(X25519Test, DiffieHellmanOfSection61) {
  const auto file = LoadVectors("x25519_rfc7748.json");
  const auto& dh = file.fields().at("diffie_hellman_6_1").struct_value();

  EXPECT_EQ(ToHex(*X25519PublicKey(SecretHex(dh, "alice_private"))), Str(dh, "alice_public"));
  EXPECT_EQ(ToHex(*X25519PublicKey(SecretHex(dh, "bob_private"))), Str(dh, "bob_public"));
  EXPECT_EQ(ToHex(View(*X25519(SecretHex(dh, "alice_private"), Hex(dh, "bob_public")))),
            Str(dh, "shared_secret"));
  EXPECT_EQ(ToHex(View(*X25519(SecretHex(dh, "bob_private"), Hex(dh, "alice_public")))),
            Str(dh, "shared_secret"));
}

TEST(X25519Test, RejectsLowOrderPointAndWrongSizes) {
  auto pair = GenerateX25519KeyPair();
  ASSERT_THAT(pair, IsOk());

  EXPECT_THAT(X25519(pair->private_key, std::string(32, '\0')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(X25519(pair->private_key, std::string(31, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
}

// ---- Public key checks (issue #11 items 6 and 10) ----

std::string FromHex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

TEST(Ed25519KeyCheckTest, AcceptsEveryRfc8032KeyAndFreshKeys) {
  const auto file = LoadVectors("ed25519_rfc8032.json");
  for (const auto& v : file.fields().at("vectors").list_value().values()) {
    EXPECT_THAT(CheckEd25519PublicKey(Hex(v.struct_value(), "public_key")), IsOk());
  }
  for (int i = 0; i < 50; ++i) {
    EXPECT_THAT(CheckEd25519PublicKey(GenerateEd25519KeyPair()->public_key), IsOk());
  }
}

TEST(Ed25519KeyCheckTest, RefusesEverySmallOrderPoint) {
  // The points of order 1, 2, 4 and 8 (y = 1, -1, 0 with either sign, and
  // the two order-8 y values with either sign of x).
  for (const char* hex : {"0100000000000000000000000000000000000000000000000000000000000000",
                          "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                          "0000000000000000000000000000000000000000000000000000000000000000",
                          "0000000000000000000000000000000000000000000000000000000000000080",
                          "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
                          "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
                          "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
                          "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"}) {
    EXPECT_THAT(CheckEd25519PublicKey(FromHex(hex)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("small order")))
        << hex;
  }
}

TEST(Ed25519KeyCheckTest, RefusesNonCanonicalAndOffCurveEncodings) {
  // y = p (that is, 0) and y = p + 1 (1): encodings at or above p.
  EXPECT_THAT(CheckEd25519PublicKey(
                  FromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
  EXPECT_THAT(CheckEd25519PublicKey(
                  FromHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
  // y = 2 has no x on the curve.
  EXPECT_THAT(CheckEd25519PublicKey(
                  FromHex("0200000000000000000000000000000000000000000000000000000000000000")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a point on the curve")));
  EXPECT_THAT(CheckEd25519PublicKey(std::string(31, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
}

TEST(X25519KeyCheckTest, AcceptsRfc7748KeysAndRefusesLowOrderOrNonCanonicalOnes) {
  const auto file = LoadVectors("x25519_rfc7748.json");
  const auto& dh = file.fields().at("diffie_hellman_6_1").struct_value();
  EXPECT_THAT(CheckX25519PublicKey(Hex(dh, "alice_public")), IsOk());
  EXPECT_THAT(CheckX25519PublicKey(Hex(dh, "bob_public")), IsOk());
  for (const char* hex :
       {"0000000000000000000000000000000000000000000000000000000000000000",     // u = 0
        "0100000000000000000000000000000000000000000000000000000000000000",     // u = 1
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",     // u = p - 1
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",     // order 8
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"}) {  // order 8
    EXPECT_THAT(CheckX25519PublicKey(FromHex(hex)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("low order")))
        << hex;
  }
  EXPECT_THAT(CheckX25519PublicKey(
                  FromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
  EXPECT_THAT(CheckX25519PublicKey(
                  FromHex("0900000000000000000000000000000000000000000000000000000000000080")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not canonical")));
}

TEST(AeadTest, KeyMaterialOpensIntoSecretData) {
  // Item 8: unwrapped field keys never sit in a std::string.
  static_assert(std::is_same_v<decltype(AeadOpenSecret(Aead::kAes256Gcm, SecretData(), "", "", "")),
                               absl::StatusOr<SecretData>>);
  const SecretData key(std::vector<uint8_t>(32, 7));
  const std::string nonce(12, 'n');
  const SecretData field_key(std::vector<uint8_t>(32, 9));
  const std::string wrapped = *AeadSeal(Aead::kAes256Gcm, key, nonce, "aad", View(field_key));
  auto opened = AeadOpenSecret(Aead::kAes256Gcm, key, nonce, "aad", wrapped);
  ASSERT_THAT(opened, IsOk());
  EXPECT_TRUE(opened->Equals(field_key));
  std::string flipped = wrapped;
  flipped[0] ^= 1;
  EXPECT_THAT(AeadOpenSecret(Aead::kAes256Gcm, key, nonce, "aad", flipped),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
}

// ---- Ed25519, RFC 8032 §7.1 ----

TEST(Ed25519Test, MatchesEveryRfc8032Vector) {
  const auto file = LoadVectors("ed25519_rfc8032.json");
  const auto& vectors = file.fields().at("vectors").list_value().values();
  ASSERT_GE(vectors.size(), 5);
  for (const auto& v : vectors) {
    const auto& f = v.struct_value();
    const SecretData sk = SecretHex(f, "secret_key");
    const std::string message = Hex(f, "message");

    EXPECT_EQ(ToHex(*Ed25519PublicKey(sk)), Str(f, "public_key")) << Str(f, "name");
    auto signature = Ed25519Sign(sk, message);
    ASSERT_THAT(signature, IsOk());
    EXPECT_EQ(ToHex(*signature), Str(f, "signature")) << Str(f, "name");
    EXPECT_THAT(Ed25519Verify(Hex(f, "public_key"), message, Hex(f, "signature")), IsOk());
  }
}

TEST(Ed25519Test, DetectsTamperedMessageSignatureAndWrongKey) {
  auto pair = GenerateEd25519KeyPair();
  auto other = GenerateEd25519KeyPair();
  ASSERT_THAT(pair, IsOk());
  ASSERT_THAT(other, IsOk());
  const std::string signature = *Ed25519Sign(pair->private_key, "manifest");
  std::string flipped = signature;
  flipped[10] ^= 1;

  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifest", signature), IsOk());
  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifesT", signature),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifest", flipped),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(Ed25519Verify(other->public_key, "manifest", signature),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifest", signature.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Ed25519Test, RefusesAMalleatedSignatureWithSPlusL) {
  // RFC 8032 §5.1.7: S must be below the group order L. (S + L, R) passes
  // the group equation, so a verifier that skips the check accepts a second
  // signature of the same message.
  auto pair = GenerateEd25519KeyPair();
  ASSERT_THAT(pair, IsOk());
  const std::string signature = *Ed25519Sign(pair->private_key, "manifest");
  const std::string l = FromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  std::string malleated = signature;
  int carry = 0;
  for (int i = 0; i < 32; ++i) {
    const int sum = static_cast<uint8_t>(signature[32 + i]) + static_cast<uint8_t>(l[i]) + carry;
    malleated[32 + i] = static_cast<char>(sum & 0xff);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0) << "S + L fits in 32 bytes for every S < L";
  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifest", signature), IsOk());
  EXPECT_THAT(Ed25519Verify(pair->public_key, "manifest", malleated),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
}

TEST(Ed25519Test, VerifiesWhatTheSignerSignsAtEveryLength) {
  // Signing (OpenSSL) and verifying (libsodium) are two implementations:
  // they agree on messages of every length, and on every flipped bit.
  auto pair = GenerateEd25519KeyPair();
  ASSERT_THAT(pair, IsOk());
  for (size_t length = 0; length < 300; length += 7) {
    std::string message(length, '\0');
    for (size_t i = 0; i < length; ++i) message[i] = static_cast<char>(i * 31 + length);
    const std::string signature = *Ed25519Sign(pair->private_key, message);
    EXPECT_THAT(Ed25519Verify(pair->public_key, message, signature), IsOk()) << length;
    std::string flipped = signature;
    flipped[length % 64] ^= static_cast<char>(1 << (length % 8));
    EXPECT_THAT(Ed25519Verify(pair->public_key, message, flipped),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << length;
  }
}

// ---- AEAD ----

class AeadTest : public ::testing::TestWithParam<Aead> {};

TEST_P(AeadTest, RoundTripsAndRejectsEveryTampering) {
  const Aead aead = GetParam();
  const SecretData key = *RandomSecret(AeadKeySize(aead));
  const std::string nonce(kAeadNonceSize, 'n');
  auto ct = AeadSeal(aead, key, nonce, "aad", "psychiatric note");
  ASSERT_THAT(ct, IsOk());

  EXPECT_EQ(*AeadOpen(aead, key, nonce, "aad", *ct), "psychiatric note");
  std::string tampered = *ct;
  tampered[0] ^= 1;
  EXPECT_THAT(AeadOpen(aead, key, nonce, "aad", tampered),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(AeadOpen(aead, key, nonce, "aaD", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(AeadOpen(aead, key, nonce, "aad", ct->substr(0, ct->size() - 1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(AeadOpen(aead, key, nonce, "aad", ct->substr(0, 5)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(AeadOpen(aead, *RandomSecret(AeadKeySize(aead)), nonce, "aad", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
  EXPECT_THAT(AeadOpen(aead, key, std::string(kAeadNonceSize, 'm'), "aad", *ct),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
}

INSTANTIATE_TEST_SUITE_P(All, AeadTest,
                         ::testing::Values(Aead::kAes128Gcm, Aead::kAes256Gcm,
                                           Aead::kChaCha20Poly1305));

TEST(AeadTest, RejectsWrongKeyAndNonceSizes) {
  EXPECT_THAT(AeadSeal(Aead::kAes256Gcm, SecretData(16), std::string(12, 'n'), "", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  EXPECT_THAT(AeadSeal(Aead::kAes256Gcm, SecretData(32), std::string(8, 'n'), "", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nonce")));
}

TEST(Sha256Test, KnownAnswer) {
  const auto digest = Sha256("abc");
  EXPECT_EQ(ToHex(absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");  // FIPS 180-2 B.1
}

}  // namespace
}  // namespace silta::crypto
