#include "client/sdk/sealer.h"

#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/hpke.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/payloads.pb.h"
#include "tests/testing/counting_random.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/vectors.h"

namespace silta::sdk {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::silta::testing::CountingRandom;
using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

crypto::SecretData FixedKey(char c) { return crypto::SecretData::FromString(std::string(32, c)); }

struct Party {
  RecipientPrivateKey private_key;
  RecipientPublicKey public_key;
};

Party MakeParty(const std::string& org_id, char seed) {
  Party p;
  p.private_key = {org_id, org_id + "-key-1", FixedKey(seed)};
  p.public_key = {org_id, org_id + "-key-1", *crypto::X25519PublicKey(FixedKey(seed))};
  return p;
}

class SealerTest : public ::testing::Test {
 protected:
  SealerTest() {
    sender_.org_id = "police-hame";
    sender_.key_id = "police-hame-key-1";
    sender_.signing_private_key = FixedKey('s');
    sender_public_ = *crypto::Ed25519PublicKey(sender_.signing_private_key);
    header_.set_message_id("01890a5d-ac96-774b-bcce-b302099a8057");
    header_.set_case_id("01890a5d-0000-7000-8000-000000000001");
    header_.mutable_acting_user()->set_worker_id("officer-12");
    header_.mutable_acting_user()->set_role("police_officer");
    header_.set_purpose("referral");
    *header_.mutable_created_at() = common::ToTimestamp(absl::FromUnixSeconds(1790000000));
  }

  v1::Referral FullReferral() {
    v1::Referral r;
    r.set_subject_name("Test Person");
    r.set_contact("+358 40 000 0000");
    r.set_reason("repeated shoplifting, needs support");
    r.set_offence_summary("three thefts in October");
    r.set_support_needs("school attendance");
    r.set_family_situation("lives with mother");
    r.set_health_notes("asthma");
    r.set_mental_health_notes("psychiatric nurse's note");
    r.set_substance_use("none known");
    r.set_education_employment("9th grade");
    r.set_housing("rented flat");
    r.set_current_services("youth services");
    return r;
  }

  absl::StatusOr<v1::SealedMessage> Seal(const google::protobuf::Message& payload,
                                         const WrapPolicy& policy, RandomSource& random,
                                         absl::string_view justification = "") {
    return SealPayload(payload, header_, sender_, {social_.public_key, youth_.public_key}, policy,
                       justification, random);
  }

  static bool All(absl::string_view, absl::string_view) { return true; }

  SenderKeys sender_;
  std::string sender_public_;
  v1::MessageHeader header_;
  Party social_ = MakeParty("wba-social", 'a');
  Party youth_ = MakeParty("hml-youth", 'b');
};

TEST_F(SealerTest, RoundTripsEveryPayloadType) {
  std::vector<std::unique_ptr<google::protobuf::Message>> payloads;
  payloads.push_back(std::make_unique<v1::Referral>(FullReferral()));
  auto consultation = std::make_unique<v1::Consultation>();
  consultation->set_question("how to support?");
  consultation->set_age_range("15-17");
  payloads.push_back(std::move(consultation));
  auto invite = std::make_unique<v1::MeetingInvite>();
  *invite->mutable_starts_at() = common::ToTimestamp(absl::FromUnixSeconds(1790100000));
  invite->set_duration_minutes(90);
  invite->add_invited_org_ids("hml-youth");
  invite->add_invited_org_ids("wba-social");
  invite->set_agenda("plan");
  payloads.push_back(std::move(invite));
  auto plan = std::make_unique<v1::ServicePlan>();
  v1::ServiceTask* task = plan->add_tasks();
  task->set_what("school meeting");
  task->set_owner_org_id("hml-youth");
  plan->set_goals("finish school");
  payloads.push_back(std::move(plan));
  auto update = std::make_unique<v1::StatusUpdate>();
  update->set_task_index(0);
  update->set_task_done(true);
  update->set_note("done");
  payloads.push_back(std::move(update));
  auto request = std::make_unique<v1::InformationRequest>();
  request->set_question("school status?");
  request->add_requested_categories(v1::CATEGORY_EDUCATION_EMPLOYMENT);
  payloads.push_back(std::move(request));
  auto response = std::make_unique<v1::InformationResponse>();
  response->set_social_welfare("client since 2025");
  response->set_answer("attends");
  payloads.push_back(std::move(response));
  auto cwn = std::make_unique<v1::ChildWelfareNotification>();
  cwn->set_child_name("Test Child");
  cwn->set_concern("concern");
  cwn->set_urgent(true);
  payloads.push_back(std::move(cwn));
  auto closure = std::make_unique<v1::CaseClosure>();
  closure->set_reason("goals met");
  payloads.push_back(std::move(closure));
  ASSERT_EQ(payloads.size(), 9u);

  for (const auto& payload : payloads) {
    auto sealed = Seal(*payload, All, SystemRandom());
    ASSERT_THAT(sealed, IsOk()) << payload->GetTypeName();
    int withheld = -1;
    auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, &withheld);
    ASSERT_THAT(delivered, IsOk());
    EXPECT_EQ(withheld, 0);
    std::unique_ptr<google::protobuf::Message> opened(payload->New());

    auto result = OpenMessage(*delivered, sender_public_, youth_.private_key, opened.get());

    ASSERT_THAT(result, IsOk()) << payload->GetTypeName();
    EXPECT_EQ(result->withheld_fields, 0);
    EXPECT_TRUE(MessageDifferencer::Equals(*opened, *payload)) << payload->GetTypeName();
  }
}

