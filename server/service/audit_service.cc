#include "server/service/audit_service.h"

#include <algorithm>

#include "server/service/grpc_status.h"
#include "server/service/unary_call.h"

namespace silta::service {
namespace {

// Streams an export: the first chunk says how many entries follow, then
// chunks of entries in log order, then the tree head and proofs.
class ExportReactor final : public grpc::ServerWriteReactor<v1::ExportChunk> {
 public:
  ExportReactor(audit::AuditLog* log, audit::ExportPlan plan, uint64_t consistent_with_size)
      : log_(log),
        plan_(std::move(plan)),
        next_(plan_.begin),
        consistent_with_size_(consistent_with_size) {
    chunk_.set_total_entries(plan_.end - plan_.begin);
    if (absl::Status s = FillEntries(); !s.ok()) {
      Finish(ToGrpcStatus(s));
      return;
    }
    StartWrite(&chunk_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "export stream closed by the client"));
      return;
    }
    if (final_written_) {
      Finish(grpc::Status::OK);
      return;
    }
    chunk_.Clear();
    if (next_ < plan_.end) {
      if (absl::Status s = FillEntries(); !s.ok()) {
        Finish(ToGrpcStatus(s));
        return;
      }
    } else {
      absl::StatusOr<v1::ExportChunk> last = log_->FinalChunk(plan_, consistent_with_size_);
      if (!last.ok()) {
        Finish(ToGrpcStatus(last.status()));
        return;
      }
      chunk_ = *std::move(last);
      final_written_ = true;
    }
    StartWrite(&chunk_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status FillEntries() {
    const uint64_t end = std::min(plan_.end, next_ + kExportChunkEntries);
    if (end <= next_) return absl::OkStatus();
    absl::StatusOr<std::vector<v1::AuditEntry>> entries = log_->ReadRange(next_, end);
    if (!entries.ok()) return entries.status();
    if (entries->size() != end - next_) return absl::InternalError("audit entries are missing");
    for (v1::AuditEntry& e : *entries) *chunk_.add_entries() = std::move(e);
    next_ = end;
    return absl::OkStatus();
  }

  audit::AuditLog* const log_;
  const audit::ExportPlan plan_;
  uint64_t next_;
  const uint64_t consistent_with_size_;
  v1::ExportChunk chunk_;
  bool final_written_ = false;
};

class RefusedExport final : public grpc::ServerWriteReactor<v1::ExportChunk> {
 public:
  explicit RefusedExport(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* AuditService::QueryEntries(grpc::CallbackServerContext* context,
                                                     const v1::QueryEntriesRequest* request,
                                                     v1::QueryEntriesResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/QueryEntries", response,
                     [&](const identity::Caller& caller) { return log_->Query(caller, *request); });
}

grpc::ServerUnaryReactor* AuditService::GetTreeHead(grpc::CallbackServerContext* context,
                                                    const v1::GetTreeHeadRequest* request,
                                                    v1::SignedTreeHead* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/GetTreeHead", response,
                     [&](const identity::Caller&) { return log_->TreeHead(request->fresh()); });
}

grpc::ServerUnaryReactor* AuditService::GetInclusionProof(
    grpc::CallbackServerContext* context, const v1::GetInclusionProofRequest* request,
    v1::InclusionProof* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/GetInclusionProof", response,
                     [&](const identity::Caller& caller) {
                       return log_->InclusionProofFor(caller, request->index(),
                                                      request->tree_size());
                     });
}

grpc::ServerUnaryReactor* AuditService::GetConsistencyProof(
    grpc::CallbackServerContext* context, const v1::GetConsistencyProofRequest* request,
    v1::ConsistencyProof* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/GetConsistencyProof",
                     response, [&](const identity::Caller&) {
                       return log_->ConsistencyProof(request->first_size(), request->second_size());
                     });
}

grpc::ServerWriteReactor<v1::ExportChunk>* AuditService::Export(
    grpc::CallbackServerContext* context, const v1::ExportRequest* request) {
  absl::StatusOr<identity::Caller> caller = authenticator_->Authorize(
      *context->auth_context(), "/silta.v1.AuditService/Export", context->peer());
  if (!caller.ok()) return new RefusedExport(ToGrpcStatus(caller.status(), context));
  absl::StatusOr<audit::ExportPlan> plan = log_->PlanExport(*request);
  if (!plan.ok()) return new RefusedExport(ToGrpcStatus(plan.status()));
  return new ExportReactor(log_, *std::move(plan), request->consistent_with_size());
}

grpc::ServerUnaryReactor* AuditService::SubjectReport(grpc::CallbackServerContext* context,
                                                      const v1::SubjectReportRequest* request,
                                                      v1::SubjectReportResponse* response) {
  return HandleUnary(
      context, *authenticator_, "/silta.v1.AuditService/SubjectReport", response,
      [&](const identity::Caller& caller) { return reports_->SubjectReport(caller, *request); });
}

grpc::ServerUnaryReactor* AuditService::RestrictInSubjectReport(
    grpc::CallbackServerContext* context, const v1::RestrictInSubjectReportRequest* request,
    v1::RestrictInSubjectReportResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/RestrictInSubjectReport",
                     response, [&](const identity::Caller& caller) {
                       return reports_->RestrictInSubjectReport(caller, *request);
                     });
}

grpc::ServerUnaryReactor* AuditService::Indicators(grpc::CallbackServerContext* context,
                                                   const v1::IndicatorsRequest* request,
                                                   v1::IndicatorsResponse* response) {
  return HandleUnary(context, *authenticator_, "/silta.v1.AuditService/Indicators", response,
                     [&](const identity::Caller&) { return reports_->Indicators(*request); });
}

}  // namespace silta::service
