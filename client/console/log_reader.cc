#include "client/console/log_reader.h"

#include <utility>

#include "client/sdk/audit_client.h"
#include "client/sdk/broker_client.h"

namespace silta::console {
namespace {

class SiltadLogReader : public LogReader {
 public:
  explicit SiltadLogReader(std::shared_ptr<const sdk::Connection> connection)
      : audit_(connection), broker_(connection) {}

  absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const override { return broker_.WhoAmI(); }

  absl::StatusOr<v1::SignedTreeHead> TreeHead() const override {
    v1::GetTreeHeadRequest request;
    request.set_fresh(true);
    return audit_.GetTreeHead(request);
  }

  absl::StatusOr<v1::QueryEntriesResponse> QueryEntries(
      const v1::QueryEntriesRequest& request) const override {
    return audit_.QueryEntriesPage(request);
  }

  absl::StatusOr<v1::InclusionProof> InclusionProof(uint64_t index,
                                                    uint64_t tree_size) const override {
    v1::GetInclusionProofRequest request;
    request.set_index(index);
    request.set_tree_size(tree_size);
    return audit_.GetInclusionProof(request);
  }

  absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t first_size,
                                                        uint64_t second_size) const override {
    v1::GetConsistencyProofRequest request;
    request.set_first_size(first_size);
    request.set_second_size(second_size);
    return audit_.GetConsistencyProof(request);
  }

  absl::StatusOr<v1::SubjectReportResponse> SubjectReport(
      const v1::SubjectReportRequest& request) const override {
    return audit_.SubjectReport(request);
  }

  absl::StatusOr<v1::IndicatorsResponse> Indicators(
      const v1::IndicatorsRequest& request) const override {
    return audit_.Indicators(request);
  }

  absl::Status Export(
      const v1::ExportRequest& request,
      const std::function<absl::Status(const v1::ExportChunk&)>& on_chunk) const override {
    // Exports can be long: a day, not the connection's deadline, bounds one.
    return audit_.Export(request, on_chunk, absl::Hours(24));
  }

 private:
  const sdk::AuditClient audit_;
  const sdk::BrokerClient broker_;
};

}  // namespace

std::unique_ptr<LogReader> LogReaderFor(std::shared_ptr<const sdk::Connection> connection) {
  return std::make_unique<SiltadLogReader>(std::move(connection));
}

}  // namespace silta::console
