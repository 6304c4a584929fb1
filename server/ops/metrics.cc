#include "server/ops/metrics.h"

#include <civetweb.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "lib/common/listener_wake.h"

namespace silta::ops {
namespace {

int HandleMetrics(mg_connection* conn, void* cbdata) {
  const auto* metrics = static_cast<const Metrics*>(cbdata);
  const mg_request_info* info = mg_get_request_info(conn);
  if (info == nullptr || std::string(info->request_method) != "GET") {
    mg_printf(conn, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\n\r\n");
    return 405;
  }
  const std::string body = metrics->RenderPrometheus();
  mg_printf(conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
            body.size());
  mg_write(conn, body.data(), body.size());
  return 200;
}

}  // namespace

void Metrics::RecordRequest(absl::string_view method, absl::string_view code,
                            absl::Duration latency) {
  const double seconds = absl::ToDoubleSeconds(latency);
  absl::MutexLock lock(&mu_);
  ++requests_[{std::string(method), std::string(code)}];
  Histogram& h = latency_[std::string(method)];
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::StreamOpened(absl::string_view method) {
  absl::MutexLock lock(&mu_);
  ++open_streams_[std::string(method)];
}

void Metrics::StreamClosed(absl::string_view method) {
  absl::MutexLock lock(&mu_);
  --open_streams_[std::string(method)];
}

void Metrics::AddCounter(std::string name, std::string help, std::function<uint64_t()> value) {
  AddFamily(std::move(name), std::move(help), Type::kCounter, [value = std::move(value)] {
    return std::vector<Sample>{{.labels = {}, .value = static_cast<double>(value())}};
  });
}

void Metrics::AddFamily(std::string name, std::string help, Type type,
                        std::function<std::vector<Sample>()> samples) {
  absl::MutexLock lock(&mu_);
  families_.push_back({std::move(name), std::move(help), type, std::move(samples), nullptr});
}

void Metrics::AddHistogram(std::string name, std::string help,
                           std::function<common::Histogram()> read) {
  absl::MutexLock lock(&mu_);
  families_.push_back(
      {std::move(name), std::move(help), Type::kHistogram, nullptr, std::move(read)});
}

namespace {

// A label value in the text format: backslash, quote and newline escaped.
std::string LabelValue(absl::string_view value) {
  return absl::StrReplaceAll(value, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}});
}

}  // namespace

std::string Metrics::RenderPrometheus() const {
  std::vector<Family> families;
  {
    absl::MutexLock lock(&mu_);
    families = families_;
  }
  std::string out;
  // Read outside the lock: a family may ask the store.
  for (const Family& f : families) {
    absl::StrAppend(&out, "# HELP ", f.name, " ", f.help, "\n# TYPE ", f.name,
                    f.type == Type::kCounter ? " counter\n"
                    : f.type == Type::kGauge ? " gauge\n"
                                             : " histogram\n");
    if (f.type == Type::kHistogram) {
      const common::Histogram h = f.histogram();
      for (size_t i = 0; i < h.bounds().size(); ++i) {
        absl::StrAppend(&out, f.name, "_bucket{le=\"", absl::StrFormat("%g", h.bounds()[i]), "\"} ",
                        h.cumulative()[i], "\n");
      }
      absl::StrAppend(&out, f.name, "_bucket{le=\"+Inf\"} ", h.count(), "\n", f.name, "_sum ",
                      absl::StrFormat("%.9g", h.sum()), "\n", f.name, "_count ", h.count(), "\n");
      continue;
    }
    for (const Sample& sample : f.samples()) {
      absl::StrAppend(&out, f.name);
      if (!sample.labels.empty()) {
        absl::StrAppend(&out, "{",
                        absl::StrJoin(sample.labels, ",",
                                      [](std::string* o, const auto& label) {
                                        absl::StrAppend(o, label.first, "=\"",
                                                        LabelValue(label.second), "\"");
                                      }),
                        "}");
      }
      absl::StrAppend(&out, " ", absl::StrFormat("%.17g", sample.value), "\n");
    }
  }
  absl::MutexLock lock(&mu_);
  absl::StrAppend(&out,
                  "# HELP siltad_grpc_requests_total Finished gRPC calls by method and status code.\n"
                  "# TYPE siltad_grpc_requests_total counter\n");
  for (const auto& [key, count] : requests_) {
    absl::StrAppend(&out, "siltad_grpc_requests_total{method=\"", key.first, "\",code=\"",
                    key.second, "\"} ", count, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP siltad_grpc_request_duration_seconds gRPC call latency.\n"
                  "# TYPE siltad_grpc_request_duration_seconds histogram\n");
  for (const auto& [method, h] : latency_) {
    for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      absl::StrAppend(&out, "siltad_grpc_request_duration_seconds_bucket{method=\"", method,
                      "\",le=\"", absl::StrFormat("%g", kLatencyBuckets[i]), "\"} ",
                      h.buckets[i], "\n");
    }
    absl::StrAppend(&out, "siltad_grpc_request_duration_seconds_bucket{method=\"", method,
                    "\",le=\"+Inf\"} ", h.count, "\n");
    absl::StrAppend(&out, "siltad_grpc_request_duration_seconds_sum{method=\"", method, "\"} ",
                    absl::StrFormat("%.6f", h.sum), "\n");
    absl::StrAppend(&out, "siltad_grpc_request_duration_seconds_count{method=\"", method,
                    "\"} ", h.count, "\n");
  }
  absl::StrAppend(&out,
                  "# HELP siltad_grpc_open_streams Streaming calls open now.\n"
                  "# TYPE siltad_grpc_open_streams gauge\n");
  for (const auto& [method, open] : open_streams_) {
    absl::StrAppend(&out, "siltad_grpc_open_streams{method=\"", method, "\"} ", open, "\n");
  }
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    absl::string_view address, const Metrics* metrics) {
  mg_init_library(0);
  const std::string ports(address);
  const char* options[] = {"listening_ports", ports.c_str(), "num_threads", "2",
                           "request_timeout_ms", "5000", nullptr};
  mg_callbacks callbacks{};
  mg_context* ctx = mg_start(&callbacks, nullptr, options);
  if (ctx == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "metrics: cannot listen on ", address,
        " (port in use or address not available); change metrics.listen_address"));
  }
  mg_set_request_handler(ctx, "/metrics", HandleMetrics, const_cast<Metrics*>(metrics));
  mg_server_port server_ports[1]{};
  int port = 0;
  bool ipv6 = false;
  if (mg_get_server_ports(ctx, 1, server_ports) >= 1) {
    port = server_ports[0].port;
    ipv6 = server_ports[0].protocol == 2;
  }
  return std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(ctx, port, ipv6));
}

MetricsHttpServer::~MetricsHttpServer() {
  common::StopWakingListener(port_, ipv6_, [this] { mg_stop(ctx_); });
}

}  // namespace silta::ops
