#include "lib/crypto/random.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace silta::crypto {

absl::Status RandomBytes(absl::Span<uint8_t> out) {
  if (out.empty()) return absl::OkStatus();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    ERR_clear_error();
    return absl::InternalError("the system random number generator failed");
  }
  return absl::OkStatus();
}

namespace {

constexpr size_t kIdBufferSize = 512;

// Counts fork()s in this process's line: a thread's buffer filled before
// the current count is stale in a child.
std::atomic<uint64_t> forks{0};

void CountFork() { forks.fetch_add(1, std::memory_order_relaxed); }

struct IdBuffer {
  std::array<uint8_t, kIdBufferSize> bytes{};
  size_t used = kIdBufferSize;  // empty
  uint64_t filled_at_fork = 0;
  ~IdBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

absl::Status RandomBytesForIds(absl::Span<uint8_t> out) {
  static const bool registered = [] { return pthread_atfork(nullptr, nullptr, CountFork) == 0; }();
  if (!registered || out.size() > kIdBufferSize / 4) return RandomBytes(out);
  thread_local IdBuffer buffer;
  const uint64_t now_forks = forks.load(std::memory_order_relaxed);
  if (buffer.filled_at_fork != now_forks || kIdBufferSize - buffer.used < out.size()) {
    // Empty, or filled in the parent of this process: draw afresh.
    if (absl::Status s = RandomBytes(absl::MakeSpan(buffer.bytes)); !s.ok()) return s;
    buffer.used = 0;
    buffer.filled_at_fork = now_forks;
  }
  uint8_t* from = buffer.bytes.data() + buffer.used;
  std::copy(from, from + out.size(), out.data());
  OPENSSL_cleanse(from, out.size());
  buffer.used += out.size();
  return absl::OkStatus();
}

absl::StatusOr<SecretData> RandomSecret(size_t size) {
  SecretData secret(size);
  if (absl::Status s = RandomBytes(absl::MakeSpan(secret.data(), size)); !s.ok()) return s;
  return secret;
}

absl::StatusOr<std::string> NewUuidV7(absl::Time now) {
  std::array<uint8_t, 16> b{};
  if (absl::Status s = RandomBytesForIds(absl::MakeSpan(b)); !s.ok()) return s;
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (8 * (5 - i)));
  b[6] = static_cast<uint8_t>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));  // variant 10
  // 8-4-4-4-12 lower-case hex digits (one per Send: StrFormat's sixteen
  // conversions were a tenth of a Send's checks).
  const std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
  const absl::string_view h = hex;
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-", h.substr(12, 4), "-",
                      h.substr(16, 4), "-", h.substr(20));
}

bool IsCanonicalUuid(absl::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-'
             : !(absl::ascii_isdigit(text[i]) || (text[i] >= 'a' && text[i] <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace silta::crypto
