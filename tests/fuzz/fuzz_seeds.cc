// fuzz_seeds OUT_DIR: writes the seed corpus of every fuzz target, one
// directory per target, from the same inputs the tests use: messages sealed
// with the fixed keys of fuzz_world.h, key bundles signed with the dev PKI's
// wba-social bundle-signing certificate, an audit export of a real log,
// the example config and policy, the PKI's registry seed, a payload of
// every type, and identifiers of every kind.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "lib/audit/export_file.h"
#include "lib/audit/log_entry.h"
#include "lib/common/files.h"
#include "lib/common/time_util.h"
#include "lib/crypto/hpke.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "server/audit/audit_log.h"
#include "server/cases/subject_refs.h"
#include "server/store/sqlite/sqlite_store.h"
#include "silta/v1/payloads.pb.h"
#include "tests/fuzz/fuzz_world.h"
#include "tests/testing/counting_random.h"
#include "tests/testing/export_lines.h"

namespace silta::fuzz {
namespace {

std::filesystem::path out_dir;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = out_dir / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

template <typename T>
T Must(absl::StatusOr<T> value, absl::string_view what) {
  if (!value.ok()) Fail(absl::StrCat(what, ": ", value.status().message()));
  return *std::move(value);
}

// Every singular field set (strings, numbers, enums, one element of each
// repeated field), recursively: a payload that exercises every field.
void Fill(google::protobuf::Message* m, int depth = 0) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  const google::protobuf::Descriptor* d = m->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const bool repeated = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? r->AddString(m, f, "hml-youth") : r->SetString(m, f, "example text");
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        repeated ? r->AddInt32(m, f, 1) : r->SetInt32(m, f, 1);
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        repeated ? r->AddUInt32(m, f, 90) : r->SetUInt32(m, f, 90);
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        repeated ? r->AddInt64(m, f, 1790000000) : r->SetInt64(m, f, 1790000000);
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        repeated ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
        break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* value = f->enum_type()->value(f->enum_type()->value_count() - 1);
        repeated ? r->AddEnum(m, f, value) : r->SetEnum(m, f, value);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) Fill(repeated ? r->AddMessage(m, f) : r->MutableMessage(m, f), depth + 1);
        break;
      default:
        break;
    }
  }
}

std::unique_ptr<google::protobuf::Message> FilledPayload(const std::string& type) {
  std::unique_ptr<google::protobuf::Message> payload(
      google::protobuf::MessageFactory::generated_factory()
          ->GetPrototype(crypto::PayloadDescriptor(type))
          ->New());
  Fill(payload.get());
  return payload;
}

v1::SealedMessage Seal(const std::string& type, int n, bool statutory,
                       testing::CountingRandom& random) {
  v1::MessageHeader header;
  header.set_message_id(absl::StrCat("01890a5d-ac96-774b-bcce-b3020000000", n % 10));
  header.set_case_id("01890a5d-0000-7000-8000-000000000001");
  header.mutable_acting_user()->set_worker_id("officer-12");
  header.mutable_acting_user()->set_role("police_officer");
  header.set_purpose(statutory ? "child_welfare_notification" : "referral");
  if (statutory) header.set_statutory_basis("lsl_25");
  *header.mutable_created_at() = common::ToTimestamp(absl::Now());
  const auto payload = FilledPayload(type);
  // hml-youth may not receive the fields of every other index.
  const sdk::WrapPolicy policy = [](absl::string_view recipient, absl::string_view path) {
    return recipient != "hml-youth" || path.size() % 2 == 0;
  };
  return Must(sdk::SealPayload(*payload, header, Sender(),
                               {RecipientPublic("wba-social"), RecipientPublic("hml-youth")},
                               policy, statutory ? "an immediate risk to the child" : "", random),
              "seal");
}

void Messages() {
  testing::CountingRandom random;
  int n = 0;
  for (const std::string& type : crypto::PayloadTypeNames()) {
    for (const bool statutory : {false, true}) {
      const v1::SealedMessage message = Seal(type, n++, statutory, random);
      v1::SendRequest request;
      *request.mutable_message() = message;
      const std::string name = absl::StrCat(type.substr(9), statutory ? "-statutory" : "");
      Write("send_request", name, request.SerializeAsString());
      // As delivered to wba-social: its context and keys only.
      int withheld = 0;
      const v1::SealedMessage delivered = Must(
          crypto::RedactForRecipient(message, "wba-social",
                                     [](absl::string_view, absl::string_view) { return true; },
                                     &withheld),
          "redact");
      Write("open_message", name, absl::StrCat(std::string(1, '\0'), delivered.SerializeAsString()));
    }
  }
  // A raw HPKE message to wba-social: enc, info, AAD, ciphertext.
  auto sender = Must(crypto::HpkeContext::SetupBaseSender(
                         crypto::Aead::kAes256Gcm, RecipientPublic("wba-social").hpke_public_key,
                         "info"),
                     "hpke sender");
  const std::string ct = Must(sender->Seal("aad", "a field key of 32 bytes, say...."), "hpke seal");
  Write("open_message", "hpke",
        absl::StrCat(std::string(1, '\1'), sender->encapsulated_key(), std::string(1, '\4'), "info",
                     std::string(1, '\3'), "aad", ct));
}

