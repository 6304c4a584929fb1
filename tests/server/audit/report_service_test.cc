// ReportService::SubjectReport over a real store: only a registrar of the
// person's own wellbeing area produces the report (issue #13 §6), and a
// registrar elsewhere learns nothing, not even whether Silta holds data.
#include "server/audit/reports.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::audit {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::kYouth15;
using ::silta::testing::kYouth17;
using ::silta::testing::MakeOrg;
using ::silta::testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Property;

constexpr char kHame[] = "kanta-hame";
constexpr char kOulu[] = "pohjois-pohjanmaa";

v1::Organization InRegion(v1::Organization org, const std::string& region) {
  org.set_region(region);
  return org;
}

class ReportServiceTest : public silta::testing::RegistryFixture {
 protected:
  void SetUp() override {
    RegistryFixture::SetUp();
    v1::OrgRegistryFile seed;
    for (const v1::Organization& org :
         {InRegion(MakeOrg("police-hame", v1::POLICE), kHame),
          InRegion(MakeOrg("wba-social", v1::WELLBEING_AREA), kHame),
          InRegion(MakeOrg("wba-registrar", v1::WELLBEING_AREA, v1::CONSENT_REGISTRAR), kHame),
          InRegion(MakeOrg("oulu-social", v1::WELLBEING_AREA), kOulu),
          InRegion(MakeOrg("oulu-registrar", v1::WELLBEING_AREA, v1::CONSENT_REGISTRAR), kOulu),
          MakeOrg("registrar-nowhere", v1::WELLBEING_AREA, v1::CONSENT_REGISTRAR)}) {
      *seed.add_orgs() = org;
    }
    ASSERT_THAT(orgs_->ApplySeed(seed).status(), IsOk());
    reports_ = std::make_unique<ReportService>(store_.get(), refs_.get(), policy_.get(),
                                               orgs_.get(), [this] { return now_; });
  }

  absl::StatusOr<v1::SubjectReportResponse> Report(const std::string& registrar,
                                                   const std::string& hetu) {
    v1::SubjectReportRequest request;
    request.mutable_subject()->set_hetu(hetu);
    request.set_requester(v1::REQUESTER_SUBJECT);
    *request.mutable_acting_user() = Worker("registrar-1");
    return reports_->SubjectReport(As(registrar), request);
  }

  std::unique_ptr<ReportService> reports_;
};

TEST_F(ReportServiceTest, OnlyTheRegistrarOfAnAreaWhoseOrganisationsProcessedTheData) {
  OpenCase("police-hame", kYouth15, {"wba-social"});
  EXPECT_THAT(Report("wba-registrar", kYouth15).status(), IsOk());

  const absl::StatusOr<v1::SubjectReportResponse> elsewhere = Report("oulu-registrar", kYouth15);
  EXPECT_THAT(elsewhere.status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       AllOf(HasSubstr(kOulu), HasSubstr("703/2023"), Not(HasSubstr(kHame)))));
  // A person with no data at all gets the same answer: a registrar
  // elsewhere cannot tell the two apart.
  const absl::StatusOr<v1::SubjectReportResponse> nothing = Report("oulu-registrar", kYouth17);
  EXPECT_EQ(nothing.status(), elsewhere.status());

  // The person sees the attempt in the report their own area produces.
  const absl::StatusOr<v1::SubjectReportResponse> report = Report("wba-registrar", kYouth15);
  ASSERT_THAT(report.status(), IsOk());
  EXPECT_THAT(report->events(),
              Contains(AllOf(Property(&v1::ReportEvent::type, v1::ACCESS_REFUSED),
                             Property(&v1::ReportEvent::by_org, "Org oulu-registrar"),
                             Property(&v1::ReportEvent::detail, HasSubstr("not_subjects_area")))));
}

TEST_F(ReportServiceTest, AnAreaThatTakesPartLaterMayProduceItToo) {
  const v1::Case c = OpenCase("police-hame", kYouth15, {"wba-social"});
  ASSERT_THAT(Report("oulu-registrar", kYouth15).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // The young person moves to Oulu, and Oulu's social services join the case.
  v1::AddMemberRequest add;
  add.set_case_id(c.case_id());
  add.set_org_id("oulu-social");
  *add.mutable_acting_user() = Worker();
  ASSERT_THAT(cases_->AddMember(As("police-hame"), add).status(), IsOk());
  EXPECT_THAT(Report("oulu-registrar", kYouth15).status(), IsOk());
  EXPECT_THAT(Report("wba-registrar", kYouth15).status(), IsOk());
}

TEST_F(ReportServiceTest, AskingWhetherACaseExistsDoesNotMakeAnAreaThePersons) {
  OpenCase("police-hame", kYouth15, {"wba-social"});
  v1::CheckExistingCaseRequest check;
  check.mutable_subject()->set_hetu(kYouth15);
  check.set_purpose("service_coordination");
  *check.mutable_acting_user() = Worker();
  // Refused (no basis), and recorded with oulu-social as the actor.
  ASSERT_THAT(cases_->CheckExistingCase(As("oulu-social"), check).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(Report("oulu-registrar", kYouth15).status(),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(ReportServiceTest, ARegistrarWithoutARegionIsToldToHaveOneSet) {
  OpenCase("police-hame", kYouth15, {"wba-social"});
  EXPECT_THAT(Report("registrar-nowhere", kYouth15).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("no region"), HasSubstr("registry file"))));
}

}  // namespace
}  // namespace silta::audit
