// File: server/service/metrics_interceptor.h
//
// A gRPC server interceptor that feeds ops::Metrics: one count per finished
// call by method and status code, its latency, and open streams.
#ifndef SILTA_SERVER_SERVICE_METRICS_INTERCEPTOR_H_
#define SILTA_SERVER_SERVICE_METRICS_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"
#include "server/ops/metrics.h"

namespace silta::service {

class MetricsInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server.
  explicit MetricsInterceptorFactory(ops::Metrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  ops::Metrics* const metrics_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_METRICS_INTERCEPTOR_H_
