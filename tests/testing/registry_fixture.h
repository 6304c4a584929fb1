// File: tests/testing/registry_fixture.h
//
// The case and consent registries over a real store (in-memory SQLite, or
// PostgreSQL: test_store.h), with
// the example policy, a fixed clock and the dev organisations.
#ifndef SILTA_TESTS_TESTING_REGISTRY_FIXTURE_H_
#define SILTA_TESTS_TESTING_REGISTRY_FIXTURE_H_

#include <memory>

#include "gtest/gtest.h"
#include "server/cases/case_registry.h"
#include "server/consent/consent_registry.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/policy_fixture.h"
#include "tests/testing/test_hetu.h"
#include "tests/testing/test_store.h"

namespace silta::testing {

// Test HETUs (individual numbers 900-999), their ages counted from the
// real date (the fixture's clock is September 2026; the minors stay minors
// and the adult an adult there too).
inline const std::string kYouth15 = TestHetu(15, 934);
inline const std::string kYouth17 = TestHetu(17, 950);
inline const std::string kAdult = "241185Y912P";

class RegistryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenTestStore(store_path_, store_options_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto orgs = orgs::OrgRegistry::Create(store_.get());
    ASSERT_TRUE(orgs.ok());
    orgs_ = *std::move(orgs);
    v1::OrgRegistryFile seed;
    for (const v1::Organization& org :
         {MakeOrg("police-hame", v1::POLICE), MakeOrg("wba-social", v1::WELLBEING_AREA),
          MakeOrg("wba-psychiatry", v1::WELLBEING_AREA), MakeOrg("hml-youth", v1::MUNICIPAL_YOUTH),
          MakeOrg("asenne-ry", v1::NGO), MakeOrg("rise-probation", v1::PROBATION),
          MakeOrg("wba-registrar", v1::WELLBEING_AREA, v1::CONSENT_REGISTRAR)}) {
      *seed.add_orgs() = org;
    }
    ASSERT_TRUE(orgs_->ApplySeed(seed).ok());
    auto refs = cases::SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'k')));
    ASSERT_TRUE(refs.ok());
    refs_ = *std::move(refs);
    policy_ = std::make_unique<consent::PolicyHolder>(ExamplePolicy());
    auto clock = [this] { return now_; };
    engine_ = std::make_unique<consent::DecisionEngine>();
    cases_ = std::make_unique<cases::CaseRegistry>(
        store_.get(), orgs_.get(), refs_.get(),
        [this](absl::string_view p) { return consent::PolicyHasPurpose(*policy_->Get(), p); },
        consent::ExistenceDecider(engine_.get(), policy_.get(), clock), clock);
    consents_ = std::make_unique<consent::ConsentRegistry>(store_.get(), orgs_.get(), refs_.get(),
                                                           cases_.get(), policy_.get(),
                                                           engine_.get(), clock);
  }

  identity::Caller As(const std::string& org_id) {
    identity::Caller caller;
    caller.org = *orgs_->Find(org_id);
    return caller;
  }
  static v1::ActingUser Worker(const std::string& id = "worker-1") {
    v1::ActingUser user;
    user.set_worker_id(id);
    return user;
  }
  // Opens a case as `org_id` for `hetu` with extra members.
  v1::Case OpenCase(const std::string& org_id, const std::string& hetu,
                    std::vector<std::string> members) {
    v1::CreateCaseRequest request;
    request.mutable_subject()->set_hetu(hetu);
    request.set_purpose("service_coordination");
    request.set_coordinator_worker_id("nurri-1");
    for (const auto& m : members) request.add_member_org_ids(m);
    *request.mutable_acting_user() = Worker();
    auto response = cases_->CreateCase(As(org_id), request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->case_() : v1::Case();
  }
  static google::protobuf::Timestamp Ts(absl::Time t) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(absl::ToUnixSeconds(t));
    return ts;
  }

  absl::Time now_ = absl::FromUnixSeconds(1790000000);
  // Set before SetUp (e.g. fault_injection) to open the store with them.
  store::SqliteOptions store_options_;
  // A file instead, for a test that holds a commit up while it reads (an
  // in-memory store reads through its one, writing, connection).
  std::string store_path_ = ":memory:";
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<orgs::OrgRegistry> orgs_;
  std::unique_ptr<cases::SubjectRefs> refs_;
  std::unique_ptr<consent::PolicyHolder> policy_;
  std::unique_ptr<cases::CaseRegistry> cases_;
  std::unique_ptr<consent::DecisionEngine> engine_;
  std::unique_ptr<consent::ConsentRegistry> consents_;
};

}  // namespace silta::testing

#endif  // SILTA_TESTS_TESTING_REGISTRY_FIXTURE_H_
