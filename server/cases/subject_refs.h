// File: server/cases/subject_refs.h
//
// Pseudonymous subject references: subject_ref = lower-case hex of
// HMAC-SHA256(pepper, normalised HETU). siltad stores and indexes only the
// reference; the HETU is dropped as soon as the reference is computed.
// Losing the pepper makes every stored reference unmatchable; leaking it
// makes references guessable (the HETU space is small), so it is a secret
// file with strict permissions.
//
// Thread-safe (immutable after construction).
#ifndef SILTA_SERVER_CASES_SUBJECT_REFS_H_
#define SILTA_SERVER_CASES_SUBJECT_REFS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "lib/crypto/secret_data.h"

namespace silta::cases {

class SubjectRefs {
 public:
  // Least pepper length accepted.
  static constexpr size_t kMinPepperBytes = 32;

  // Reads the pepper file (CheckSecretFile rules: owner-only permissions).
  // FAILED_PRECONDITION if it is too open or shorter than 32 bytes.
  static absl::StatusOr<std::unique_ptr<SubjectRefs>> FromPepperFile(absl::string_view path);

  // With a pepper already in memory (tests, benchmarks).
  static absl::StatusOr<std::unique_ptr<SubjectRefs>> FromPepper(crypto::SecretData pepper);

  // Validates and normalises `hetu` and returns its reference.
  // INVALID_ARGUMENT (never echoing the code) for an invalid code.
  absl::StatusOr<std::string> RefFor(absl::string_view hetu,
                                     absl::string_view field = "subject.hetu") const;

  // A subject as the consent rules need it: the reference and the date of
  // birth the HETU gives. Errors as RefFor's.
  struct Subject {
    std::string ref;
    absl::CivilDay birth_date;
  };
  absl::StatusOr<Subject> Resolve(absl::string_view hetu,
                                  absl::string_view field = "subject.hetu") const;

  // Names the pepper without revealing it (hex of HMAC-SHA256(pepper, a
  // fixed label), 16 bytes): instances on one database must show the same.
  absl::StatusOr<std::string> Fingerprint() const;

 private:
  explicit SubjectRefs(crypto::SecretData pepper) : pepper_(std::move(pepper)) {}
  const crypto::SecretData pepper_;
};

}  // namespace silta::cases

#endif  // SILTA_SERVER_CASES_SUBJECT_REFS_H_
