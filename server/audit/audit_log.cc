#include "server/audit/audit_log.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/audit/log_entry.h"
#include "lib/audit/merkle.h"
#include "lib/audit/tree_head.h"
#include "lib/common/files.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "lib/crypto/primitives.h"
#include "server/common/logging.h"

namespace silta::audit {
namespace {

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;

bool HasRole(const v1::Organization& org, v1::Role role) {
  return std::find(org.roles().begin(), org.roles().end(), role) != org.roles().end();
}

int64_t Micros(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(common::ToTime(ts));
}

}  // namespace

absl::StatusOr<crypto::SecretData> AuditLog::LoadLogKey(const std::string& path) {
  SILTA_RETURN_IF_ERROR(common::CheckSecretFile(path));
  SILTA_ASSIGN_OR_RETURN(std::string pem, common::ReadFile(path));
  absl::StatusOr<crypto::SecretData> key = crypto::Ed25519PrivateKeyFromPem(pem);
  std::fill(pem.begin(), pem.end(), '\0');
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit.log_key_file ", path, ": ", key.status().message()));
  }
  return key;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(store::AuditStore* store,
                                                           const cases::SubjectRefs* subject_refs,
                                                           crypto::SecretData log_key,
                                                           AuditLogOptions options) {
  SILTA_ASSIGN_OR_RETURN(std::string public_key, crypto::Ed25519PublicKey(log_key));
  SILTA_ASSIGN_OR_RETURN(auto high_nodes, store->ReadAuditNodesFrom(kCachedLevel));
  auto log = std::unique_ptr<AuditLog>(new AuditLog(store, subject_refs, std::move(log_key),
                                                    std::move(public_key), std::move(options)));
  absl::MutexLock lock(&log->cache_mu_);
  log->node_cache_.reserve(high_nodes.size());
  for (auto& [node, hash] : high_nodes) {
    log->node_cache_.emplace(std::make_pair(node.level, node.index), std::move(hash));
  }
  return log;
}

AuditLog::AuditLog(store::AuditStore* store, const cases::SubjectRefs* subject_refs,
                   crypto::SecretData key, std::string public_key, AuditLogOptions options)
    : store_(store),
      subject_refs_(subject_refs),
      log_key_(std::move(key)),
      public_key_(std::move(public_key)),
      options_(std::move(options)) {}

AuditLog::~AuditLog() { Stop(); }

void AuditLog::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    absl::Time next_retention = absl::Now();
    while (!stop_.WaitForNotificationWithTimeout(options_.tree_head_interval)) {
      if (options_.retention && absl::Now() >= next_retention) {
        next_retention = absl::Now() + options_.retention_interval;
        const std::vector<v1::RetentionRule> rules = options_.retention();
        absl::StatusOr<uint64_t> purged = ApplyRetention(rules, options_.clock());
        absl::Status records = absl::OkStatus();
        if (options_.retain_records) records = options_.retain_records(rules, options_.clock());
        if (!purged.ok() || !records.ok()) {
          common::Log(common::LogLevel::kError, "retention_failed",
                      {{"error", std::string(!purged.ok() ? purged.status().message()
                                                          : records.message())}});
        }
      }
      absl::StatusOr<std::optional<v1::SignedTreeHead>> latest = store_->LatestTreeHead();
      absl::StatusOr<uint64_t> size = store_->AuditSize();
      if (!latest.ok() || !size.ok()) continue;
      if (latest->has_value() && (*latest)->tree_size() == *size) continue;
      absl::StatusOr<v1::SignedTreeHead> head = SignCurrent();
      if (!head.ok()) {
        common::Log(common::LogLevel::kError, "tree_head_failed",
                    {{"error", std::string(head.status().message())}});
      }
    }
  });
}

uint32_t KeepDaysFor(const std::vector<v1::RetentionRule>& rules, v1::AuditEventType type) {
  const v1::RetentionRule* fallback = nullptr;
  for (const v1::RetentionRule& rule : rules) {
    if (rule.types().empty()) fallback = &rule;
    if (std::find(rule.types().begin(), rule.types().end(), static_cast<int>(type)) !=
        rule.types().end()) {
      return rule.keep_days();
    }
  }
  return fallback != nullptr ? fallback->keep_days() : 0;
}

