// Delivery-time property test (issue #12): between a Send and its delivery
// the world changes at random — consents are given and withdrawn, refusals
// recorded, members removed and added, recipients suspended and resumed,
// the policy replaced, the clock moved. Whatever happened, what each
// recipient receives (the fields it can open) must be exactly what a
// deliberately naive reference permits: permitted at Send (the broker drops
// the other wrapped keys then) and permitted again at delivery.
//
// The router runs for real: the SQLite store, the case and consent
// registries, the key directory, sealing and opening with real keys.
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "lib/crypto/wire_format.h"
#include "server/routing/router.h"
#include "silta/v1/options.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/testing/key_publish.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::routing {
namespace {

using ::silta::testing::IsOk;

constexpr absl::string_view kSender = "police-hame";
const std::vector<std::string> kRecipients = {"wba-social", "wba-psychiatry", "hml-youth",
                                              "asenne-ry"};
const std::vector<std::string> kPurposes = {"referral", "service_coordination", "youth_coaching"};

// A valid test HETU of an adult born in the 1990s (the records are the
// young person's own; whose word counts at which age is engine_test's).
std::string RandomHetu(std::mt19937& rng) {
  return silta::testing::HetuBornOn(
      absl::CivilDay(1990 + static_cast<int>(rng() % 10), 1 + static_cast<int>(rng() % 12),
                     1 + static_cast<int>(rng() % 28)),
      900 + static_cast<int>(rng() % 100));
}

// A consent or refusal as the reference sees it.
struct NaiveRecord {
  std::string id;
  bool refusal = false;
  std::set<int> categories;
  std::set<std::string> orgs;
  std::set<int> kinds;
  std::set<std::string> purposes;
  std::string case_id;  // empty: any case
  // Who may disclose; both empty (refusals only) means any sender.
  std::set<std::string> discloser_orgs;
  std::set<int> discloser_kinds;
  absl::Time from, until, withdrawn = absl::InfiniteFuture();

  bool InForce(absl::Time at) const { return at >= from && at < until && at < withdrawn; }
  bool Covers(const v1::Organization& sender, const v1::Organization& recipient,
              int category) const {
    const bool any_sender = discloser_orgs.empty() && discloser_kinds.empty();
    return categories.contains(category) &&
           (orgs.contains(recipient.org_id()) || kinds.contains(recipient.kind())) &&
           ((refusal && any_sender) || discloser_orgs.contains(sender.org_id()) ||
            discloser_kinds.contains(sender.kind()));
  }
};

// The world as the reference keeps it, independently of the broker.
struct NaiveWorld {
  v1::Policy policy;
  std::set<std::string> members;
  std::map<std::string, v1::OrgState> state;
  std::vector<NaiveRecord> records;

  // Whether the policy releases `category` to `kind` only under a statute.
  bool StatuteOnlyTo(int category, v1::OrgKind kind) const {
    for (const v1::CategoryPolicy& c : policy.categories()) {
      if (c.category() != category) continue;
      return std::find(c.statute_only_to().begin(), c.statute_only_to().end(),
                       static_cast<int>(kind)) != c.statute_only_to().end();
    }
    return false;
  }

