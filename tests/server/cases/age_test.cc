#include "server/cases/age.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/test_hetu.h"

namespace silta::cases {
namespace {

using ::silta::testing::IsOkAndHolds;
using ::silta::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

absl::Time Utc(int y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

TEST(AgeTest, TheBirthDateComesFromTheHetuWithItsCentury) {
  EXPECT_THAT(HetuBirthDate("241185Y912P"), IsOkAndHolds(absl::CivilDay(1985, 11, 24)));
  EXPECT_THAT(HetuBirthDate("150609B934Y"), IsOkAndHolds(absl::CivilDay(2009, 6, 15)));
  EXPECT_THAT(HetuBirthDate(" 311210c999f "), IsOkAndHolds(absl::CivilDay(2010, 12, 31)));
  EXPECT_THAT(HetuBirthDate(silta::testing::HetuBornOn(absl::CivilDay(1899, 3, 4), 950)),
              IsOkAndHolds(absl::CivilDay(1899, 3, 4)));
}

TEST(AgeTest, AnInvalidHetuIsRefusedWithoutEchoingIt) {
  EXPECT_THAT(HetuBirthDate("150609B934Z", "subject.hetu"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("subject.hetu"), Not(HasSubstr("150609")))));
}

TEST(AgeTest, EighteenAtMidnightFinnishTimeOnTheBirthday) {
  ASSERT_TRUE(CheckFinnishTime().ok()) << CheckFinnishTime();
  const absl::CivilDay birth(2008, 9, 22);
  // Summer time: midnight in Helsinki is 21:00 UTC the day before.
  EXPECT_EQ(IsAdultAt(birth, Utc(2026, 9, 21, 20, 59, 59)), false);
  EXPECT_EQ(IsAdultAt(birth, Utc(2026, 9, 21, 21, 0, 0)), true);
  // Winter time: 22:00 UTC.
  const absl::CivilDay winter(2008, 12, 2);
  EXPECT_EQ(IsAdultAt(winter, Utc(2026, 12, 1, 21, 59, 59)), false);
  EXPECT_EQ(IsAdultAt(winter, Utc(2026, 12, 1, 22, 0, 0)), true);
}

TEST(AgeTest, EveryInstantHasItsFinnishDayAcrossTheDaysSummerTimeBeginsAndEnds) {
  ASSERT_TRUE(CheckFinnishTime().ok()) << CheckFinnishTime();
  absl::TimeZone helsinki;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/Helsinki", &helsinki));
  // 2026: summer time begins on 29 March (a 23-hour day) and ends on 25
  // October (25 hours). Forwards, then backwards, in steps that are not a
  // divisor of an hour: each answer is the zone's own.
  for (const absl::CivilDay first : {absl::CivilDay(2026, 3, 27), absl::CivilDay(2026, 10, 23)}) {
    const absl::Time begin = Utc(first.year(), first.month(), first.day(), 0, 0, 0);
    const absl::Time end = begin + absl::Hours(5 * 24);
    for (absl::Time t = begin; t < end; t += absl::Minutes(37)) {
      ASSERT_EQ(FinnishDay(t), absl::ToCivilDay(t, helsinki)) << t;
    }
    for (absl::Time t = end; t > begin; t -= absl::Minutes(41)) {
      ASSERT_EQ(FinnishDay(t), absl::ToCivilDay(t, helsinki)) << t;
    }
  }
}

TEST(AgeTest, OneBornOnTheLeapDayTurnsEighteenOnTheFirstOfMarch) {
  EXPECT_EQ(MajorityDay(absl::CivilDay(2008, 2, 29)), absl::CivilDay(2026, 3, 1));
  EXPECT_EQ(MajorityDay(absl::CivilDay(2006, 2, 28)), absl::CivilDay(2024, 2, 28));
  // 2022 and 2030 are common years.
  EXPECT_EQ(MajorityDay(absl::CivilDay(2004, 2, 29)), absl::CivilDay(2022, 3, 1));
  EXPECT_EQ(MajorityDay(absl::CivilDay(2012, 2, 29)), absl::CivilDay(2030, 3, 1));
}

TEST(AgeTest, BirthDatesRoundTripAndNothingElseParses) {
  EXPECT_EQ(FormatBirthDate(absl::CivilDay(2009, 6, 5)), "2009-06-05");
  EXPECT_EQ(ParseBirthDate("2009-06-05"), absl::CivilDay(2009, 6, 5));
  for (const char* bad : {"", "2009-6-5", "2009-02-30", "2009-13-01", "20090605", "2009-06-05x",
                          "abcd-ef-gh"}) {
    EXPECT_EQ(ParseBirthDate(bad), std::nullopt) << bad;
  }
}

TEST(AgeTest, TestHetusHaveTheAgeAskedFor) {
  for (int age : {0, 14, 17, 18, 40}) {
    auto birth = HetuBirthDate(silta::testing::TestHetu(age, 960));
    ASSERT_TRUE(birth.ok()) << age;
    EXPECT_EQ(IsAdultAt(*birth, absl::Now()), age >= 18) << age;
  }
}

}  // namespace
}  // namespace silta::cases
