// File: tests/integration/world.h
//
// One running siltad with the dev PKI, as the organisations see it: keys
// published, cases opened, consents recorded, messages previewed, sealed,
// sent, received, opened and acknowledged through the real gRPC API and the
// SDK. Shared by the message, audit and scenario tests.
#ifndef SILTA_TESTS_INTEGRATION_WORLD_H_
#define SILTA_TESTS_INTEGRATION_WORLD_H_

#include <signal.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/sdk/client.h"
#include "client/sdk/org_keys.h"
#include "client/sdk/sealer.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "silta/v1/case.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/options.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/process.h"
#include "tests/testing/test_hetu.h"

namespace silta::testing {

// A 14-year-old (test code, individual number 960).
inline const std::string kHetu = testing::TestHetu(14, 960);

// A referral with education, social welfare and mental health fields:
// recipients get each field only as their consents allow.
inline v1::Referral MixedReferral() {
  v1::Referral r;
  r.set_education_employment("9th grade, absent often");
  r.set_support_needs("needs a support person");
  r.set_mental_health_notes("psychiatric nurse's assessment");
  return r;
}

// One running siltad with keys, a case and consents, as the orgs see it.
class World {
 public:
  // `listen_address`: a fixed port keeps siltad's address across restarts;
  // `conninfo` (PostgreSQL): a database of the test's own making.
  explicit World(const std::string& name, std::string listen_address = "127.0.0.1:0",
                 std::string conninfo = "") {
    setup_.dir = MakeTempDir(name);
    setup_.listen_address = std::move(listen_address);
    setup_.conninfo = std::move(conninfo);
    setup_.extra_config = "routing { ack_timeout_seconds: 1 }\n";
    Restart();
  }

  void Restart() {
    siltad_.reset();
    siltad_ = StartSiltad(setup_);
  }
  // Changes the setup (a limit, say), then restarts siltad with it.
  void Reconfigure(const std::function<void(SiltadSetup&)>& change) {
    change(setup_);
    Restart();
  }
  void Kill() {
    siltad_->Signal(SIGKILL);
    siltad_->WaitForExit(absl::Seconds(10)).IgnoreError();
  }
  SiltadProcess& siltad() { return *siltad_; }
  const SiltadSetup& setup() const { return setup_; }

