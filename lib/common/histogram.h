// File: lib/common/histogram.h
//
// A fixed-bucket histogram in the shape Prometheus exposes: observations
// counted per upper bound ("le"), with their count and sum. Not
// thread-safe: its owner guards it, and hands out copies to read.
//
// Example:
//   common::Histogram commit_seconds({0.001, 0.01, 0.1});
//   commit_seconds.Observe(0.004);   // counted in le=0.01 and le=0.1
#ifndef SILTA_LIB_COMMON_HISTOGRAM_H_
#define SILTA_LIB_COMMON_HISTOGRAM_H_

#include <cstdint>
#include <utility>
#include <vector>

namespace silta::common {

class Histogram {
 public:
  Histogram() = default;
  // `bounds`: the finite upper bounds, ascending (+Inf is implied).
  explicit Histogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), cumulative_(bounds_.size(), 0) {}

  void Observe(double value) {
    for (size_t i = 0; i < bounds_.size(); ++i) {
      if (value <= bounds_[i]) ++cumulative_[i];
    }
    ++count_;
    sum_ += value;
  }

  const std::vector<double>& bounds() const { return bounds_; }
  // Observations <= bounds()[i].
  const std::vector<uint64_t>& cumulative() const { return cumulative_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> cumulative_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace silta::common

#endif  // SILTA_LIB_COMMON_HISTOGRAM_H_
