// Cases and consent over real mTLS against a real siltad: the roles that may
// and may not manage cases and record consent, and a disclosure preview end
// to end. Also checks that no HETU reaches siltad's log.
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/case.grpc.pb.h"
#include "silta/v1/consent.grpc.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/test_hetu.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kHetu = testing::TestHetu(16, 934);  // a 16-year-old (test code)

class CasesConsentTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_ = new SiltadSetup{MakeTempDir("cases-consent")};
    siltad_ = StartSiltad(*setup_).release();
  }
  static void TearDownTestSuite() {
    delete siltad_;
    delete setup_;
  }
  void SetUp() override { ASSERT_NE(siltad_, nullptr); }

  template <typename Service>
  static auto StubAs(const std::string& org_id) {
    return Service::NewStub(ChannelWith(siltad_->address(), OrgCert(org_id), OrgKey(org_id)));
  }
  static void Deadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  static v1::ActingUser Worker(const std::string& id) {
    v1::ActingUser user;
    user.set_worker_id(id);
    return user;
  }

  static SiltadSetup* setup_;
  static SiltadProcess* siltad_;
};

SiltadSetup* CasesConsentTest::setup_ = nullptr;
SiltadProcess* CasesConsentTest::siltad_ = nullptr;

TEST_F(CasesConsentTest, CaseConsentAndPreviewEndToEnd) {
  // Police opens the case and adds social services and youth services.
  auto police_cases = StubAs<v1::CaseService>("police-hame");
  v1::CreateCaseRequest create;
  create.mutable_subject()->set_hetu(kHetu);
  create.set_purpose("service_coordination");
  create.set_coordinator_worker_id("officer-12");
  create.add_member_org_ids("wba-social");
  create.add_member_org_ids("hml-youth");
  *create.mutable_acting_user() = Worker("officer-12");
  v1::CreateCaseResponse created;
  {
    grpc::ClientContext context;
    Deadline(&context);
    const grpc::Status status = police_cases->CreateCase(&context, create, &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // An agency outside the case learns that a case exists and who
  // coordinates it, once the guardian consents to it (issue #13 §7);
  // before, it is not told.
  auto ngo_cases = StubAs<v1::CaseService>("asenne-ry");
  v1::CheckExistingCaseRequest check;
  check.mutable_subject()->set_hetu(kHetu);
  check.set_purpose("service_coordination");
  *check.mutable_acting_user() = Worker("youth-1");
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::CheckExistingCaseResponse found;
    const grpc::Status status = ngo_cases->CheckExistingCase(&context, check, &found);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_FALSE(found.open_case_exists());
  }
  {
    v1::RecordConsentRequest may_learn;
    may_learn.mutable_subject()->set_hetu(kHetu);
    may_learn.mutable_consent()->set_grantor(v1::GUARDIAN);
    may_learn.mutable_consent()->add_purposes("service_coordination");
    may_learn.mutable_consent()->add_categories(v1::CATEGORY_SERVICE_RELATIONSHIP);
    may_learn.mutable_consent()->add_recipients()->set_org_id("asenne-ry");
    may_learn.mutable_consent()->add_disclosers()->set_org_kind(v1::POLICE);
    may_learn.mutable_consent()->mutable_valid_until()->set_seconds(4102444800);  // 2100
    may_learn.mutable_consent()->set_evidence_ref("signed-form-54");
    *may_learn.mutable_acting_user() = Worker("registrar-1");
    grpc::ClientContext context;
    Deadline(&context);
    v1::RecordConsentResponse recorded;
    const grpc::Status status =
        StubAs<v1::ConsentService>("wba-registrar")->RecordConsent(&context, may_learn, &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::CheckExistingCaseResponse found;
    const grpc::Status status = ngo_cases->CheckExistingCase(&context, check, &found);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(found.open_case_exists());
    EXPECT_EQ(found.coordinator_org_id(), "police-hame");
  }

  // Police (an agency, but not a registrar) records consent without scoping
  // it to its case: refused by rule; the registrar records it.
  v1::RecordConsentRequest consent;
  consent.mutable_subject()->set_hetu(kHetu);
  consent.mutable_consent()->set_grantor(v1::GUARDIAN);
  consent.mutable_consent()->add_purposes("service_coordination");
  consent.mutable_consent()->add_categories(v1::CATEGORY_EDUCATION_EMPLOYMENT);
  consent.mutable_consent()->add_recipients()->set_org_id("hml-youth");
  consent.mutable_consent()->add_disclosers()->set_org_kind(v1::POLICE);
  consent.mutable_consent()->mutable_valid_until()->set_seconds(4102444800);  // 2100
  consent.mutable_consent()->set_evidence_ref("signed-form-55");
  *consent.mutable_acting_user() = Worker("registrar-1");
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::RecordConsentResponse response;
    auto youth_consent = StubAs<v1::ConsentService>("hml-youth");
    EXPECT_EQ(youth_consent->RecordConsent(&context, consent, &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext context;
    Deadline(&context);
    v1::RecordConsentResponse response;
    auto registrar = StubAs<v1::ConsentService>("wba-registrar");
    const grpc::Status status = registrar->RecordConsent(&context, consent, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // The preview shows police what each member will get.
  v1::PreviewDisclosureRequest preview;
  preview.set_case_id(created.case_().case_id());
  preview.set_purpose("service_coordination");
  preview.add_recipient_org_ids("hml-youth");
  preview.add_recipient_org_ids("wba-social");
  preview.add_fields()->set_path("education_employment");
  preview.mutable_fields(0)->set_category(v1::CATEGORY_EDUCATION_EMPLOYMENT);
  grpc::ClientContext context;
  Deadline(&context);
  v1::PreviewDisclosureResponse decisions;
  auto police_consent = StubAs<v1::ConsentService>("police-hame");
  ASSERT_TRUE(police_consent->PreviewDisclosure(&context, preview, &decisions).ok());
  ASSERT_EQ(decisions.decisions_size(), 2);
  EXPECT_EQ(decisions.decisions(0).verdict(), v1::PERMIT);
  EXPECT_EQ(decisions.decisions(0).rule(), v1::RULE_CONSENT);
  EXPECT_EQ(decisions.decisions(1).verdict(), v1::DENY);
  EXPECT_EQ(decisions.decisions(1).rule(), v1::RULE_DEFAULT_DENY);

  // Nothing of the HETU reaches the log, not even the date part.
  EXPECT_THAT(siltad_->Log(), Not(HasSubstr(kHetu.substr(0, 6))));
}

TEST_F(CasesConsentTest, AuditorAndRegistrarCannotManageCases) {
  for (const char* org_id : {"wba-dpo", "wba-registrar", "silta-admin"}) {
    auto stub = StubAs<v1::CaseService>(org_id);
    grpc::ClientContext context;
    Deadline(&context);
    v1::ListCasesResponse response;
    EXPECT_EQ(stub->ListCases(&context, v1::ListCasesRequest(), &response).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << org_id;
  }
}

TEST_F(CasesConsentTest, InvalidHetuIsInvalidArgumentWithoutEcho) {
  auto stub = StubAs<v1::ConsentService>("wba-registrar");
  v1::RecordConsentRequest request;
  request.mutable_subject()->set_hetu("150609B934Q");
  *request.mutable_acting_user() = Worker("registrar-1");
  grpc::ClientContext context;
  Deadline(&context);
  v1::RecordConsentResponse response;

  const grpc::Status status = stub->RecordConsent(&context, request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("subject.hetu"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("150609")));
}

}  // namespace
}  // namespace silta::testing
