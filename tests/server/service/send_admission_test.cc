// SendAdmission: at most N at once, the rest in arrival order on the
// admission's thread, each place given back when its last copy goes.
#include "server/service/send_admission.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace silta::service {
namespace {

using ::testing::ElementsAre;

// How many have run once `n` have, or after 10 s.
template <typename T>
size_t AwaitRan(absl::Mutex& mu, const std::vector<T>& ran, size_t n) {
  const absl::Time until = absl::Now() + absl::Seconds(10);
  while (true) {
    {
      absl::MutexLock lock(&mu);
      if (ran.size() >= n || absl::Now() > until) return ran.size();
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

TEST(SendAdmissionTest, RunsAtOnceOnTheCallersThreadWhileThereIsRoom) {
  SendAdmission admission(2);
  std::vector<SendAdmission::Place> held;
  std::thread::id ran_on;
  admission.Run("org-a", [&](SendAdmission::Place place) {
    ran_on = std::this_thread::get_id();
    held.push_back(std::move(place));
  });
  admission.Run("org-a", [&](SendAdmission::Place place) { held.push_back(std::move(place)); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_EQ(held.size(), 2u);
  EXPECT_EQ(admission.Waiting(), 0u);
  EXPECT_EQ(admission.WaitedTotal(), 0u);
}

TEST(SendAdmissionTest, BeyondTheLimitWorkWaitsAndRunsInArrivalOrderAsPlacesFree) {
  SendAdmission admission(2);
  absl::Mutex mu;
  std::vector<SendAdmission::Place> held;
  std::vector<int> order;
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> waited_ran_elsewhere{true};
  for (int i = 0; i < 5; ++i) {
    admission.Run("org-a", [&, i](SendAdmission::Place place) {
      absl::MutexLock lock(&mu);
      if (i >= 2 && std::this_thread::get_id() == caller) waited_ran_elsewhere = false;
      order.push_back(i);
      held.push_back(std::move(place));
    });
  }
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(order, ElementsAre(0, 1));
  }
  EXPECT_EQ(admission.Waiting(), 3u);
  EXPECT_EQ(admission.WaitedTotal(), 3u);

  // One place given back: exactly one waiting runs.
  SendAdmission::Place first;
  {
    absl::MutexLock lock(&mu);
    first = std::move(held[0]);
  }
  first.reset();
  ASSERT_EQ(AwaitRan(mu, order, 3), 3u);
  absl::SleepFor(absl::Milliseconds(50));  // nothing more may start
  EXPECT_EQ(AwaitRan(mu, order, 3), 3u);
  EXPECT_EQ(admission.Waiting(), 2u);

  // Both given back: the other two run, in order.
  {
    absl::MutexLock lock(&mu);
    held.clear();
  }
  ASSERT_EQ(AwaitRan(mu, order, 5), 5u);
  {
    absl::MutexLock lock(&mu);
    EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4));
    held.clear();
  }
  EXPECT_TRUE(waited_ran_elsewhere) << "waiting work runs on the admission's thread";
  EXPECT_EQ(admission.Waiting(), 0u);
}

// A burst from one organisation does not hold up another's message: the
// waiting take turns by organisation, each organisation's in order.
TEST(SendAdmissionTest, TheWaitingTakeTurnsByOrganisation) {
  SendAdmission admission(1);
  SendAdmission::Place first;
  admission.Run("police", [&](SendAdmission::Place place) { first = std::move(place); });
  absl::Mutex mu;
  std::vector<std::string> order;
  const auto add = [&](const std::string& org, const std::string& label) {
    admission.Run(org, [&, label](SendAdmission::Place) {
      absl::MutexLock lock(&mu);
      order.push_back(label);
    });
  };
  add("police", "p1");
  add("police", "p2");
  add("police", "p3");
  add("youth", "y1");
  add("ngo", "n1");
  add("youth", "y2");
  EXPECT_EQ(admission.Waiting(), 6u);
  first.reset();
  ASSERT_EQ(AwaitRan(mu, order, 6), 6u);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ElementsAre("p1", "y1", "n1", "p2", "y2", "p3"));
}

TEST(SendAdmissionTest, NeverMoreAtOnceThanTheLimitUnderManyThreads) {
  constexpr int kLimit = 3, kThreads = 8, kEach = 200;
  std::atomic<int> running{0}, most{0}, done{0};
  {
    SendAdmission admission(kLimit);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          admission.Run(t % 2 == 0 ? "org-a" : "org-b", [&](SendAdmission::Place place) {
            const int now = ++running;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            // The work finishes on another thread, as a commit does.
            std::thread([&, place = std::move(place)]() mutable {
              --running;
              ++done;
              place.reset();
            }).detach();
          });
        }
      });
    }
    for (auto& t : threads) t.join();
    while (done.load() < kThreads * kEach) absl::SleepFor(absl::Milliseconds(1));
  }  // the destructor waits for the last place
  EXPECT_EQ(done.load(), kThreads * kEach);
  EXPECT_LE(most.load(), kLimit);
}

TEST(SendAdmissionTest, WhatStillWaitsAtDestructionRunsAndGetsItsAnswer) {
  std::atomic<int> ran{0};
  SendAdmission::Place kept;
  std::thread giver;
  {
    SendAdmission admission(1);
    admission.Run("org-a", [&](SendAdmission::Place place) { kept = std::move(place); });
    for (int i = 0; i < 3; ++i) {
      admission.Run("org-a", [&](SendAdmission::Place) { ++ran; });
    }
    EXPECT_EQ(admission.Waiting(), 3u);
    // The place comes back while the destructor runs.
    giver = std::thread([&] {
      absl::SleepFor(absl::Milliseconds(100));
      kept.reset();
    });
  }
  giver.join();
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace silta::service
