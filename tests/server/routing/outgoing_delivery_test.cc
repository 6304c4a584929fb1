// A delivery serialized straight from the stored message
// (outgoing_delivery.h, crypto::WriteRedacted) has the very bytes of the
// v1.Delivery built from a redacted copy (crypto::RedactForRecipient), for
// every shape of message: each field of the messages involved is filled by
// reflection, so a field added to message.proto that the direct writer
// leaves out fails here.
#include "server/routing/outgoing_delivery.h"

#include <random>
#include <thread>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "google/protobuf/unknown_field_set.h"
#include "gtest/gtest.h"
#include "lib/crypto/wire_format.h"

namespace silta::routing {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

const std::vector<std::string> kOrgs = {"hml-youth", "wba-social", "police-hame"};

// Fills every field of `m` with random values, empty now and then (proto3
// leaves empty ones out), nested messages to `depth`, repeated ones with
// 0-3 elements, and an unknown field now and then (kept when copied whole).
class Filler {
 public:
  explicit Filler(uint32_t seed) : rng_(seed) {}

  void Fill(Message* m, int depth) {
    const Reflection* r = m->GetReflection();
    const google::protobuf::Descriptor* d = m->GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      if (f->is_repeated()) {
        const int n = Below(4);
        for (int k = 0; k < n; ++k) AddOne(m, r, f, depth);
      } else if (f->real_containing_oneof() == nullptr || Below(2) == 0) {
        SetOne(m, r, f, depth);
      }
    }
    if (Below(3) == 0) r->MutableUnknownFields(m)->AddVarint(1000 + Below(50), Below(300));
  }

  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::string Bytes(size_t max) {
    std::string s(Below(static_cast<int>(max) + 1), '\0');
    for (char& c : s) c = static_cast<char>(Below(256));
    return s;
  }

  std::string Text(size_t max) {
    std::string s(Below(static_cast<int>(max) + 1), 'x');
    for (char& c : s) c = static_cast<char>('a' + Below(26));
    return s;
  }

 private:
  // 0 a third of the time, so that presence rules are exercised.
  uint64_t Number() { return Below(3) == 0 ? 0 : rng_() >> Below(64); }

  void SetOne(Message* m, const Reflection* r, const FieldDescriptor* f, int depth) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth > 0 && Below(4) != 0) Fill(r->MutableMessage(m, f), depth - 1);
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, f->type() == FieldDescriptor::TYPE_STRING ? Text(24) : Bytes(48));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(m, f, Below(3) == 0 ? 0 : Below(f->enum_type()->value_count() + 2));
        break;
      case FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(m, f, Below(2) == 1);
        break;
      case FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(m, f, static_cast<int32_t>(Number()));
        break;
      case FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(m, f, static_cast<uint32_t>(Number()));
        break;
      case FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(m, f, static_cast<int64_t>(Number()));
        break;
      case FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(m, f, Number());
        break;
      case FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(m, f, static_cast<double>(Number()) / 7);
        break;
      case FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(m, f, static_cast<float>(Number()) / 7);
        break;
    }
  }

  void AddOne(Message* m, const Reflection* r, const FieldDescriptor* f, int depth) {
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth > 0) Fill(r->AddMessage(m, f), depth - 1);
        break;
      case FieldDescriptor::CPPTYPE_STRING:
        r->AddString(m, f, f->type() == FieldDescriptor::TYPE_STRING ? Text(24) : Bytes(48));
        break;
      case FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(m, f, Below(f->enum_type()->value_count()));
        break;
      default:  // no repeated scalars in the messages filled here
        ADD_FAILURE() << "unexpected repeated field " << f->full_name();
    }
  }

  std::mt19937_64 rng_;
};

// A random message whose recipients, keys and fields are shaped as a
// sender's would be, or not quite: keys to other orgs, two keys for one
// org, a field sealed to nobody, several HPKE contexts.
v1::SealedMessage RandomMessage(Filler& fill) {
  v1::SealedMessage m;
  fill.Fill(&m, 3);
  m.clear_fields();
  const int fields = fill.Below(6);
  for (int i = 0; i < fields; ++i) {
    v1::SealedField* f = m.add_fields();
    fill.Fill(f, 2);
    f->set_path("field." + std::to_string(i) + (fill.Below(3) == 0 ? "" : fill.Text(12)));
    f->set_commitment_salt(std::string(crypto::kCommitmentSaltSize, static_cast<char>(i)));
    f->set_key_commitment(std::string(32, static_cast<char>(fill.Below(256))));
    for (v1::WrappedKey& k : *f->mutable_wrapped_keys()) {
      k.set_recipient_org_id(kOrgs[fill.Below(static_cast<int>(kOrgs.size()))]);
    }
  }
  for (v1::RecipientContext& c : *m.mutable_recipient_contexts()) {
    c.set_recipient_org_id(kOrgs[fill.Below(static_cast<int>(kOrgs.size()))]);
  }
  return m;
}

