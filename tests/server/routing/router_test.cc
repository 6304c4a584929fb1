#include "server/routing/router.h"

#include <atomic>
#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "client/sdk/sealer.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "lib/common/time_util.h"
#include "lib/crypto/key_bundle.h"
#include "lib/crypto/primitives.h"
#include "lib/crypto/random.h"
#include "silta/v1/payloads.pb.h"
#include "tests/testing/key_publish.h"
#include "tests/testing/process.h"
#include "tests/testing/registry_fixture.h"
#include "tests/testing/status_matchers.h"

namespace silta::routing {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

// Router over the real SQLite store with an injected clock: expiry, dead
// letters and purging, which take days in real time.
class RouterTest : public silta::testing::RegistryFixture {
 protected:
  void SetUp() override {
    store_options_.fault_injection = [this](absl::string_view point) {
      if (point == "after_audit" && hold_next_commit_.exchange(false)) {
        commit_held_.Notify();
        release_commit_.WaitForNotification();
      }
      return point == "get_case" && fail_case_reads_
                 ? absl::UnavailableError("injected: the case cannot be read")
                 : absl::OkStatus();
    };
    RegistryFixture::SetUp();
    now_ = absl::Now();
    keys_ = std::make_unique<orgs::KeyDirectory>(store_.get(), SILTA_TEST_PKI_DIR "/ca.pem",
                                                     "silta.test", SILTA_TEST_PKI_DIR "/crl",
                                                     [this] { return now_; });
    RouterOptions options;
    options.message_ttl = absl::Hours(24);
    options.tick = tick_;
    router_ = std::make_unique<Router>(store_.get(), orgs_.get(), keys_.get(), cases_.get(), refs_.get(),
                                       policy_.get(), engine_.get(), options,
                                       [this] { return now_; });
    signing_ = *crypto::GenerateEd25519KeyPair();
    youth_hpke_ = *crypto::GenerateX25519KeyPair();
    police_bundle_ = Publish("police-hame", signing_.public_key);
    youth_bundle_ = Publish("hml-youth", crypto::GenerateEd25519KeyPair()->public_key);
  }

  v1::KeyBundle Publish(const std::string& org, const std::string& signing_public) {
    return silta::testing::PublishTestBundle(keys_.get(), As(org), org, signing_public,
                                             youth_hpke_.public_key, now_ - absl::Hours(1),
                                             now_ + absl::Hours(24 * 30));
  }

  // A Referral to youth services: education, and housing if `housing`.
  v1::SendRequest Message(const std::string& case_id, bool housing = false) {
    v1::Referral referral;
    referral.set_education_employment("9th grade");
    if (housing) referral.set_housing("a flat of their own");
    v1::MessageHeader header;
    header.set_message_id(*crypto::NewUuidV7(now_));
    header.set_case_id(case_id);
    header.mutable_acting_user()->set_worker_id("officer-12");
    header.set_purpose("referral");
    *header.mutable_created_at() = common::ToTimestamp(now_);
    auto sealed = sdk::SealPayload(
        referral, header, {"police-hame", police_bundle_.key_id(), signing_.private_key},
        {{"hml-youth", youth_bundle_.key_id(), youth_hpke_.public_key}},
        [](absl::string_view, absl::string_view) { return true; }, "", sdk::SystemRandom());
    EXPECT_THAT(sealed, IsOk());
    v1::SendRequest request;
    *request.mutable_message() = *sealed;
    return request;
  }

  v1::RecipientState YouthState(const std::string& message_id) {
    v1::GetMessageStatusRequest request;
    request.set_message_id(message_id);
    auto status = router_->GetMessageStatus(As("police-hame"), request);
    EXPECT_THAT(status, IsOk());
    return status.ok() ? status->recipients(0).state() : v1::RECIPIENT_STATE_UNSPECIFIED;
  }

  // A guardian consents to the police passing education data to youth
  // services; returns the consent's id.
  std::string ConsentToYouthServices() {
    v1::RecordConsentRequest consent;
    consent.mutable_subject()->set_hetu(silta::testing::kYouth17);
    consent.mutable_consent()->set_grantor(v1::GUARDIAN);
    consent.mutable_consent()->add_disclosers()->set_org_kind(v1::POLICE);
    consent.mutable_consent()->add_purposes("referral");
    consent.mutable_consent()->add_categories(v1::CATEGORY_EDUCATION_EMPLOYMENT);
    consent.mutable_consent()->add_recipients()->set_org_id("hml-youth");
    *consent.mutable_consent()->mutable_valid_until() =
        common::ToTimestamp(now_ + absl::Hours(24 * 90));
    consent.mutable_consent()->set_evidence_ref("form");
    *consent.mutable_acting_user() = Worker();
    auto recorded = consents_->RecordConsent(As("wba-registrar"), consent);
    EXPECT_THAT(recorded, IsOk());
    return recorded.ok() ? recorded->consent().consent_id() : "";
  }