absl::StatusOr<uint64_t> AuditLog::ApplyRetention(const std::vector<v1::RetentionRule>& rules,
                                                  absl::Time now) {
  constexpr uint32_t kBatch = 10000;  // one transaction each, so writers are not held up
  std::vector<v1::AuditEventType> named;
  for (const v1::RetentionRule& rule : rules) {
    for (int type : rule.types()) named.push_back(static_cast<v1::AuditEventType>(type));
  }
  uint64_t total = 0;
  for (const v1::RetentionRule& rule : rules) {
    if (rule.keep_days() == 0) continue;  // for ever
    std::vector<v1::AuditEventType> types;
    for (int type : rule.types()) types.push_back(static_cast<v1::AuditEventType>(type));
    const std::vector<v1::AuditEventType> except =
        types.empty() ? named : std::vector<v1::AuditEventType>();
    const int64_t before_us = absl::ToUnixMicros(now - absl::Hours(24) * rule.keep_days());
    while (true) {
      SILTA_ASSIGN_OR_RETURN(const uint64_t purged,
                             store_->PurgeAuditEntries(types, except, before_us, kBatch));
      total += purged;
      if (purged < kBatch) break;
    }
  }
  if (total > 0) {
    common::Log(common::LogLevel::kInfo, "audit_retention_purged",
                {{"entries", absl::StrCat(total)}});
  }
  return total;
}

void AuditLog::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
}

// Perfect subtrees never change once complete, and every proof passes
// through the few high ones: those (level >= kCachedLevel, at most
// n / 2^kCachedLevel · 2 of them) are kept in memory after their first
// read; the rest are read from the store, all in one batch.
NodeReader AuditLog::Reader() {
  return [this](const std::vector<NodeId>& nodes) -> absl::StatusOr<std::vector<std::string>> {
    std::vector<std::string> out(nodes.size());
    std::vector<NodeId> missing;
    std::vector<size_t> missing_at;
    {
      absl::MutexLock lock(&cache_mu_);
      for (size_t i = 0; i < nodes.size(); ++i) {
        auto it = nodes[i].level >= kCachedLevel
                      ? node_cache_.find(std::make_pair(nodes[i].level, nodes[i].index))
                      : node_cache_.end();
        if (it != node_cache_.end()) {
          out[i] = it->second;
        } else {
          missing.push_back(nodes[i]);
          missing_at.push_back(i);
        }
      }
    }
    if (missing.empty()) return out;
    SILTA_ASSIGN_OR_RETURN(std::vector<std::string> read, store_->ReadAuditNodes(missing));
    absl::MutexLock lock(&cache_mu_);
    for (size_t k = 0; k < missing.size(); ++k) {
      if (missing[k].level >= kCachedLevel) {
        node_cache_.emplace(std::make_pair(missing[k].level, missing[k].index), read[k]);
      }
      out[missing_at[k]] = std::move(read[k]);
    }
    return out;
  };
}

absl::StatusOr<v1::SignedTreeHead> AuditLog::SignCurrent() {
  absl::MutexLock lock(&sign_mu_);
  SILTA_ASSIGN_OR_RETURN(const uint64_t size, store_->AuditSize());
  v1::SignedTreeHead head;
  head.set_tree_size(size);
  SILTA_ASSIGN_OR_RETURN(std::string root, RootHash(size, Reader()));
  head.set_root_hash(std::move(root));
  *head.mutable_timestamp() =
      common::ToTimestamp(absl::FromUnixMicros(absl::ToUnixMicros(options_.clock())));
  SILTA_RETURN_IF_ERROR(SignTreeHead(log_key_, options_.log_id, &head));
  SILTA_RETURN_IF_ERROR(store_->InsertTreeHead(head));
  return head;
}

absl::StatusOr<v1::SignedTreeHead> AuditLog::TreeHead(bool fresh) {
  if (!fresh) {
    SILTA_ASSIGN_OR_RETURN(std::optional<v1::SignedTreeHead> latest, store_->LatestTreeHead());
    if (latest.has_value()) return *latest;
  }
  return SignCurrent();
}

absl::StatusOr<v1::InclusionProof> AuditLog::InclusionProof(uint64_t index, uint64_t tree_size) {
  SILTA_ASSIGN_OR_RETURN(const uint64_t size, store_->AuditSize());
  if (tree_size == 0 || tree_size > size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tree_size: must be 1..", size, " (the log's current size); take it from a tree head"));
  }
  if (index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("index: entry ", index, " is not in a tree of size ", tree_size));
  }
  SILTA_ASSIGN_OR_RETURN(std::vector<std::string> path,
                         audit::InclusionProof(index, tree_size, Reader()));
  v1::InclusionProof proof;
  proof.set_index(index);
  proof.set_tree_size(tree_size);
  for (std::string& h : path) proof.add_path(std::move(h));
  return proof;
}

