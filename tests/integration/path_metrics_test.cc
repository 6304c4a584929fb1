// The message path in /metrics, as a broker's operator watches it: the
// backlog per recipient org and the age of its oldest delivery, then
// deliveries, acks and decisions once the recipient has taken and acked
// them; nothing about a person or a case in any series; and the whole
// exposition passes `promtool check metrics` (Debian's prometheus package).
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void ExpectPromtoolAccepts(const std::string& metrics) {
  const CommandResult check = RunCommandWithInput({PROMTOOL_PATH, "check", "metrics"}, metrics);
  EXPECT_EQ(check.exit_code, 0) << "promtool (" PROMTOOL_PATH
                                   ", unpacked by tools/install-deps.sh): "
                                << check.output << "\n"
                                << metrics;
}

// A case of police-hame's with hml-youth, whose consent covers the
// education field; police-hame's client and how it seals a referral.
struct Referrals {
  std::string case_id;
  std::unique_ptr<sdk::SiltaClient> police;
  sdk::SealRequest request;
};

Referrals OpenReferrals(World& world) {
  Referrals r;
  r.case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("hml-youth");
  r.police = world.Client("police-hame");
  r.request = sdk::SealRequest{.case_id = r.case_id,
                               .purpose = "referral",
                               .recipients = {"hml-youth"},
                               .worker_id = "officer-12"};
  return r;
}

TEST(PathMetricsTest, BacklogDeliveriesAcksAndDecisionsShowAndPromtoolAcceptsThem) {
  World world("path-metrics");
  Referrals r = OpenReferrals(world);
  const std::string& case_id = r.case_id;
  sdk::SiltaClient* const police = r.police.get();
  const sdk::SealRequest& request = r.request;
  ASSERT_NE(police, nullptr);
  v1::Referral referral;
  referral.set_education_employment("9th grade");
  referral.set_mental_health_notes("not for the youth services");
  for (int i = 0; i < 2; ++i) {
    auto sealed = police->Seal(referral, request);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    ASSERT_TRUE(police->Send(*sealed).ok());
  }

  std::string metrics = ScrapeMetrics(world.siltad());

  EXPECT_THAT(metrics, HasSubstr("siltad_messages_accepted_total 2\n"));
  EXPECT_THAT(metrics, HasSubstr("siltad_pending_deliveries{recipient_org=\"hml-youth\"} 2\n"));
  EXPECT_THAT(
      metrics,
      HasSubstr("siltad_oldest_pending_delivery_age_seconds{recipient_org=\"hml-youth\"} "));
  EXPECT_THAT(metrics, HasSubstr("siltad_decisions_total{stage=\"send\",verdict=\"PERMIT\","));
  EXPECT_THAT(metrics, HasSubstr("siltad_decisions_total{stage=\"send\",verdict=\"DENY\","));
  EXPECT_THAT(metrics, HasSubstr("siltad_deliveries_total 0\n"));
  ExpectPromtoolAccepts(metrics);

  auto youth = world.Client("hml-youth");
  ASSERT_NE(youth, nullptr);
  const std::vector<std::string> delivery_ids = world.TakeDeliveryIds("hml-youth", 2);
  ASSERT_EQ(delivery_ids.size(), 2u);
  ASSERT_TRUE(youth->AckAll(delivery_ids).ok());

  metrics = ScrapeMetrics(world.siltad());

  EXPECT_THAT(metrics, HasSubstr("siltad_deliveries_total 2\n"));
  EXPECT_THAT(metrics, HasSubstr("siltad_redeliveries_total 0\n"));
  EXPECT_THAT(metrics, HasSubstr("siltad_acks_total 2\n"));
  // Two Sends, the delivery marks and an ack batch: at least four writes,
  // in at most as many commits.
  EXPECT_THAT(metrics, HasSubstr("# TYPE siltad_commit_batch_writes histogram\n"));
  EXPECT_THAT(metrics, HasSubstr("siltad_commit_duration_seconds_bucket{le=\"+Inf\"} "));
  EXPECT_THAT(metrics, Not(HasSubstr("siltad_commit_batch_writes_count 0\n")));
  EXPECT_THAT(metrics, HasSubstr("siltad_decisions_total{stage=\"delivery\",verdict=\"PERMIT\","));
  EXPECT_THAT(metrics, Not(HasSubstr("recipient_org=\"hml-youth\"")))
      << "nothing is left unfinished";
  EXPECT_THAT(metrics, Not(HasSubstr(case_id)));
  EXPECT_THAT(metrics, Not(HasSubstr(kHetu)));
  ExpectPromtoolAccepts(metrics);
}

// Back-pressure (limits.max_sends_in_flight): with room for one Send at a
// time, Sends made at once wait their turn. None is refused or lost, every
// one is delivered, and the waits show in /metrics.
TEST(PathMetricsTest, SendsBeyondTheLimitInFlightWaitTheirTurnAndAllAreDelivered) {
  World world("path-admission");
  world.Reconfigure([](SiltadSetup& setup) { setup.max_sends_in_flight = 1; });
  Referrals r = OpenReferrals(world);
  sdk::SiltaClient* const police = r.police.get();
  const sdk::SealRequest& request = r.request;
  ASSERT_NE(police, nullptr);
  v1::Referral referral;
  referral.set_education_employment("9th grade");
  constexpr int kSenders = 12;
  int sent = 0;
  std::string metrics;
  // Each round makes kSenders Sends at once; one fsync is long enough for
  // the others to arrive while the first is in flight. A few rounds at
  // most, for a machine that answers one before the next arrives.
  for (int round = 0; round < 5; ++round) {
    std::vector<v1::SealedMessage> sealed;
    for (int i = 0; i < kSenders; ++i) {
      auto s = police->Seal(referral, request);
      ASSERT_TRUE(s.ok()) << s.status();
      sealed.push_back(*std::move(s));
    }
    std::vector<absl::Status> results(kSenders);
    std::vector<std::thread> threads;
    for (int i = 0; i < kSenders; ++i) {
      threads.emplace_back([&, i] { results[i] = police->Send(sealed[i]).status(); });
    }
    for (auto& t : threads) t.join();
    for (const absl::Status& status : results) EXPECT_TRUE(status.ok()) << status;
    sent += kSenders;
    metrics = ScrapeMetrics(world.siltad());
    if (!absl::StrContains(metrics, "siltad_sends_waited_total 0\n")) break;
  }

  EXPECT_THAT(metrics, HasSubstr("siltad_sends_waiting 0\n"));
  EXPECT_THAT(metrics, HasSubstr("siltad_sends_waited_total "));
  EXPECT_THAT(metrics, Not(HasSubstr("siltad_sends_waited_total 0\n")));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("siltad_messages_accepted_total ", sent, "\n")));
  ExpectPromtoolAccepts(metrics);
  EXPECT_EQ(world.TakeDeliveryIds("hml-youth", sent).size(), static_cast<size_t>(sent));
}

}  // namespace
}  // namespace silta::testing
