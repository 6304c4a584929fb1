#include "server/identity/call_limiter.h"

#include "gtest/gtest.h"

namespace silta::identity {
namespace {

class CallLimiterTest : public ::testing::Test {
 protected:
  common::Clock Clock() {
    return [this] { return now_; };
  }
  absl::Time now_ = absl::FromUnixSeconds(1790000000);
};

TEST_F(CallLimiterTest, AdmitsTheBurstThenRefusesUntilTokensRefill) {
  CallLimiter limiter({.calls_per_second = 10, .call_burst = 20}, Clock());

  for (int i = 0; i < 20; ++i) EXPECT_TRUE(limiter.AdmitCall("police-hame")) << i;
  EXPECT_FALSE(limiter.AdmitCall("police-hame"));

  now_ += absl::Milliseconds(100);  // one token
  EXPECT_TRUE(limiter.AdmitCall("police-hame"));
  EXPECT_FALSE(limiter.AdmitCall("police-hame"));
  now_ += absl::Hours(1);  // never more than the burst
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(limiter.AdmitCall("police-hame")) << i;
  EXPECT_FALSE(limiter.AdmitCall("police-hame"));
}

// Issue #12 item 8: calls that take a HETU have their own hourly quota.
TEST_F(CallLimiterTest, HetuCallsHaveAnHourlyQuotaWithOneAlertPerCrossing) {
  CallLimiter limiter({.hetu_calls_per_hour = 10}, Clock());

  int alerts = 0;
  for (int i = 0; i < 10; ++i) {
    const CallLimiter::HetuAdmission a = limiter.AdmitHetuCall("police-hame");
    EXPECT_TRUE(a.admitted) << i;
    alerts += a.alert;
    if (a.alert) {
      EXPECT_EQ(i, 7) << "at 80% used";
    }
  }
  EXPECT_FALSE(limiter.AdmitHetuCall("police-hame").admitted);
  EXPECT_EQ(alerts, 1);
  EXPECT_EQ(limiter.hetu_alerts(), 1u);
  EXPECT_TRUE(limiter.AdmitHetuCall("wba-social").admitted) << "per organisation";

  now_ += absl::Minutes(6);  // one call refilled (10 an hour)
  EXPECT_TRUE(limiter.AdmitHetuCall("police-hame").admitted);
  EXPECT_FALSE(limiter.AdmitHetuCall("police-hame").admitted);
  now_ += absl::Hours(2);  // full again: the next crossing alerts again
  for (int i = 0; i < 10; ++i) limiter.AdmitHetuCall("police-hame");
  EXPECT_EQ(limiter.hetu_alerts(), 2u);
}

TEST_F(CallLimiterTest, OrganisationsHaveTheirOwnBuckets) {
  CallLimiter limiter({.calls_per_second = 1, .call_burst = 1}, Clock());

  EXPECT_TRUE(limiter.AdmitCall("police-hame"));
  EXPECT_FALSE(limiter.AdmitCall("police-hame"));

  EXPECT_TRUE(limiter.AdmitCall("hml-youth"));
}

TEST_F(CallLimiterTest, AClockGoingBackGivesNoTokens) {
  CallLimiter limiter({.calls_per_second = 1, .call_burst = 1}, Clock());
  ASSERT_TRUE(limiter.AdmitCall("x"));

  now_ -= absl::Hours(1);

  EXPECT_FALSE(limiter.AdmitCall("x"));
}

TEST_F(CallLimiterTest, RecordsAFewRefusalsAndCountsTheRest) {
  CallLimiter limiter({.recorded_refusals_per_second = 5, .recorded_refusal_burst = 10}, Clock());

  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(limiter.RecordRefusal("suspended-ngo"), std::optional<uint64_t>(0)) << i;
  }
  for (int i = 0; i < 990; ++i) EXPECT_EQ(limiter.RecordRefusal("suspended-ngo"), std::nullopt);
  // Another org's refusals are still recorded.
  EXPECT_EQ(limiter.RecordRefusal("unknown-org"), std::optional<uint64_t>(0));

  now_ += absl::Milliseconds(200);  // one more may be recorded: it reports the 990

  EXPECT_EQ(limiter.RecordRefusal("suspended-ngo"), std::optional<uint64_t>(990));
  EXPECT_EQ(limiter.RecordRefusal("suspended-ngo"), std::nullopt);
}

}  // namespace
}  // namespace silta::identity