absl::StatusOr<v1::InclusionProof> AuditLog::InclusionProofFor(const identity::Caller& caller,
                                                               uint64_t index,
                                                               uint64_t tree_size) {
  if (!HasRole(caller.org, v1::AUDITOR)) {
    // A proof carries the leaf hashes next to the entry: only for entries
    // the caller may read (their neighbours' hashes are salted).
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entry, store_->ReadAuditRange(index, index + 1));
    if (entry.size() != 1 || !VisibleTo(entry[0], caller.org.org_id())) {
      return absl::PermissionDeniedError(absl::StrCat(
          "index: entry ", index, " is not an entry your organisation may read; ask an auditor"));
    }
  }
  return InclusionProof(index, tree_size);
}

absl::StatusOr<v1::ConsistencyProof> AuditLog::ConsistencyProof(uint64_t first_size,
                                                                uint64_t second_size) {
  SILTA_ASSIGN_OR_RETURN(const uint64_t size, store_->AuditSize());
  if (first_size == 0 || first_size > second_size || second_size > size) {
    return absl::InvalidArgumentError(absl::StrCat("need 0 < first_size <= second_size <= ", size,
                                                   " (the log's current size); got ", first_size,
                                                   " and ", second_size));
  }
  SILTA_ASSIGN_OR_RETURN(std::vector<std::string> path,
                         audit::ConsistencyProof(first_size, second_size, Reader()));
  v1::ConsistencyProof proof;
  proof.set_first_size(first_size);
  proof.set_second_size(second_size);
  for (std::string& h : path) proof.add_path(std::move(h));
  return proof;
}

namespace {

// The filters of a QueryEntriesRequest that the store's columns do not
// hold: checked on each entry the store returns.
bool MatchesEntryFilters(const v1::QueryEntriesRequest& request, const v1::AuditEntry& e) {
  if (!request.purpose().empty() && e.purpose() != request.purpose()) return false;
  if (!request.statute().empty() &&
      (e.rule() != v1::RULE_STATUTE || e.rule_id() != request.statute())) {
    return false;
  }
  if (request.categories_size() > 0) {
    const bool any = std::any_of(e.categories().begin(), e.categories().end(), [&](int c) {
      return std::find(request.categories().begin(), request.categories().end(), c) !=
             request.categories().end();
    });
    if (!any) return false;
  }
  return true;
}

bool HasEntryFilters(const v1::QueryEntriesRequest& request) {
  return !request.purpose().empty() || !request.statute().empty() || request.categories_size() > 0;
}

}  // namespace

