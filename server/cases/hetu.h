// File: server/cases/hetu.h
//
// Validation of the Finnish personal identity code (henkilötunnus, HETU):
//   DDMMYYCZZZQ — birth date, century sign, individual number, check char.
// Century signs: '+' 1800s; '-' and, since the 2023 reform, Y X W V U for
// the 1900s; 'A' and B C D E F for the 2000s. Individual numbers 002-899
// are permanent codes, 900-999 temporary (and test) codes; 000 and 001 are
// not issued. The check character is the 9-digit number DDMMYYZZZ mod 31
// looked up in "0123456789ABCDEFHJKLMNPRSTUVWXY".
//
// Errors never contain the code or any part of it.
#ifndef SILTA_SERVER_CASES_HETU_H_
#define SILTA_SERVER_CASES_HETU_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace silta::cases {

// Returns the normalised code (surrounding white space trimmed, letters
// upper-cased; the century sign is kept, because since 2023 two people can
// differ only by it). INVALID_ARGUMENT "<field>: ..." saying which rule
// failed (length, date, century sign, individual number, check character)
// without echoing the input.
absl::StatusOr<std::string> NormalizeHetu(absl::string_view input,
                                          absl::string_view field = "subject.hetu");

}  // namespace silta::cases

#endif  // SILTA_SERVER_CASES_HETU_H_
