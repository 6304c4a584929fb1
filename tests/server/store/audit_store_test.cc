// The audit log in the store: entries are appended in the same transaction
// as the state change they record — a failure injected after the change
// (before the entries) or after the entries (before COMMIT) leaves neither —
// and the stored Merkle nodes always give the root of the stored entries.
#include <algorithm>
#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/merkle.h"
#include "lib/crypto/primitives.h"
#include "server/audit/audit_log.h"
#include "server/cases/subject_refs.h"
#include "server/store/sqlite/sqlite_store.h"
#include "tests/testing/audit_batch.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/store_rows.h"
#include "tests/testing/test_store.h"

namespace silta::store {
namespace {

using ::silta::testing::Audit;
using ::silta::testing::IsOk;
using ::silta::testing::IsOkAndHolds;
using ::silta::testing::MakeMessage;
using ::silta::testing::MakeOrg;
using ::silta::testing::StatusIs;

// The root from the stored nodes equals the root recomputed from the
// stored entries' canonical bytes.
void ExpectTreeMatchesEntries(Store& store) {
  absl::StatusOr<uint64_t> size = store.AuditSize();
  ASSERT_THAT(size, IsOk());
  auto entries = store.ReadAuditRange(0, *size);
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), *size);
  std::vector<std::string> leaves;
  for (size_t i = 0; i < entries->size(); ++i) {
    ASSERT_EQ((*entries)[i].index(), i);
    leaves.push_back(audit::EntryLeafHash((*entries)[i]));
  }
  auto from_nodes = audit::RootHash(*size, [&](const std::vector<audit::NodeId>& ids) {
    return store.ReadAuditNodes(ids);
  });
  ASSERT_THAT(from_nodes, IsOk());
  if (*size == 0) return;
  auto from_leaves = audit::RootFromRange(0, leaves, *size, {});
  ASSERT_THAT(from_leaves, IsOk());
  EXPECT_EQ(*from_nodes, *from_leaves);
}

class AtomicityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SqliteOptions options;  // its fault_injection serves both stores
    options.fault_injection = [this](absl::string_view point) -> absl::Status {
      if (armed_ && point == GetParam()) {
        armed_ = false;
        return absl::UnavailableError(absl::StrCat("injected failure at ", point));
      }
      return absl::OkStatus();
    };
    auto store =
        testing::OpenTestStore(testing::MakeTempDir("audit-atomicity") + "/silta.db", options);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  // Runs `op` once with the failure armed (it must fail and leave no
  // trace, per `absent`), then again (both the change and its entries land).
  template <typename Op, typename Absent>
  void ExpectAllOrNothing(Op op, Absent absent) {
    const uint64_t before = *store_->AuditSize();
    armed_ = true;
    EXPECT_THAT(op(), StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_TRUE(absent()) << "state change persisted without its audit entry";
    EXPECT_THAT(store_->AuditSize(), IsOkAndHolds(before)) << "entry persisted without its change";
    ASSERT_THAT(op(), IsOk());
    EXPECT_FALSE(absent());
    EXPECT_THAT(store_->AuditSize(), IsOkAndHolds(before + 1));
    ExpectTreeMatchesEntries(*store_);
  }

  std::unique_ptr<SqlStore> store_;
  std::atomic<bool> armed_{false};
};

TEST_P(AtomicityTest, OrgInsertAndItsEntry) {
  ExpectAllOrNothing([&] { return store_->InsertOrg(MakeOrg("asenne-ry"), Audit()); },
                     [&] { return !store_->GetOrg("asenne-ry")->has_value(); });
}

TEST_P(AtomicityTest, CaseAndItsEntry) {
  v1::Case c;
  c.set_case_id("case-1");
  c.set_subject_ref("ref-1");
  c.set_state(v1::OPEN);
  c.add_member_org_ids("police-hame");
  v1::CaseEvent event;
  event.set_case_id("case-1");
  event.set_type(v1::CASE_OPENED);
  ExpectAllOrNothing([&] { return store_->CreateCase(c, event, Audit(v1::CASE_CREATED)); },
                     [&] { return *store_->GetCase("case-1") == nullptr; });
}

TEST_P(AtomicityTest, ConsentAndItsEntry) {
  v1::Consent consent;
  consent.set_consent_id("consent-1");
  consent.set_subject_ref("ref-1");
  consent.add_history()->set_type(v1::GIVEN);
  ExpectAllOrNothing(
      [&] { return store_->InsertConsent(consent, Audit(v1::CONSENT_GIVEN)); },
      [&] { return store_->GetConsentRecord("consent-1")->consents.empty(); });
}

