#include "lib/common/textproto.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"

namespace silta::common {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// Keeps the first error, with 1-based line and column.
class FirstErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!has_error_) {
      has_error_ = true;
      error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
  }
  bool has_error() const { return has_error_; }
  const std::string& error() const { return error_; }

 private:
  bool has_error_ = false;
  std::string error_;
};

// Finds "line:col" of a field path like "tls.cert_file" or "orgs[3].roles"
// in the parse tree; empty if the field is not in the file.
std::string Locate(const TextFormat::ParseInfoTree* tree, const Descriptor* descriptor,
                   absl::string_view field_path) {
  TextFormat::ParseLocation location;
  bool found = false;
  for (absl::string_view segment : absl::StrSplit(field_path, '.')) {
    if (tree == nullptr || descriptor == nullptr) return "";
    int index = -1;
    absl::string_view name = segment;
    if (const size_t bracket = segment.find('['); bracket != absl::string_view::npos) {
      name = segment.substr(0, bracket);
      absl::string_view digits = segment.substr(bracket + 1);
      digits.remove_suffix(digits.empty() ? 0 : 1);
      if (!absl::SimpleAtoi(digits, &index)) return "";
    }
    const FieldDescriptor* field = descriptor->FindFieldByName(std::string(name));
    if (field == nullptr) return "";
    if (field->is_repeated() && index < 0) index = 0;
    if (!field->is_repeated()) index = -1;
    location = tree->GetLocation(field, index);
    found = location.line >= 0;
    descriptor = field->message_type();
    tree = descriptor == nullptr ? nullptr : tree->GetTreeForNested(field, index);
  }
  if (!found) return "";
  return absl::StrCat(location.line + 1, ":", location.column + 1, ": ");
}

}  // namespace

absl::Status ParseTextProtoFile(absl::string_view path, google::protobuf::Message* message,
                                const TextProtoValidator& validate) {
  SILTA_ASSIGN_OR_RETURN(std::string text, common::ReadFile(path));
  return ParseTextProto(path, text, message, validate);
}

absl::Status ParseTextProto(absl::string_view path, absl::string_view text,
                            google::protobuf::Message* message,
                            const TextProtoValidator& validate) {
  message->Clear();
  FirstErrorCollector errors;
  TextFormat::ParseInfoTree tree;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), message) || errors.has_error()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ":",
        errors.has_error() ? errors.error()
                           : absl::StrCat(" could not parse as ", message->GetTypeName())));
  }
  if (validate == nullptr) return absl::OkStatus();
  const absl::Status valid = validate(*message);
  if (valid.ok()) return valid;
  const absl::string_view what = valid.message();
  const size_t colon = what.find(": ");
  const std::string location = colon == absl::string_view::npos
                                   ? ""
                                   : Locate(&tree, message->GetDescriptor(), what.substr(0, colon));
  return absl::Status(valid.code(),
                      absl::StrCat(path, ":", location.empty() ? " " : "", location, what));
}

}  // namespace silta::common
