#include "server/orgs/registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/orgs/org_admin.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/status_matchers.h"

namespace silta::orgs {
namespace {

using ::silta::testing::IsOk;
using ::silta::testing::StatusIs;
using ::testing::HasSubstr;

v1::Organization MakeOrg(const std::string& id, v1::Role role = v1::AGENCY) {
  v1::Organization org;
  org.set_org_id(id);
  org.set_display_name("Org " + id);
  org.set_kind(v1::WELLBEING_AREA);
  org.add_roles(role);
  return org;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = store::SqliteStore::Open(":memory:", {});
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    auto registry = OrgRegistry::Create(store_.get(), [this] { return now_; });
    ASSERT_THAT(registry, IsOk());
    registry_ = *std::move(registry);
  }
  absl::Time now_ = absl::FromUnixSeconds(1790000000);
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<OrgRegistry> registry_;
};

TEST_F(RegistryTest, SeedAddsThenUpdatesButNeverChangesState) {
  v1::OrgRegistryFile seed;
  *seed.add_orgs() = MakeOrg("wba-social");
  ASSERT_THAT(registry_->ApplySeed(seed), IsOk());
  ASSERT_THAT(registry_->SetState("wba-social", v1::SUSPENDED, {"silta-admin", {}}, ""), IsOk());

  seed.mutable_orgs(0)->set_display_name("Renamed");
  seed.mutable_orgs(0)->set_state(v1::ACTIVE);
  auto result = registry_->ApplySeed(seed);

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->updated, 1);
  const auto org = registry_->Find("wba-social");
  ASSERT_TRUE(org.has_value());
  EXPECT_EQ(org->display_name(), "Renamed");
  EXPECT_EQ(org->state(), v1::SUSPENDED);
  EXPECT_TRUE(registry_->Contains("wba-social"));
  EXPECT_FALSE(registry_->Contains("no-such-org"));
}

// Several siltad instances start at once on one database: each seeds the
// registry file; the one that comes second takes the rows the first wrote.
TEST_F(RegistryTest, ASeedAppliedByAnotherInstanceFirstIsTakenNotRefused) {
  auto other = OrgRegistry::Create(store_.get(), [this] { return now_; });
  ASSERT_THAT(other, IsOk());
  v1::OrgRegistryFile seed;
  *seed.add_orgs() = MakeOrg("wba-social");
  *seed.add_orgs() = MakeOrg("hml-youth");
  ASSERT_THAT((*other)->ApplySeed(seed), IsOk());

  seed.mutable_orgs(1)->set_display_name("Renamed meanwhile");
  auto result = registry_->ApplySeed(seed);

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->added, 0);
  EXPECT_EQ(result->unchanged, 1);
  EXPECT_EQ(result->updated, 1);
  ASSERT_TRUE(registry_->Find("wba-social").has_value());
  EXPECT_EQ(registry_->Find("hml-youth")->display_name(), "Renamed meanwhile");
  // The other instance reads the change again when told of it.
  ASSERT_THAT((*other)->Reload("hml-youth"), IsOk());
  EXPECT_EQ((*other)->Find("hml-youth")->display_name(), "Renamed meanwhile");
}

// The registry's dates and audit entries come from its clock (one clock,
// issue #14), not from the system's.
TEST_F(RegistryTest, EntriesAndTheirEvidenceAreDatedByTheClock) {
  v1::OrgRegistryFile seed;
  *seed.add_orgs() = MakeOrg("wba-social");
  ASSERT_THAT(registry_->ApplySeed(seed), IsOk());
  now_ += absl::Hours(30);
  ASSERT_THAT(registry_->SetState("wba-social", v1::SUSPENDED, {"silta-admin", {}}, ""), IsOk());

  const auto org = registry_->Find("wba-social");
  ASSERT_TRUE(org.has_value());
  EXPECT_EQ(org->created_at().seconds(), 1790000000);
  EXPECT_EQ(org->updated_at().seconds(), 1790000000 + 30 * 3600);
  store::AuditQuery query;
  query.types = {v1::ORG_ADDED, v1::ORG_SUSPENDED};
  auto entries = store_->QueryAudit(query);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 2);
  EXPECT_EQ((*entries)[0].at().seconds(), 1790000000);
  EXPECT_EQ((*entries)[1].at().seconds(), 1790000000 + 30 * 3600);
}

