#include "server/cases/subject_refs.h"

#include <openssl/crypto.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/crypto/hmac.h"
#include "server/cases/age.h"
#include "server/cases/hetu.h"

namespace silta::cases {

absl::StatusOr<std::unique_ptr<SubjectRefs>> SubjectRefs::FromPepperFile(absl::string_view path) {
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(path));
  SILTA_ASSIGN_OR_RETURN(std::string bytes, common::ReadFile(path, /*max_bytes=*/4096));
  crypto::SecretData pepper = crypto::SecretData::FromString(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (pepper.size() < kMinPepperBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, ": pepper must be at least ", kMinPepperBytes,
        " random bytes; create it with: head -c 32 /dev/urandom > ", path, " && chmod 600 ", path));
  }
  return FromPepper(std::move(pepper));
}

absl::StatusOr<std::unique_ptr<SubjectRefs>> SubjectRefs::FromPepper(crypto::SecretData pepper) {
  if (pepper.size() < kMinPepperBytes) {
    return absl::FailedPreconditionError(
        absl::StrCat("pepper must be at least ", kMinPepperBytes, " bytes"));
  }
  return std::unique_ptr<SubjectRefs>(new SubjectRefs(std::move(pepper)));
}

absl::StatusOr<std::string> SubjectRefs::RefFor(absl::string_view hetu,
                                                absl::string_view field) const {
  SILTA_ASSIGN_OR_RETURN(std::string normalized, NormalizeHetu(hetu, field));
  absl::StatusOr<std::array<uint8_t, crypto::kHmacSha256Size>> mac =
      crypto::HmacSha256(pepper_, normalized);
  OPENSSL_cleanse(normalized.data(), normalized.size());
  if (!mac.ok()) return mac.status();
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(mac->data()), mac->size()));
}

absl::StatusOr<std::string> SubjectRefs::Fingerprint() const {
  SILTA_ASSIGN_OR_RETURN(auto mac, crypto::HmacSha256(pepper_, "silta-pepper-fingerprint-v1"));
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac.data()), 16));
}

absl::StatusOr<SubjectRefs::Subject> SubjectRefs::Resolve(absl::string_view hetu,
                                                         absl::string_view field) const {
  SILTA_ASSIGN_OR_RETURN(absl::CivilDay birth, HetuBirthDate(hetu, field));
  SILTA_ASSIGN_OR_RETURN(std::string ref, RefFor(hetu, field));
  return Subject{std::move(ref), birth};
}

}  // namespace silta::cases