  // The MESSAGE_DELIVERED entries of a case.
  std::vector<v1::AuditEntry> DeliveredEntries(const std::string& case_id) {
    store::AuditQuery query;
    query.case_id = case_id;
    query.types = {v1::MESSAGE_DELIVERED};
    auto delivered = store_->QueryAudit(query);
    EXPECT_THAT(delivered, IsOk());
    return delivered.ok() ? *std::move(delivered) : std::vector<v1::AuditEntry>();
  }

  // How often the router ticks once started (expiry, waking everyone).
  absl::Duration tick_ = RouterOptions().tick;
  std::unique_ptr<orgs::KeyDirectory> keys_;
  std::unique_ptr<Router> router_;
  crypto::KeyPair signing_, youth_hpke_;
  v1::KeyBundle police_bundle_, youth_bundle_;
  std::atomic<bool> fail_case_reads_{false};
  // The next audited commit stops before COMMIT (commit_held_) until
  // release_commit_, holding the store's write connection.
  std::atomic<bool> hold_next_commit_{false};
  absl::Notification commit_held_, release_commit_;
};

// A stream standing by for deliveries, as a SubscribeReactor registers it:
// it lets a Send reserve it (`idle`), and keeps what it is handed. The
// hand-over comes on the committer's thread, after the Send's receipt:
// read `handed` and `deliveries` after AwaitHanded.
struct StandingStream {
  bool idle = true;
  absl::Duration ack_timeout = absl::Seconds(60);
  int claims = 0;
  int handed = 0;  // calls of the DirectTake's done
  std::atomic<int> wakes{0};
  bool busy = false;  // what it answers when the router asks (Subscriber::busy)
  std::atomic<int> busy_asked{0};
  std::vector<v1::Delivery> deliveries;
  absl::Mutex mu;

  int awaited = 0;

  // Waits (up to 10 s) until the DirectTake's done has been called `n` times.
  void AwaitHanded(int n) {
    absl::MutexLock lock(&mu);
    awaited = n;
    mu.AwaitWithTimeout(absl::Condition(this, &StandingStream::HandedEnough), absl::Seconds(10));
  }
  bool HandedEnough() const { return handed >= awaited; }

  Router::Subscriber AsSubscriber() {
    return {.wake = [this] { ++wakes; },
            .claim = [this]() -> std::optional<Router::DirectTake> {
              absl::MutexLock lock(&mu);
              ++claims;
              if (!idle) return std::nullopt;
              idle = false;
              return Router::DirectTake{ack_timeout,
                                        [this](absl::StatusOr<std::vector<OutgoingDelivery>> got) {
                                          absl::MutexLock lock(&mu);
                                          ++handed;
                                          idle = true;
                                          ASSERT_THAT(got, IsOk());
                                          for (const OutgoingDelivery& d : *got)
                                            deliveries.push_back(d.ToProto());
                                        }};
            },
            .busy =
                [this] {
                  absl::MutexLock lock(&mu);
                  ++busy_asked;
                  return busy;
                }};
  }
};

// Issue #15: light load costs one commit from Send to the stream. The
// delivery to an idle stream is marked DELIVERED, with its evidence, in the
// Send's own commit, and handed over only after that commit.
TEST_F(RouterTest, AnIdleStreamGetsTheMessageFromTheSendsOwnCommit) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  StandingStream stream;
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  const v1::SendRequest request = Message(c.case_id());
  const std::string id = request.message().header().message_id();

  auto receipt = router_->Send(As("police-hame"), request);

