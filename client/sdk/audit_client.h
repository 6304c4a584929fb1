// File: client/sdk/audit_client.h
//
// The audit log (AuditService): entries with their proofs, signed tree
// heads, exports for offline verification, subject reports and monthly
// indicators. An AUDITOR sees every entry; an AGENCY its own traffic; a
// CONSENT_REGISTRAR of the person's area gets subject reports.
//
// The broker is not trusted with the log's integrity: check what it
// returns with lib/audit (audit::VerifyTreeHead with the log's public key,
// audit::VerifyInclusion, audit::VerifyConsistency, and
// audit::VerifyExportFile for an export written by audit::ExportWriter).
//
// Example:
//   sdk::AuditClient audit(connection);
//   v1::QueryEntriesRequest request;
//   request.set_case_id(case_id);
//   sdk::Pager<v1::AuditEntry> entries = audit.QueryEntries(request);
//   v1::AuditEntry entry;
//   while (entries.Next(&entry)) Print(entry);
//   if (!entries.status().ok()) return entries.status();
//
// Thread-safe: calls may be made from many threads at once.
#ifndef SILTA_CLIENT_SDK_AUDIT_CLIENT_H_
#define SILTA_CLIENT_SDK_AUDIT_CLIENT_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/sdk/connection.h"
#include "client/sdk/pager.h"
#include "silta/v1/audit.grpc.pb.h"

namespace silta::sdk {

class AuditClient {
 public:
  explicit AuditClient(std::shared_ptr<const Connection> connection);

  // The entries that match the request's filters, in log order, page by
  // page (request.page_size entries a page; 0: the broker's default).
  Pager<v1::AuditEntry> QueryEntries(v1::QueryEntriesRequest request) const;
  // One page of them, for a caller that pages itself (a table with a
  // "more" button): go on with the response's next_page_token.
  absl::StatusOr<v1::QueryEntriesResponse> QueryEntriesPage(
      const v1::QueryEntriesRequest& request) const;
  // The latest signed tree head, or a fresh one on demand.
  absl::StatusOr<v1::SignedTreeHead> GetTreeHead(const v1::GetTreeHeadRequest& request) const;
  // The inclusion proof of one entry against a tree size.
  absl::StatusOr<v1::InclusionProof> GetInclusionProof(
      const v1::GetInclusionProofRequest& request) const;
  // The consistency proof between two tree sizes.
  absl::StatusOr<v1::ConsistencyProof> GetConsistencyProof(
      const v1::GetConsistencyProofRequest& request) const;
  // The disclosure report of one person, for the registrar of their area.
  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(
      const v1::SubjectReportRequest& request) const;
  // Monthly indicators from metadata only; small cells suppressed.
  absl::StatusOr<v1::IndicatorsResponse> Indicators(const v1::IndicatorsRequest& request) const;
  // Keeps one of this org's messages out of the person's report until a
  // review date, on a legal ground of the policy. Not retried on
  // UNAVAILABLE.
  absl::StatusOr<v1::RestrictInSubjectReportResponse> RestrictInSubjectReport(
      const v1::RestrictInSubjectReportRequest& request) const;

  // Streams a range of the log: calls `on_chunk` for each chunk in order
  // (the first carries total_entries; the last the tree head and proofs)
  // until the stream ends or `on_chunk` returns an error, which is then
  // returned. An export is not retried: on an error, start it again.
  // `max_duration` bounds the whole stream.
  absl::Status Export(const v1::ExportRequest& request,
                      const std::function<absl::Status(const v1::ExportChunk&)>& on_chunk,
                      absl::Duration max_duration = absl::Hours(1)) const;

 private:
  std::shared_ptr<const Connection> connection_;
  std::shared_ptr<v1::AuditService::Stub> stub_;
};

}  // namespace silta::sdk

#endif  // SILTA_CLIENT_SDK_AUDIT_CLIENT_H_
