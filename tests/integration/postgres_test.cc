// siltad on PostgreSQL survives its database (issue #16): while PostgreSQL
// is down siltad reports NOT_SERVING and calls get UNAVAILABLE; once it is
// back siltad serves again by itself, without a restart, and what it had
// accepted before is still there.
#include <cstdlib>
#include <filesystem>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "silta/v1/case.grpc.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/test_hetu.h"
#include "tests/testing/test_store.h"

namespace silta::testing {
namespace {

using HealthStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

class PostgresSiltadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SILTA_TEST_STORE", "postgres", 1);  // WriteSiltadConfig: store { postgres {...} }
    setup_.dir = MakeTempDir("pg-siltad");
    siltad_ = StartSiltad(setup_);
    ASSERT_NE(siltad_, nullptr);
    ASSERT_NE(TestPostgresServer(), nullptr);
  }
  void TearDown() override {
    if (TestPostgresServer() != nullptr) (void)TestPostgresServer()->Resume();
  }

  HealthStatus Health() {
    auto health = grpc::health::v1::Health::NewStub(
        ChannelWith(siltad_->address(), OrgCert("silta-admin"), OrgKey("silta-admin")));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status =
        health->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
    return status.ok() ? response.status() : grpc::health::v1::HealthCheckResponse::UNKNOWN;
  }
  // Polls until the health is `want` (the store is checked every second).
  bool HealthBecomes(HealthStatus want) {
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (absl::Now() < deadline) {
      if (Health() == want) return true;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }
  grpc::Status CreateCase(const std::string& hetu, v1::CreateCaseResponse* created) {
    auto cases = v1::CaseService::NewStub(
        ChannelWith(siltad_->address(), OrgCert("police-hame"), OrgKey("police-hame")));
    v1::CreateCaseRequest create;
    create.mutable_subject()->set_hetu(hetu);
    create.set_purpose("service_coordination");
    create.set_coordinator_worker_id("officer-12");
    create.add_member_org_ids("wba-social");
    create.mutable_acting_user()->set_worker_id("officer-12");
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return cases->CreateCase(&context, create, created);
  }
  std::vector<std::string> OpenCaseIds() {
    auto cases = v1::CaseService::NewStub(
        ChannelWith(siltad_->address(), OrgCert("police-hame"), OrgKey("police-hame")));
    v1::ListCasesRequest request;
    v1::ListCasesResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    const grpc::Status status = cases->ListCases(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const v1::Case& c : response.cases()) ids.push_back(c.case_id());
    return ids;
  }

  SiltadSetup setup_;
  std::unique_ptr<SiltadProcess> siltad_;
};

TEST_F(PostgresSiltadTest, HealthFollowsTheDatabaseAndSiltadResumesByItself) {
  EXPECT_EQ(Health(), grpc::health::v1::HealthCheckResponse::SERVING);
  v1::CreateCaseResponse before;
  ASSERT_TRUE(CreateCase(TestHetu(15, 941), &before).ok());

  ASSERT_TRUE(TestPostgresServer()->Stop().ok());
  EXPECT_TRUE(HealthBecomes(grpc::health::v1::HealthCheckResponse::NOT_SERVING))
      << "still serving with the database down";
  v1::CreateCaseResponse during;
  const grpc::Status refused = CreateCase(TestHetu(16, 942), &during);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();

  ASSERT_TRUE(TestPostgresServer()->Resume().ok());
  EXPECT_TRUE(HealthBecomes(grpc::health::v1::HealthCheckResponse::SERVING))
      << "did not come back without a restart";
  v1::CreateCaseResponse after;
  const grpc::Status created = CreateCase(TestHetu(17, 943), &after);
  EXPECT_TRUE(created.ok()) << created.error_message();
  EXPECT_THAT(OpenCaseIds(),
              ::testing::UnorderedElementsAre(before.case_().case_id(), after.case_().case_id()));
  EXPECT_TRUE(siltad_->WaitForLog("store_unreachable", absl::Seconds(1)));
  EXPECT_TRUE(siltad_->WaitForLog("store_reachable", absl::Seconds(1)));
}

// The conninfo may hold the database password: siltad refuses a file that
// others can read, and says how to fix it.
TEST(PostgresSiltadConfigTest, AConninfoFileOthersCanReadIsRefusedWithFix) {
  ::setenv("SILTA_TEST_STORE", "postgres", 1);
  SiltadSetup setup{MakeTempDir("pg-open-conninfo")};
  const std::string config = WriteSiltadConfig(setup);
  std::filesystem::permissions(setup.dir + "/conninfo", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);

  const CommandResult result =
      RunCommand({SILTAD_PATH, "--config", config, "--check-config"}, {}, absl::Seconds(20));

  EXPECT_NE(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, ::testing::HasSubstr("chmod 600 " + setup.dir + "/conninfo"));
}

}  // namespace
}  // namespace silta::testing