TEST_F(SealerTest, RecipientWithoutConsentGetsTheRestAndTheSignatureStillVerifies) {
  const WrapPolicy no_psych_to_youth = [](absl::string_view recipient, absl::string_view path) {
    return !(recipient == "hml-youth" && path == "mental_health_notes");
  };
  auto sealed = Seal(FullReferral(), no_psych_to_youth, SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  int withheld = 0;
  auto to_youth = crypto::RedactForRecipient(*sealed, "hml-youth", no_psych_to_youth, &withheld);
  auto to_social = crypto::RedactForRecipient(*sealed, "wba-social", no_psych_to_youth, nullptr);
  ASSERT_THAT(to_youth, IsOk());
  EXPECT_EQ(withheld, 1);
  v1::Referral youth_view, social_view;

  auto youth_opened = OpenMessage(*to_youth, sender_public_, youth_.private_key, &youth_view);
  auto social_opened = OpenMessage(*to_social, sender_public_, social_.private_key, &social_view);

  ASSERT_THAT(youth_opened, IsOk());
  EXPECT_EQ(youth_opened->withheld_fields, 1);
  EXPECT_TRUE(youth_view.mental_health_notes().empty());
  EXPECT_EQ(youth_view.education_employment(), "9th grade");
  ASSERT_THAT(social_opened, IsOk());
  EXPECT_EQ(social_view.mental_health_notes(), "psychiatric nurse's note");
  // Nothing of the withheld field travels to the youth services: no
  // ciphertext, no key, only a 32-byte commitment.
  EXPECT_THAT(to_youth->DebugString(), ::testing::Not(HasSubstr("mental_health_notes")));
}

TEST_F(SealerTest, BrokerStrippingAtDeliveryAlsoVerifies) {
  auto sealed = Seal(FullReferral(), All, SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  // Consent withdrawn after Send: the broker withholds a field it had accepted.
  const WrapPolicy withdrawn = [](absl::string_view, absl::string_view path) {
    return path != "education_employment";
  };
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", withdrawn, nullptr);
  v1::Referral view;

  auto opened = OpenMessage(*delivered, sender_public_, youth_.private_key, &view);

  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->withheld_fields, 1);
  EXPECT_TRUE(view.education_employment().empty());
  EXPECT_EQ(view.housing(), "rented flat");
}

// Every kind of change to a delivered message is detected.
TEST_F(SealerTest, DetectsTamperingAnywhere) {
  auto sealed = Seal(FullReferral(), All, SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, nullptr);
  ASSERT_THAT(delivered, IsOk());
  const std::vector<std::pair<std::string, std::function<void(v1::SealedMessage*)>>> tamperings = {
      {"header purpose", [](v1::SealedMessage* m) { m->mutable_header()->set_purpose("other"); }},
      {"header case", [](v1::SealedMessage* m) { m->mutable_header()->set_case_id("x"); }},
      {"header recipients", [](v1::SealedMessage* m) { m->mutable_header()->add_recipient_org_ids("asenne-ry"); }},
      {"header time", [](v1::SealedMessage* m) { m->mutable_header()->mutable_created_at()->set_seconds(1); }},
      {"ciphertext", [](v1::SealedMessage* m) { (*m->mutable_fields(0)->mutable_ciphertext())[20] ^= 1; }},
      {"commitment salt", [](v1::SealedMessage* m) { (*m->mutable_fields(1)->mutable_commitment_salt())[0] ^= 1; }},
      {"path", [](v1::SealedMessage* m) { m->mutable_fields(2)->set_path("housing"); }},
      {"category", [](v1::SealedMessage* m) { m->mutable_fields(2)->set_category(v1::CATEGORY_HOUSING); }},
      {"signature", [](v1::SealedMessage* m) { (*m->mutable_signature())[5] ^= 1; }},
      {"wrapped key", [](v1::SealedMessage* m) { (*m->mutable_fields(0)->mutable_wrapped_keys(0)->mutable_wrapped_key())[15] ^= 1; }},
      {"encapsulated key", [](v1::SealedMessage* m) { (*m->mutable_recipient_contexts(0)->mutable_encapsulated_key())[3] ^= 1; }},
      {"dropped field", [](v1::SealedMessage* m) { m->mutable_fields()->RemoveLast(); }},
      {"added withheld commitment", [](v1::SealedMessage* m) { m->add_withheld_commitments(std::string(32, 'x')); }},
      {"swapped ciphertexts", [](v1::SealedMessage* m) { m->mutable_fields(0)->mutable_ciphertext()->swap(*m->mutable_fields(1)->mutable_ciphertext()); }},
      {"key commitment", [](v1::SealedMessage* m) { (*m->mutable_fields(0)->mutable_key_commitment())[7] ^= 1; }},
  };
  for (const auto& [name, tamper] : tamperings) {
    v1::SealedMessage copy = *delivered;
    tamper(&copy);
    v1::Referral view;
    EXPECT_THAT(OpenMessage(copy, sender_public_, youth_.private_key, &view),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")))
        << name;
  }
  // A substituted sender key (a broker swapping bundles) is detected too.
  v1::Referral view;
  EXPECT_THAT(OpenMessage(*delivered, *crypto::Ed25519PublicKey(FixedKey('z')), youth_.private_key, &view),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("authentication failed")));
}

// Issue #11 item 4: AES-GCM does not commit to its key. A malicious sender
// signs one ciphertext and wraps another key for one recipient than the
// key the commitment names: that recipient must refuse, not read a text
// the others never saw.
TEST_F(SealerTest, AKeyOtherThanTheCommittedOneIsRefused) {
  v1::Referral one_field;
  one_field.set_education_employment("9th grade");
  auto sealed = Seal(one_field, All, SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  v1::SealedMessage evil = *sealed;
  v1::SealedField* field = evil.mutable_fields(0);
  // Another key and a ciphertext under it, for hml-youth only; the key
  // commitment stays that of the original key.
  const crypto::SecretData other_key = crypto::SecretData::FromString(std::string(32, 'K'));
  const std::string nonce(crypto::kAeadNonceSize, 'N');
  v1::Referral other_text;
  other_text.set_education_employment("expelled");
  auto ct = crypto::AeadSeal(crypto::Aead::kAes256Gcm, other_key, nonce,
                             crypto::FieldAad(evil.header(), field->path(), field->category()),
                             other_text.SerializeAsString());
  ASSERT_THAT(ct, IsOk());
  field->set_ciphertext(nonce + *ct);
  auto context = crypto::HpkeContext::SetupBaseSenderWithEphemeralKey(
      crypto::Aead::kAes256Gcm, youth_.public_key.hpke_public_key,
      crypto::HpkeInfo(evil.header().message_id(), "hml-youth", youth_.public_key.key_id),
      FixedKey('e'));
  ASSERT_THAT(context, IsOk());
  for (v1::RecipientContext& rc : *evil.mutable_recipient_contexts()) {
    if (rc.recipient_org_id() == "hml-youth") rc.set_encapsulated_key((*context)->encapsulated_key());
  }
  auto wrap_key = (*context)->Export(crypto::WrapExportContext(field->path()), 32);
  auto wrapped = crypto::AeadSeal(crypto::Aead::kAes256Gcm, *wrap_key, nonce,
                                  crypto::WrapAad(evil.header().message_id(), field->path()),
                                  crypto::View(other_key));
  for (v1::WrappedKey& k : *field->mutable_wrapped_keys()) {
    if (k.recipient_org_id() == "hml-youth") k.set_wrapped_key(nonce + *wrapped);
  }
  auto manifest = crypto::ManifestBytes(evil.header(), evil.fields(), {});
  evil.set_signature(*crypto::Ed25519Sign(sender_.signing_private_key, *manifest));
  auto to_youth = crypto::RedactForRecipient(evil, "hml-youth", All, nullptr);
  v1::Referral view;

  EXPECT_THAT(OpenMessage(*to_youth, sender_public_, youth_.private_key, &view),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("key does not match its commitment")));
  EXPECT_TRUE(view.education_employment().empty());
}

TEST_F(SealerTest, APartWithUnknownFieldsIsRefused) {
  v1::Referral referral;
  referral.set_education_employment("9th grade");
  // A field number this schema does not have, smuggled into the part.
  referral.GetReflection()->MutableUnknownFields(&referral)->AddVarint(999, 1);
  auto sealed = Seal(referral, All, SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, nullptr);
  v1::Referral view;

  EXPECT_THAT(OpenMessage(*delivered, sender_public_, youth_.private_key, &view),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fields unknown")));
}

// Item 5: the broker can hand any org an authentic message of others.
TEST_F(SealerTest, OnlyASignedRecipientMayOpen) {
  auto sealed = Seal(FullReferral(), All, SystemRandom());
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, nullptr);
  Party asenne = MakeParty("asenne-ry", 'c');
  v1::Referral view;

  EXPECT_THAT(OpenMessage(*delivered, sender_public_, asenne.private_key, &view),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not addressed to asenne-ry")));
}

TEST_F(SealerTest, AMessageOfAnotherWireFormatVersionIsRefused) {
  auto sealed = Seal(FullReferral(), All, SystemRandom());
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, nullptr);
  delivered->mutable_header()->set_format_version(1);
  v1::Referral view;

  EXPECT_THAT(OpenMessage(*delivered, sender_public_, youth_.private_key, &view),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unsupported wire format version 1")));
}

TEST_F(SealerTest, StatutoryClaimCarriesSealedJustification) {
  header_.set_statutory_basis("lsl_25");
  v1::ChildWelfareNotification n;
  n.set_concern("bruises");
  EXPECT_THAT(Seal(n, All, SystemRandom()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("justification")));

  auto sealed = Seal(n, All, SystemRandom(), "seen at school on Monday");
  ASSERT_THAT(sealed, IsOk());
  auto delivered = crypto::RedactForRecipient(*sealed, "wba-social", All, nullptr);
  v1::ChildWelfareNotification view;
  auto opened = OpenMessage(*delivered, sender_public_, social_.private_key, &view);

  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->justification, "seen at school on Monday");
  EXPECT_EQ(view.concern(), "bruises");
}

TEST_F(SealerTest, WrongPayloadTypeIsRefused) {
  auto sealed = Seal(FullReferral(), All, SystemRandom());
  auto delivered = crypto::RedactForRecipient(*sealed, "hml-youth", All, nullptr);
  v1::CaseClosure wrong;

  EXPECT_THAT(OpenMessage(*delivered, sender_public_, youth_.private_key, &wrong),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("silta.v1.Referral")));
}

