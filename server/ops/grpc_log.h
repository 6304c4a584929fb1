// File: server/ops/grpc_log.h
//
// Routes gRPC's own log output (handshake failures, bind errors) through the
// JSON logging facade, so that refused TLS handshakes (no client certificate,
// another CA, expired or revoked certificates, TLS < 1.2) appear as
// "grpc_core" lines in the same structured log. gRPC's messages carry no
// personal data (they describe TLS alerts and file names).
#ifndef SILTA_SERVER_OPS_GRPC_LOG_H_
#define SILTA_SERVER_OPS_GRPC_LOG_H_

namespace silta::ops {

// Installs the redirect. Call once, before any gRPC object is created.
void RouteGrpcLogsToJson();

}  // namespace silta::ops

#endif  // SILTA_SERVER_OPS_GRPC_LOG_H_
