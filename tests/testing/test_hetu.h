// File: tests/testing/test_hetu.h
//
// Test HETUs of people of a given age today, so that tests about minors and
// adults keep their meaning as the years pass (a fixed code of a 15-year-old
// would become an adult's in three years).
#ifndef SILTA_TESTS_TESTING_TEST_HETU_H_
#define SILTA_TESTS_TESTING_TEST_HETU_H_

#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace silta::testing {

// A valid test HETU (individual number `individual`, 900-999) of someone
// born on `birth`.
inline std::string HetuBornOn(absl::CivilDay birth, int individual) {
  static constexpr char kCheck[] = "0123456789ABCDEFHJKLMNPRSTUVWXY";
  const int yy = static_cast<int>(birth.year() % 100);
  const long long n = (birth.day() * 10000LL + birth.month() * 100LL + yy) * 1000LL + individual;
  const char sign = birth.year() >= 2000 ? 'A' : (birth.year() >= 1900 ? '-' : '+');
  return absl::StrFormat("%02d%02d%02d%c%03d%c", birth.day(), birth.month(), yy, sign, individual,
                         kCheck[n % 31]);
}

// A valid test HETU of someone `age` years old today (UTC), whose last
// birthday was about 100 days ago: the age holds for months either side of
// a test run.
inline std::string TestHetu(int age, int individual) {
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  const absl::CivilDay birthday_this_year = today - 100;
  return HetuBornOn(absl::CivilDay(birthday_this_year.year() - age, birthday_this_year.month(),
                                   birthday_this_year.day()),
                    individual);
}

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_TEST_HETU_H_
