#include "server/common/logging.h"

#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace silta::common {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string LogLine(LogLevel level, absl::string_view event,
                    std::initializer_list<LogField> fields) {
  ::testing::internal::CaptureStderr();
  Log(level, event, fields);
  FlushLog();
  return ::testing::internal::GetCapturedStderr();
}

// Parses a line as a JSON object, as a log shipper would.
google::protobuf::Struct Parsed(const std::string& line) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok()) << line;
  return object;
}

TEST(LogTest, WritesOneJsonObjectWithTheFixedKeysFirst) {
  const std::string line =
      LogLine(LogLevel::kWarn, "access_refused", {{"method", "/silta.v1.X/Y"}, {"code", "7"}});
  EXPECT_THAT(line, StartsWith("{\"ts\":\""));
  EXPECT_THAT(line, HasSubstr("\"level\":\"warn\",\"event\":\"access_refused\",\"method\":"));
  EXPECT_EQ(line.back(), '\n');
  const auto object = Parsed(line);
  EXPECT_EQ(object.fields().at("method").string_value(), "/silta.v1.X/Y");
  EXPECT_EQ(object.fields().at("code").string_value(), "7");
}

TEST(LogTest, EscapesValuesAndKeysThatAreNotPlainNames) {
  const std::string value = "a \"quoted\"\nline\\ with \x01 control";
  const std::string line = LogLine(LogLevel::kError, "bad input\"", {{"odd \"key\"", value}});
  const auto object = Parsed(line);
  EXPECT_EQ(object.fields().at("event").string_value(), "bad input\"");
  EXPECT_EQ(object.fields().at("odd \"key\"").string_value(), value);
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per entry";
}

TEST(LogTest, DropsLinesBelowTheLevel) {
  SetLogLevel(LogLevel::kInfo);
  EXPECT_EQ(LogLine(LogLevel::kDebug, "message_accepted", {{"message_id", "m"}}), "");
  SetLogLevel(LogLevel::kDebug);
  EXPECT_THAT(LogLine(LogLevel::kDebug, "message_accepted", {{"message_id", "m"}}),
              HasSubstr("\"message_id\":\"m\""));
  SetLogLevel(LogLevel::kInfo);
}

}  // namespace
}  // namespace silta::common
