#include "server/cases/hetu.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace silta::cases {
namespace {

constexpr absl::string_view kCheckChars = "0123456789ABCDEFHJKLMNPRSTUVWXY";
constexpr size_t kHetuLength = 11;

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

int Number(absl::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

// Century of the sign, or 0 if the sign is not valid.
int Century(char sign) {
  switch (sign) {
    case '+':
      return 1800;
    case '-':
    case 'Y':
    case 'X':
    case 'W':
    case 'V':
    case 'U':
      return 1900;
    case 'A':
    case 'B':
    case 'C':
    case 'D':
    case 'E':
    case 'F':
      return 2000;
    default:
      return 0;
  }
}

bool IsLeap(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

absl::Status Invalid(absl::string_view field, absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": not a valid Finnish personal identity code (", rule,
                   "); expected the form DDMMYYCZZZQ"));
}

}  // namespace

absl::StatusOr<std::string> NormalizeHetu(absl::string_view input, absl::string_view field) {
  std::string hetu = absl::AsciiStrToUpper(absl::StripAsciiWhitespace(input));
  if (hetu.size() != kHetuLength) return Invalid(field, "length must be 11 characters");
  const absl::string_view h = hetu;
  if (!AllDigits(h.substr(0, 6))) return Invalid(field, "date part must be 6 digits");
  const int century = Century(h[6]);
  if (century == 0) return Invalid(field, "unknown century sign");
  if (!AllDigits(h.substr(7, 3))) return Invalid(field, "individual number must be 3 digits");
  const int day = Number(h.substr(0, 2));
  const int month = Number(h.substr(2, 2));
  const int year = century + Number(h.substr(4, 2));
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return Invalid(field, "no such date");
  }
  if (Number(h.substr(7, 3)) < 2) return Invalid(field, "individual number 000 and 001 are not issued");
  const uint32_t n = static_cast<uint32_t>(Number(absl::StrCat(h.substr(0, 6), h.substr(7, 3))));
  if (h[10] != kCheckChars[n % 31]) return Invalid(field, "check character does not match");
  return hetu;
}

}  // namespace silta::cases
