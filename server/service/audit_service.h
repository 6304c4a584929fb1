// File: server/service/audit_service.h
//
// silta.v1.AuditService over audit::AuditLog and audit::ReportService.
// Thin: identity and role checks, then one domain call; Export streams the
// planned range in chunks of kExportChunkEntries and ends with the tree
// head and proofs.
#ifndef SILTA_SERVER_SERVICE_AUDIT_SERVICE_H_
#define SILTA_SERVER_SERVICE_AUDIT_SERVICE_H_

#include "server/audit/audit_log.h"
#include "server/audit/reports.h"
#include "server/identity/authenticator.h"
#include "silta/v1/audit.grpc.pb.h"

namespace silta::service {

inline constexpr uint64_t kExportChunkEntries = 1000;

class AuditService final : public v1::AuditService::CallbackService {
 public:
  // All must outlive the service.
  AuditService(const identity::Authenticator* authenticator, audit::AuditLog* log,
               audit::ReportService* reports)
      : authenticator_(authenticator), log_(log), reports_(reports) {}

  grpc::ServerUnaryReactor* QueryEntries(grpc::CallbackServerContext* context,
                                         const v1::QueryEntriesRequest* request,
                                         v1::QueryEntriesResponse* response) override;
  grpc::ServerUnaryReactor* GetTreeHead(grpc::CallbackServerContext* context,
                                        const v1::GetTreeHeadRequest* request,
                                        v1::SignedTreeHead* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(grpc::CallbackServerContext* context,
                                              const v1::GetInclusionProofRequest* request,
                                              v1::InclusionProof* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(grpc::CallbackServerContext* context,
                                                const v1::GetConsistencyProofRequest* request,
                                                v1::ConsistencyProof* response) override;
  grpc::ServerWriteReactor<v1::ExportChunk>* Export(grpc::CallbackServerContext* context,
                                                    const v1::ExportRequest* request) override;
  grpc::ServerUnaryReactor* SubjectReport(grpc::CallbackServerContext* context,
                                          const v1::SubjectReportRequest* request,
                                          v1::SubjectReportResponse* response) override;
  grpc::ServerUnaryReactor* RestrictInSubjectReport(
      grpc::CallbackServerContext* context, const v1::RestrictInSubjectReportRequest* request,
      v1::RestrictInSubjectReportResponse* response) override;
  grpc::ServerUnaryReactor* Indicators(grpc::CallbackServerContext* context,
                                       const v1::IndicatorsRequest* request,
                                       v1::IndicatorsResponse* response) override;

 private:
  const identity::Authenticator* const authenticator_;
  audit::AuditLog* const log_;
  audit::ReportService* const reports_;
};

}  // namespace silta::service

#endif  // SILTA_SERVER_SERVICE_AUDIT_SERVICE_H_
