// File: lib/crypto/secret_data.h
//
// SecretData holds key material: zeroed when destroyed, compared in constant
// time, never printed. After Tink's util/secret_data.h. Use it for keys and
// the subject-reference pepper; never put its bytes in a std::string, a
// proto or a log line.
#ifndef SILTA_LIB_CRYPTO_SECRET_DATA_H_
#define SILTA_LIB_CRYPTO_SECRET_DATA_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace silta::crypto {

class SecretData {
 public:
  SecretData() = default;
  explicit SecretData(absl::Span<const uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  explicit SecretData(size_t size) : bytes_(size) {}
  // Takes a copy of `bytes`; the caller should wipe its own copy.
  static SecretData FromString(absl::string_view bytes);

  SecretData(const SecretData& other) = default;
  SecretData& operator=(const SecretData& other);
  SecretData(SecretData&& other) noexcept;
  SecretData& operator=(SecretData&& other) noexcept;
  ~SecretData();

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }
  absl::Span<const uint8_t> span() const { return bytes_; }
  // The bytes as a view, for APIs that take bytes as string_view.
  // WARNING: never copy the view into a std::string that outlives its use.
  absl::string_view AsStringView() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

  // Constant-time comparison (CRYPTO_memcmp); sizes are not secret.
  bool Equals(const SecretData& other) const;

 private:
  void Wipe();
  std::vector<uint8_t> bytes_;
};

// `secret.AsStringView()`, for call sites that read better as a function.
inline absl::string_view View(const SecretData& secret) { return secret.AsStringView(); }

}  // namespace silta::crypto

#endif  // SILTA_LIB_CRYPTO_SECRET_DATA_H_
