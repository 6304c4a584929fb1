// The SDK's typed clients against a real siltad over mutual TLS: a
// rate-limited call waits as long as siltad says and then succeeds; a wait
// longer than the client accepts comes back at once; pagers walk every
// page and stop at an error.
#include <csignal>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "client/sdk/audit_client.h"
#include "client/sdk/broker_client.h"
#include "client/sdk/case_client.h"
#include "client/sdk/connection.h"
#include "client/sdk/org_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/retry_after.h"
#include "silta/v1/broker.grpc.pb.h"
#include "tests/integration/siltad_fixture.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const sdk::Connection> ConnectAs(const SiltadProcess& siltad,
                                                 const std::string& org,
                                                 sdk::RetryPolicy retry = {}) {
  sdk::ConnectionOptions options;
  options.address = siltad.address();
  options.cert_file = OrgCert(org);
  options.key_file = OrgKey(org);
  options.ca_file = PkiPath("ca.pem");
  options.server_name = "localhost";
  options.retry = retry;
  absl::StatusOr<std::shared_ptr<const sdk::Connection>> connection =
      sdk::Connection::Open(options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  return connection.ok() ? *connection : nullptr;
}

// Issue #16: a client given several instances uses the first that answers
// and fails over to the next when it stops, without a new connection.
TEST(SdkClientsTest, AClientGivenSeveralInstancesFailsOverWhenOneStops) {
  SiltadSetup first_setup, second_setup;
  first_setup.dir = MakeTempDir("sdk-failover-a");
  second_setup.dir = MakeTempDir("sdk-failover-b");
  std::unique_ptr<SiltadProcess> first = StartSiltad(first_setup);
  std::unique_ptr<SiltadProcess> second = StartSiltad(second_setup);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  sdk::ConnectionOptions options;
  options.address = first->address() + "," + second->address();
  options.cert_file = OrgCert("hml-youth");
  options.key_file = OrgKey("hml-youth");
  options.ca_file = PkiPath("ca.pem");
  options.server_name = "localhost";
  absl::StatusOr<std::shared_ptr<const sdk::Connection>> connection =
      sdk::Connection::Open(options);
  ASSERT_TRUE(connection.ok()) << connection.status();
  const sdk::BrokerClient broker(*connection);
  ASSERT_TRUE(broker.WhoAmI().ok());

  first->Signal(SIGKILL);
  ASSERT_TRUE(first->WaitForExit(absl::Seconds(10)).ok());

  absl::StatusOr<v1::WhoAmIResponse> me = broker.WhoAmI();
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->org().org_id(), "hml-youth");
}

TEST(SdkClientsTest, ARateLimitedCallWaitsAsLongAsSiltadSaysThenSucceeds) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("sdk-rate");
  setup.calls_per_second_per_org = 2;
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);

  // Without the SDK: the refusal names the wait in its trailer.
  auto raw = v1::BrokerService::NewStub(
      ChannelWith(siltad->address(), OrgCert("hml-youth"), OrgKey("hml-youth")));
  grpc::Status refused;
  std::string retry_after;
  for (int i = 0; i < 20 && refused.ok(); ++i) {
    grpc::ClientContext context;
    v1::WhoAmIResponse response;
    refused = raw->WhoAmI(&context, v1::WhoAmIRequest(), &response);
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find(common::kRetryAfterMetadata); it != trailers.end()) {
      retry_after.assign(it->second.data(), it->second.size());
    }
  }
  ASSERT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(retry_after, "500") << "one call's refill at 2 calls a second";

  // With the SDK: every call succeeds, the later ones after waiting.
  const sdk::BrokerClient broker(ConnectAs(*siltad, "hml-youth"));
  const absl::Time start = absl::Now();
  for (int i = 0; i < 6; ++i) {
    absl::StatusOr<v1::WhoAmIResponse> me = broker.WhoAmI();
    ASSERT_TRUE(me.ok()) << "call " << i << ": " << me.status();
    EXPECT_EQ(me->org().org_id(), "hml-youth");
  }
  // The bucket was empty: 6 calls at 2 a second need at least 2.5 s.
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(2500));
}

TEST(SdkClientsTest, AWaitLongerThanTheClientAcceptsComesBackAtOnce) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("sdk-hetu-quota");
  setup.hetu_calls_per_hour_per_org = 1;  // the next one in an hour
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  const sdk::CaseClient cases(ConnectAs(*siltad, "police-hame"));
  v1::CheckExistingCaseRequest request;
  request.mutable_subject()->set_hetu("020412E960K");  // a test code (9xx)
  request.set_purpose("referral");
  request.mutable_acting_user()->set_worker_id("w1");
  // Without a consent the answer is PERMISSION_DENIED (issue #13 §7), but
  // the call is counted all the same.
  ASSERT_EQ(cases.CheckExistingCase(request).status().code(), absl::StatusCode::kPermissionDenied);

  const absl::Time start = absl::Now();
  absl::StatusOr<v1::CheckExistingCaseResponse> second = cases.CheckExistingCase(request);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(second.status().message(), HasSubstr("retry later, after at least 1h"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "an hour is beyond max_retry_after";
}

TEST(SdkClientsTest, PagersWalkEveryPageInOrder) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("sdk-pager");
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  std::shared_ptr<const sdk::Connection> admin = ConnectAs(*siltad, "silta-admin");
  const sdk::OrgClient orgs(admin);

  std::vector<std::string> ids;
  for (uint32_t page_size : {1000u, 2u}) {
    v1::ListOrgsRequest request;
    request.set_page_size(page_size);
    sdk::Pager<v1::Organization> pager = orgs.ListOrgs(request);
    std::vector<std::string> seen;
    v1::Organization org;
    while (pager.Next(&org)) seen.push_back(org.org_id());
    ASSERT_TRUE(pager.status().ok()) << pager.status();
    if (ids.empty()) {
      ids = seen;
      EXPECT_GT(ids.size(), 4u);
    } else {
      EXPECT_EQ(seen, ids) << "pages of 2 give the same orgs in the same order";
    }
  }

  // The registry's loading left entries in the audit log; an auditor reads
  // them 3 at a time, in log order, starting where it asks.
  const sdk::AuditClient audit(ConnectAs(*siltad, "wba-dpo"));
  v1::QueryEntriesRequest request;
  request.set_page_size(3);
  request.set_page_token("1");
  sdk::Pager<v1::AuditEntry> entries = audit.QueryEntries(request);
  v1::AuditEntry entry;
  uint64_t expected = 1;
  while (entries.Next(&entry)) EXPECT_EQ(entry.index(), expected++);
  ASSERT_TRUE(entries.status().ok()) << entries.status();
  EXPECT_GT(expected, 7u) << "more than two pages";
}

TEST(SdkClientsTest, AFailedPageStopsThePagerWithItsError) {
  SiltadSetup setup;
  setup.dir = MakeTempDir("sdk-pager-error");
  std::unique_ptr<SiltadProcess> siltad = StartSiltad(setup);
  ASSERT_NE(siltad, nullptr);
  // An agency may not list the registry.
  const sdk::OrgClient orgs(ConnectAs(*siltad, "hml-youth"));
  sdk::Pager<v1::Organization> pager = orgs.ListOrgs(v1::ListOrgsRequest());
  v1::Organization org;
  EXPECT_FALSE(pager.Next(&org));
  EXPECT_EQ(pager.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_FALSE(pager.Next(&org)) << "and stays stopped";
}

}  // namespace
}  // namespace silta::testing
