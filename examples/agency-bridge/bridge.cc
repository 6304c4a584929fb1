#include "bridge.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/payload_file.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "lib/common/files.h"
#include "lib/crypto/random.h"

namespace bridge {
namespace {

namespace fs = std::filesystem;

// Delivery ids per Ack call (siltad takes at most 1000).
constexpr size_t kAckBatch = 500;
using google::protobuf::Struct;
using google::protobuf::Value;

// An envelope from the outbox.
struct Envelope {
  std::unique_ptr<google::protobuf::Message> payload;
  silta::sdk::SealRequest request;
};

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(message, &json, options).ok()) return "{}";
  return json;
}

absl::Status FromJson(absl::string_view what, const std::string& json,
                      google::protobuf::Message* message) {
  const auto parsed = google::protobuf::util::JsonStringToMessage(json, message);
  if (parsed.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", std::string(parsed.message())));
}

absl::StatusOr<std::string> StringField(const Struct& envelope, const std::string& key,
                                        bool required) {
  auto it = envelope.fields().find(key);
  if (it == envelope.fields().end()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" is required"));
    return std::string();
  }
  if (it->second.kind_case() != Value::kStringValue) {
    return absl::InvalidArgumentError(absl::StrCat("\"", key, "\" must be a string"));
  }
  return it->second.string_value();
}

// Parses an envelope (README.md). Unknown keys are refused: a misspelt
// "recipient" must not send anything anywhere.
absl::StatusOr<Envelope> ParseEnvelope(const std::string& text) {
  Struct envelope;
  if (absl::Status s = FromJson("not a JSON object", text, &envelope); !s.ok()) return s;
  static const std::vector<std::string> kKeys = {
      "payload_type", "payload",     "case_id",         "purpose",       "recipients",
      "worker_id",    "worker_role", "statutory_basis", "justification", "reply_to"};
  for (const auto& [key, value] : envelope.fields()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown key \"", key, "\""));
    }
  }
  Envelope out;
  absl::StatusOr<std::string> type = StringField(envelope, "payload_type", true);
  if (!type.ok()) return type.status();
  out.payload = silta::sdk::NewPayload(*type);
  if (out.payload == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("\"payload_type\": unknown payload type \"",
                                                   *type, "\"; use one of ",
                                                   silta::sdk::ShortTypeNames()));
  }
  auto payload = envelope.fields().find("payload");
  if (payload == envelope.fields().end() || !payload->second.has_struct_value()) {
    return absl::InvalidArgumentError("\"payload\" must be a JSON object");
  }
  if (absl::Status s = FromJson(absl::StrCat("\"payload\" is not a ", *type),
                                Json(payload->second.struct_value()), out.payload.get());
      !s.ok()) {
    return s;
  }
  silta::sdk::SealRequest& r = out.request;
  for (auto [key, field, required] : std::vector<std::tuple<std::string, std::string*, bool>>{
           {"case_id", &r.case_id, false},
           {"purpose", &r.purpose, true},
           {"worker_id", &r.worker_id, true},
           {"worker_role", &r.worker_role, false},
           {"statutory_basis", &r.statutory_basis, false},
           {"justification", &r.justification, false},
           {"reply_to", &r.reply_to, false}}) {
    absl::StatusOr<std::string> value = StringField(envelope, key, required);
    if (!value.ok()) return value.status();
    *field = *std::move(value);
  }
  auto recipients = envelope.fields().find("recipients");
  if (recipients == envelope.fields().end() || !recipients->second.has_list_value() ||
      recipients->second.list_value().values().empty()) {
    return absl::InvalidArgumentError("\"recipients\" must be a list of org ids");
  }
  for (const Value& v : recipients->second.list_value().values()) {
    if (v.kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError("\"recipients\" must be a list of org ids");
    }
    r.recipients.push_back(v.string_value());
  }
  return out;
}

// Whether trying again later can change the answer.
bool Transient(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsResourceExhausted(status) || absl::IsAborted(status);
}

