#include "server/crypto/primitives.h"
#include "server/crypto/random.h"

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
  const auto& results = file.fields().at("iterated").struct_value().fields().at("results").list_value().values();
  ASSERT_EQ(results.size(), 3);
  std::string k(32, '\0'), u(32, '\0');
  k[0] = u[0] = 9;
  int done = 0;
  for (const auto& r : results) {
    const int iterations = static_cast<int>(r.struct_value().fields().at("iterations").number_value());
    for (; done < iterations; ++done) {
      auto next = X25519(SecretData::FromString(k), u);
      ASSERT_THAT(next, IsOk());
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