  ASSERT_THAT(receipt, IsOk());
  stream.AwaitHanded(1);
  ASSERT_EQ(stream.handed, 1);
  ASSERT_EQ(stream.deliveries.size(), 1u);
  const v1::Delivery& delivery = stream.deliveries[0];
  EXPECT_EQ(delivery.attempt(), 1u);
  ASSERT_EQ(delivery.message().fields_size(), 1);
  EXPECT_EQ(delivery.message().fields(0).category(), v1::CATEGORY_EDUCATION_EMPLOYMENT);
  // Durable with its evidence: the state and the audit entry are in the store.
  EXPECT_EQ(YouthState(id), v1::DELIVERED);
  const std::vector<v1::AuditEntry> delivered = DeliveredEntries(c.case_id());
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_GT(delivered[0].index(), receipt->receipt().audit_index());
  // Not handed to the stream a second time.
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  EXPECT_TRUE(due->empty());
  // The ack finds it and purges the message.
  v1::AckRequest ack;
  ack.set_delivery_id(delivery.delivery_id());
  ASSERT_THAT(router_->Ack(As("hml-youth"), ack), IsOk());
  EXPECT_EQ(YouthState(id), v1::ACKED);
  EXPECT_FALSE((*store_->GetMessage("police-hame", id))->body.has_value());
  router_->RemoveSubscriber(subscriber);
}

TEST_F(RouterTest, ADeliveryHandedToAStreamAtSendIsDeliveredAgainWhenNotAcked) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  StandingStream stream;
  stream.ack_timeout = absl::Seconds(30);
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  ASSERT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  stream.AwaitHanded(1);
  ASSERT_EQ(stream.deliveries.size(), 1u);
  router_->RemoveSubscriber(subscriber);

  now_ += absl::Seconds(29);
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  EXPECT_TRUE(due->empty()) << "within the stream's ack timeout";

  now_ += absl::Seconds(2);
  due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].delivery_id(), stream.deliveries[0].delivery_id());
  EXPECT_EQ((*due)[0].attempt(), 2u);
}

// A busy stream is not reserved, and a message does not overtake older
// ones waiting in the org's queue: both go through the queue, in order.
TEST_F(RouterTest, ABusyStreamOrAnOlderWaitingMessageLeavesTheDeliveryToTheQueue) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  StandingStream stream;
  stream.idle = false;
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  const v1::SendRequest first = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), first), IsOk());
  EXPECT_EQ(stream.claims, 1);
  EXPECT_EQ(YouthState(first.message().header().message_id()), v1::PENDING);

  stream.idle = true;
  const v1::SendRequest second = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), second), IsOk());
  EXPECT_EQ(stream.claims, 1) << "the first message is still waiting";
  EXPECT_TRUE(stream.deliveries.empty());

  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].message().header().message_id(), first.message().header().message_id());
  EXPECT_EQ((*due)[1].message().header().message_id(), second.message().header().message_id());
  router_->RemoveSubscriber(subscriber);
}

// Consent withdrawn: nothing permitted at Send, nothing handed to the stream.
TEST_F(RouterTest, AStreamIsNotReservedForAMessageWithNothingPermitted) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  StandingStream stream;
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  const v1::SendRequest request = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  EXPECT_EQ(stream.claims, 0);
  EXPECT_TRUE(stream.deliveries.empty());
  EXPECT_EQ(YouthState(request.message().header().message_id()), v1::NOTHING_PERMITTED);
  router_->RemoveSubscriber(subscriber);
}

// Issue #12 item 5: a delivery whose case cannot be read is not decided as
// if there were no subject; it waits and is tried again.
TEST_F(RouterTest, DeliveryFailsClosedWhenTheCaseCannotBeRead) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  const v1::SendRequest request = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  const std::string id = request.message().header().message_id();

  fail_case_reads_ = true;
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  EXPECT_TRUE(due->empty()) << "nothing is disclosed without the case";
  EXPECT_EQ(YouthState(id), v1::PENDING);

  fail_case_reads_ = false;
  now_ += absl::Seconds(6);
  due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ(YouthState(id), v1::DELIVERED);
}

