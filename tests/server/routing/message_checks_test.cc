// What Send checks of a sealed message before the store (message_checks.h).
// The sealed justification of a statutory claim is a field like the
// payload's: a fuzzer found that it skipped every length and wrapped-key
// check (#12), so a message no recipient could open was accepted.
#include "server/routing/message_checks.h"

#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/wire_format.h"
#include "silta/v1/payloads.pb.h"
#include "tests/testing/counting_random.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::routing {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

v1::MessageHeader Header(absl::string_view message_id, absl::string_view purpose) {
  v1::MessageHeader header;
  header.set_message_id(std::string(message_id));
  header.mutable_acting_user()->set_worker_id("officer-12");
  header.set_purpose(std::string(purpose));
  *header.mutable_created_at() = common::ToTimestamp(absl::FromUnixSeconds(1790000000));
  return header;
}

// `referral` from police-hame, sealed to each of `recipients` (key ids
// "aaa...", "bbb...", ...), every field for every recipient.
absl::StatusOr<v1::SealedMessage> Seal(const v1::Referral& referral,
                                       const v1::MessageHeader& header,
                                       const std::vector<std::string>& recipients,
                                       absl::string_view justification) {
  const crypto::SecretData hpke = crypto::SecretData::FromString(std::string(32, 'a'));
  std::vector<sdk::RecipientPublicKey> keys;
  for (size_t i = 0; i < recipients.size(); ++i) {
    keys.push_back({recipients[i], std::string(32, static_cast<char>('a' + i)),
                    *crypto::X25519PublicKey(hpke)});
  }
  silta::testing::CountingRandom random;
  return sdk::SealPayload(
      referral, header,
      {"police-hame", std::string(32, '5'), crypto::SecretData::FromString(std::string(32, 's'))},
      keys, [](absl::string_view, absl::string_view) { return true; }, justification, random);
}

class MessageChecksTest : public ::testing::Test {
 protected:
  MessageChecksTest() {
    v1::Referral referral;
    referral.set_support_needs("school attendance");
    v1::MessageHeader header =
        Header("01890a5d-ac96-774b-bcce-b302099a8057", "child_welfare_notification");
    header.set_case_id("01890a5d-0000-7000-8000-000000000001");
    header.set_statutory_basis("lsl_25");
    auto sealed = Seal(referral, header, {"wba-social"}, "immediate risk");
    EXPECT_THAT(sealed, IsOk());
    message_ = *sealed;
  }

  absl::Status Check() const {
    return CheckSealedMessage(message_, "police-hame", policy_,
                              [](absl::string_view org) { return org == "wba-social"; }, {});
  }

  v1::SealedField* Justification() {
    for (v1::SealedField& f : *message_.mutable_fields()) {
      if (f.path() == crypto::kJustificationPath) return &f;
    }
    ADD_FAILURE() << "no justification field";
    return message_.mutable_fields(0);
  }

  const v1::Policy policy_ = silta::testing::ExamplePolicy();
  v1::SealedMessage message_;
};

TEST_F(MessageChecksTest, AWellFormedStatutoryMessagePasses) { EXPECT_THAT(Check(), IsOk()); }

TEST_F(MessageChecksTest, TheJustificationIsCheckedLikeEveryField) {
  Justification()->clear_key_commitment();
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr(".key_commitment: must be 32 bytes")));
}

TEST_F(MessageChecksTest, TheJustificationsCiphertextAndKeysAreChecked) {
  v1::SealedMessage original = message_;
  Justification()->set_ciphertext("short");
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(".ciphertext")));

  message_ = original;
  Justification()->mutable_wrapped_keys(0)->set_wrapped_key("ten bytes.");
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr(".wrapped_key: must be 60 bytes")));

  message_ = original;
  Justification()->mutable_wrapped_keys(0)->set_recipient_org_id("hml-youth");
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("for an organisation that is not a recipient")));
}

TEST_F(MessageChecksTest, TheJustificationIsFreeText) {
  Justification()->set_category(v1::CATEGORY_HEALTH);
  EXPECT_THAT(Check(), StatusIs(absl::StatusCode::kInvalidArgument,
                                HasSubstr("justification is FREE_TEXT")));
}

// Each recipient is listed once, has one HPKE context, and each field has
// at most one wrapped key for it, under that context's key id.
TEST(MessageChecksRecipientsTest, EveryRecipientHasOneContextAndOneKeyPerFieldUnderIt) {
  v1::Referral referral;
  referral.set_support_needs("school attendance");
  referral.set_contact("via the school nurse");
  auto sealed = Seal(referral, Header("01890a5d-ac96-774b-bcce-b302099a8058", "youth_coaching"),
                     {"wba-social", "hml-youth"}, "");
  ASSERT_THAT(sealed, IsOk());
  const v1::SealedMessage original = *sealed;
  ASSERT_EQ(original.header().recipient_org_ids_size(), 2);
  ASSERT_GE(original.fields_size(), 2);
  ASSERT_EQ(original.fields(0).wrapped_keys_size(), 2);
  const v1::Policy policy = silta::testing::ExamplePolicy();
  const auto check = [&](const v1::SealedMessage& m) {
    return CheckSealedMessage(
        m, "police-hame", policy,
        [](absl::string_view org) { return org == "wba-social" || org == "hml-youth"; }, {});
  };
  const auto refused = [&](const std::string& what) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(what));
  };
  EXPECT_THAT(check(original), IsOk());

  v1::SealedMessage m = original;
  m.mutable_header()->add_recipient_org_ids("wba-social");
  EXPECT_THAT(check(m), refused("header.recipient_org_ids[2]: listed twice"));

  m = original;
  m.mutable_recipient_contexts(1)->set_recipient_org_id("asenne-ry");
  EXPECT_THAT(check(m), refused("message.recipient_contexts[1]: for an organisation that is not a "
                                "recipient"));

  m = original;
  *m.add_recipient_contexts() = m.recipient_contexts(0);
  EXPECT_THAT(check(m), refused("message.recipient_contexts[2]: second context for the same "
                                "recipient"));

  m = original;
  m.mutable_recipient_contexts()->RemoveLast();
  EXPECT_THAT(check(m), refused(absl::StrCat("none for ",
                                             original.recipient_contexts(1).recipient_org_id())));

  // A key for a recipient whose key was already given in an earlier field
  // is fine; a second one in the same field is not.
  m = original;
  *m.mutable_fields(1)->add_wrapped_keys() = m.fields(1).wrapped_keys(0);
  EXPECT_THAT(check(m), refused("message.fields[1].wrapped_keys[2]: second wrapped key for the "
                                "same recipient"));

  m = original;
  m.mutable_fields(0)->mutable_wrapped_keys(1)->set_recipient_key_id(std::string(32, 'c'));
  EXPECT_THAT(check(m), refused("message.fields[0].wrapped_keys[1].recipient_key_id: must be the "
                                "key_id of that recipient's context"));

  m = original;
  m.mutable_fields(0)->mutable_wrapped_keys(0)->set_recipient_org_id("asenne-ry");
  EXPECT_THAT(check(m), refused("message.fields[0].wrapped_keys[0]: for an organisation that is "
                                "not a recipient"));

  m = original;
  *m.add_fields() = m.fields(0);
  EXPECT_THAT(check(m),
              refused(absl::StrCat("message.fields[", original.fields_size(), "]: path repeated")));
}

}  // namespace
}  // namespace silta::routing