  // Whether `field_category` may go from `sender` to `recipient` now.
  bool Permits(const v1::Organization& sender, v1::Organization recipient,
               const v1::MessageHeader& header, int category, bool justified,
               absl::Time at) const {
    recipient.set_state(state.at(recipient.org_id()));
    if (recipient.state() != v1::ACTIVE) return false;
    // A notification basis does not wait for membership (lsl 25 §).
    for (const v1::StatutoryBasis& s : policy.statutory_bases()) {
      if (s.code() != header.statutory_basis()) continue;
      auto has = [](const auto& list, int v) {
        return std::find(list.begin(), list.end(), v) != list.end();
      };
      if (has(s.sender_kinds(), sender.kind()) && has(s.recipient_kinds(), recipient.kind()) &&
          has(s.categories(), category) && (!s.justification_required() || justified)) {
        return s.notification() || members.contains(recipient.org_id());
      }
    }
    if (!members.contains(recipient.org_id())) return false;
    if (StatuteOnlyTo(category, recipient.kind())) return false;
    bool refused = false, consented = false;
    for (const NaiveRecord& r : records) {
      if (!r.InForce(at) || !r.Covers(sender, recipient, category)) continue;
      if (r.refusal) {
        refused = true;
      } else if (r.purposes.contains(header.purpose()) &&
                 (r.case_id.empty() || r.case_id == header.case_id())) {
        consented = true;
      }
    }
    return !refused && consented;
  }
};

// A message on its way: its fields, and per recipient what was permitted at Send.
struct Outstanding {
  v1::SealedMessage message;
  std::map<std::string, std::set<std::string>> permitted_at_send;
  // The payload field values by path, to compare with what is opened.
  std::map<std::string, std::string> values;
  // When it expires: a notification within hours (its basis's
  // notification_ttl_hours at Send), anything else after 14 days.
  absl::Time expires;
};

class DeliveryPropertyTest : public silta::testing::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    // The dev PKI's certificates are valid from when it was made.
    now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
    keys_ = std::make_unique<orgs::KeyDirectory>(store_.get(), SILTA_TEST_PKI_DIR "/ca.pem",
                                                     "silta.test", SILTA_TEST_PKI_DIR "/crl",
                                                     [this] { return now_; });
    RouterOptions options;
    options.message_ttl = absl::Hours(24 * 14);
    router_ = std::make_unique<Router>(store_.get(), orgs_.get(), keys_.get(), cases_.get(), refs_.get(),
                                       policy_.get(), engine_.get(), options,
                                       [this] { return now_; });
    signing_ = *crypto::GenerateEd25519KeyPair();
    sender_bundle_ = Publish(std::string(kSender), signing_.public_key,
                             crypto::GenerateX25519KeyPair()->public_key);
    for (const std::string& r : kRecipients) {
      hpke_[r] = *crypto::GenerateX25519KeyPair();
      bundles_[r] = Publish(r, crypto::GenerateEd25519KeyPair()->public_key, hpke_[r].public_key);
      naive_.state[r] = v1::ACTIVE;
    }
    naive_.policy = silta::testing::ExamplePolicy();
  }

  v1::KeyBundle Publish(const std::string& org, const std::string& signing_public,
                        const std::string& hpke_public) {
    return silta::testing::PublishTestBundle(keys_.get(), As(org), org, signing_public,
                                             hpke_public, now_ - absl::Hours(1),
                                             now_ + absl::Hours(24 * 60));
  }

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[rng_() % v.size()];
  }
  bool Chance(int percent) { return static_cast<int>(rng_() % 100) < percent; }

  // A policy like the example's, with statutory bases narrowed at random
  // (a narrower basis permits less; its code stays so that Send accepts it).
  v1::Policy RandomPolicy() {
    v1::Policy policy = silta::testing::ExamplePolicy();
    for (v1::StatutoryBasis& s : *policy.mutable_statutory_bases()) {
      if (Chance(40) && s.categories_size() > 1) {
        s.mutable_categories()->SwapElements(static_cast<int>(rng_() % s.categories_size()),
                                             s.categories_size() - 1);
        s.mutable_categories()->RemoveLast();
      }
      if (Chance(30) && s.recipient_kinds_size() > 1) s.mutable_recipient_kinds()->RemoveLast();
      if (Chance(20)) s.set_justification_required(!s.justification_required());
    }
    return policy;
  }

  void ReplacePolicy() {
    v1::Policy policy = RandomPolicy();
    ASSERT_THAT(policy_->Replace(policy), IsOk());
    naive_.policy = std::move(policy);
  }

  void RecordRandomRecord() {
    NaiveRecord r;
    r.refusal = Chance(30);
    // Mostly the Referral's categories, so that several fields of a message
    // are permitted and a later change can take some of them away.
    const int categories = 2 + static_cast<int>(rng_() % 5);
    const google::protobuf::Descriptor* referral = v1::Referral::descriptor();
    for (int i = 0; i < categories; ++i) {
      r.categories.insert(Chance(90) ? referral->field(static_cast<int>(rng_() % referral->field_count()))
                                           ->options()
                                           .GetExtension(v1::category)
                                     : 1 + static_cast<int>(rng_() % 15));
    }
    if (Chance(50)) {
      r.orgs.insert(Pick(kRecipients));
    } else {
      r.kinds.insert(orgs_->Find(Pick(kRecipients))->kind());
    }
    // Disclosers: mostly the sender (by id or kind), sometimes someone else;
    // a refusal sometimes names none (every sender).
    const int discloser_choice = static_cast<int>(rng_() % 10);
    if (discloser_choice < 5) {
      r.discloser_orgs.insert(std::string(kSender));
    } else if (discloser_choice < 8) {
      r.discloser_kinds.insert(v1::POLICE);
    } else if (discloser_choice < 9 || !r.refusal) {
      r.discloser_orgs.insert(Pick(kRecipients));
    }
    r.from = now_ + absl::Minutes(static_cast<int>(rng_() % 120) - 90);
    r.until = r.from + absl::Minutes(30 + static_cast<int>(rng_() % (60 * 24)));
    v1::Recipient recipient;
    if (!r.orgs.empty()) {
      recipient.set_org_id(*r.orgs.begin());
    } else {
      recipient.set_org_kind(static_cast<v1::OrgKind>(*r.kinds.begin()));
    }
    // A consent cannot name a category the policy releases to the
    // recipient's kind only under a statute (criminal data to an NGO).
    const v1::OrgKind recipient_kind =
        r.orgs.empty() ? static_cast<v1::OrgKind>(*r.kinds.begin())
                       : orgs_->Find(*r.orgs.begin())->kind();
    if (!r.refusal) {
      std::erase_if(r.categories, [&](int c) {
        return naive_.StatuteOnlyTo(c, recipient_kind);
      });
      if (r.categories.empty()) r.categories.insert(v1::CATEGORY_SOCIAL_WELFARE);
    }
    auto fill = [&](auto* record) {
      record->set_grantor(v1::SUBJECT);
      for (int c : r.categories) record->add_categories(static_cast<v1::Category>(c));
      *record->add_recipients() = recipient;
      for (const std::string& org : r.discloser_orgs) record->add_disclosers()->set_org_id(org);
      for (int kind : r.discloser_kinds) {
        record->add_disclosers()->set_org_kind(static_cast<v1::OrgKind>(kind));
      }
      *record->mutable_valid_from() = common::ToTimestamp(r.from);
      *record->mutable_valid_until() = common::ToTimestamp(r.until);
      record->set_evidence_ref("form-1");
    };
    if (r.refusal) {
      v1::RecordRefusalRequest request;
      request.mutable_subject()->set_hetu(hetu_);
      fill(request.mutable_refusal());
      *request.mutable_acting_user() = Worker();
      auto response = consents_->RecordRefusal(As("wba-registrar"), request);
      ASSERT_THAT(response, IsOk());
      r.id = response->refusal().refusal_id();
    } else {
      r.purposes.insert(Pick(kPurposes));
      if (Chance(30)) r.purposes.insert(Pick(kPurposes));
      if (Chance(30)) r.case_id = case_id_;
      v1::RecordConsentRequest request;
      request.mutable_subject()->set_hetu(hetu_);
      fill(request.mutable_consent());
      for (const std::string& p : r.purposes) request.mutable_consent()->add_purposes(p);
      request.mutable_consent()->set_case_id(r.case_id);
      *request.mutable_acting_user() = Worker();
      auto response = consents_->RecordConsent(As("wba-registrar"), request);
      ASSERT_THAT(response, IsOk());
      r.id = response->consent().consent_id();
    }
    naive_.records.push_back(std::move(r));
  }

  void WithdrawRandomRecord() {
    std::vector<NaiveRecord*> open;
    for (NaiveRecord& r : naive_.records) {
      if (r.withdrawn == absl::InfiniteFuture() && now_ < r.until) open.push_back(&r);
    }
    if (open.empty()) return;
    NaiveRecord* r = open[rng_() % open.size()];
    v1::WithdrawConsentRequest request;
    request.set_record_id(r->id);
    *request.mutable_acting_user() = Worker();
    auto response = consents_->WithdrawConsent(As("wba-registrar"), request);
    ASSERT_THAT(response, IsOk());
    r->withdrawn = common::ToTime(response->effective_at());
  }

  void ToggleMember() {
    const std::string& org = Pick(kRecipients);
    if (naive_.members.contains(org)) {
      v1::RemoveMemberRequest request;
      request.set_case_id(case_id_);
      request.set_org_id(org);
      *request.mutable_acting_user() = Worker();
      ASSERT_THAT(cases_->RemoveMember(As(std::string(kSender)), request), IsOk());
      naive_.members.erase(org);
    } else if (naive_.state[org] == v1::ACTIVE) {  // a suspended org cannot join
      v1::AddMemberRequest request;
      request.set_case_id(case_id_);
      request.set_org_id(org);
      *request.mutable_acting_user() = Worker();
      ASSERT_THAT(cases_->AddMember(As(std::string(kSender)), request), IsOk());
      naive_.members.insert(org);
    }
  }

  void ToggleSuspension() { ToggleSuspensionOf(Pick(kRecipients)); }

  void ToggleSuspensionOf(const std::string& org) {
    const v1::OrgState next = naive_.state[org] == v1::ACTIVE ? v1::SUSPENDED : v1::ACTIVE;
    ASSERT_THAT(orgs_->SetState(org, next, {"silta-admin", Worker()}, "test"), IsOk());
    naive_.state[org] = next;
  }

  // A Referral with a random half of its fields, to a random set of
  // recipients, for a random purpose, sometimes under a statutory basis.
  void Send() {
    v1::Referral referral;
    Outstanding o;
    const google::protobuf::Descriptor* d = referral.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      if (!Chance(50)) continue;
      const std::string value = absl::StrCat("value of ", d->field(i)->name());
      referral.GetReflection()->SetString(&referral, d->field(i), value);
      o.values[d->field(i)->name()] = value;
    }
    if (o.values.empty()) {
      referral.set_support_needs("support");
      o.values["support_needs"] = "support";
    }
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(now_));
    header.set_case_id(case_id_);
    header.mutable_acting_user()->set_worker_id("officer-12");
    header.set_purpose(Pick(kPurposes));
    std::string justification;
    if (Chance(40)) {
      header.set_statutory_basis(Pick(std::vector<std::string>{"lsl_25", "shl_35", "nuorisolaki_11"}));
      justification = "the situation requires it";
      o.values[std::string(crypto::kJustificationPath)] = justification;
    }
    *header.mutable_created_at() = common::ToTimestamp(now_);
    std::vector<sdk::RecipientPublicKey> recipients;
    for (const std::string& r : kRecipients) {
      if (Chance(60)) recipients.push_back({r, bundles_[r].key_id(), hpke_[r].public_key});
    }
    if (recipients.empty()) {
      recipients.push_back({kRecipients[0], bundles_[kRecipients[0]].key_id(),
                            hpke_[kRecipients[0]].public_key});
    }
    auto sealed = sdk::SealPayload(
        referral, header, {std::string(kSender), sender_bundle_.key_id(), signing_.private_key},
        recipients, [](absl::string_view, absl::string_view) { return true; }, justification,
        sdk::SystemRandom());
    ASSERT_THAT(sealed, IsOk());
    v1::SendRequest request;
    *request.mutable_message() = *sealed;
    ASSERT_THAT(router_->Send(As(std::string(kSender)), request), IsOk());
    o.message = *sealed;
    o.expires = now_ + absl::Hours(24 * 14);
    for (const v1::StatutoryBasis& s : naive_.policy.statutory_bases()) {
      if (s.code() == header.statutory_basis() && s.notification()) {
        o.expires = now_ + absl::Hours(s.notification_ttl_hours());
      }
    }
    for (const sdk::RecipientPublicKey& r : recipients) {
      o.permitted_at_send[r.org_id] = PermittedNow(o.message, r.org_id);
    }
    outstanding_.push_back(std::move(o));
    ++sent_;
  }

  // The paths of `message` the reference permits to `recipient` now.
  std::set<std::string> PermittedNow(const v1::SealedMessage& message,
                                     const std::string& recipient) {
    std::set<std::string> paths;
    const bool justified = crypto::HasJustification(message);
    for (const v1::SealedField& f : message.fields()) {
      if (naive_.Permits(*orgs_->Find(kSender), *orgs_->Find(recipient), message.header(),
                         f.category(), justified, now_)) {
        paths.insert(f.path());
      }
    }
    return paths;
  }

  // Every recipient that is active takes what is due (a suspended one
  // cannot connect); each delivery is opened and compared with the
  // reference, then acked.
  void Deliver() {
    for (const std::string& r : kRecipients) {
      if (naive_.state[r] != v1::ACTIVE) continue;
      auto due = router_->TakeDue(As(r), absl::Seconds(60), 1000);
      ASSERT_THAT(due, IsOk());
      std::map<std::string, const v1::Delivery*> got;
      for (const v1::Delivery& delivery : *due) {
        got[delivery.message().header().message_id()] = &delivery;
      }
      for (auto it = outstanding_.begin(); it != outstanding_.end(); ++it) {
        auto send = it->permitted_at_send.find(r);
        if (send == it->permitted_at_send.end()) continue;
        const std::string& id = it->message.header().message_id();
        std::set<std::string> expected;
        const std::set<std::string> now = PermittedNow(it->message, r);
        std::set_intersection(send->second.begin(), send->second.end(), now.begin(), now.end(),
                              std::inserter(expected, expected.begin()));
        if (now_ >= it->expires) expected.clear();  // expired undelivered
        const auto delivered = got.find(id);
        if (expected.empty()) {
          EXPECT_EQ(delivered, got.end()) << r << " received message " << id
                                          << " although nothing is permitted to it";
          if (delivered != got.end()) got.erase(delivered);
          if (!send->second.empty()) ++revoked_;
        } else {
          ASSERT_NE(delivered, got.end()) << r << " did not receive message " << id;
          EXPECT_EQ(Opened(*delivered->second, r, it->values), expected) << r << " " << id;
          EXPECT_EQ(delivered->second->withheld_field_count(),
                    it->message.fields_size() - expected.size());
          v1::AckRequest ack;
          ack.set_delivery_id(delivered->second->delivery_id());
          ASSERT_THAT(router_->Ack(As(r), ack), IsOk());
          got.erase(delivered);
          ++deliveries_;
          if (expected.size() < send->second.size()) ++narrowed_;
        }
        it->permitted_at_send.erase(send);
      }
      EXPECT_TRUE(got.empty()) << r << " received " << got.size() << " unexpected messages";
    }
  }

  // Opens a delivery as `recipient` and returns the paths it could read,
  // checking each value against what was sealed.
  std::set<std::string> Opened(const v1::Delivery& delivery, const std::string& recipient,
                               const std::map<std::string, std::string>& values) {
    v1::Referral payload;
    auto opened = sdk::OpenMessage(delivery.message(), signing_.public_key,
                                   {recipient, bundles_[recipient].key_id(),
                                    hpke_[recipient].private_key},
                                   &payload);
    EXPECT_THAT(opened, IsOk());
    std::set<std::string> paths;
    if (!opened.ok()) return paths;
    std::vector<const google::protobuf::FieldDescriptor*> set;
    payload.GetReflection()->ListFields(payload, &set);
    for (const auto* f : set) {
      paths.insert(f->name());
      EXPECT_EQ(payload.GetReflection()->GetString(payload, f), values.at(f->name()));
    }
    if (!opened->justification.empty()) {
      paths.insert(std::string(crypto::kJustificationPath));
      EXPECT_EQ(opened->justification, values.at(std::string(crypto::kJustificationPath)));
    }
    return paths;
  }

  std::mt19937 rng_{20261202};
  NaiveWorld naive_;
  std::string hetu_, case_id_;
  std::unique_ptr<orgs::KeyDirectory> keys_;
  std::unique_ptr<Router> router_;
  crypto::KeyPair signing_;
  v1::KeyBundle sender_bundle_;
  std::map<std::string, crypto::KeyPair> hpke_;
  std::map<std::string, v1::KeyBundle> bundles_;
  std::vector<Outstanding> outstanding_;
  int sent_ = 0, deliveries_ = 0, narrowed_ = 0, revoked_ = 0;
};

