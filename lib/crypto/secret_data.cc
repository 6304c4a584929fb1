#include "lib/crypto/secret_data.h"

#include <openssl/crypto.h>

#include <utility>

namespace silta::crypto {

SecretData SecretData::FromString(absl::string_view bytes) {
  return SecretData(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

SecretData& SecretData::operator=(const SecretData& other) {
  if (this != &other) {
    Wipe();
    bytes_ = other.bytes_;
  }
  return *this;
}

SecretData::SecretData(SecretData&& other) noexcept : bytes_(std::move(other.bytes_)) {
  other.bytes_.clear();
}

SecretData& SecretData::operator=(SecretData&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
    other.bytes_.clear();
  }
  return *this;
}

SecretData::~SecretData() { Wipe(); }

void SecretData::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

bool SecretData::Equals(const SecretData& other) const {
  return bytes_.size() == other.bytes_.size() &&
         CRYPTO_memcmp(bytes_.data(), other.bytes_.data(), bytes_.size()) == 0;
}

}  // namespace silta::crypto
