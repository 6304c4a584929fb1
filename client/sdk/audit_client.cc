#include "client/sdk/audit_client.h"

#include <utility>

#include "absl/time/clock.h"

namespace silta::sdk {

AuditClient::AuditClient(std::shared_ptr<const Connection> connection)
    : connection_(std::move(connection)),
      stub_(v1::AuditService::NewStub(connection_->channel())) {}

Pager<v1::AuditEntry> AuditClient::QueryEntries(v1::QueryEntriesRequest request) const {
  return MakePager<v1::AuditEntry>(connection_, stub_, &v1::AuditService::Stub::QueryEntries,
                                   std::move(request), &v1::QueryEntriesResponse::mutable_entries);
}

absl::StatusOr<v1::QueryEntriesResponse> AuditClient::QueryEntriesPage(
    const v1::QueryEntriesRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::QueryEntries, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::SignedTreeHead> AuditClient::GetTreeHead(
    const v1::GetTreeHeadRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::GetTreeHead, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::InclusionProof> AuditClient::GetInclusionProof(
    const v1::GetInclusionProofRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::GetInclusionProof, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::ConsistencyProof> AuditClient::GetConsistencyProof(
    const v1::GetConsistencyProofRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::GetConsistencyProof, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::SubjectReportResponse> AuditClient::SubjectReport(
    const v1::SubjectReportRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::SubjectReport, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::IndicatorsResponse> AuditClient::Indicators(
    const v1::IndicatorsRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::Indicators, request,
                            Idempotency::kIdempotent);
}

absl::StatusOr<v1::RestrictInSubjectReportResponse> AuditClient::RestrictInSubjectReport(
    const v1::RestrictInSubjectReportRequest& request) const {
  return connection_->Unary(*stub_, &v1::AuditService::Stub::RestrictInSubjectReport, request,
                            Idempotency::kNotIdempotent);
}

absl::Status AuditClient::Export(
    const v1::ExportRequest& request,
    const std::function<absl::Status(const v1::ExportChunk&)>& on_chunk,
    absl::Duration max_duration) const {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + max_duration));
  std::unique_ptr<grpc::ClientReader<v1::ExportChunk>> reader = stub_->Export(&context, request);
  v1::ExportChunk chunk;
  while (reader->Read(&chunk)) {
    if (absl::Status s = on_chunk(chunk); !s.ok()) {
      context.TryCancel();
      (void)reader->Finish();
      return s;
    }
  }
  return FromGrpcStatus(reader->Finish());
}

}  // namespace silta::sdk