TEST_P(AtomicityTest, AcceptedMessageAndItsEntry) {
  ExpectAllOrNothing(
      [&] { return store_->InsertMessage(MakeMessage("m-1"), Audit(v1::MESSAGE_ACCEPTED)); },
      [&] { return !store_->GetMessage("police-hame", "m-1")->has_value(); });
}

TEST_P(AtomicityTest, DeliveryAndItsEntry) {
  ASSERT_THAT(store_->InsertMessage(MakeMessage("m-2"), Audit(v1::MESSAGE_ACCEPTED)), IsOk());
  DeliveryRecord d = *store_->GetDelivery("m-2-d").value();
  d.state = v1::DELIVERED;
  d.attempts = 1;
  ExpectAllOrNothing(
      [&] { return store_->UpdateDeliveries({d}, Audit(v1::MESSAGE_DELIVERED)); },
      [&] { return store_->GetDelivery("m-2-d").value()->state != v1::DELIVERED; });
}

INSTANTIATE_TEST_SUITE_P(FaultPoints, AtomicityTest,
                         ::testing::Values("after_state_change", "after_audit"));

TEST(AuditStoreTest, IndicesAreConsecutiveAndTimesNeverGoBack) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  const absl::Time t0 = absl::FromUnixSeconds(1790000000);
  AuditEntries batch = {audit::NewEntry(v1::ORG_ADDED, t0, "a"),
                        audit::NewEntry(v1::ORG_ADDED, t0 - absl::Seconds(5), "b"),
                        audit::NewEntry(v1::ORG_ADDED, t0 + absl::Seconds(1), "c")};
  ASSERT_THAT((*store)->AppendAudit(&batch), IsOk());
  EXPECT_EQ(batch[0].index(), 0u);
  EXPECT_EQ(batch[2].index(), 2u);
  // The late-stamped entry takes its predecessor's time: log order is time order.
  EXPECT_EQ(batch[1].at().seconds(), 1790000000);
  EXPECT_THAT((*store)->FirstAuditIndexAt(absl::ToUnixMicros(t0 + absl::Seconds(1))),
              IsOkAndHolds(2u));
  EXPECT_THAT((*store)->FirstAuditIndexAt(absl::ToUnixMicros(t0 + absl::Seconds(9))),
              IsOkAndHolds(3u));
}

TEST(AuditStoreTest, HighNodesComeInOneRangeReadAndGiveTheSameProofs) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  constexpr uint64_t kSize = 2100;  // two complete 1024-leaf subtrees and one of 2048
  const absl::Time t0 = absl::FromUnixSeconds(1790000000);
  for (uint64_t done = 0; done < kSize;) {
    AuditEntries batch;
    for (int i = 0; i < 300 && done + batch.size() < kSize; ++i) {
      batch.push_back(audit::NewEntry(v1::ORG_ADDED, t0, absl::StrCat("org-", done + i)));
    }
    done += batch.size();
    ASSERT_THAT((*store)->AppendAudit(&batch), IsOk());
  }

  auto high = (*store)->ReadAuditNodesFrom(10);

  ASSERT_THAT(high, IsOk());
  std::vector<audit::NodeId> ids;
  for (const auto& [id, hash] : *high) ids.push_back(id);
  EXPECT_THAT(ids, ::testing::UnorderedElementsAre(audit::NodeId{10, 0}, audit::NodeId{10, 1},
                                                   audit::NodeId{11, 0}));
  auto one_by_one = (*store)->ReadAuditNodes(ids);
  ASSERT_THAT(one_by_one, IsOk());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ((*high)[i].second, (*one_by_one)[i]);

  // A log opened on this store starts with them cached; its proofs verify.
  auto refs =
      cases::SubjectRefs::FromPepper(crypto::SecretData::FromString(std::string(32, 'p')));
  ASSERT_THAT(refs, IsOk());
  auto key = crypto::GenerateEd25519KeyPair();
  ASSERT_THAT(key, IsOk());
  auto log = audit::AuditLog::Create(store->get(), refs->get(), key->private_key, {});
  ASSERT_THAT(log, IsOk());
  auto head = (*log)->TreeHead(/*fresh=*/true);
  ASSERT_THAT(head, IsOk());
  ASSERT_EQ(head->tree_size(), kSize);
  auto entries = (*store)->ReadAuditRange(0, kSize);
  ASSERT_THAT(entries, IsOk());
  for (uint64_t index : {0ull, 1023ull, 1024ull, 2047ull, 2048ull, 2099ull}) {
    auto proof = (*log)->InclusionProof(index, kSize);
    ASSERT_THAT(proof, IsOk());
    const std::vector<std::string> path(proof->path().begin(), proof->path().end());
    EXPECT_TRUE(audit::VerifyInclusion(index, kSize, audit::EntryLeafHash((*entries)[index]), path,
                                       head->root_hash()))
        << index;
  }
}

