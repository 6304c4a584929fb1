// File: server/service/unary_call.h
//
// The shape every unary RPC of siltad takes: identity from the call's
// AuthContext only → role check → one domain call returning StatusOr →
// status mapped → Finish() exactly once.
#ifndef SILTA_SERVER_SERVICE_UNARY_CALL_H_
#define SILTA_SERVER_SERVICE_UNARY_CALL_H_

#include <functional>
#include <utility>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"
#include "server/identity/authenticator.h"
#include "server/service/grpc_status.h"

namespace silta::service {

// Runs `handler(const identity::Caller&, done)` for an authorised caller of
// `method`, where `done(absl::StatusOr<Result>)`: `handler` calls it once,
// on any thread, and the call finishes then, its response set by
// `answer(Result)` if the result is one. The gRPC thread is free meanwhile (a
// Send waiting for its group commit).
template <typename Result, typename Answer, typename Handler>
grpc::ServerUnaryReactor* HandleUnaryAsyncWith(grpc::CallbackServerContext* context,
                                               const identity::Authenticator& authenticator,
                                               absl::string_view method, Answer answer,
                                               Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<identity::Caller> caller =
      authenticator.Authorize(*context->auth_context(), method, context->peer());
  if (!caller.ok()) {
    reactor->Finish(ToGrpcStatus(caller.status(), context));
    return reactor;
  }
  std::forward<Handler>(handler)(
      *caller, [reactor, answer = std::move(answer)](absl::StatusOr<Result> result) mutable {
        if (result.ok()) answer(*std::move(result));
        reactor->Finish(ToGrpcStatus(result.status()));
      });
  return reactor;
}

// HandleUnaryAsync where the result is the response itself.
template <typename Response, typename Handler>
grpc::ServerUnaryReactor* HandleUnaryAsync(grpc::CallbackServerContext* context,
                                           const identity::Authenticator& authenticator,
                                           absl::string_view method, Response* response,
                                           Handler&& handler) {
  return HandleUnaryAsyncWith<Response>(
      context, authenticator, method,
      [response](Response result) { *response = std::move(result); },
      std::forward<Handler>(handler));
}

// Runs `handler(const identity::Caller&) -> absl::StatusOr<Response>` for an
// authorised caller of `method` and finishes the call.
template <typename Response, typename Handler>
grpc::ServerUnaryReactor* HandleUnary(grpc::CallbackServerContext* context,
                                      const identity::Authenticator& authenticator,
                                      absl::string_view method, Response* response,
                                      Handler&& handler) {
  return HandleUnaryAsync(context, authenticator, method, response,
                          [&handler](const identity::Caller& caller,
                                     const std::function<void(absl::StatusOr<Response>)>& done) {
                            done(std::forward<Handler>(handler)(caller));
                          });
}

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_UNARY_CALL_H_