// Issue #12 item 3: a message is signed now, with the current key.
TEST_F(RouterTest, CreatedAtMustBeNowAndTheSenderKeyCurrent) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  v1::SendRequest ahead = Message(c.case_id());
  ahead.mutable_message()->mutable_header()->mutable_created_at()->set_seconds(
      absl::ToUnixSeconds(now_ + absl::Hours(24 * 20)));
  EXPECT_THAT(router_->Send(As("police-hame"), ahead),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.created_at: ")));

  // Police rotates its keys now.
  const crypto::KeyPair next = *crypto::GenerateEd25519KeyPair();
  auto rotated = crypto::SignKeyBundle(
      {.org_id = "police-hame", .hpke_public_key = youth_hpke_.public_key,
       .signing_public_key = next.public_key, .not_before = now_,
       .not_after = now_ + absl::Hours(24 * 30), .epoch = 2,
       .previous_key_id = police_bundle_.key_id()},
      silta::testing::ReadTextFile(SILTA_TEST_PKI_DIR "/orgs/police-hame.signer.pem"),
      silta::testing::ReadTextFile(SILTA_TEST_PKI_DIR "/orgs/police-hame.signer.key"),
      &signing_.private_key);
  ASSERT_THAT(rotated, IsOk());
  v1::PublishKeyBundleRequest publish;
  *publish.mutable_bundle() = *rotated;
  publish.mutable_acting_user()->set_worker_id("it");
  ASSERT_THAT(keys_->PublishKeyBundle(As("police-hame"), publish), IsOk());

  // Sealing in flight with the old key is accepted for a few minutes...
  now_ += absl::Minutes(5);
  EXPECT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  // ...and not after the overlap.
  now_ += absl::Minutes(6);
  EXPECT_THAT(router_->Send(As("police-hame"), Message(c.case_id())),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("header.sender_key_id: key " + police_bundle_.key_id() +
                                 " of police-hame was replaced by " + rotated->key_id())));
}

