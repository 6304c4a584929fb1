// File: tests/testing/vectors.h
//
// Loading the RFC test vectors in tests/vectors/ (JSON, hex strings) with
// protobuf's JSON parser.
#ifndef SILTA_TESTS_TESTING_VECTORS_H_
#define SILTA_TESTS_TESTING_VECTORS_H_

#include <string>

#include "absl/strings/escaping.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "lib/crypto/secret_data.h"
#include "tests/testing/process.h"

namespace silta::testing {

// tests/vectors/<name> as a JSON object.
inline google::protobuf::Struct LoadVectors(const std::string& name) {
  google::protobuf::Struct file;
  const std::string json = ReadTextFile(std::string(SILTA_SOURCE_DIR "/tests/vectors/") + name);
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &file).ok()) << name;
  return file;
}

// The string field `key` of a JSON object.
inline const std::string& Str(const google::protobuf::Struct& object, const std::string& key) {
  return object.fields().at(key).string_value();
}

// The hex field `key`, decoded.
inline std::string Hex(const google::protobuf::Struct& object, const std::string& key) {
  return absl::HexStringToBytes(Str(object, key));
}

inline crypto::SecretData SecretHex(const google::protobuf::Struct& object, const std::string& key) {
  return crypto::SecretData::FromString(Hex(object, key));
}

inline std::string ToHex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_VECTORS_H_