absl::Status MoveTo(const fs::path& file, const fs::path& dir) {
  std::error_code error;
  fs::rename(file, dir / file.filename(), error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot move ", file.string(), " to ", dir.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

void Report(const std::string& name, const std::string& what) {
  std::fprintf(stderr, "agency-bridge: %s: %s\n", name.c_str(), what.c_str());
}

// failed/<name>.reason, then the envelope into failed/.
void Fail(const fs::path& file, const Directories& dirs, const absl::Status& why) {
  const fs::path failed = fs::path(dirs.outbox) / "failed";
  const std::string name = file.filename().string();
  const std::string reason =
      absl::StrCat(absl::StatusCodeToString(why.code()), ": ", why.message(), "\n");
  absl::Status s =
      silta::sdk::WriteFileWithMode((failed / (name + ".reason")).string(), reason, 0600);
  if (s.ok()) s = MoveTo(file, failed);
  Report(name, s.ok() ? absl::StrCat("failed: ", why.message())
                      : absl::StrCat("failed (", why.message(), "), and ", s.message()));
}

enum class Outcome { kSent, kFailed, kDeferred };

Outcome SendOne(silta::sdk::SiltaClient& client, const Directories& dirs, const fs::path& file) {
  const std::string name = file.filename().string();
  const fs::path sealed_path = fs::path(dirs.outbox) / ".sealed" / (name + ".sealed");
  absl::StatusOr<std::string> text = silta::common::ReadFile(file.string());
  if (!text.ok()) {
    Report(name, std::string(text.status().message()));
    return Outcome::kDeferred;
  }
  absl::StatusOr<Envelope> envelope = ParseEnvelope(*text);
  if (!envelope.ok()) {
    Fail(file, dirs, envelope.status());
    return Outcome::kFailed;
  }
  // A message sealed in an earlier run is sent again as it is (same id).
  silta::v1::SealedMessage sealed;
  absl::StatusOr<std::string> kept = silta::common::ReadFile(sealed_path.string());
  if (!kept.ok() || !sealed.ParseFromString(*kept)) {
    absl::StatusOr<silta::v1::PreviewDisclosureResponse> preview =
        client.Preview(*envelope->payload, envelope->request);
    absl::StatusOr<silta::v1::SealedMessage> made =
        preview.ok() ? client.Seal(*envelope->payload, envelope->request, *preview)
                     : absl::StatusOr<silta::v1::SealedMessage>(preview.status());
    if (!made.ok()) {
      if (Transient(made.status())) {
        Report(name, absl::StrCat("deferred: ", made.status().message()));
        return Outcome::kDeferred;
      }
      Fail(file, dirs, made.status());
      return Outcome::kFailed;
    }
    sealed = *std::move(made);
    if (absl::Status s =
            silta::sdk::WriteFileWithMode(sealed_path.string(), sealed.SerializeAsString(), 0600);
        !s.ok()) {
      Report(name, absl::StrCat("deferred: ", s.message()));
      return Outcome::kDeferred;
    }
  }
  absl::StatusOr<silta::v1::DeliveryReceipt> receipt = client.Send(sealed);
  if (!receipt.ok() && Transient(receipt.status())) {
    Report(name, absl::StrCat("deferred: ", receipt.status().message()));
    return Outcome::kDeferred;
  }
  std::error_code ignored;
  if (!receipt.ok()) {
    Fail(file, dirs, receipt.status());
    fs::remove(sealed_path, ignored);
    return Outcome::kFailed;
  }
  const fs::path sent = fs::path(dirs.outbox) / "sent";
  absl::Status s = silta::sdk::WriteFileWithMode((sent / (name + ".receipt.json")).string(),
                                                 Json(*receipt) + "\n", 0600);
  if (s.ok()) s = MoveTo(file, sent);
  if (!s.ok()) {
    // Sent, but not moved: the next pass sends the same id and gets the
    // same receipt.
    Report(name, absl::StrCat("sent as ", receipt->message_id(), ", but ", s.message()));
    return Outcome::kDeferred;
  }
  fs::remove(sealed_path, ignored);
  std::printf("%s: sent as %s\n", name.c_str(), receipt->message_id().c_str());
  return Outcome::kSent;
}

// The inbox file of one opened message.
std::string InboxJson(const silta::v1::Delivery& delivery, const silta::sdk::OpenedMessage& opened,
                      const google::protobuf::Message& payload) {
  const silta::v1::MessageHeader& h = opened.header;
  Struct out;
  auto& f = *out.mutable_fields();
  f["delivery_id"].set_string_value(delivery.delivery_id());
  f["message_id"].set_string_value(h.message_id());
  f["sender_org_id"].set_string_value(h.sender_org_id());
  f["sender_worker_id"].set_string_value(h.acting_user().worker_id());
  f["case_id"].set_string_value(h.case_id());
  f["purpose"].set_string_value(h.purpose());
  f["payload_type"].set_string_value(h.payload_type());
  f["statutory_basis"].set_string_value(h.statutory_basis());
  f["justification"].set_string_value(opened.justification);
  f["withheld_fields"].set_number_value(opened.withheld_fields);
  FromJson("payload", Json(payload), f["payload"].mutable_struct_value()).IgnoreError();
  return Json(out) + "\n";
}

}  // namespace

absl::Status PrepareDirectories(const Directories& dirs) {
  for (const std::string& d : {dirs.outbox, dirs.outbox + "/sent", dirs.outbox + "/failed",
                               dirs.outbox + "/.sealed", dirs.inbox}) {
    if (absl::Status s = silta::sdk::MakeOwnerOnlyDirectory(d); !s.ok()) return s;
  }
  return absl::OkStatus();
}

OutboxPass ProcessOutbox(silta::sdk::SiltaClient& client, const Directories& dirs) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const fs::directory_entry& e : fs::directory_iterator(dirs.outbox, error)) {
    const std::string name = e.path().filename().string();
    // Hidden names are files still being written (write, then rename).
    if (e.is_regular_file() && !absl::StartsWith(name, ".") && absl::EndsWith(name, ".json")) {
      files.push_back(e.path());
    }
  }
  if (error) Report(dirs.outbox, error.message());
  std::sort(files.begin(), files.end());
  OutboxPass pass;
  for (const fs::path& file : files) {
    switch (SendOne(client, dirs, file)) {
      case Outcome::kSent:
        ++pass.sent;
        break;
      case Outcome::kFailed:
        ++pass.failed;
        break;
      case Outcome::kDeferred:
        ++pass.deferred;
        break;
    }
  }
  return pass;
}

