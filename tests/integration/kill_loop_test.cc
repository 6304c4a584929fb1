// Nothing lost across SIGKILL under load (#15). A sender sends without
// pause, and a recipient subscribes and acks, while siltad is killed with
// SIGKILL at random moments and restarted: SILTA_KILLS times (5 in
// `make test`; `make kill-loop` runs 100). Then:
//   - every message that got a receipt was delivered;
//   - no delivery whose ack was confirmed (Ack returned OK) came again;
//   - the audit log's export verifies offline.
// A Send cut off by a kill is retried with the same message id, as the SDK
// does, and gets the original receipt if the first one was committed.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/random.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/integration/world.h"
#include "tests/testing/postgres_server.h"
#include "tests/testing/test_store.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

int Kills() {
  int n = 5;
  const char* env = std::getenv("SILTA_KILLS");
  if (env != nullptr && (!absl::SimpleAtoi(env, &n) || n < 1)) n = 5;
  return n;
}

class KillLoop {
 public:
  // `kill(i)`: the i-th kill (and restart). `clients_wait`: no call is made
  // while it runs (one siltad: the world's address changes); else the
  // clients go on and fail over (several instances behind one address
  // list).
  KillLoop(World& world, std::string case_id, std::function<void(int)> kill, bool clients_wait)
      : world_(world),
        case_id_(std::move(case_id)),
        kill_(std::move(kill)),
        clients_wait_(clients_wait) {}

  void Run(int kills) {
    std::thread sender([this] { Send(); });
    std::thread receiver([this] { Receive(); });
    std::mt19937 rng(20261202);
    for (int i = 0; i < kills; ++i) {
      absl::SleepFor(absl::Milliseconds(150 + rng() % 350));
      if (clients_wait_) {
        absl::WriterMutexLock lock(&restart_mu_);
        kill_(i);
      } else {
        kill_(i);
      }
    }
    absl::SleepFor(absl::Milliseconds(300));
    stop_sending_ = true;
    sender.join();
    // Everything with a receipt is delivered within 30 s.
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (absl::Now() < until && !AllReceived()) absl::SleepFor(absl::Milliseconds(100));
    stop_receiving_ = true;
    receiver.join();
  }

  bool AllReceived() {
    absl::MutexLock lock(&mu_);
    for (const std::string& id : receipted_) {
      if (!received_.contains(id)) return false;
    }
    return true;
  }

  absl::Mutex mu_;
  absl::flat_hash_set<std::string> receipted_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> received_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> acked_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> redelivered_after_ack_ ABSL_GUARDED_BY(mu_);
  int sends_retried_ ABSL_GUARDED_BY(mu_) = 0;

 private:
  std::shared_ptr<grpc::Channel> Channel(const std::string& org) {
    absl::ReaderMutexLock lock(&restart_mu_);
    return world_.Channel(org);
  }

