// Several siltad instances on one PostgreSQL database (issue #16): A, B and
// C share the database the tests start; any instance serves any call. A
// message sent via A reaches a recipient's stream on B at once (LISTEN /
// NOTIFY, no polling); a withdrawal via C binds B's next delivery decision;
// a suspension via A ends the org's stream on B.
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "silta/v1/message.grpc.pb.h"
#include "silta/v1/org.grpc.pb.h"
#include "silta/v1/payloads.pb.h"
#include "tests/integration/siltad_fixture.h"
#include "tests/integration/world.h"

namespace silta::testing {
namespace {

using ::testing::HasSubstr;

class InstancesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SILTA_TEST_STORE", "postgres", 1);  // these run on PostgreSQL only
    world_ = std::make_unique<World>("instances-a");
    for (const char* name : {"instances-b", "instances-c"}) {
      SiltadSetup setup;
      setup.dir = MakeTempDir(name);
      setup.database_of = world_->setup().dir;
      others_.push_back(StartSiltad(setup));
      ASSERT_NE(others_.back(), nullptr);
    }
  }

  World& world() { return *world_; }
  std::string A() const { return world_->siltad().address(); }
  std::string B() const { return others_[0]->address(); }
  std::string C() const { return others_[1]->address(); }
  SiltadProcess& InstanceB() { return *others_[0]; }

  // Opens `org`'s stream on B, once B says it is connected.
  std::unique_ptr<grpc::ClientReader<v1::Delivery>> SubscribeOnB(const std::string& org,
                                                                 grpc::ClientContext* context) {
    auto stub = v1::MessageService::NewStub(ChannelWith(B(), OrgCert(org), OrgKey(org)));
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    v1::SubscribeRequest request;
    request.set_ack_timeout_seconds(30);
    auto reader = stub->Subscribe(context, request);
    EXPECT_TRUE(InstanceB().WaitForLog("subscriber_connected", absl::Seconds(10)));
    return reader;
  }

  std::unique_ptr<World> world_;
  std::vector<std::unique_ptr<SiltadProcess>> others_;
};

TEST_F(InstancesTest, AMessageSentViaAReachesAStreamOnBWithoutPolling) {
  const std::string case_id = world().OpenCase("police-hame", {"hml-youth"});
  world().Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  grpc::ClientContext context;
  auto reader = SubscribeOnB("hml-youth", &context);
  auto ack_stub =
      v1::MessageService::NewStub(ChannelWith(B(), OrgCert("hml-youth"), OrgKey("hml-youth")));

  constexpr int kMessages = 20;
  std::vector<double> ms;
  for (int i = 0; i < kMessages; ++i) {
    const v1::SealedMessage m =
        world().Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
    v1::SendResponse sent;
    const absl::Time start = absl::Now();
    const grpc::Status status = world().Send("police-hame", m, &sent);  // via A
    ASSERT_TRUE(status.ok()) << status.error_message();
    v1::Delivery delivery;
    do {  // (a key notice may come first: sealing published the keys)
      ASSERT_TRUE(reader->Read(&delivery)) << "nothing reached the stream on B";
    } while (!delivery.has_message());
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    ASSERT_EQ(delivery.message().header().message_id(), m.header().message_id());
    grpc::ClientContext ack_context;
    v1::AckRequest ack;
    ack.set_delivery_id(delivery.delivery_id());
    v1::AckResponse acked;
    ASSERT_TRUE(ack_stub->Ack(&ack_context, ack, &acked).ok());
  }
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2];
  // The figure for the note (its target is 20 ms on an idle
  // machine; tests run in parallel with others, so the test only proves
  // that no poll is waited for: B's ticker polls once a second).
  std::cout << "RESULT cross_instance_send_to_delivery_p50_ms=" << p50 << " max_ms=" << ms.back()
            << "\n";
  EXPECT_LT(p50, 250.0) << "the stream on B was not woken by the commit on A";
  context.TryCancel();
}

TEST_F(InstancesTest, AWithdrawalViaCBindsTheNextDeliveryOnB) {
  const std::string case_id = world().OpenCase("police-hame", {"hml-youth"});
  world().Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  const std::string social = world().Consent(v1::CATEGORY_SOCIAL_WELFARE, "hml-youth");
  const v1::SealedMessage m = world().Seal("police-hame", case_id, MixedReferral(), {"hml-youth"});
  v1::SendResponse sent;
  ASSERT_TRUE(world().Send("police-hame", m, &sent).ok());  // via A, queued

  world().CallVia(C());
  world().Withdraw(social);
  world().CallVia(B());
  auto delivery = world().Receive("hml-youth");  // decided on B, right after

  ASSERT_TRUE(delivery.has_value());
  v1::Referral view;
  auto opened = world().Open("police-hame", "hml-youth", *delivery, &view);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(view.education_employment(), "9th grade, absent often");
  EXPECT_TRUE(view.support_needs().empty()) << "B delivered a field whose consent C withdrew";
  EXPECT_EQ(opened->withheld_fields, 2);
}

TEST_F(InstancesTest, ASuspensionViaAEndsTheOrgsStreamOnB) {
  grpc::ClientContext context;
  auto reader = SubscribeOnB("hml-youth", &context);

  world().Suspend("hml-youth");  // via A

  v1::Delivery delivery;
  EXPECT_FALSE(reader->Read(&delivery));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("suspended"));
  // And B refuses the org's calls from now on, as A does.
  world().CallVia(B());
  EXPECT_FALSE(world().Receive("hml-youth", absl::Seconds(2)).has_value());
}

// A key bundle published via A is usable via B at once: B's cache of
// bundles is cleared by A's change, and B's org streams hear of it.
TEST_F(InstancesTest, AKeyRotatedViaAIsUsableViaBAtOnce) {
  const std::string case_id = world().OpenCase("police-hame", {"hml-youth"});
  world().Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world().Keys("police-hame");
  world().Keys("hml-youth");
  world().CallVia(B());
  v1::SendResponse sent;
  ASSERT_TRUE(world()
                  .Send("police-hame",
                        world().Seal("police-hame", case_id, MixedReferral(), {"hml-youth"}),
                        &sent)
                  .ok());  // B has read hml-youth's bundles now

  world().CallVia("");
  world().Keys("hml-youth", /*rotate=*/true);  // published via A
  world().CallVia(B());
  const grpc::Status status = world().Send(
      "police-hame", world().Seal("police-hame", case_id, MixedReferral(), {"hml-youth"}), &sent);

  EXPECT_TRUE(status.ok()) << "B refused the key published via A: " << status.error_message();
}

// One log, whichever instance signs or exports: an export from C verifies
// against a head signed by A before B and C appended more.
TEST_F(InstancesTest, AnExportFromCExtendsAHeadSignedByA) {
  world().OpenCase("police-hame", {"hml-youth"});
  const std::string head = world().setup().dir + "/head-a.json";
  CommandResult r = world().Siltactl("wba-dpo", {"audit", "head", "--fresh", "--out", head});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  world().CallVia(B());
  world().Consent(v1::CATEGORY_EDUCATION_EMPLOYMENT, "hml-youth");
  world().CallVia(C());
  world().Consent(v1::CATEGORY_SOCIAL_WELFARE, "hml-youth");

  const std::string file = world().setup().dir + "/export-c.jsonl";
  r = world().Siltactl("wba-dpo", {"audit", "export", "--out", file, "--previous-head", head});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunCommand({SILTACTL_PATH, "audit", "verify", file, "--log-key", PkiPath("audit/log-key.pub"),
                  "--previous-head", head});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("verified"));
}

}  // namespace
}  // namespace silta::testing
