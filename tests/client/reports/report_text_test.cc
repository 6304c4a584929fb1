// File: tests/client/reports/report_text_test.cc
//
// The times siltactl and the console read from their users.
#include "client/reports/report_text.h"

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace silta::reports {
namespace {

TEST(ParseDateOrTimeTest, ADateIsMidnightInTheZoneGiven) {
  absl::Time t;
  ASSERT_TRUE(ParseDateOrTime("2026-10-01", absl::UTCTimeZone(), &t));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilDay(2026, 10, 1), absl::UTCTimeZone()));
  // Finnish summer time: local midnight is 21:00 UTC the day before.
  const absl::TimeZone helsinki_summer = absl::FixedTimeZone(3 * 3600);
  ASSERT_TRUE(ParseDateOrTime("2026-10-01", helsinki_summer, &t));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilSecond(2026, 9, 30, 21, 0, 0), absl::UTCTimeZone()));
}

TEST(ParseDateOrTimeTest, AnRfc3339TimeKeepsItsOwnOffset) {
  absl::Time t;
  ASSERT_TRUE(ParseDateOrTime("2026-10-01T08:30:00+03:00", absl::UTCTimeZone(), &t));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilSecond(2026, 10, 1, 5, 30, 0), absl::UTCTimeZone()));
  ASSERT_TRUE(ParseDateOrTime("2026-10-01T08:30:00Z", absl::FixedTimeZone(7200), &t));
  EXPECT_EQ(t, absl::FromCivil(absl::CivilSecond(2026, 10, 1, 8, 30, 0), absl::UTCTimeZone()));
}

TEST(ParseDateOrTimeTest, AnythingElseIsRefused) {
  absl::Time t;
  for (const char* text : {"", "yesterday", "1.10.2026", "2026-13-01", "2026-10-01 08:00"}) {
    EXPECT_FALSE(ParseDateOrTime(text, absl::UTCTimeZone(), &t)) << text;
  }
}

}  // namespace
}  // namespace silta::reports
