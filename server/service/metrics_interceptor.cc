#include "server/service/metrics_interceptor.h"

#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace silta::service {
namespace {

// gRPC status codes have the same numbers as absl's canonical codes.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// One per call; gRPC deletes it when the call ends.
class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  MetricsInterceptor(grpc::experimental::ServerRpcInfo* info, ops::Metrics* metrics)
      : metrics_(metrics),
        method_(info->method() == nullptr ? "unknown" : info->method()),
        streaming_(info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY),
        start_(absl::Now()) {
    if (streaming_) metrics_->StreamOpened(method_);
  }

  ~MetricsInterceptor() override {
    // A call cancelled before a status was sent still counts, as CANCELLED.
    if (!recorded_) metrics_->RecordRequest(method_, "CANCELLED", absl::Now() - start_);
    if (streaming_) metrics_->StreamClosed(method_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->RecordRequest(method_, CodeName(methods->GetSendStatus().error_code()),
                              absl::Now() - start_);
      recorded_ = true;
    }
    methods->Proceed();
  }

 private:
  ops::Metrics* const metrics_;
  const std::string method_;
  const bool streaming_;
  const absl::Time start_;
  bool recorded_ = false;
};

}  // namespace

grpc::experimental::Interceptor* MetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new MetricsInterceptor(info, metrics_);  // owned and deleted by gRPC
}

}  // namespace silta::service