TEST(AuditStoreTest, GroupCommitKeepsEachMessagesEntriesWithIt) {
  auto store = testing::OpenTestStore(testing::MakeTempDir("audit-group") + "/silta.db", {});
  ASSERT_THAT(store, IsOk());
  constexpr int kThreads = 6, kPerThread = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every third id is a duplicate of the previous one: it must fail
        // alone and take only its own entries with it.
        const std::string id = absl::StrCat("m-", t, "-", i - (i % 3 == 2 ? 1 : 0));
        AuditEntries audit = {audit::NewEntry(v1::MESSAGE_ACCEPTED, absl::Now(), "police-hame"),
                              audit::NewEntry(v1::FIELD_WITHHELD, absl::Now(), "police-hame")};
        const absl::Status s = (*store)->InsertMessage(MakeMessage(id), &audit);
        if (s.ok()) {
          auto m = (*store)->GetMessage("police-hame", id);
          ASSERT_TRUE(m.ok() && m->has_value());
          EXPECT_EQ((*m)->receipt.audit_index(), audit[0].index());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  const int accepted = kThreads * (kPerThread - kPerThread / 3);
  EXPECT_THAT((*store)->AuditSize(), IsOkAndHolds(static_cast<uint64_t>(2 * accepted)));
  ExpectTreeMatchesEntries(**store);
}

TEST(AuditStoreTest, QueriesFilterAndPage) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  AuditEntries batch;
  for (int i = 0; i < 30; ++i) {
    v1::AuditEntry e = audit::NewEntry(i % 2 == 0 ? v1::MESSAGE_DELIVERED : v1::FIELD_WITHHELD,
                                       absl::FromUnixSeconds(1790000000 + i),
                                       i % 3 == 0 ? "police-hame" : "wba-social");
    e.set_counterpart_org_id("hml-youth");
    e.set_case_id(i < 10 ? "case-a" : "case-b");
    e.set_subject_ref(i < 10 ? "ref-a" : "ref-b");
    batch.push_back(e);
  }
  ASSERT_THAT((*store)->AppendAudit(&batch), IsOk());
  AuditQuery q;
  q.case_id = "case-a";
  q.types = {v1::MESSAGE_DELIVERED};
  EXPECT_THAT((*store)->QueryAudit(q), IsOkAndHolds(::testing::SizeIs(5)));
  q = AuditQuery();
  q.visible_to_org = "police-hame";
  q.limit = 4;
  auto page = (*store)->QueryAudit(q);
  ASSERT_THAT(page, IsOkAndHolds(::testing::SizeIs(4)));
  q.after_index = page->back().index() + 1;
  q.limit = 100;
  auto rest = (*store)->QueryAudit(q);
  ASSERT_THAT(rest, IsOkAndHolds(::testing::SizeIs(6)));  // 10 by police-hame in all
  for (const auto& e : *rest) EXPECT_EQ(e.actor_org_id(), "police-hame");
  q = AuditQuery();
  q.subject_ref = "ref-b";
  q.from_us = absl::ToUnixMicros(absl::FromUnixSeconds(1790000020));
  q.until_us = absl::ToUnixMicros(absl::FromUnixSeconds(1790000025));
  EXPECT_THAT((*store)->QueryAudit(q), IsOkAndHolds(::testing::SizeIs(5)));
}

