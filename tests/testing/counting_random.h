// File: tests/testing/counting_random.h
//
// A deterministic randomness source for golden vectors and fuzz seeds
// (TESTONLY): block i = SHA-256("silta-golden" || decimal(i)).
#ifndef SILTA_TESTS_TESTING_COUNTING_RANDOM_H_
#define SILTA_TESTS_TESTING_COUNTING_RANDOM_H_

#include <array>
#include <string>

#include "client/sdk/sealer.h"
#include "lib/crypto/primitives.h"

namespace silta::testing {

class CountingRandom final : public sdk::RandomSource {
 public:
  absl::Status Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& b : out) {
      if (pos_ == block_.size()) {
        std::string input = "silta-golden" + std::to_string(counter_++);
        block_ = crypto::Sha256(input);
        pos_ = 0;
      }
      b = block_[pos_++];
    }
    return absl::OkStatus();
  }

 private:
  std::array<uint8_t, 32> block_{};
  size_t pos_ = 32;
  uint64_t counter_ = 0;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_COUNTING_RANDOM_H_