// The golden vector: fixed keys, fixed randomness → fixed bytes. Another
// implementation following docs/wire-format.md must produce exactly these.
// Regenerate (after a deliberate format change only) with
// SILTA_REGENERATE_GOLDEN=1 build/tests/sealer_test.
TEST_F(SealerTest, GoldenSealedMessageIsReproducedByteForByte) {
  const WrapPolicy no_psych_to_youth = [](absl::string_view recipient, absl::string_view path) {
    return !(recipient == "hml-youth" && path == "mental_health_notes");
  };
  CountingRandom random;
  auto sealed = Seal(FullReferral(), no_psych_to_youth, random);
  ASSERT_THAT(sealed, IsOk());
  const std::string path = SILTA_SOURCE_DIR "/tests/vectors/golden_sealed_message.textproto";
  std::string text;
  ASSERT_TRUE(google::protobuf::TextFormat::PrintToString(*sealed, &text));
  const auto manifest = crypto::ManifestBytes(sealed->header(), sealed->fields(), {});
  ASSERT_THAT(manifest, IsOk());
  const std::string golden_text = absl::StrCat(
      "# Golden sealed message, wire format version 2 (docs/wire-format.md §7). Inputs: Referral\n"
      "# with every field set,\n"
      "# sender Ed25519 seed 32 x 's', recipients wba-social (X25519 key 32 x 'a') and hml-youth\n"
      "# (32 x 'b'), randomness block i = SHA-256(\"silta-golden\" || decimal(i)); hml-youth is\n"
      "# not permitted mental_health_notes.\n# manifest hex: ",
      absl::BytesToHexString(*manifest), "\n", text);
  if (std::getenv("SILTA_REGENERATE_GOLDEN") != nullptr) {
    silta::testing::WriteTextFile(path, golden_text);
  }

  EXPECT_EQ(silta::testing::ReadTextFile(path), golden_text)
      << "the sealed bytes changed; if the wire format changed on purpose, regenerate";
  v1::SealedMessage golden;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(silta::testing::ReadTextFile(path), &golden));
  auto delivered = crypto::RedactForRecipient(golden, "hml-youth", no_psych_to_youth, nullptr);
  v1::Referral view;
  auto opened = OpenMessage(*delivered, sender_public_, youth_.private_key, &view);
  ASSERT_THAT(opened, IsOk());
  EXPECT_EQ(opened->withheld_fields, 1);
  EXPECT_EQ(view.reason(), "repeated shoplifting, needs support");
}

}  // namespace
}  // namespace silta::sdk
