// File: server/service/grpc_status.h
//
// The one place where absl::Status becomes grpc::Status (explicit switch, so
// a new code cannot slip through as UNKNOWN unnoticed).
#ifndef SILTA_SERVER_SERVICE_GRPC_STATUS_H_
#define SILTA_SERVER_SERVICE_GRPC_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"

namespace silta::service {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The same, and a refusal that says when to retry (common::SetRetryAfter)
// also sets the silta-retry-after-ms trailer on `context`. Use this one
// for the caller's authorisation.
grpc::Status ToGrpcStatus(const absl::Status& status, grpc::ServerContextBase* context);

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_GRPC_STATUS_H_