// The log's index (audit_index) holds the entries below its mark, and a
// query by case, person or org reads the ones after it from the log: on
// both sides of the mark, before and after it moves, and after a purge,
// each query pages through exactly what a scan of the whole log finds.
TEST(AuditStoreTest, QueriesAgreeWithTheLogOnBothSidesOfTheIndexMark) {
  auto store = testing::OpenTestStore(":memory:", {});
  ASSERT_THAT(store, IsOk());
  const std::vector<std::string> orgs = {"police-hame", "wba-social", "hml-youth", "ngo-aseman"};
  const std::vector<v1::AuditEventType> types = {v1::MESSAGE_DELIVERED, v1::FIELD_WITHHELD,
                                                 v1::MESSAGE_ACKED};
  std::vector<v1::AuditEntry> log;
  const auto append = [&](uint64_t n) {
    AuditEntries batch;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t k = log.size() + i;
      v1::AuditEntry e = audit::NewEntry(types[k % 3], absl::Now(), orgs[k % 4]);
      // Some without a counterpart, some their own counterpart; some
      // outside a case, some about no one.
      if (k % 5 != 0) e.set_counterpart_org_id(orgs[(k / 4) % 4]);
      if (k % 7 != 0) e.set_case_id(k % 2 == 0 ? "case-a" : "case-b");
      if (k % 11 != 0) e.set_subject_ref(k % 3 == 0 ? "ref-a" : "ref-b");
      batch.push_back(e);
    }
    ASSERT_THAT((*store)->AppendAudit(&batch), IsOk());
    log.insert(log.end(), batch.begin(), batch.end());
  };
  // Whether `e` matches `q`, as the store's contract says.
  const auto matches = [](const AuditQuery& q, const v1::AuditEntry& e) {
    if (!e.purged_leaf_hash().empty()) return false;
    if (!q.case_id.empty() && e.case_id() != q.case_id) return false;
    if (!q.subject_ref.empty() && e.subject_ref() != q.subject_ref) return false;
    if (!q.org_id.empty() && e.actor_org_id() != q.org_id && e.counterpart_org_id() != q.org_id) {
      return false;
    }
    return q.visible_to_org.empty() || e.actor_org_id() == q.visible_to_org ||
           (e.counterpart_org_id() == q.visible_to_org && e.type() == v1::MESSAGE_DELIVERED);
  };
  const auto expect_agreement = [&](absl::string_view when) {
    std::vector<AuditQuery> queries;
    for (const std::string& org : {std::string(), orgs[0], orgs[2], std::string("nobody")}) {
      for (const bool visible : {false, true}) {
        if (org.empty() && visible) continue;
        for (const std::string& case_id : {std::string(), std::string("case-b")}) {
          for (const std::string& subject : {std::string(), std::string("ref-a")}) {
            for (const bool newest_first : {false, true}) {
              AuditQuery q;
              (visible ? q.visible_to_org : q.org_id) = org;
              q.counterpart_types = {v1::MESSAGE_DELIVERED};
              q.case_id = case_id;
              q.subject_ref = subject;
              q.newest_first = newest_first;
              q.limit = 13;
              queries.push_back(q);
            }
          }
        }
      }
    }
    for (AuditQuery q : queries) {
      SCOPED_TRACE(absl::StrCat(when, ": org ", q.org_id, " visible to ", q.visible_to_org,
                                " case ", q.case_id, " subject ", q.subject_ref,
                                q.newest_first ? " newest first" : ""));
      std::vector<uint64_t> expected;
      for (const v1::AuditEntry& e : log) {
        if (matches(q, e)) expected.push_back(e.index());
      }
      if (q.newest_first) std::reverse(expected.begin(), expected.end());
      std::vector<uint64_t> got;
      while (true) {
        auto page = (*store)->QueryAudit(q);
        ASSERT_THAT(page, IsOk());
        ASSERT_LE(page->size(), q.limit);
        for (const v1::AuditEntry& e : *page) got.push_back(e.index());
        if (page->size() < q.limit) break;
        if (q.newest_first) {
          q.before_index = page->back().index();
        } else {
          q.after_index = page->back().index() + 1;
        }
      }
      EXPECT_EQ(got, expected);
    }
  };
  constexpr uint64_t kLag = SqlStore::kAuditIndexLag;
  append(kLag + 44);  // indexed: the mark moves to the end
  append(kLag / 2);   // after the mark
  expect_agreement("both sides of the mark");
  // Purged entries leave every query, indexed ones and ones not yet.
  ASSERT_THAT((*store)->PurgeAuditEntries({v1::FIELD_WITHHELD}, {},
                                          absl::ToUnixMicros(absl::Now()) + 1, 100000),
              IsOk());
  for (v1::AuditEntry& e : log) {
    if (e.type() == v1::FIELD_WITHHELD) e.set_purged_leaf_hash("purged");
  }
  expect_agreement("after a purge");
  append(kLag);  // the mark moves over the purged entries
  expect_agreement("the mark moved again");
}

}  // namespace
}  // namespace silta::store