absl::StatusOr<int> ReceiveInbox(silta::sdk::SiltaClient& client, const Directories& dirs,
                                 absl::Duration wait) {
  // Acked together after the window, in one call (one commit at siltad);
  // each is already durable in the inbox.
  std::vector<std::string> written;
  const absl::Status streamed = client.Subscribe(
      [&](const silta::v1::Delivery& delivery) {
        if (delivery.has_key_notice()) return true;
        const silta::v1::MessageHeader& header = delivery.message().header();
        std::unique_ptr<google::protobuf::Message> payload =
            silta::sdk::NewPayload(header.payload_type());
        absl::StatusOr<silta::sdk::OpenedMessage> opened =
            payload == nullptr ? absl::InvalidArgumentError(
                                     absl::StrCat("unknown payload type ", header.payload_type()))
                               : client.Open(delivery, payload.get());
        if (!opened.ok()) {
          // Not acked: it stays queued at siltad for a fixed bridge.
          Report(header.message_id(), absl::StrCat("cannot open: ", opened.status().message()));
          return true;
        }
        // The file is named by the message id, so it must be one: a sender
        // (or a broker) that signs "../x" as an id writes nothing anywhere.
        if (!silta::crypto::IsCanonicalUuid(opened->header.message_id())) {
          Report(header.message_id(), "not acked: its message id is not a UUID");
          return true;
        }
        const std::string path =
            absl::StrCat(dirs.inbox, "/", opened->header.message_id(), ".json");
        // Durable before the ack: a crash in between delivers it again, and
        // the same file is written again.
        if (absl::Status s =
                silta::sdk::WriteFileWithMode(path, InboxJson(delivery, *opened, *payload), 0600);
            !s.ok()) {
          Report(header.message_id(), std::string(s.message()));
          return false;  // the inbox is unusable: stop, ack nothing more
        }
        written.push_back(delivery.delivery_id());
        std::printf("received %s from %s\n", header.message_id().c_str(),
                    header.sender_org_id().c_str());
        return true;
      },
      absl::Minutes(5), wait);
  for (size_t at = 0; at < written.size(); at += kAckBatch) {
    const std::vector<std::string> batch(
        written.begin() + at, written.begin() + std::min(written.size(), at + kAckBatch));
    absl::StatusOr<silta::v1::AckResponse> acked = client.AckAll(batch);
    if (!acked.ok()) {
      // Not acked: delivered again after the ack timeout, written again.
      Report(dirs.inbox, absl::StrCat("written, not acked: ", acked.status().message()));
      continue;
    }
    for (const silta::v1::AckRejection& r : acked->rejected()) {
      Report(r.delivery_id(), absl::StrCat("written, not acked: ", r.reason()));
    }
  }
  if (!streamed.ok()) return streamed;
  return static_cast<int>(written.size());
}

}  // namespace bridge