TEST_F(DeliveryPropertyTest, EveryRecipientReceivesWhatTheReferencePermitsAtDelivery) {
  for (int subject = 0; subject < 30; ++subject) {
    // A new young person, a case coordinated by the police, some members.
    hetu_ = RandomHetu(rng_);
    std::vector<std::string> members;
    naive_.members.clear();
    for (const std::string& r : kRecipients) {
      if (Chance(70)) {
        members.push_back(r);
        naive_.members.insert(r);
      }
    }
    case_id_ = OpenCase(std::string(kSender), hetu_, members).case_id();
    ASSERT_FALSE(case_id_.empty());
    naive_.records.clear();
    for (int i = 0; i < 8; ++i) RecordRandomRecord();

    for (int round = 0; round < 8; ++round) {
      Send();
      // The world changes before the recipients come for their messages.
      const int events = static_cast<int>(rng_() % 6);
      for (int e = 0; e < events; ++e) {
        switch (rng_() % 7) {
          case 0: RecordRandomRecord(); break;
          case 1: WithdrawRandomRecord(); break;
          case 2: ToggleMember(); break;
          case 3: ToggleSuspension(); break;
          case 4: ReplacePolicy(); break;
          default: now_ += absl::Minutes(static_cast<int>(rng_() % 240)); break;
        }
        if (HasFatalFailure()) return;
      }
      if (Chance(70)) Deliver();
      if (HasFatalFailure()) return;
    }
    // Everyone active again collects what is left.
    for (const std::string& r : kRecipients) {
      if (naive_.state[r] != v1::ACTIVE) ToggleSuspensionOf(r);
    }
    Deliver();
    if (HasFatalFailure()) return;
  }
  // The comparison means something only if deliveries happened, and some
  // were narrowed between Send and delivery.
  const std::string counts = absl::StrCat("sent ", sent_, ", delivered ", deliveries_, ", narrowed ",
                                          narrowed_, ", revoked whole ", revoked_);
  EXPECT_GE(deliveries_, 50) << counts;
  EXPECT_GE(narrowed_, 5) << counts;
  EXPECT_GE(revoked_, 10) << counts;
}

}  // namespace
}  // namespace silta::routing
