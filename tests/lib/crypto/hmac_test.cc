#include "lib/crypto/hmac.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace silta::crypto {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;

std::string Hex(const std::array<uint8_t, kHmacSha256Size>& mac) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

// Every vector of tests/vectors/hmac_sha256_rfc4231.json (RFC 4231 §4).
TEST(HmacSha256Test, MatchesEveryRfc4231Vector) {
  const std::string json =
      silta::testing::ReadTextFile(SILTA_SOURCE_DIR "/tests/vectors/hmac_sha256_rfc4231.json");
  google::protobuf::Struct file;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &file).ok());
  const auto& vectors = file.fields().at("vectors").list_value().values();
  ASSERT_GE(vectors.size(), 6);

  for (const google::protobuf::Value& v : vectors) {
    const auto& f = v.struct_value().fields();
    const SecretData key =
        SecretData::FromString(absl::HexStringToBytes(f.at("key").string_value()));
    const std::string data = absl::HexStringToBytes(f.at("data").string_value());

    absl::StatusOr<std::array<uint8_t, kHmacSha256Size>> mac = HmacSha256(key, data);

    ASSERT_THAT(mac, IsOk());
    EXPECT_EQ(Hex(*mac), f.at("hmac_sha256").string_value()) << f.at("name").string_value();
  }
}

TEST(HmacSha256Test, DifferentKeysGiveDifferentMacs) {
  const SecretData a = SecretData::FromString("key-a-0123456789abcdef0123456789");
  const SecretData b = SecretData::FromString("key-b-0123456789abcdef0123456789");

  EXPECT_NE(Hex(*HmacSha256(a, "x")), Hex(*HmacSha256(b, "x")));
}

TEST(HmacSha256Test, RejectsEmptyKey) {
  EXPECT_THAT(HmacSha256(SecretData(), "data"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("empty")));
}

TEST(SecretDataTest, EqualsIsByContent) {
  EXPECT_TRUE(SecretData::FromString("abc").Equals(SecretData::FromString("abc")));
  EXPECT_FALSE(SecretData::FromString("abc").Equals(SecretData::FromString("abd")));
  EXPECT_FALSE(SecretData::FromString("abc").Equals(SecretData::FromString("abcd")));
}

}  // namespace
}  // namespace silta::crypto