TEST_F(RouterTest, NonMemberSenderIsRefused) {
  const v1::Case c = OpenCase("wba-social", silta::testing::kYouth17, {"hml-youth"});

  EXPECT_THAT(router_->Send(As("police-hame"), Message(c.case_id())),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// The race of a delivery decided on a gRPC thread and marked DELIVERED by
// the committer a moment later: a withdrawal in between. The store is a
// file, so that decisions can read while a commit is held up.
class RouterRaceTest : public RouterTest {
 protected:
  void SetUp() override {
    dir_ = silta::testing::MakeTempDir("router_race");
    store_path_ = dir_ + "/silta.db";
    RouterTest::SetUp();
  }
  void TearDown() override {
    router_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Holds the committer up in the commit of a Send from another sender's
  // case, so that what is queued next waits.
  void HoldTheCommitter() {
    const v1::Case other = OpenCase("police-hame", silta::testing::kYouth15, {"hml-youth"});
    hold_next_commit_ = true;
    router_->SendAsync(As("police-hame"), Message(other.case_id()),
                       [this](absl::StatusOr<Router::Receipt> r) {
                         EXPECT_THAT(r, IsOk());
                         blocker_sent_.Notify();
                       });
    commit_held_.WaitForNotification();
  }

  // Withdraws `consent_id` on a thread of its own, returning once the
  // withdrawal has begun (it then waits for the held commit).
  std::thread WithdrawMeanwhile(const std::string& consent_id) {
    std::thread withdrawing([this, consent_id] {
      v1::WithdrawConsentRequest withdraw;
      withdraw.set_record_id(consent_id);
      *withdraw.mutable_acting_user() = Worker();
      EXPECT_THAT(consents_->WithdrawConsent(As("wba-registrar"), withdraw), IsOk());
    });
    while (store_->changes().Settled() != store::ChangeSequence::kUnsettled)
      absl::SleepFor(absl::Milliseconds(1));
    return withdrawing;
  }

  std::string dir_;
  absl::Notification blocker_sent_;
};

// A delivery taken from the queue while consent holds, then the consent is
// withdrawn before its DELIVERED mark is committed: the mark does not
// commit, and the delivery is decided again (nothing permitted now).
TEST_F(RouterRaceTest, AWithdrawalBetweenADeliverysDecisionAndItsCommitStopsIt) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  const std::string consent_id = ConsentToYouthServices();
  const v1::SendRequest request = Message(c.case_id());
  const std::string id = request.message().header().message_id();
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  HoldTheCommitter();

  absl::Notification taken;
  absl::StatusOr<std::vector<OutgoingDelivery>> got;
  ASSERT_TRUE(router_->TakeDueAsync(As("hml-youth"), absl::Seconds(60), 16,
                                    [&](absl::StatusOr<std::vector<OutgoingDelivery>> due) {
                                      got = std::move(due);
                                      taken.Notify();
                                    }));
  std::thread withdrawing = WithdrawMeanwhile(consent_id);
  release_commit_.Notify();
  taken.WaitForNotification();
  withdrawing.join();
  blocker_sent_.WaitForNotification();

  ASSERT_THAT(got, IsOk());
  EXPECT_TRUE(got->empty()) << "decided before the withdrawal, committed after it";
  EXPECT_EQ(YouthState(id), v1::PENDING);
  auto again = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(again, IsOk());
  for (const v1::Delivery& d : *again) {
    EXPECT_NE(d.message().header().message_id(), id) << "decided again: nothing permitted";
  }
  EXPECT_EQ(YouthState(id), v1::NOTHING_PERMITTED);
  EXPECT_TRUE(DeliveredEntries(c.case_id()).empty());
}

// A delivery due again is taken while its ack is on its way: its new
// DELIVERED mark and the ack share a commit, in that order. The stream gets
// the delivery before the ack is answered, never after, so a recipient told
// that its ack is durable does not see the message again (the kill loop's
// promise). In session 34 the committer first wrote the deliveries of a
// batch's marks after the acks' answers, and broke it.
TEST_F(RouterRaceTest, ARedeliveryCommittedWithItsAckReachesTheStreamBeforeTheAcksAnswer) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  ASSERT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  auto first = router_->TakeDue(As("hml-youth"), absl::Seconds(30), 16);
  ASSERT_THAT(first, IsOk());
  ASSERT_EQ(first->size(), 1u);
  const std::string delivery_id = (*first)[0].delivery_id();
  now_ += absl::Seconds(31);  // not acked within its timeout: due again
  const store::CommitStats before = store_->ReadCommitStats();
  HoldTheCommitter();

  absl::Mutex mu;
  std::vector<std::string> order;
  absl::Notification taken, acked;
  ASSERT_TRUE(router_->TakeDueAsync(As("hml-youth"), absl::Seconds(30), 16,
                                    [&](absl::StatusOr<std::vector<OutgoingDelivery>> due) {
                                      EXPECT_THAT(due, IsOk());
                                      if (due.ok()) EXPECT_EQ(due->size(), 1u);
                                      {
                                        absl::MutexLock lock(&mu);
                                        order.push_back("delivery");
                                      }
                                      taken.Notify();
                                    }));
  v1::AckRequest ack;
  ack.add_delivery_ids(delivery_id);
  router_->AckAsync(As("hml-youth"), ack, [&](absl::StatusOr<v1::AckResponse> acked_now) {
    EXPECT_THAT(acked_now, IsOk());
    {
      absl::MutexLock lock(&mu);
      order.push_back("ack");
    }
    acked.Notify();
  });
  release_commit_.Notify();
  taken.WaitForNotification();
  acked.WaitForNotification();
  blocker_sent_.WaitForNotification();

  absl::MutexLock lock(&mu);
  EXPECT_THAT(order, ::testing::ElementsAre("delivery", "ack"));
  const store::CommitStats after = store_->ReadCommitStats();
  EXPECT_EQ(after.batch_writes.count() - before.batch_writes.count(), 2u)
      << "the held Send's commit, then the mark's and the ack's together";
  EXPECT_EQ(after.batch_writes.sum() - before.batch_writes.sum(), 3.0);
}

// The same race on the path that hands a message to an idle stream in the
// Send's own commit: the message is stored without the hand-over, and its
// delivery is decided again from the queue.
TEST_F(RouterRaceTest, AWithdrawalBetweenASendAndItsCommitStopsTheHandOverToAStream) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  const std::string consent_id = ConsentToYouthServices();
  HoldTheCommitter();
  StandingStream stream;
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  const v1::SendRequest request = Message(c.case_id());
  const std::string id = request.message().header().message_id();
  absl::Notification sent;
  absl::StatusOr<Router::Receipt> receipt;
  router_->SendAsync(As("police-hame"), request, [&](absl::StatusOr<Router::Receipt> r) {
    receipt = std::move(r);
    sent.Notify();
  });
  ASSERT_EQ(stream.claims, 1) << "the stream was reserved at Send";
  std::thread withdrawing = WithdrawMeanwhile(consent_id);
  release_commit_.Notify();
  sent.WaitForNotification();
  withdrawing.join();
  blocker_sent_.WaitForNotification();
  router_->RemoveSubscriber(subscriber);

  ASSERT_THAT(receipt, IsOk());
  EXPECT_EQ((*receipt)->decisions(0).verdict(), v1::PERMIT) << "permitted at Send";
  stream.AwaitHanded(1);
  EXPECT_EQ(stream.handed, 1) << "the reserved stream is freed";
  EXPECT_TRUE(stream.deliveries.empty());
  auto again = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(again, IsOk());
  for (const v1::Delivery& d : *again) EXPECT_NE(d.message().header().message_id(), id);
  EXPECT_EQ(YouthState(id), v1::NOTHING_PERMITTED);
  EXPECT_TRUE(DeliveredEntries(c.case_id()).empty());
}

