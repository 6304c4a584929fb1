// File: server/ops/metrics.h
//
// Prometheus metrics of siltad, served as text on a loopback-only HTTP port
// (civetweb) at GET /metrics. Labels carry only method names and status
// codes: never org ids of subjects, case ids or anything personal.
//
//   siltad_grpc_requests_total{method,code}             counter
//   siltad_grpc_request_duration_seconds{method}        histogram
//   siltad_grpc_open_streams{method}                    gauge
//   siltad_hetu_quota_alerts_total                      counter (AddCounter)
//   siltad_notifications_undelivered_total              counter (AddCounter)
// and the families siltad registers with AddFamily (docs/operations.md
// lists them: the message path's backlog per recipient org, deliveries,
// acks, decisions). Org ids of organisations are labels; nothing about a
// person or a case ever is.
//
// Thread-safe.
#ifndef SILTA_SERVER_OPS_METRICS_H_
#define SILTA_SERVER_OPS_METRICS_H_

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lib/common/histogram.h"

struct mg_context;

namespace silta::ops {

class Metrics {
 public:
  // Upper bounds of the latency histogram, in seconds.
  static constexpr std::array<double, 14> kLatencyBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  // Counts one finished RPC. `code` is a gRPC status code name ("OK").
  void RecordRequest(absl::string_view method, absl::string_view code, absl::Duration latency);
  // Tracks streams that are open now.
  void StreamOpened(absl::string_view method);
  void StreamClosed(absl::string_view method);

  // A counter read from `value` at each scrape (no labels).
  void AddCounter(std::string name, std::string help, std::function<uint64_t()> value);

  // One sample of a family: its labels (name, value) and its value.
  struct Sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
  };
  enum class Type { kCounter, kGauge, kHistogram };
  // A family of counters or gauges whose samples are read from `samples`
  // at each scrape (outside the metrics lock, so it may take its own).
  void AddFamily(std::string name, std::string help, Type type,
                 std::function<std::vector<Sample>()> samples);

  // A histogram without labels, read from `read` at each scrape (outside
  // the metrics lock).
  void AddHistogram(std::string name, std::string help, std::function<common::Histogram()> read);

  // The Prometheus text exposition (version 0.0.4).
  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<uint64_t, kLatencyBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable absl::Mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Histogram> latency_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> open_streams_ ABSL_GUARDED_BY(mu_);
  struct Family {
    std::string name, help;
    Type type;
    std::function<std::vector<Sample>()> samples;
    std::function<common::Histogram()> histogram;  // kHistogram
  };
  std::vector<Family> families_ ABSL_GUARDED_BY(mu_);
};

// The HTTP endpoint. Stops when destroyed.
class MetricsHttpServer {
 public:
  // Listens on `address` ("127.0.0.1:9464"; port 0 picks one). `metrics`
  // must outlive the server. UNAVAILABLE if the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(absl::string_view address,
                                                                  const Metrics* metrics);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The bound port.
  int port() const { return port_; }

 private:
  MetricsHttpServer(mg_context* ctx, int port, bool ipv6) : ctx_(ctx), port_(port), ipv6_(ipv6) {}
  mg_context* ctx_;
  int port_;
  bool ipv6_;
};

}  // namespace silta::ops

#endif  // SILTA_SERVER_OPS_METRICS_H_
