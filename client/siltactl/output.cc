#include "client/siltactl/output.h"

#include <algorithm>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "lib/common/time_util.h"

namespace silta::siltactl {

std::string JsonText(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

void PrintJson(const google::protobuf::Message& message) {
  std::printf("%s\n", JsonText(message).c_str());
}

std::string JsonQuote(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) return "\"\"";
  return json;
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

int ReportError(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "siltactl: %s: %s: %s\n", what.c_str(),
               absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  switch (status.code()) {
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted:
      return kExitRefused;
    default:
      return kExitFailure;
  }
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "siltactl: %s\n", message.c_str());
  return kExitUsage;
}

bool ParseCategory(const std::string& text, v1::Category* category) {
  std::string name = absl::AsciiStrToUpper(text);
  if (!absl::StartsWith(name, "CATEGORY_")) name = "CATEGORY_" + name;
  return v1::Category_Parse(name, category) && *category != v1::CATEGORY_UNSPECIFIED;
}

}  // namespace silta::siltactl