// A stream asking for its deliveries while a decision input is changing
// takes nothing (a decision now would only be aborted at its commit, and
// asked again at once: a spin through the committer for as long as the
// change lasts). It is woken once the change has ended, and decides then.
class RouterRaceWithoutTicksTest : public RouterRaceTest {
 protected:
  void SetUp() override {
    tick_ = absl::Hours(1);  // no tick's wake-up of everyone during a test
    RouterRaceTest::SetUp();
    router_->Start();
  }
};

TEST_F(RouterRaceWithoutTicksTest, AStreamAsksAgainOnlyOnceAChangeUnderWayHasEnded) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  StandingStream stream;
  stream.idle = false;  // the Send leaves the delivery in the queue
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());
  const v1::SendRequest request = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  for (int i = 0; i < 5000 && stream.wakes.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(stream.wakes.load(), 1) << "the Send's wake-up";
  const uint64_t commits = store_->ReadCommitStats().batch_writes.count();
  std::optional<store::ChangeSequence::Change> change = store_->changes().Begin();

  bool called = false;
  EXPECT_FALSE(
      router_->TakeDueAsync(As("hml-youth"), absl::Seconds(60), 16,
                            [&](absl::StatusOr<std::vector<OutgoingDelivery>>) { called = true; }))
      << "took deliveries while a change was under way";
  EXPECT_EQ(store_->ReadCommitStats().batch_writes.count(), commits);
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(stream.wakes.load(), 1) << "woken while the change was under way";

  change.reset();
  for (int i = 0; i < 5000 && stream.wakes.load() == 1; ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(stream.wakes.load(), 2) << "woken once the change had ended";
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].message().header().message_id(), request.message().header().message_id());
  EXPECT_FALSE(called);
  router_->RemoveSubscriber(subscriber);
}

// Issue #15: a committed Send wakes its recipients' streams through the
// ticker thread, a hand-over per message. A stream already taking or
// writing takes the new delivery when that ends, so it is not woken.
class RouterWakeTest : public RouterRaceWithoutTicksTest {};

