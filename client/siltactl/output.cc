#include "client/siltactl/output.h"

#include <algorithm>
#include <cstdio>

#include "absl/status/status.h"
#include "google/protobuf/util/json_util.h"

namespace silta::siltactl {
namespace {

// gRPC status codes have the same numbers as absl's canonical codes.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

}  // namespace

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) {
    json = "{}";
  }
  std::printf("%s\n", json.c_str());
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : "";
      if (i + 1 == widths.size()) {
        std::printf("%s\n", cell.c_str());
      } else {
        std::printf("%-*s  ", static_cast<int>(widths[i]), cell.c_str());
      }
    }
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

int ReportRpcError(const std::string& what, const grpc::Status& status) {
  std::fprintf(stderr, "siltactl: %s: %s: %s\n", what.c_str(),
               CodeName(status.error_code()).c_str(), status.error_message().c_str());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return kExitRefused;
    default:
      return kExitFailure;
  }
}

}  // namespace silta::siltactl
