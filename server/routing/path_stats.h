// File: server/routing/path_stats.h
//
// What the message path has done since start, for /metrics: messages
// accepted, deliveries (first attempts and redeliveries), acks, and the
// field decisions by stage, verdict and rule. Counts only: no org, case or
// person, so the series say nothing about anyone. The router counts a step
// once its transaction has committed.
//
// Example:
//   PathStats stats;
//   PathStats::Decisions batch;
//   batch.Add(PathStats::kAtSend, decision);
//   stats.Accepted(batch);
//   PathStats::Snapshot now = stats.Read();
//
// Thread-safe.
#ifndef SILTA_SERVER_ROUTING_PATH_STATS_H_
#define SILTA_SERVER_ROUTING_PATH_STATS_H_

#include <cstdint>
#include <map>
#include <tuple>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "silta/v1/consent.pb.h"

namespace silta::routing {

class PathStats {
 public:
  // When a field was decided: at Send (the receipt), or again at delivery.
  enum Stage { kAtSend = 0, kAtDelivery = 1 };
  using DecisionKey = std::tuple<Stage, v1::Verdict, v1::RuleKind>;

  // Decisions of one step, counted together once the step commits.
  class Decisions {
   public:
    void Add(Stage stage, const v1::Decision& d) { ++counts_[{stage, d.verdict(), d.rule()}]; }

   private:
    friend class PathStats;
    std::map<DecisionKey, uint64_t> counts_;
  };

  struct Snapshot {
    uint64_t accepted = 0;
    uint64_t deliveries = 0;    // first attempts
    uint64_t redeliveries = 0;  // attempt 2 and later
    uint64_t acks = 0;
    std::map<DecisionKey, uint64_t> decisions;
  };

  // A message accepted (durable), with its Send decisions.
  void Accepted(const Decisions& decisions);
  // Deliveries written to streams, by attempt number, with their delivery
  // decisions.
  void Delivered(uint64_t first, uint64_t again, const Decisions& decisions);
  void Acked(uint64_t count);

  Snapshot Read() const;

 private:
  void AddLocked(const Decisions& decisions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  Snapshot totals_ ABSL_GUARDED_BY(mu_);
};

}  // namespace silta::routing

#endif  // SILTA_SERVER_ROUTING_PATH_STATS_H_