void Bundles() {
  const std::string chain = Must(common::ReadFile(PkiDir() + "/orgs/wba-social.signer.pem"), "pem");
  const std::string key = Must(common::ReadFile(PkiDir() + "/orgs/wba-social.signer.key"), "key");
  const absl::Time now = absl::Now();
  const crypto::KeyPair signing1 = Must(crypto::GenerateEd25519KeyPair(), "ed25519");
  const crypto::KeyPair signing2 = Must(crypto::GenerateEd25519KeyPair(), "ed25519");
  crypto::KeyBundleDraft draft{.org_id = "wba-social",
                               .hpke_public_key = RecipientPublic("wba-social").hpke_public_key,
                               .signing_public_key = signing1.public_key,
                               .not_before = now - absl::Hours(1),
                               .not_after = now + crypto::kDefaultKeyBundleValidity};
  const v1::KeyBundle first = Must(crypto::SignKeyBundle(draft, chain, key, nullptr), "bundle");
  draft.signing_public_key = signing2.public_key;
  draft.epoch = 2;
  draft.previous_key_id = first.key_id();
  const v1::KeyBundle second =
      Must(crypto::SignKeyBundle(draft, chain, key, &signing1.private_key), "rotation");
  v1::GetKeyBundlesResponse response;
  *response.add_bundles() = first;
  Write("key_bundle", "one", response.SerializeAsString());
  *response.add_bundles() = second;
  Write("key_bundle", "rotation", response.SerializeAsString());
}

void Export() {
  auto store = Must(store::SqliteStore::Open(":memory:", {}), "store");
  auto refs = Must(cases::SubjectRefs::FromPepper(
                       crypto::SecretData::FromString("0123456789abcdef0123456789abcdef")),
                   "refs");
  auto log = Must(audit::AuditLog::Create(store.get(), refs.get(), LogKey(),
                                          {.log_id = std::string(kLogId)}),
                  "log");
  const v1::AuditEventType types[] = {v1::MESSAGE_ACCEPTED, v1::MESSAGE_DELIVERED,
                                      v1::FIELD_WITHHELD, v1::CONSENT_GIVEN};
  for (int i = 0; i < 12; ++i) {
    store::AuditEntries batch = {audit::NewEntry(types[i % 4], absl::Now(), "police-hame")};
    batch[0].set_counterpart_org_id("wba-social");
    batch[0].set_message_id(absl::StrCat("m-", i));
    batch[0].add_categories(v1::CATEGORY_SOCIAL_WELFARE);
    if (!store->AppendAudit(&batch).ok()) Fail("append");
  }
  for (const auto& [begin, end] : {std::pair<uint64_t, uint64_t>{0, 12}, {3, 9}, {11, 12}}) {
    const std::vector<std::string> lines = testing::ExportLines(*log, begin, end);
    Write("audit_export", absl::StrCat(begin, "-", end), absl::StrJoin(lines, "\n") + "\n");
  }
}

void OperatorFiles() {
  Write("textproto", "siltad",
        absl::StrCat(std::string(1, '\0'), Must(common::ReadFile(SILTA_SOURCE_DIR "/deploy/siltad.example.textproto"), "cfg")));
  Write("textproto", "policy",
        absl::StrCat(std::string(1, '\1'), Must(common::ReadFile(SILTA_SOURCE_DIR "/deploy/policy.example.textproto"), "pol")));
  Write("textproto", "registry",
        absl::StrCat(std::string(1, '\2'), Must(common::ReadFile(PkiDir() + "/registry.textproto"), "registry")));
}

void Payloads() {
  const std::vector<std::string> types = crypto::PayloadTypeNames();
  for (size_t i = 0; i < types.size(); ++i) {
    const auto payload = FilledPayload(types[i]);
    std::string text, json;
    google::protobuf::TextFormat::PrintToString(*payload, &text);
    if (!google::protobuf::util::MessageToJsonString(*payload, &json).ok()) Fail("json");
    Write("payload", types[i].substr(9), absl::StrCat(std::string(1, static_cast<char>(i)), text));
    Write("payload", types[i].substr(9) + ".json",
          absl::StrCat(std::string(1, static_cast<char>(i | 0x80)), json));
  }
}

void Identifiers() {
  const char* const seeds[] = {
      "131052-308T", "010101A900R", " 010594y9021 ", "spiffe://silta.test/org/wba-social/sys/dev",
      "wba-social", "0123456789abcdef0123456789abcdef",
      "01890a5d-ac96-774b-bcce-b302099a8057"};
  int n = 0;
  for (const char* seed : seeds) Write("identifiers", absl::StrCat("seed-", n++), seed);
}

}  // namespace
}  // namespace silta::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  silta::fuzz::out_dir = argv[1];
  std::filesystem::remove_all(silta::fuzz::out_dir);
  silta::fuzz::Messages();
  silta::fuzz::Bundles();
  silta::fuzz::Export();
  silta::fuzz::OperatorFiles();
  silta::fuzz::Payloads();
  silta::fuzz::Identifiers();
  std::printf("fuzz_seeds: wrote %s\n", argv[1]);
  return 0;
}