// The Delivery as the router built it before: a redacted copy.
std::string BuiltBytes(const v1::SealedMessage& m, absl::string_view recipient,
                       const crypto::FieldPolicy& policy, absl::string_view id, uint32_t attempt) {
  int withheld = 0;
  absl::StatusOr<v1::SealedMessage> redacted =
      crypto::RedactForRecipient(m, recipient, policy, &withheld);
  EXPECT_TRUE(redacted.ok()) << redacted.status();
  v1::Delivery d;
  d.set_delivery_id(std::string(id));
  *d.mutable_message() = *std::move(redacted);
  d.set_withheld_field_count(static_cast<uint32_t>(withheld));
  d.set_attempt(attempt);
  return d.SerializeAsString();
}

std::string DirectBytes(const OutgoingDelivery& d) {
  std::string bytes;
  int asked = 0;
  uint8_t* end = d.Serialize([&](size_t size) {
    ++asked;
    bytes.resize(size);
    return reinterpret_cast<uint8_t*>(bytes.data());
  });
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(end, reinterpret_cast<uint8_t*>(bytes.data()) + bytes.size())
      << "Serialize wrote other than the size it asked room for";
  return bytes;
}

TEST(OutgoingDeliveryTest, BytesAreThoseOfTheRedactedCopyForEveryShapeOfMessage) {
  Filler fill(20261205);
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    auto m = std::make_shared<const v1::SealedMessage>(RandomMessage(fill));
    const std::string recipient = kOrgs[fill.Below(static_cast<int>(kOrgs.size()))];
    const int denied = fill.Below(6);  // this field's path is not permitted
    const crypto::FieldPolicy policy = [&](absl::string_view, absl::string_view path) {
      return path.substr(0, 7) != "field." + std::to_string(denied);
    };
    const std::string id = fill.Below(5) == 0 ? "" : fill.Text(36);
    const auto attempt = static_cast<uint32_t>(fill.Below(3));

    absl::StatusOr<crypto::Redaction> plan = crypto::PlanRedaction(*m, recipient, policy);
    ASSERT_TRUE(plan.ok()) << plan.status();
    const OutgoingDelivery out(id, attempt, m, *plan);
    const std::string want = BuiltBytes(*m, recipient, policy, id, attempt);
    ASSERT_EQ(DirectBytes(out), want) << m->DebugString();
    EXPECT_EQ(out.ToProto().SerializeAsString(), want);
    EXPECT_EQ(out.delivery_id(), id);
  }
}

TEST(OutgoingDeliveryTest, ConcurrentWritesOfOneMessageGiveTheSameBytes) {
  Filler fill(7);
  auto m = std::make_shared<const v1::SealedMessage>(RandomMessage(fill));
  const crypto::FieldPolicy all = [](absl::string_view, absl::string_view) { return true; };
  std::vector<OutgoingDelivery> outs;
  std::vector<std::string> want;
  for (const std::string& org : kOrgs) {
    absl::StatusOr<crypto::Redaction> plan = crypto::PlanRedaction(*m, org, all);
    ASSERT_TRUE(plan.ok());
    outs.emplace_back("d-" + org, 1, m, *plan);
    want.push_back(BuiltBytes(*m, org, all, "d-" + org, 1));
  }
  std::vector<std::thread> writers;
  std::vector<std::vector<std::string>> got(outs.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    writers.emplace_back([&, i] {
      for (int k = 0; k < 200; ++k) got[i].push_back(DirectBytes(outs[i]));
    });
  }
  for (std::thread& t : writers) t.join();
  for (size_t i = 0; i < outs.size(); ++i) {
    for (const std::string& bytes : got[i]) ASSERT_EQ(bytes, want[i]);
  }
}

TEST(OutgoingDeliveryTest, AWithheldFieldWhoseCommitmentCannotBeComputedIsAnError) {
  v1::SealedMessage m;
  v1::SealedField* f = m.add_fields();
  f->set_path("referral.summary");
  f->set_commitment_salt("short");
  EXPECT_EQ(crypto::PlanRedaction(m, "hml-youth", [](auto, auto) { return false; }).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(OutgoingDeliveryTest, AKeyNoticeIsWrittenAsBuilt) {
  v1::Delivery notice;
  notice.mutable_key_notice()->set_key_id("0123456789abcdef");
  notice.mutable_key_notice()->set_epoch(4);
  const OutgoingDelivery out(notice);
  EXPECT_EQ(DirectBytes(out), notice.SerializeAsString());
  EXPECT_EQ(out.delivery_id(), "");
  EXPECT_EQ(out.ToProto().key_notice().epoch(), 4u);
}

}  // namespace
}  // namespace silta::routing
