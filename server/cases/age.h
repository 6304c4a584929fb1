// File: server/cases/age.h
//
// A subject's age, as the consent rules need it (docs/consent-model.md,
// "Who may consent"): the date of birth comes from the HETU, and a decision
// at instant t is made on t's calendar day in Finland (Europe/Helsinki), so
// a young person turns 18 at midnight Finnish time on the 18th birthday.
// One born on 29 February turns 18 on 1 March of a common year (marked for
// a lawyer's confirmation in docs/consent-model.md).
//
// Thread-safe.
#ifndef SILTA_SERVER_CASES_AGE_H_
#define SILTA_SERVER_CASES_AGE_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace silta::cases {

// Age of majority in Finland (holhoustoimilaki 442/1999 2 §).
inline constexpr int kMajorityAge = 18;

// The date of birth in a HETU (validated first, as NormalizeHetu does;
// INVALID_ARGUMENT never echoes the code).
absl::StatusOr<absl::CivilDay> HetuBirthDate(absl::string_view hetu,
                                             absl::string_view field = "subject.hetu");

// OK if Finnish time (tzdata's Europe/Helsinki) can be loaded; else
// FAILED_PRECONDITION saying to install tzdata. siltad refuses to start
// without it; FinnishDay returns nullopt then, and the consent rules treat
// the age as unknown (a grant that depends on it does not count).
absl::Status CheckFinnishTime();

// The calendar day in Finland of `t`; nullopt if Finnish time is unavailable.
std::optional<absl::CivilDay> FinnishDay(absl::Time t);

// The 18th birthday of one born on `birth`.
absl::CivilDay MajorityDay(absl::CivilDay birth);

// True if one born on `birth` is 18 or older at `t`; nullopt if Finnish
// time is unavailable.
std::optional<bool> IsAdultAt(absl::CivilDay birth, absl::Time t);

// "YYYY-MM-DD", the form kept in consent records.
std::string FormatBirthDate(absl::CivilDay birth);
// The date in "YYYY-MM-DD"; nullopt if `text` is not one.
std::optional<absl::CivilDay> ParseBirthDate(absl::string_view text);

}  // namespace silta::cases

#endif  // SILTA_SERVER_CASES_AGE_H_
