// File: tests/server/ops/metrics_server_test.cc
//
// The metrics port stops at once: siltad's shutdown waits for it.
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/ops/metrics.h"

namespace silta::ops {
namespace {

// civetweb polls its listening socket in 2 s quanta; a stop asked 100 ms
// into one used to wait out the other 1.9 s.
TEST(MetricsHttpServerTest, StopsWithoutWaitingOutCivetwebsPoll) {
  Metrics metrics;
  auto server = MetricsHttpServer::Start("127.0.0.1:0", &metrics);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time start = absl::Now();
  server->reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

}  // namespace
}  // namespace silta::ops
