// Per-organisation call limits over a real siltad: an organisation over its
// calls per second gets RESOURCE_EXHAUSTED while others are served, and a
// client hammering with a suspended certificate gets every call answered
// but only a few refusals a second into the audit log.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/audit.grpc.pb.h"
#include "silta/v1/broker.grpc.pb.h"
#include "silta/v1/case.grpc.pb.h"
#include "tests/integration/siltad_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

grpc::Status WhoAmI(v1::BrokerService::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WhoAmIResponse response;
  return stub.WhoAmI(&context, v1::WhoAmIRequest(), &response);
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(RateLimitTest, AnOrgOverItsLimitIsRefusedAndOthersAreServed) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("rate-limit");
  setup.calls_per_second_per_org = 5;
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  auto youth = v1::BrokerService::NewStub(
      ChannelWith(siltad->address(), OrgCert("hml-youth"), OrgKey("hml-youth")));

  int served = 0;
  grpc::Status refused;
  for (int i = 0; i < 50 && refused.ok(); ++i) {
    const grpc::Status status = WhoAmI(*youth);
    if (status.ok()) {
      ++served;
    } else {
      refused = status;
    }
  }

  EXPECT_GE(served, 5) << "the burst is served";
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_THAT(refused.error_message(),
              HasSubstr("hml-youth made more than 5 calls per second; retry later"));
  auto police = v1::BrokerService::NewStub(
      ChannelWith(siltad->address(), OrgCert("police-hame"), OrgKey("police-hame")));
  EXPECT_TRUE(WhoAmI(*police).ok());
}

// Issue #12 item 8: walking the HETU space with CheckExistingCase stops at
// a small hourly quota, with an alert before it and evidence after.
TEST(RateLimitTest, HetuLookupsHaveTheirOwnSmallQuota) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("rate-limit-hetu");
  setup.hetu_calls_per_hour_per_org = 5;
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  const auto check = [&](const std::string& org, const std::string& hetu) {
    grpc::ClientContext context;
    v1::CheckExistingCaseRequest request;
    request.mutable_subject()->set_hetu(hetu);
    request.set_purpose("referral");
    request.mutable_acting_user()->set_worker_id("w1");
    v1::CheckExistingCaseResponse response;
    return v1::CaseService::NewStub(
               ChannelWith(siltad->address(), OrgCert(org), OrgKey(org)))
        ->CheckExistingCase(&context, request, &response);
  };
  // Test codes (individual numbers 900-999) walked one by one.
  const std::vector<std::string> hetus = {"020412E960K", "010311D950J", "150609B934Y",
                                          "020412E960K", "010311D950J", "150609B934Y"};
  // Without consent each is answered PERMISSION_DENIED (issue #13 §7), but
  // each still counts: the quota is on asking.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(check("hml-youth", hetus[i]).error_code(), grpc::StatusCode::PERMISSION_DENIED) << i;
  }
  const grpc::Status over = check("hml-youth", hetus[5]);

  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  EXPECT_THAT(over.error_message(), HasSubstr("calls with a personal identity code this hour"));
  EXPECT_EQ(check("wba-social", hetus[0]).error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << "other organisations keep theirs";
  EXPECT_TRUE(siltad->WaitForLog("hetu_quota_near", absl::Seconds(5)));
  EXPECT_THAT(siltad->Log(), Not(HasSubstr("020412E960K")));
  // The refusal is evidence.
  grpc::ClientContext context;
  v1::QueryEntriesRequest query;
  query.add_types(v1::ACCESS_REFUSED);
  query.set_org_id("hml-youth");
  v1::QueryEntriesResponse entries;
  ASSERT_TRUE(v1::AuditService::NewStub(
                  ChannelWith(siltad->address(), OrgCert("wba-dpo"), OrgKey("wba-dpo")))
                  ->QueryEntries(&context, query, &entries)
                  .ok());
  ASSERT_EQ(entries.entries_size(), 1);
  EXPECT_THAT(entries.entries(0).detail(), HasSubstr("CheckExistingCase hetu_quota"));
  // And the alert is a metric.
  EXPECT_THAT(ScrapeMetrics(*siltad), HasSubstr("siltad_hetu_quota_alerts_total 1"));
}

TEST(RateLimitTest, AHammeringSuspendedOrgCannotFloodTheAuditLog) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("rate-limit-flood");
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);  // the default limit
  ASSERT_NE(siltad, nullptr);
  auto suspended = v1::BrokerService::NewStub(ChannelWith(
      siltad->address(), PkiPath("test/suspended-ngo.pem"), PkiPath("test/suspended-ngo.key")));

  constexpr int kCalls = 300;
  int permission_denied = 0;
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    permission_denied += WhoAmI(*suspended).error_code() == grpc::StatusCode::PERMISSION_DENIED;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);

  EXPECT_EQ(permission_denied, kCalls) << "every call is answered, and refused";
  const CommandResult r = RunCommand(
      {SILTACTL_PATH, "--address", siltad->address(), "--server-name", "localhost", "--ca",
       PkiPath("ca.pem"), "--cert", OrgCert("wba-dpo"), "--key", OrgKey("wba-dpo"), "--json",
       "audit", "query", "--org", "suspended-ngo", "--type", "ACCESS_REFUSED"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const int recorded = Count(r.output, "\"type\":\"ACCESS_REFUSED\"");
  EXPECT_GE(recorded, 10);
  // A burst of 10, then 5 a second.
  EXPECT_LE(recorded, 10 + static_cast<int>(5 * seconds) + 2) << seconds << " s";
  EXPECT_LE(Count(siltad->Log(), "\"org_id\":\"suspended-ngo\""), recorded + 2);
}

}  // namespace
}  // namespace silta::testing
