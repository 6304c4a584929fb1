#include "server/cases/age.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "server/cases/hetu.h"

namespace silta::cases {
namespace {

const std::optional<absl::TimeZone>& Helsinki() {
  static const std::optional<absl::TimeZone>* zone = [] {
    absl::TimeZone tz;
    return new std::optional<absl::TimeZone>(
        absl::LoadTimeZone("Europe/Helsinki", &tz) ? std::optional(tz) : std::nullopt);
  }();
  return *zone;
}

int Digits(absl::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

}  // namespace

absl::StatusOr<absl::CivilDay> HetuBirthDate(absl::string_view hetu, absl::string_view field) {
  absl::StatusOr<std::string> normalized = NormalizeHetu(hetu, field);
  if (!normalized.ok()) return normalized.status();
  const absl::string_view h = *normalized;
  int century = 1900;
  if (h[6] == '+') century = 1800;
  if (h[6] >= 'A' && h[6] <= 'F') century = 2000;
  return absl::CivilDay(century + Digits(h.substr(4, 2)), Digits(h.substr(2, 2)),
                        Digits(h.substr(0, 2)));
}

absl::Status CheckFinnishTime() {
  if (Helsinki().has_value()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "cannot load the time zone Europe/Helsinki, which the consent rules need to tell a "
      "minor from an adult; install the tzdata package");
}

std::optional<absl::CivilDay> FinnishDay(absl::Time t) {
  const std::optional<absl::TimeZone>& tz = Helsinki();
  if (!tz.has_value()) return std::nullopt;
  // Each decision asks (dozens a message); the zone's rules are looked up
  // once a day per thread, and the day's bounds answer the rest.
  thread_local absl::Time day_begins = absl::InfiniteFuture();
  thread_local absl::Time next_begins = absl::InfinitePast();
  thread_local absl::CivilDay day;
  if (t < day_begins || t >= next_begins) {
    day = absl::ToCivilDay(t, *tz);
    day_begins = absl::FromCivil(day, *tz);
    next_begins = absl::FromCivil(day + 1, *tz);
  }
  return day;
}

absl::CivilDay MajorityDay(absl::CivilDay birth) {
  // CivilDay normalises 29 February of a common year to 1 March.
  return absl::CivilDay(birth.year() + kMajorityAge, birth.month(), birth.day());
}

std::optional<bool> IsAdultAt(absl::CivilDay birth, absl::Time t) {
  const std::optional<absl::CivilDay> today = FinnishDay(t);
  if (!today.has_value()) return std::nullopt;
  return *today >= MajorityDay(birth);
}

std::string FormatBirthDate(absl::CivilDay birth) {
  return absl::StrFormat("%04d-%02d-%02d", birth.year(), birth.month(), birth.day());
}

std::optional<absl::CivilDay> ParseBirthDate(absl::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!absl::ascii_isdigit(text[i])) return std::nullopt;
  }
  const int year = Digits(text.substr(0, 4));
  const int month = Digits(text.substr(5, 2));
  const int day = Digits(text.substr(8, 2));
  const absl::CivilDay parsed(year, month, day);
  if (parsed.year() != year || parsed.month() != month || parsed.day() != day) return std::nullopt;
  return parsed;
}

}  // namespace silta::cases