TEST_F(RouterWakeTest, ASendWakesAStreamOnlyWhenItIsNotBusy) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  StandingStream stream;
  stream.idle = false;  // the Send leaves the delivery in the queue
  stream.busy = true;
  const int subscriber = router_->AddSubscriber("hml-youth", stream.AsSubscriber());

  ASSERT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  for (int i = 0; i < 5000 && stream.busy_asked.load() == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(stream.busy_asked.load(), 1) << "asked once the delivery was queued";
  absl::SleepFor(absl::Milliseconds(50));  // a wake-up would come within this
  EXPECT_EQ(stream.wakes.load(), 0) << "a busy stream was woken";

  {
    absl::MutexLock lock(&stream.mu);
    stream.busy = false;
  }
  ASSERT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  for (int i = 0; i < 5000 && stream.wakes.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(stream.wakes.load(), 1) << "a stream that was not busy was not woken";
  // Both wait in the queue for the stream's next take.
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  EXPECT_EQ(due->size(), 2u);
  router_->RemoveSubscriber(subscriber);
}

TEST_F(RouterTest, UndeliveredMessageExpiresIntoADeadLetterAndIsPurged) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  const v1::SendRequest request = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  const std::string id = request.message().header().message_id();
  EXPECT_EQ(YouthState(id), v1::PENDING);

  now_ += absl::Hours(23);
  router_->TickForTest();
  EXPECT_EQ(YouthState(id), v1::PENDING);

  now_ += absl::Hours(2);
  router_->TickForTest();

  EXPECT_EQ(YouthState(id), v1::EXPIRED_UNDELIVERED);
  auto stored = store_->GetMessage("police-hame", id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_FALSE((*stored)->body.has_value()) << "ciphertext must be purged at expiry";
  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  EXPECT_TRUE(due->empty());
}

TEST_F(RouterTest, AnUndeliveredNotificationExpiresWithinHoursAndRaisesAnAlert) {
  // The police notify social services about a child in no case (lsl 25 §,
  // notification_ttl_hours 4 in the example policy); social services never
  // connect.
  const v1::KeyBundle social = Publish("wba-social", crypto::GenerateEd25519KeyPair()->public_key);
  v1::ChildWelfareNotification notification;
  notification.set_concern("left alone at night");
  v1::MessageHeader header;
  header.set_message_id(*crypto::NewUuidV7(now_));
  header.mutable_acting_user()->set_worker_id("officer-12");
  header.set_purpose("child_welfare_notification");
  header.set_statutory_basis("lsl_25");
  *header.mutable_created_at() = common::ToTimestamp(now_);
  auto sealed = sdk::SealPayload(
      notification, header, {"police-hame", police_bundle_.key_id(), signing_.private_key},
      {{"wba-social", social.key_id(), youth_hpke_.public_key}},
      [](absl::string_view, absl::string_view) { return true; }, "found alone at 3 a.m.",
      sdk::SystemRandom());
  ASSERT_THAT(sealed, IsOk());
  v1::SendRequest request;
  *request.mutable_message() = *sealed;
  request.mutable_subject()->set_hetu(silta::testing::kYouth15);
  auto sent = router_->Send(As("police-hame"), request);
  ASSERT_THAT(sent, IsOk());
  for (const v1::Decision& d : sent->receipt().decisions()) {
    EXPECT_EQ(d.verdict(), v1::PERMIT) << d.field_path() << ": " << d.reason();
  }
  const std::string id = header.message_id();

  now_ += absl::Hours(3) + absl::Minutes(59);
  router_->TickForTest();
  EXPECT_EQ(router_->undelivered_notifications(), 0u);
  v1::GetMessageStatusRequest status_request;
  status_request.set_message_id(id);
  EXPECT_EQ(router_->GetMessageStatus(As("police-hame"), status_request)->recipients(0).state(),
            v1::PENDING);

  now_ += absl::Minutes(2);
  router_->TickForTest();
  EXPECT_EQ(router_->undelivered_notifications(), 1u);
  // The sender sees it, and the log names the person's ref (for the
  // subject report), never the HETU.
  EXPECT_EQ(router_->GetMessageStatus(As("police-hame"), status_request)->recipients(0).state(),
            v1::EXPIRED_UNDELIVERED);
  store::AuditQuery q;
  q.types = {v1::MESSAGE_EXPIRED};
  auto expired = store_->QueryAudit(q);
  ASSERT_THAT(expired, IsOk());
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ((*expired)[0].message_id(), id);
  EXPECT_EQ((*expired)[0].subject_ref(), refs_->Resolve(silta::testing::kYouth15)->ref);

  // An ordinary message in a case keeps the routing TTL and is no alert.
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  ASSERT_THAT(router_->Send(As("police-hame"), Message(c.case_id())), IsOk());
  now_ += absl::Hours(25);
  router_->TickForTest();
  EXPECT_EQ(router_->undelivered_notifications(), 1u);
}

TEST_F(RouterTest, ARetryQueuedBeforeTheFirstSendIsCommittedGetsTheSameReceipt) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  // Both Sends are checked before either is committed: the second finds no
  // message with its id, and meets the first only at the commit.
  for (int i = 0; i < 20; ++i) {
    const v1::SendRequest request = Message(c.case_id());
    absl::Mutex mu;
    std::vector<absl::StatusOr<Router::Receipt>> results;
    const auto collect = [&](absl::StatusOr<Router::Receipt> r) {
      absl::MutexLock lock(&mu);
      results.push_back(std::move(r));
    };
    router_->SendAsync(As("police-hame"), request, collect);
    router_->SendAsync(As("police-hame"), request, collect);
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](std::vector<absl::StatusOr<Router::Receipt>>* r) { return r->size() == 2; }, &results));
    ASSERT_THAT(results[0], IsOk());
    ASSERT_THAT(results[1], IsOk()) << "attempt " << i;
    EXPECT_EQ((*results[0])->audit_index(), (*results[1])->audit_index());
  }
}