  // Runs siltactl as `org` against this siltad, with `input` on stdin.
  CommandResult Siltactl(const std::string& org, std::vector<std::string> args,
                         const std::string& input = "") {
    std::vector<std::string> argv = {SILTACTL_PATH,     "--address",     address(),   "--cert",
                                     OrgCert(org),      "--key",         OrgKey(org), "--ca",
                                     PkiPath("ca.pem"), "--server-name", "localhost", "--crl-dir",
                                     PkiPath("crl")};
    if (std::filesystem::exists(OrgSignerCert(org))) {  // agencies have a bundle signer
      argv.insert(argv.end(), {"--signer-cert", OrgSignerCert(org), "--signer-key",
                               OrgSignerKey(org)});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    // No developer's own ~/.config/silta/siltactl.toml changes what is tested.
    return RunCommandWithInput(argv, input, {"XDG_CONFIG_HOME=" + setup_.dir}, absl::Seconds(60));
  }

  // Calls from here on go to the siltad at `address` ("" = this world's
  // own): another instance on the same database.
  void CallVia(std::string address) { via_ = std::move(address); }
  std::string address() const { return via_.empty() ? siltad_->address() : via_; }

  std::shared_ptr<grpc::Channel> Channel(const std::string& org) {
    return ChannelWith(address(), OrgCert(org), OrgKey(org));
  }

  // Creates and publishes keys for `org` (new ones if `rotate`).
  const sdk::OrgKeys& Keys(const std::string& org, bool rotate = false) {
    auto it = keys_.find(org);
    if (it != keys_.end() && !rotate) return it->second;
    if (it != keys_.end()) keys_.erase(it);
    auto keys = sdk::CreateOrgKeys(org, OrgSignerCert(org), OrgSignerKey(org),
                                   absl::Hours(24 * 30), setup_.dir + "/keys-" + org);
    EXPECT_TRUE(keys.ok()) << keys.status();
    grpc::ClientContext context;
    v1::PublishKeyBundleRequest request;
    *request.mutable_bundle() = keys->bundle;
    request.mutable_acting_user()->set_worker_id("it");
    v1::PublishKeyBundleResponse response;
    const grpc::Status status =
        v1::KeyService::NewStub(Channel(org))->PublishKeyBundle(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(sdk::SetCurrentKeyId(setup_.dir + "/keys-" + org, keys->bundle.key_id()).ok());
    return keys_.emplace(org, *std::move(keys)).first->second;
  }

  std::string OpenCase(const std::string& coordinator, const std::vector<std::string>& members,
                       const std::string& hetu = kHetu) {
    grpc::ClientContext context;
    v1::CreateCaseRequest request;
    request.mutable_subject()->set_hetu(hetu);
    request.set_purpose("referral");
    request.set_coordinator_worker_id("w1");
    for (const auto& m : members) request.add_member_org_ids(m);
    request.mutable_acting_user()->set_worker_id("w1");
    v1::CreateCaseResponse response;
    const grpc::Status status =
        v1::CaseService::NewStub(Channel(coordinator))->CreateCase(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.case_().case_id();
  }

  std::string Consent(v1::Category category, const std::string& recipient,
                      const std::string& hetu = kHetu) {
    grpc::ClientContext context;
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(v1::GUARDIAN);
    c->add_purposes("referral");
    c->add_categories(category);
    c->add_recipients()->set_org_id(recipient);
    AnySender(c->mutable_disclosers());
    *c->mutable_valid_until() = common::ToTimestamp(absl::Now() + absl::Hours(24 * 30));
    c->set_evidence_ref("form-1");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordConsentResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(Channel("wba-registrar"))
                                    ->RecordConsent(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.consent().consent_id();
  }

  // Every organisation kind, as the disclosers of a consent that does not
  // care who sends.
  static void AnySender(google::protobuf::RepeatedPtrField<v1::Recipient>* disclosers) {
    for (int k = 1; v1::OrgKind_IsValid(k); ++k) {
      disclosers->Add()->set_org_kind(static_cast<v1::OrgKind>(k));
    }
  }

  // A consent with everything chosen by the caller (the registrar records
  // it); `disclosers` are org ids, empty meaning every kind of sender.
  std::string ConsentTo(const std::string& hetu, const std::vector<v1::Category>& categories,
                        const std::string& recipient, const std::vector<std::string>& purposes,
                        v1::GrantorKind grantor = v1::GUARDIAN,
                        absl::Duration valid_for = absl::Hours(24 * 30),
                        const std::vector<std::string>& disclosers = {}) {
    grpc::ClientContext context;
    v1::RecordConsentRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Consent* c = request.mutable_consent();
    c->set_grantor(grantor);
    for (const auto& p : purposes) c->add_purposes(p);
    for (v1::Category category : categories) c->add_categories(category);
    c->add_recipients()->set_org_id(recipient);
    for (const auto& d : disclosers) c->add_disclosers()->set_org_id(d);
    if (disclosers.empty()) AnySender(c->mutable_disclosers());
    *c->mutable_valid_until() = common::ToTimestamp(absl::Now() + valid_for);
    c->set_evidence_ref("form-1");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordConsentResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(Channel("wba-registrar"))
                                    ->RecordConsent(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.consent().consent_id();
  }

  // The registrar records that the young person is competent to decide on
  // `categories` for `purposes` (assessed an hour ago).
  std::string Assess(const std::string& hetu, const std::vector<v1::Category>& categories,
                     const std::vector<std::string>& purposes) {
    grpc::ClientContext context;
    v1::RecordCompetenceAssessmentRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::CompetenceAssessment* a = request.mutable_assessment();
    for (v1::Category category : categories) a->add_categories(category);
    for (const auto& p : purposes) a->add_purposes(p);
    a->mutable_assessed_by()->set_worker_id("dr-assessor");
    *a->mutable_assessed_at() = common::ToTimestamp(absl::Now() - absl::Hours(1));
    a->set_evidence_ref("assessment-1");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordCompetenceAssessmentResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(Channel("wba-registrar"))
                                    ->RecordCompetenceAssessment(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.assessment().assessment_id();
  }

  // A refusal of `categories` to `recipient` (the registrar records it).
  std::string Refuse(const std::string& hetu, const std::vector<v1::Category>& categories,
                     const std::string& recipient) {
    grpc::ClientContext context;
    v1::RecordRefusalRequest request;
    request.mutable_subject()->set_hetu(hetu);
    v1::Refusal* r = request.mutable_refusal();
    r->set_grantor(v1::GUARDIAN);
    for (v1::Category category : categories) r->add_categories(category);
    r->add_recipients()->set_org_id(recipient);
    r->set_evidence_ref("form-2");
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::RecordRefusalResponse response;
    const grpc::Status status = v1::ConsentService::NewStub(Channel("wba-registrar"))
                                    ->RecordRefusal(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.refusal().refusal_id();
  }

  // The coordinator adds `org` to the case.
  void AddMember(const std::string& coordinator, const std::string& case_id,
                 const std::string& org) {
    grpc::ClientContext context;
    v1::AddMemberRequest request;
    request.set_case_id(case_id);
    request.set_org_id(org);
    request.mutable_acting_user()->set_worker_id("w1");
    v1::AddMemberResponse response;
    const grpc::Status status =
        v1::CaseService::NewStub(Channel(coordinator))->AddMember(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The audit tests' story: police-hame opens a case with wba-social and
  // hml-youth; a consent lets hml-youth have education data; a referral
  // with a psychiatric note goes to hml-youth (the note withheld), which
  // acks it; a child-welfare notification under lsl_25 goes to
  // wba-social, which receives and acks it if `deliver_notification`.
  struct AuditStory {
    std::string case_id;
    std::string notification_id;
  };
  AuditStory TellAuditStory(bool deliver_notification) {
    AuditStory story;
    for (const char* org : {"police-hame", "wba-social", "hml-youth"}) Keys(org);
    story.case_id = OpenCase("police-hame", {"wba-social", "hml-youth"});
    Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
    v1::Referral referral;
    referral.set_education_employment("9th grade");
    referral.set_mental_health_notes("psychiatric nurse's assessment");
    v1::SendResponse sent;
    EXPECT_TRUE(
        Send("police-hame", Seal("police-hame", story.case_id, referral, {"hml-youth"}), &sent)
            .ok());
    std::optional<v1::Delivery> delivery = Receive("hml-youth");
    EXPECT_TRUE(delivery.has_value());
    if (delivery.has_value()) {
      EXPECT_TRUE(Ack("hml-youth", delivery->delivery_id()).ok());
    }
    v1::ChildWelfareNotification notification;
    notification.set_concern("the child was found alone at night");
    notification.set_urgent(true);
    EXPECT_TRUE(Send("police-hame",
                     Seal("police-hame", story.case_id, notification, {"wba-social"}, "lsl_25",
                          "police patrol report 4711"),
                     &sent)
                    .ok());
    story.notification_id = sent.receipt().message_id();
    if (deliver_notification) {
      delivery = Receive("wba-social");
      EXPECT_TRUE(delivery.has_value());
      if (delivery.has_value()) {
        EXPECT_TRUE(Ack("wba-social", delivery->delivery_id()).ok());
      }
    }
    return story;
  }

  // The admin suspends `org` (its open streams end).
  void Suspend(const std::string& org) {
    grpc::ClientContext context;
    v1::SetOrgStateRequest request;
    request.set_org_id(org);
    request.mutable_acting_user()->set_worker_id("admin-1");
    v1::SetOrgStateResponse response;
    ASSERT_TRUE(v1::OrgService::NewStub(Channel("silta-admin"))
                    ->SuspendOrg(&context, request, &response)
                    .ok());
  }

  void Withdraw(const std::string& consent_id) {
    grpc::ClientContext context;
    v1::WithdrawConsentRequest request;
    request.set_record_id(consent_id);
    request.mutable_acting_user()->set_worker_id("registrar");
    v1::WithdrawConsentResponse response;
    ASSERT_TRUE(v1::ConsentService::NewStub(Channel("wba-registrar"))
                    ->WithdrawConsent(&context, request, &response)
                    .ok());
  }

  // Preview, then seal only permitted pairs, as the SDK user would.
  v1::SealedMessage Seal(const std::string& sender, const std::string& case_id,
                         const google::protobuf::Message& payload,
                         const std::vector<std::string>& recipients,
                         const std::string& statutory_basis = "",
                         const std::string& justification = "",
                         const std::string& purpose = "referral",
                         const std::string& reply_to = "",
                         const std::string& subject_hetu = "") {
    v1::PreviewDisclosureRequest preview;
    preview.set_case_id(case_id);
    if (!subject_hetu.empty()) preview.mutable_subject()->set_hetu(subject_hetu);
    preview.set_purpose(purpose);
    preview.set_statutory_basis(statutory_basis);
    preview.set_reply_to(reply_to);
    preview.set_payload_type(payload.GetDescriptor()->full_name());
    preview.set_has_justification(!justification.empty());
    for (const auto& r : recipients) preview.add_recipient_org_ids(r);
    std::vector<const google::protobuf::FieldDescriptor*> set;
    payload.GetReflection()->ListFields(payload, &set);
    for (const auto* f : set) {
      v1::DraftField* field = preview.add_fields();
      field->set_path(f->name());
      field->set_category(f->options().GetExtension(v1::category));
    }
    grpc::ClientContext context;
    v1::PreviewDisclosureResponse decisions;
    EXPECT_TRUE(v1::ConsentService::NewStub(Channel(sender))
                    ->PreviewDisclosure(&context, preview, &decisions)
                    .ok());
    auto permitted = std::make_shared<absl::flat_hash_set<std::string>>();
    for (const auto& d : decisions.decisions()) {
      if (d.verdict() == v1::PERMIT) permitted->insert(d.recipient_org_id() + "/" + d.field_path());
    }
    const sdk::SenderKeys sender_keys = Keys(sender).AsSender();
    std::vector<sdk::RecipientPublicKey> keys;
    for (const auto& r : recipients) {
      const sdk::OrgKeys& k = Keys(r);
      keys.push_back({r, k.bundle.key_id(), k.bundle.hpke_public_key()});
    }
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(absl::Now()));
    header.set_case_id(case_id);
    header.mutable_acting_user()->set_worker_id("officer-12");
    header.set_purpose(purpose);
    header.set_statutory_basis(statutory_basis);
    header.set_reply_to(reply_to);
    *header.mutable_created_at() = common::ToTimestamp(absl::Now());
    auto sealed = sdk::SealPayload(
        payload, header, sender_keys, keys,
        [permitted](absl::string_view r, absl::string_view path) {
          return permitted->contains(absl::StrCat(r, "/", path));
        },
        justification, sdk::SystemRandom());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }

  // `subject_hetu`: the person of a notification sent outside a case.
  grpc::Status Send(const std::string& sender, const v1::SealedMessage& m,
                    v1::SendResponse* response, const std::string& subject_hetu = "") {
    grpc::ClientContext context;
    v1::SendRequest request;
    *request.mutable_message() = m;
    if (!subject_hetu.empty()) request.mutable_subject()->set_hetu(subject_hetu);
    return v1::MessageService::NewStub(Channel(sender))->Send(&context, request, response);
  }

  // Subscribes as `org` and returns the first delivery (or nullopt after `wait`).
  std::optional<v1::Delivery> Receive(const std::string& org,
                                      absl::Duration wait = absl::Seconds(5)) {
    auto stub = v1::MessageService::NewStub(Channel(org));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + wait));
    v1::SubscribeRequest request;
    request.set_ack_timeout_seconds(1);
    auto reader = stub->Subscribe(&context, request);
    v1::Delivery delivery;
    const bool got = reader->Read(&delivery);
    context.TryCancel();
    reader->Finish().IgnoreError();
    if (!got) return std::nullopt;
    return delivery;
  }

  // Subscribes with `org`'s SDK client until `n` deliveries carrying a
  // message have come (at most 5 s), acking none; returns their ids.
  std::vector<std::string> TakeDeliveryIds(const std::string& org, size_t n) {
    std::vector<std::string> ids;
    auto client = Client(org);
    if (client == nullptr) return ids;
    const absl::Status status = client->Subscribe(
        [&](const v1::Delivery& d) {
          if (d.has_message()) ids.push_back(d.delivery_id());
          return ids.size() < n;
        },
        absl::Seconds(30), absl::Seconds(5));
    EXPECT_TRUE(status.ok()) << status;
    return ids;
  }

  grpc::Status Ack(const std::string& org, const std::string& delivery_id) {
    grpc::ClientContext context;
    v1::AckRequest request;
    request.set_delivery_id(delivery_id);
    v1::AckResponse response;
    return v1::MessageService::NewStub(Channel(org))->Ack(&context, request, &response);
  }

  v1::GetMessageStatusResponse Status(const std::string& sender, const std::string& message_id) {
    grpc::ClientContext context;
    v1::GetMessageStatusRequest request;
    request.set_message_id(message_id);
    v1::GetMessageStatusResponse response;
    EXPECT_TRUE(v1::MessageService::NewStub(Channel(sender))
                    ->GetMessageStatus(&context, request, &response)
                    .ok());
    return response;
  }

  // An SDK client for `org` with its current keys.
  std::unique_ptr<sdk::SiltaClient> Client(const std::string& org) {
    sdk::SiltaClient::Options options;
    options.connection.address = address();
    options.connection.cert_file = OrgCert(org);
    options.connection.key_file = OrgKey(org);
    options.connection.ca_file = PkiPath("ca.pem");
    options.connection.server_name = "localhost";
    options.trust_domain = "silta.test";
    options.crl_directory = PkiPath("crl");
    options.keys_dir = setup_.dir + "/keys-" + org;
    options.current_key_id = Keys(org).bundle.key_id();
    auto client = sdk::SiltaClient::Create(options, org);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  // Opens a delivery with the recipient's keys, verifying the sender's bundle signature key.
  absl::StatusOr<sdk::OpenedMessage> Open(const std::string& sender, const std::string& org,
                                          const v1::Delivery& d, google::protobuf::Message* out) {
    return sdk::OpenMessage(d.message(), Keys(sender).bundle.signing_public_key(),
                            Keys(org).AsRecipient(), out);
  }

 private:
  SiltadSetup setup_;
  std::unique_ptr<SiltadProcess> siltad_;
  std::string via_;
  std::map<std::string, sdk::OrgKeys> keys_;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_INTEGRATION_WORLD_H_