TEST_F(RegistryTest, SeedKeepsOrgsAddedOverTheApi) {
  ASSERT_THAT(registry_->Add(MakeOrg("api-added"), {"silta-admin", {}}), IsOk());
  v1::OrgRegistryFile seed;
  *seed.add_orgs() = MakeOrg("seeded");

  ASSERT_THAT(registry_->ApplySeed(seed), IsOk());

  EXPECT_TRUE(registry_->Find("api-added").has_value());
  EXPECT_TRUE(registry_->Find("seeded").has_value());
}

TEST_F(RegistryTest, StateChangeIsPersistedAndSeenAfterReload) {
  ASSERT_THAT(registry_->Add(MakeOrg("asenne-ry"), {"silta-admin", {}}), IsOk());

  ASSERT_THAT(registry_->SetState("asenne-ry", v1::SUSPENDED, {"silta-admin", {}}, ""), IsOk());
  auto reloaded = OrgRegistry::Create(store_.get());

  ASSERT_THAT(reloaded, IsOk());
  EXPECT_EQ((*reloaded)->Find("asenne-ry")->state(), v1::SUSPENDED);
}

TEST_F(RegistryTest, InvalidSeedAppliesNothing) {
  v1::OrgRegistryFile seed;
  *seed.add_orgs() = MakeOrg("good");
  *seed.add_orgs() = MakeOrg("good");  // duplicate

  EXPECT_THAT(registry_->ApplySeed(seed),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("orgs[1]: org_id good appears twice")));
  EXPECT_FALSE(registry_->Find("good").has_value());
}

TEST(ValidateOrgTest, NamesTheBadField) {
  v1::Organization org = MakeOrg("x");
  org.clear_roles();
  EXPECT_THAT(ValidateOrg(org), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("roles")));

  org = MakeOrg("x");
  org.add_roles(v1::AGENCY);
  EXPECT_THAT(ValidateOrg(org), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));

  org = MakeOrg("x");
  org.set_kind(v1::ORG_KIND_UNSPECIFIED);
  EXPECT_THAT(ValidateOrg(org), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));

  org = MakeOrg("Bad Id");
  EXPECT_THAT(ValidateOrg(org), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("org_id")));

  org = MakeOrg("x");
  org.set_display_name("");
  EXPECT_THAT(ValidateOrg(org), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("display_name")));
}

class OrgAdminTest : public RegistryTest {
 protected:
  identity::Caller AdminCaller() {
    identity::Caller caller;
    caller.org = MakeOrg("silta-admin", v1::ADMIN);
    return caller;
  }
  v1::ActingUser Worker() {
    v1::ActingUser user;
    user.set_worker_id("admin-1");
    return user;
  }
};

TEST_F(OrgAdminTest, AdminCannotSuspendOwnOrg) {
  ASSERT_THAT(registry_->Add(MakeOrg("silta-admin", v1::ADMIN), {"silta-admin", {}}), IsOk());
  v1::SetOrgStateRequest request;
  request.set_org_id("silta-admin");
  *request.mutable_acting_user() = Worker();
  OrgAdmin admin(registry_.get());

  EXPECT_THAT(admin.SetOrgState(AdminCaller(), request, v1::SUSPENDED),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("own organisation")));
}

TEST_F(OrgAdminTest, ChangesRequireActingUser) {
  v1::AddOrgRequest request;
  *request.mutable_org() = MakeOrg("new-org");
  OrgAdmin admin(registry_.get());

  EXPECT_THAT(admin.AddOrg(AdminCaller(), request),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("acting_user.worker_id")));
}

TEST_F(OrgAdminTest, ListPagesThroughAllOrgsInOrder) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_THAT(registry_->Add(MakeOrg("org-" + std::to_string(100 + i)), {"silta-admin", {}}), IsOk());
  }
  OrgAdmin admin(registry_.get());
  std::vector<std::string> seen;
  v1::ListOrgsRequest request;
  request.set_page_size(10);
  int pages = 0;
  do {
    auto page = admin.ListOrgs(request);
    ASSERT_THAT(page, IsOk());
    for (const auto& org : page->orgs()) seen.push_back(org.org_id());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());

  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST_F(OrgAdminTest, RejectsOversizedPage) {
  v1::ListOrgsRequest request;
  request.set_page_size(OrgAdmin::kMaxPageSize + 1);
  OrgAdmin admin(registry_.get());

  EXPECT_THAT(admin.ListOrgs(request), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("page_size")));
}

}  // namespace
}  // namespace silta::orgs
