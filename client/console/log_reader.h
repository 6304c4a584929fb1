// File: client/console/log_reader.h
//
// What the console reads from siltad, with the caller's own mTLS identity:
// siltad decides what each role may see, and the console shows exactly
// that. LogReaderFor() is the real one, over the SDK's typed clients; tests
// put a double in its place to serve tampered evidence to the page.
//
// Thread-safe: the HTTP server calls it from several threads.
#ifndef SILTA_CLIENT_CONSOLE_LOG_READER_H_
#define SILTA_CLIENT_CONSOLE_LOG_READER_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "client/sdk/connection.h"
#include "silta/v1/audit.pb.h"
#include "silta/v1/broker.pb.h"

namespace silta::console {

class LogReader {
 public:
  virtual ~LogReader() = default;

  // Who siltad takes the console's certificate for.
  virtual absl::StatusOr<v1::WhoAmIResponse> WhoAmI() const = 0;
  // A freshly signed tree head.
  virtual absl::StatusOr<v1::SignedTreeHead> TreeHead() const = 0;
  // One page of entries.
  virtual absl::StatusOr<v1::QueryEntriesResponse> QueryEntries(
      const v1::QueryEntriesRequest& request) const = 0;
  virtual absl::StatusOr<v1::InclusionProof> InclusionProof(uint64_t index,
                                                            uint64_t tree_size) const = 0;
  virtual absl::StatusOr<v1::ConsistencyProof> ConsistencyProof(uint64_t first_size,
                                                                uint64_t second_size) const = 0;
  virtual absl::StatusOr<v1::SubjectReportResponse> SubjectReport(
      const v1::SubjectReportRequest& request) const = 0;
  virtual absl::StatusOr<v1::IndicatorsResponse> Indicators(
      const v1::IndicatorsRequest& request) const = 0;
  // Streams an export (sdk::AuditClient::Export).
  virtual absl::Status Export(
      const v1::ExportRequest& request,
      const std::function<absl::Status(const v1::ExportChunk&)>& on_chunk) const = 0;
};

// The LogReader that asks siltad over `connection`.
std::unique_ptr<LogReader> LogReaderFor(std::shared_ptr<const sdk::Connection> connection);

}  // namespace silta::console

#endif  // SILTA_CLIENT_CONSOLE_LOG_READER_H_