  // Sealed here, without asking siltad for a preview (it may be down).
  v1::SealedMessage Seal() {
    v1::Referral payload;
    payload.set_education_employment("9th grade, absent often");
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(absl::Now()));
    header.set_case_id(case_id_);
    header.mutable_acting_user()->set_worker_id("officer-12");
    header.set_purpose("referral");
    *header.mutable_created_at() = common::ToTimestamp(absl::Now());
    const sdk::OrgKeys& youth = world_.Keys("hml-youth");
    absl::StatusOr<v1::SealedMessage> sealed = sdk::SealPayload(
        payload, header, world_.Keys("police-hame").AsSender(),
        {{"hml-youth", youth.bundle.key_id(), youth.bundle.hpke_public_key()}},
        [](auto, auto) { return true; }, "", sdk::SystemRandom());
    EXPECT_TRUE(sealed.ok()) << sealed.status();
    return *sealed;
  }

  void Send() {
    while (!stop_sending_) {
      const v1::SealedMessage m = Seal();
      v1::SendRequest request;
      *request.mutable_message() = m;
      // The same message until it has a receipt; after the last kill for a
      // minute at most (a siltad that is gone for good fails the test, not
      // hangs it).
      std::optional<absl::Time> give_up_at;
      for (int attempt = 0;; ++attempt) {
        if (stop_sending_ && !give_up_at.has_value()) give_up_at = absl::Now() + absl::Seconds(60);
        if (give_up_at.has_value() && absl::Now() > *give_up_at) {
          ADD_FAILURE() << "no receipt for " << m.header().message_id()
                        << " within 60 s after the last kill: is siltad running? (its log: "
                        << world_.setup().dir << "/siltad.log)";
          return;
        }
        grpc::ClientContext context;
        context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
        v1::SendResponse response;
        const grpc::Status status =
            v1::MessageService::NewStub(Channel("police-hame"))->Send(&context, request, &response);
        if (status.ok()) {
          absl::MutexLock lock(&mu_);
          receipted_.insert(m.header().message_id());
          if (attempt > 0) ++sends_retried_;
          break;
        }
        ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
  }

  void Receive() {
    std::vector<std::string> unacked;
    while (!stop_receiving_) {
      auto stub = v1::MessageService::NewStub(Channel("hml-youth"));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
      v1::SubscribeRequest request;
      request.set_ack_timeout_seconds(5);
      auto reader = stub->Subscribe(&context, request);
      v1::Delivery d;
      while (reader->Read(&d)) {
        if (!d.has_message()) continue;  // a key notice
        {
          absl::MutexLock lock(&mu_);
          if (acked_.contains(d.delivery_id())) redelivered_after_ack_.push_back(d.delivery_id());
          received_.insert(d.message().header().message_id());
        }
        unacked.push_back(d.delivery_id());
        grpc::ClientContext ack_context;
        v1::AckRequest ack;
        for (const std::string& id : unacked) ack.add_delivery_ids(id);
        v1::AckResponse acked;
        if (stub->Ack(&ack_context, ack, &acked).ok()) {
          absl::MutexLock lock(&mu_);
          for (const std::string& id : unacked) acked_.insert(id);
          for (const v1::AckRejection& r : acked.rejected()) acked_.erase(r.delivery_id());
          unacked.clear();
        }
      }
      reader->Finish().IgnoreError();
    }
  }

  World& world_;
  const std::string case_id_;
  const std::function<void(int)> kill_;
  const bool clients_wait_;
  absl::Mutex restart_mu_;  // held exclusively while siltad restarts (clients_wait_)
  std::atomic<bool> stop_sending_{false};
  std::atomic<bool> stop_receiving_{false};
};

// What every kill loop checks once it has run: nothing lost, nothing
// delivered again after a confirmed ack, and the log verifies.
void ExpectNothingLost(KillLoop& loop, World& world, int kills) {
  absl::MutexLock lock(&loop.mu_);
  std::vector<std::string> lost;
  for (const std::string& id : loop.receipted_) {
    if (!loop.received_.contains(id)) lost.push_back(id);
  }
  std::printf(
      "kill loop: %d kills, %zu messages with a receipt (%d after a retried Send), "
      "%zu delivered, %zu acks confirmed, %zu lost, %zu redelivered after a confirmed ack\n",
      kills, loop.receipted_.size(), loop.sends_retried_, loop.received_.size(), loop.acked_.size(),
      lost.size(), loop.redelivered_after_ack_.size());
  EXPECT_GT(loop.receipted_.size(), static_cast<size_t>(kills)) << "load between the kills";
  EXPECT_TRUE(lost.empty()) << lost.size() << " messages with a receipt never came, e.g. "
                            << lost.front();
  EXPECT_TRUE(loop.redelivered_after_ack_.empty())
      << loop.redelivered_after_ack_.size() << " deliveries came again after a confirmed ack";

  const std::string file = world.setup().dir + "/export.jsonl";
  CommandResult r = world.Siltactl("wba-dpo", {"audit", "export", "--out", file});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand(
      {SILTACTL_PATH, "audit", "verify", file, "--log-key", PkiPath("audit/log-key.pub")});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verified"));
}

TEST(KillLoopTest, NothingLostNothingRedeliveredAfterAConfirmedAckAndTheLogVerifies) {
  World world("kill-loop");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("police-hame");
  world.Keys("hml-youth");
  const int kills = Kills();

  KillLoop loop(
      world, case_id,
      [&](int) {
        world.Kill();
        world.Restart();
      },
      /*clients_wait=*/true);
  loop.Run(kills);

  ExpectNothingLost(loop, world, kills);
}

// Three siltad on one PostgreSQL database, the clients given all three
// addresses: each kill takes one instance down with SIGKILL (in turn) and
// brings it back on its address; the clients fail over to the others
// meanwhile, and Send is retried with the same id.
TEST(KillLoopTest, OneOfThreeInstancesKilledAtATimeLosesNothing) {
  if (!TestStoreIsPostgres()) GTEST_SKIP() << "several instances need PostgreSQL";
  std::vector<std::string> addresses;
  for (int i = 0; i < 3; ++i) addresses.push_back(absl::StrCat("127.0.0.1:", FreeLoopbackPort()));
  World world("kill-loop-a", addresses[0]);
  std::vector<SiltadSetup> setups(2);
  std::vector<std::unique_ptr<SiltadProcess>> others;
  for (int i = 0; i < 2; ++i) {
    setups[i].dir = MakeTempDir(absl::StrCat("kill-loop-", i == 0 ? "b" : "c"));
    setups[i].database_of = world.setup().dir;
    setups[i].listen_address = addresses[i + 1];
    setups[i].extra_config = world.setup().extra_config;
    others.push_back(StartSiltad(setups[i]));
    ASSERT_NE(others.back(), nullptr);
  }
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("police-hame");
  world.Keys("hml-youth");
  world.CallVia(absl::StrJoin(addresses, ","));
  const int kills = Kills();

  KillLoop loop(
      world, case_id,
      [&](int i) {
        if (i % 3 == 0) {
          world.Kill();
          world.Restart();
          return;
        }
        std::unique_ptr<SiltadProcess>& victim = others[i % 3 - 1];
        victim->Signal(SIGKILL);
        victim->WaitForExit(absl::Seconds(10)).IgnoreError();
        victim.reset();
        victim = StartSiltad(setups[i % 3 - 1]);
      },
      /*clients_wait=*/false);
  loop.Run(kills);

  ExpectNothingLost(loop, world, kills);
}

// PostgreSQL restarted under load, siltad left running: while the
// database is down siltad answers UNAVAILABLE (the clients retry), and it
// resumes by itself once the database is back.
TEST(KillLoopTest, TheDatabaseRestartedUnderLoadLosesNothing) {
  if (!TestStoreIsPostgres()) GTEST_SKIP() << "SQLite is inside siltad";
  World world("restart-db-loop");
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("police-hame");
  world.Keys("hml-youth");
  PostgresServer* server = TestPostgresServer();
  ASSERT_NE(server, nullptr);
  const int restarts = std::min(Kills(), 5);

  KillLoop loop(
      world, case_id,
      [&](int) {
        ASSERT_TRUE(server->Stop().ok());
        absl::SleepFor(absl::Milliseconds(300));
        ASSERT_TRUE(server->Resume().ok());
      },
      /*clients_wait=*/false);
  loop.Run(restarts);

  ExpectNothingLost(loop, world, restarts);
}

// PostgreSQL's own high availability (docs/operations.md): a primary with a
// synchronous standby, siltad given both hosts with
// target_session_attrs=read-write. The primary is killed with SIGKILL under
// load and the standby promoted: siltad finds the new primary by itself,
// every message that got a receipt is delivered, and the audit log
// verifies and extends a head signed before the failover.
TEST(KillLoopTest, ThePrimaryKilledAndItsStandbyPromotedLosesNothing) {
  if (!TestStoreIsPostgres()) GTEST_SKIP() << "SQLite is inside siltad";
  auto primary = PostgresServer::Start("failover-primary");
  ASSERT_TRUE(primary.ok()) << primary.status();
  ASSERT_TRUE((*primary)->CreateDatabase("silta").ok());
  auto standby = (*primary)->StartSynchronousStandby("failover-standby");
  ASSERT_TRUE(standby.ok()) << standby.status();
  const std::string conninfo =
      absl::StrCat("host=", (*primary)->socket_dir(), ",", (*standby)->socket_dir(),
                   " port=5432,5432 dbname=silta user=silta target_session_attrs=read-write");
  World world("failover", "127.0.0.1:0", conninfo);
  const std::string case_id = world.OpenCase("police-hame", {"hml-youth"});
  world.Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world.Keys("police-hame");
  world.Keys("hml-youth");
  const std::string head_before = world.setup().dir + "/head-before.json";
  CommandResult r = world.Siltactl("wba-dpo", {"audit", "head", "--fresh", "--out", head_before});
  ASSERT_EQ(r.exit_code, 0) << r.output;

  KillLoop loop(
      world, case_id,
      [&](int) {
        ASSERT_TRUE((*primary)->Kill().ok());
        absl::SleepFor(absl::Milliseconds(500));
        const absl::Status promoted = (*standby)->Promote();
        ASSERT_TRUE(promoted.ok()) << promoted;
      },
      /*clients_wait=*/false);
  loop.Run(1);

  ExpectNothingLost(loop, world, 1);
  const std::string file = world.setup().dir + "/export-since.jsonl";
  r = world.Siltactl("wba-dpo", {"audit", "export", "--out", file, "--previous-head", head_before});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", PkiPath("audit/log-key.pub"),
                  "--previous-head", head_before});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(world.siltad().WaitForLog("store_unreachable", absl::Seconds(1)))
      << "the failover went unnoticed: was the primary killed?";
}

}  // namespace
}  // namespace silta::testing