absl::StatusOr<v1::QueryEntriesResponse> AuditLog::Query(const identity::Caller& caller,
                                                         const v1::QueryEntriesRequest& request) {
  if (request.page_size() > kMaxPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: at most ", kMaxPageSize, " (0 means ", kDefaultPageSize, ")"));
  }
  store::AuditQuery q;
  q.newest_first = request.newest_first();
  const uint32_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (!request.page_token().empty()) {
    uint64_t token = 0;
    if (!absl::SimpleAtoi(request.page_token(), &token)) {
      return absl::InvalidArgumentError("page_token: not a token returned by QueryEntries");
    }
    (q.newest_first ? q.before_index : q.after_index) = token;
  }
  q.case_id = request.case_id();
  q.org_id = request.org_id();
  if (request.has_subject() && !request.subject_ref().empty()) {
    return absl::InvalidArgumentError("subject, subject_ref: give one of them, not both");
  }
  if (request.has_subject()) {
    SILTA_ASSIGN_OR_RETURN(q.subject_ref, subject_refs_->RefFor(request.subject().hetu()));
  }
  if (!request.subject_ref().empty()) q.subject_ref = request.subject_ref();
  for (int t : request.types()) {
    if (!v1::AuditEventType_IsValid(t) || t == v1::AUDIT_EVENT_TYPE_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("types: ", t, " is not an audit event type"));
    }
    q.types.push_back(static_cast<v1::AuditEventType>(t));
  }
  for (int c : request.categories()) {
    if (!v1::Category_IsValid(c) || c == v1::CATEGORY_UNSPECIFIED) {
      return absl::InvalidArgumentError(absl::StrCat("categories: ", c, " is not a category"));
    }
  }
  if (request.has_from()) q.from_us = Micros(request.from());
  if (request.has_until()) q.until_us = Micros(request.until());
  if (q.from_us != 0 && q.until_us != 0 && q.until_us <= q.from_us) {
    return absl::InvalidArgumentError("until: must be after from");
  }
  if (!HasRole(caller.org, v1::AUDITOR)) {
    q.visible_to_org = caller.org.org_id();
    q.counterpart_types = CounterpartVisibleTypes();
  }
  // Filters the store cannot apply are applied here, on pages of the
  // store's matches; a call reads at most kMaxScanned of them, so that a
  // rare purpose cannot make one call read the whole log: the page may
  // then come back short, with a token to go on from.
  constexpr uint64_t kMaxScanned = 20000;
  const bool filtered = HasEntryFilters(request);
  q.limit = filtered ? kMaxPageSize : page_size;
  v1::QueryEntriesResponse response;
  uint64_t scanned = 0;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> entries, store_->QueryAudit(q));
    scanned += entries.size();
    size_t consumed = 0;
    for (v1::AuditEntry& e : entries) {
      ++consumed;
      (q.newest_first ? q.before_index : q.after_index) =
          q.newest_first ? e.index() : e.index() + 1;
      if (!MatchesEntryFilters(request, e)) continue;
      *response.add_entries() = std::move(e);
      if (static_cast<uint32_t>(response.entries_size()) == page_size) break;
    }
    const bool more = consumed < entries.size() || entries.size() == q.limit;
    const bool page_full = static_cast<uint32_t>(response.entries_size()) == page_size;
    if (!more || (q.newest_first && q.before_index == 0)) return response;
    if (page_full || scanned >= kMaxScanned) {
      response.set_next_page_token(absl::StrCat(q.newest_first ? q.before_index : q.after_index));
      return response;
    }
  }
}

absl::StatusOr<ExportPlan> AuditLog::PlanExport(const v1::ExportRequest& request) {
  ExportPlan plan;
  SILTA_ASSIGN_OR_RETURN(plan.head, TreeHead(/*fresh=*/true));
  plan.begin = 0;
  plan.end = plan.head.tree_size();
  if (request.has_from()) {
    SILTA_ASSIGN_OR_RETURN(plan.begin, store_->FirstAuditIndexAt(Micros(request.from())));
  }
  if (request.has_until()) {
    if (request.has_from() && Micros(request.until()) <= Micros(request.from())) {
      return absl::InvalidArgumentError("until: must be after from");
    }
    SILTA_ASSIGN_OR_RETURN(plan.end, store_->FirstAuditIndexAt(Micros(request.until())));
  }
  plan.end = std::min(plan.end, plan.head.tree_size());
  plan.begin = std::min(plan.begin, plan.end);
  if (request.consistent_with_size() > plan.head.tree_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistent_with_size: ", request.consistent_with_size(),
                     " is larger than the log (", plan.head.tree_size(), " entries)"));
  }
  return plan;
}

absl::StatusOr<std::vector<v1::AuditEntry>> AuditLog::ReadRange(uint64_t begin, uint64_t end) {
  return store_->ReadAuditRange(begin, end);
}

absl::StatusOr<v1::ExportChunk> AuditLog::FinalChunk(const ExportPlan& plan,
                                                     uint64_t consistent_with_size) {
  v1::ExportChunk chunk;
  *chunk.mutable_tree_head() = plan.head;
  if (plan.end > plan.begin) {
    SILTA_ASSIGN_OR_RETURN(std::vector<std::string> hashes,
                           RangeProof(plan.begin, plan.end, plan.head.tree_size(), Reader()));
    v1::RangeProof* range = chunk.mutable_range_proof();
    range->set_first_index(plan.begin);
    range->set_end_index(plan.end);
    range->set_tree_size(plan.head.tree_size());
    for (std::string& h : hashes) range->add_hashes(std::move(h));
  }
  if (consistent_with_size != 0) {
    SILTA_ASSIGN_OR_RETURN(*chunk.mutable_consistency(),
                           ConsistencyProof(consistent_with_size, plan.head.tree_size()));
  }
  return chunk;
}

}  // namespace silta::audit