TEST_F(RouterTest, ARetryThatWouldBeRefusedNowStillGetsItsReceipt) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  const v1::SendRequest request = Message(c.case_id());
  auto first = router_->Send(As("police-hame"), request);
  ASSERT_THAT(first, IsOk());
  // Ten minutes on, its created_at is outside the clock skew a new message
  // may have: the retry is answered from the stored message all the same.
  now_ += absl::Minutes(10);
  auto retried = router_->Send(As("police-hame"), request);
  ASSERT_THAT(retried, IsOk());
  EXPECT_EQ(retried->receipt().audit_index(), first->receipt().audit_index());
  EXPECT_EQ(retried->receipt().SerializeAsString(), first->receipt().SerializeAsString());
  // Other content under the taken id is refused as such, not for its age.
  v1::SendRequest other = Message(c.case_id());
  *other.mutable_message()->mutable_header()->mutable_message_id() =
      request.message().header().message_id();
  EXPECT_THAT(router_->Send(As("police-hame"), other),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("with other content")));
  // A new id with that age is refused for it.
  now_ -= absl::Minutes(10);
  const v1::SendRequest old = Message(c.case_id());
  now_ += absl::Minutes(10);
  EXPECT_THAT(router_->Send(As("police-hame"), old),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("header.created_at")));
}

TEST_F(RouterTest, CiphertextIsPurgedOnceEveryRecipientHasAcked) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();
  const v1::SendRequest request = Message(c.case_id());
  ASSERT_THAT(router_->Send(As("police-hame"), request), IsOk());
  const std::string id = request.message().header().message_id();

  auto due = router_->TakeDue(As("hml-youth"), absl::Seconds(60), 16);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_TRUE((*store_->GetMessage("police-hame", id))->body.has_value()) << "kept until acked";
  v1::AckRequest ack;
  ack.set_delivery_id((*due)[0].delivery_id());
  ASSERT_THAT(router_->Ack(As("hml-youth"), ack), IsOk());

  auto stored = store_->GetMessage("police-hame", id);
  ASSERT_THAT(stored, IsOk());
  EXPECT_FALSE((*stored)->body.has_value()) << "purged after the last ack";
  EXPECT_EQ((*stored)->receipt.decisions_size(), 1) << "metadata and decisions stay";
  EXPECT_EQ(YouthState(id), v1::ACKED);
}

// The stored body is the message as sent, less the wrapped keys of the
// recipients a field was denied to at Send (the store is handed the bytes
// the content hash was computed over only when no key was dropped).
TEST_F(RouterTest, TheStoredBodyIsTheMessageLessTheKeysOfDeniedRecipients) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  ConsentToYouthServices();  // education, not housing
  const auto stored_body = [&](const v1::SendRequest& request) {
    EXPECT_THAT(router_->Send(As("police-hame"), request), IsOk());
    auto stored = store_->GetMessage("police-hame", request.message().header().message_id());
    EXPECT_THAT(stored, IsOk());
    EXPECT_TRUE(stored->has_value() && (*stored)->body.has_value());
    return stored->has_value() && (*stored)->body.has_value() ? *(*stored)->body
                                                              : v1::SealedMessage();
  };

  const v1::SendRequest permitted = Message(c.case_id());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(stored_body(permitted),
                                                                 permitted.message()));

  const v1::SendRequest mixed = Message(c.case_id(), /*housing=*/true);
  const v1::SealedMessage body = stored_body(mixed);
  ASSERT_EQ(body.fields_size(), 2);
  for (const v1::SealedField& f : body.fields()) {
    SCOPED_TRACE(f.path());
    EXPECT_EQ(f.wrapped_keys_size(), f.category() == v1::CATEGORY_HOUSING ? 0 : 1)
        << "a key is kept only where the field was permitted";
  }
  v1::SealedMessage expected = mixed.message();
  for (v1::SealedField& f : *expected.mutable_fields()) {
    if (f.category() == v1::CATEGORY_HOUSING) f.clear_wrapped_keys();
  }
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(body, expected));
}

TEST_F(RouterTest, MessageWithoutConsentIsAcceptedButNothingIsDelivered) {
  const v1::Case c = OpenCase("police-hame", silta::testing::kYouth17, {"hml-youth"});
  const v1::SendRequest request = Message(c.case_id());

  auto receipt = router_->Send(As("police-hame"), request);

  ASSERT_THAT(receipt, IsOk());
  EXPECT_EQ(receipt->receipt().decisions(0).verdict(), v1::DENY);
  EXPECT_EQ(YouthState(request.message().header().message_id()), v1::NOTHING_PERMITTED);
  auto stored = store_->GetMessage("police-hame", request.message().header().message_id());
  EXPECT_FALSE((*stored)->body.has_value()) << "nothing deliverable: nothing kept";
}

}  // namespace
}  // namespace silta::routing
