// Fuzz target: the identifiers that arrive from outside: HETU, SPIFFE ids,
// org ids, key ids and message ids.
// Properties: a normalised HETU normalises to itself, is 11 characters and
// its refusals never echo the input; a parsed SPIFFE id is built of a valid
// org id and prints back to the input; key ids and UUIDs are what their
// checks promise.
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/random.h"
#include "lib/identity/spiffe_id.h"
#include "server/cases/hetu.h"
#include "tests/fuzz/fuzz_world.h"

namespace silta::fuzz {

SILTA_FUZZ_TARGET(identifiers) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  bool accepted = false;
  const absl::StatusOr<std::string> hetu = cases::NormalizeHetu(input);
  accepted |= hetu.ok();
  if (hetu.ok()) {
    if (hetu->size() != 11) Fail("a HETU of other than 11 characters");
    const absl::StatusOr<std::string> again = cases::NormalizeHetu(*hetu);
    if (!again.ok() || *again != *hetu) Fail("HETU normalisation is not idempotent");
  } else {
    // The birth date (six digits) must never come back in the error.
    const std::string trimmed(absl::StripAsciiWhitespace(input));
    if (trimmed.size() >= 6 &&
        std::all_of(trimmed.begin(), trimmed.begin() + 6, absl::ascii_isdigit) &&
        absl::StrContains(hetu.status().message(), trimmed.substr(0, 6))) {
      Fail("a HETU refusal echoes the birth date");
    }
  }

  const absl::StatusOr<identity::SpiffeId> id = identity::ParseSpiffeId(input);
  accepted |= id.ok();
  if (id.ok()) {
    if (!identity::IsValidOrgId(id->org_id)) Fail("a SPIFFE id with an invalid org id");
    if (absl::StrCat("spiffe://", id->trust_domain, "/org/", id->org_id, "/sys/", id->system) !=
        input) {
      Fail("a SPIFFE id that does not print back");
    }
  }

  if (identity::IsValidOrgId(input) &&
      (input.empty() || input.size() > 64 ||
       !std::all_of(input.begin(), input.end(), [](char c) {
         return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
       }))) {
    Fail("an org id outside [a-z0-9-]{1,64}");
  }
  if (crypto::IsKeyId(input) &&
      (input.size() != 32 || !std::all_of(input.begin(), input.end(), [](char c) {
         return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
       }))) {
    Fail("a key id outside [0-9a-f]{32}");
  }
  if (crypto::IsCanonicalUuid(input) && (input.size() != 36 || input[8] != '-')) {
    Fail("a UUID that is not canonical");
  }
  accepted |= identity::IsValidOrgId(input) || crypto::IsKeyId(input) ||
              crypto::IsCanonicalUuid(input);
  if (accepted) Accepted();
  return 0;
}

}  // namespace silta::fuzz
