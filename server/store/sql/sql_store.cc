#include "server/store/sql/sql_store.h"

#include <algorithm>
#include <limits>
#include <map>
#include <tuple>
#include <utility>
#include <variant>

#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "lib/audit/log_entry.h"
#include "lib/common/status_macros.h"
#include "lib/common/time_util.h"
#include "server/common/logging.h"
#include "server/common/thread_name.h"
#include "server/store/sql/audit_postings.h"
#include "server/store/sql/committer_priority.h"

namespace silta::store {
namespace {

using sql::Statement;

absl::StatusOr<Statement> Prepare(sql::Connection* db, absl::string_view text) {
  return db->Prepare(text);
}

absl::Status Exec(sql::Connection* db, absl::string_view text) { return db->Exec(text); }

int64_t ToMicros(const google::protobuf::Timestamp& ts) {
  return absl::ToUnixMicros(common::ToTime(ts));
}

google::protobuf::Timestamp FromMicros(int64_t us) {
  return common::ToTimestamp(absl::FromUnixMicros(us));
}

std::string EncodeRoles(const v1::Organization& org) { return absl::StrJoin(org.roles(), ","); }

absl::Status DecodeRoles(absl::string_view text, v1::Organization* org) {
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int role = 0;
    if (!absl::SimpleAtoi(part, &role) || !v1::Role_IsValid(role)) {
      return absl::InternalError(absl::StrCat("orgs.roles of ", org->org_id(), " is corrupt"));
    }
    org->add_roles(static_cast<v1::Role>(role));
  }
  return absl::OkStatus();
}

constexpr absl::string_view kOrgColumns =
    "org_id, display_name, kind, roles, state, region, created_at_us, updated_at_us";

absl::StatusOr<v1::Organization> ReadOrg(const Statement& stmt) {
  v1::Organization org;
  org.set_org_id(stmt.Text(0));
  org.set_display_name(stmt.Text(1));
  org.set_kind(static_cast<v1::OrgKind>(stmt.Int(2)));
  SILTA_RETURN_IF_ERROR(DecodeRoles(stmt.Text(3), &org));
  org.set_state(static_cast<v1::OrgState>(stmt.Int(4)));
  org.set_region(stmt.Text(5));
  *org.mutable_created_at() = FromMicros(stmt.Int(6));
  *org.mutable_updated_at() = FromMicros(stmt.Int(7));
  return org;
}

template <typename T>
absl::StatusOr<T> ParseBlob(const std::string& blob, absl::string_view what) {
  T message;
  if (!message.ParseFromString(blob)) {
    return absl::InternalError(absl::StrCat("stored ", what, " record is corrupt"));
  }
  return message;
}

// Every row's column 0 parsed as a T.
template <typename T>
absl::StatusOr<std::vector<T>> ReadAllBlobs(Statement& stmt, absl::string_view what) {
  std::vector<T> out;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    SILTA_ASSIGN_OR_RETURN(T message, ParseBlob<T>(stmt.Blob(0), what));
    out.push_back(std::move(message));
  }
  return out;
}

// The first row's column 0 parsed as a T, or nullopt without rows.
template <typename T>
absl::StatusOr<std::optional<T>> ReadOptionalBlob(Statement& stmt, absl::string_view what) {
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<T>();
  SILTA_ASSIGN_OR_RETURN(T message, ParseBlob<T>(stmt.Blob(0), what));
  return std::optional<T>(std::move(message));
}

// `type IN (...)` of audit event types; false for none (SQLite takes an
// empty IN list, PostgreSQL does not).
std::string TypeIn(const std::vector<v1::AuditEventType>& types) {
  if (types.empty()) return "1 = 0";
  return absl::StrCat("type IN (", absl::StrJoin(types, ","), ")");
}

// The kinds of term in the log's index (audit_postings).
constexpr int kOrgTerm = 1;  // an entry's actor or counterpart
constexpr int kSubjectTerm = 2;
constexpr int kCaseTerm = 3;

// The terms an entry is indexed by: its actor, its counterpart if another
// org, its subject and its case, each if set.
std::vector<std::pair<int, std::string>> IndexTerms(std::string actor, std::string counterpart,
                                                    std::string subject_ref, std::string case_id) {
  std::vector<std::pair<int, std::string>> terms;
  terms.reserve(4);
  if (!counterpart.empty() && counterpart != actor) {
    terms.emplace_back(kOrgTerm, std::move(counterpart));
  }
  if (!actor.empty()) terms.emplace_back(kOrgTerm, std::move(actor));
  if (!subject_ref.empty()) terms.emplace_back(kSubjectTerm, std::move(subject_ref));
  if (!case_id.empty()) terms.emplace_back(kCaseTerm, std::move(case_id));
  return terms;
}

// A posting row of `term`'s indexes `idxs` (ascending, not empty).
absl::Status InsertPosting(sql::Connection* db, int kind, absl::string_view term,
                           absl::Span<const uint64_t> idxs) {
  SILTA_ASSIGN_OR_RETURN(Statement insert,
                         Prepare(db,
                                 "INSERT INTO audit_postings(kind, term, first_idx, gaps) "
                                 "VALUES(?, ?, ?, ?)"));
  insert.BindInt(1, kind);
  insert.BindText(2, term);
  insert.BindInt(3, static_cast<int64_t>(idxs.front()));
  insert.BindBlob(4, EncodePostingGaps(idxs));
  return insert.Run();
}

// Takes `idx` out of `term`'s posting row that holds it, if one does (an
// entry after the index's mark is in none): the row goes when it held only
// `idx`, and starts at its next index when `idx` was its first.
absl::Status UnindexAuditEntry(sql::Connection* db, int kind, const std::string& term,
                               uint64_t idx) {
  SILTA_ASSIGN_OR_RETURN(Statement find,
                         Prepare(db,
                                 "SELECT first_idx, gaps FROM audit_postings WHERE kind = ? AND "
                                 "term = ? AND first_idx <= ? ORDER BY first_idx DESC LIMIT 1"));
  find.BindInt(1, kind);
  find.BindText(2, term);
  find.BindInt(3, static_cast<int64_t>(idx));
  SILTA_ASSIGN_OR_RETURN(const bool row, find.Step());
  if (!row) return absl::OkStatus();
  const int64_t first = find.Int(0);
  SILTA_ASSIGN_OR_RETURN(std::vector<uint64_t> idxs,
                         DecodePosting(static_cast<uint64_t>(first), find.Blob(1)));
  const auto at = std::lower_bound(idxs.begin(), idxs.end(), idx);
  if (at == idxs.end() || *at != idx) return absl::OkStatus();
  idxs.erase(at);
  SILTA_ASSIGN_OR_RETURN(
      Statement remove,
      Prepare(db, "DELETE FROM audit_postings WHERE kind = ? AND term = ? AND first_idx = ?"));
  remove.BindInt(1, kind);
  remove.BindText(2, term);
  remove.BindInt(3, first);
  SILTA_RETURN_IF_ERROR(remove.Run());
  if (idxs.empty()) return absl::OkStatus();
  return InsertPosting(db, kind, term, idxs);
}

constexpr int kConsentKind = 1;
constexpr int kRefusalKind = 2;
constexpr int kAssessmentKind = 3;

}  // namespace

SqlStore::SqlStore(std::unique_ptr<sql::Connection> writer, FaultInjection fault_injection)
    : fault_injection_(std::move(fault_injection)) {
  absl::MutexLock lock(&mu_);
  writer_ = std::move(writer);
  db_ = writer_.get();
  absl::MutexLock stats_lock(&stats_mu_);
  commit_stats_.batch_writes = common::Histogram({1, 2, 4, 8, 16, 32, 64, 128, 256, 512});
  commit_stats_.commit_seconds =
      common::Histogram({0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
}

SqlStore::~SqlStore() {
  StopCommitter();
  absl::MutexLock lock(&mu_);
  db_ = nullptr;
  writer_.reset();
}

void SqlStore::StopCommitter() {
  if (!committer_.joinable()) return;
  {
    absl::MutexLock queue_lock(&queue_mu_);
    stopping_ = true;  // the committer commits what is queued, then ends
  }
  committer_.join();
}

absl::Status SqlStore::Migrate(const std::vector<Migration>& migrations,
                               absl::string_view create_versions_table) {
  absl::MutexLock lock(&mu_);
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  // One migration per transaction, which also reads the version: instances
  // starting at once on one database apply each migration once.
  while (true) {
    const Migration* next = nullptr;
    absl::Status applied = InTransactionLocked([&]() -> absl::Status {
      SILTA_RETURN_IF_ERROR(Exec(db_, create_versions_table));
      SILTA_ASSIGN_OR_RETURN(const int current, SchemaVersionLocked());
      if (current > latest) {
        return absl::FailedPreconditionError(
            absl::StrCat("schema version ", current, " is newer than this siltad supports (",
                         latest, "); run the siltad version that wrote it, or restore a backup"));
      }
      for (const Migration& m : migrations) {
        if (m.version > current) {
          next = &m;
          break;
        }
      }
      if (next == nullptr) return absl::OkStatus();
      SILTA_RETURN_IF_ERROR(Exec(db_, next->sql));
      SILTA_ASSIGN_OR_RETURN(
          Statement record,
          Prepare(db_,
                  "INSERT INTO schema_migrations(version, description, applied_at_us) "
                  "VALUES(?, ?, ?)"));
      record.BindInt(1, next->version);
      record.BindText(2, next->description);
      record.BindInt(3, absl::ToUnixMicros(absl::Now()));
      return record.Run();
    });
    if (!applied.ok() && next != nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "migration ", next->version, " (", next->description, ") failed: ", applied.message()));
    }
    if (!applied.ok()) return applied;
    if (next == nullptr) return absl::OkStatus();
  }
}

absl::StatusOr<int> SqlStore::SchemaVersionLocked() {
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return 0;
  return static_cast<int>(stmt.Int(0));
}

absl::Status SqlStore::Ping() {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(Statement stmt, Prepare(reader.db(), "SELECT 1"));
  return stmt.Run();
}

absl::StatusOr<int> SqlStore::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  return SchemaVersionLocked();
}

absl::StatusOr<std::string> SqlStore::ClaimSetting(absl::string_view name,
                                                   absl::string_view value) {
  absl::MutexLock lock(&mu_);
  std::string stored;
  SILTA_RETURN_IF_ERROR(InTransactionLocked([&]() -> absl::Status {
    SILTA_ASSIGN_OR_RETURN(
        Statement claim,
        Prepare(db_,
                "INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING"));
    claim.BindText(1, name);
    claim.BindText(2, value);
    SILTA_RETURN_IF_ERROR(claim.Run());
    SILTA_ASSIGN_OR_RETURN(Statement read,
                           Prepare(db_, "SELECT value FROM settings WHERE name = ?"));
    read.BindText(1, name);
    SILTA_ASSIGN_OR_RETURN(const bool row, read.Step());
    if (!row) return absl::InternalError("a setting just stored is missing");
    stored = read.Text(0);
    return absl::OkStatus();
  }));
  return stored;
}

absl::Status SqlStore::InsertOrg(const v1::Organization& org, AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(Statement stmt,
                               Prepare(db_, absl::StrCat("INSERT INTO orgs(", kOrgColumns,
                                                         ") VALUES(?, ?, ?, ?, ?, ?, ?, ?)")));
        stmt.BindText(1, org.org_id());
        stmt.BindText(2, org.display_name());
        stmt.BindInt(3, org.kind());
        stmt.BindText(4, EncodeRoles(org));
        stmt.BindInt(5, org.state());
        stmt.BindText(6, org.region());
        stmt.BindInt(7, ToMicros(org.created_at()));
        stmt.BindInt(8, ToMicros(org.updated_at()));
        absl::Status status = stmt.Run();
        if (absl::IsAlreadyExists(status)) {
          return absl::AlreadyExistsError(
              absl::StrCat("organisation ", org.org_id(), " already exists"));
        }
        SILTA_RETURN_IF_ERROR(status);
        return PublishChangeLocked({ChangeNotice::kOrg, org.org_id(), ""});
      },
      audit);
}

absl::Status SqlStore::UpdateOrg(const v1::Organization& org, AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement stmt,
            Prepare(db_,
                    "UPDATE orgs SET display_name = ?, kind = ?, roles = ?, state = ?, "
                    "region = ?, updated_at_us = ? WHERE org_id = ?"));
        stmt.BindText(1, org.display_name());
        stmt.BindInt(2, org.kind());
        stmt.BindText(3, EncodeRoles(org));
        stmt.BindInt(4, org.state());
        stmt.BindText(5, org.region());
        stmt.BindInt(6, ToMicros(org.updated_at()));
        stmt.BindText(7, org.org_id());
        SILTA_RETURN_IF_ERROR(stmt.Run());
        if (db_->Changes() == 0) {
          return absl::NotFoundError(absl::StrCat("organisation ", org.org_id(), " not found"));
        }
        return PublishChangeLocked({ChangeNotice::kOrg, org.org_id(), ""});
      },
      audit);
}

absl::StatusOr<std::optional<v1::Organization>> SqlStore::GetOrg(absl::string_view org_id) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(Statement stmt, Prepare(db_, absl::StrCat("SELECT ", kOrgColumns,
                                                                   " FROM orgs WHERE org_id = ?")));
  stmt.BindText(1, org_id);
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<v1::Organization>();
  SILTA_ASSIGN_OR_RETURN(v1::Organization org, ReadOrg(stmt));
  return std::optional<v1::Organization>(std::move(org));
}

absl::StatusOr<std::vector<v1::Organization>> SqlStore::ListOrgs() {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(Statement stmt, Prepare(db_, absl::StrCat("SELECT ", kOrgColumns,
                                                                   " FROM orgs ORDER BY org_id")));
  std::vector<v1::Organization> orgs;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    SILTA_ASSIGN_OR_RETURN(v1::Organization org, ReadOrg(stmt));
    orgs.push_back(std::move(org));
  }
  return orgs;
}

absl::Status SqlStore::InTransactionLocked(const std::function<absl::Status()>& body,
                                           bool durable) {
  SILTA_RETURN_IF_ERROR(BeginLocked(durable));
  absl::Status status = body();
  if (status.ok()) status = Exec(db_, "COMMIT");
  const bool committed = status.ok();
  if (!status.ok()) {
    const absl::Status rolled_back = Exec(db_, "ROLLBACK");
    if (absl::IsUnavailable(rolled_back)) {
      // The connection is gone: the server ends the transaction without
      // committing it. Nothing was written; the caller may try again.
      status = absl::UnavailableError(absl::StrCat(
          status.message(), "; the transaction was not committed: ", rolled_back.message()));
    } else if (!rolled_back.ok()) {
      status = absl::InternalError(
          absl::StrCat(status.message(), "; rollback also failed: ", rolled_back.message()));
    }
  }
  const absl::Status ended = EndedLocked(durable, committed);
  return status.ok() ? ended : status;
}

absl::Status SqlStore::WriteMembersLocked(const v1::Case& c) {
  SILTA_ASSIGN_OR_RETURN(Statement clear,
                         Prepare(db_, "DELETE FROM case_members WHERE case_id = ?"));
  clear.BindText(1, c.case_id());
  SILTA_RETURN_IF_ERROR(clear.Run());
  for (const std::string& org_id : c.member_org_ids()) {
    SILTA_ASSIGN_OR_RETURN(Statement insert,
                           Prepare(db_, "INSERT INTO case_members(case_id, org_id) VALUES(?, ?)"));
    insert.BindText(1, c.case_id());
    insert.BindText(2, org_id);
    SILTA_RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

absl::Status SqlStore::AppendCaseEventLocked(const v1::CaseEvent& event) {
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "INSERT INTO case_events(case_id, seq, event) VALUES(?, "
              "(SELECT COALESCE(MAX(seq), 0) + 1 FROM case_events WHERE case_id = ?), ?)"));
  stmt.BindText(1, event.case_id());
  stmt.BindText(2, event.case_id());
  stmt.BindBlob(3, event.SerializeAsString());
  return stmt.Run();
}

absl::Status SqlStore::CreateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  absl::Cleanup changed = [this] { cases_cache_.Clear(); };
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement stmt,
            Prepare(db_,
                    "INSERT INTO cases(case_id, subject_ref, state, created_at_us, record) "
                    "VALUES(?, ?, ?, ?, ?)"));
        stmt.BindText(1, c.case_id());
        stmt.BindText(2, c.subject_ref());
        stmt.BindInt(3, c.state());
        stmt.BindInt(4, ToMicros(c.created_at()));
        stmt.BindBlob(5, c.SerializeAsString());
        absl::Status inserted = stmt.Run();
        if (absl::IsAlreadyExists(inserted)) {
          // Either the id is taken or the subject has an open case (partial
          // unique index); the latter is the one callers can meet.
          return absl::FailedPreconditionError("the subject already has an open case");
        }
        SILTA_RETURN_IF_ERROR(inserted);
        SILTA_RETURN_IF_ERROR(WriteMembersLocked(c));
        SILTA_RETURN_IF_ERROR(AppendCaseEventLocked(event));
        return PublishChangeLocked({ChangeNotice::kCase, c.case_id(), ""});
      },
      audit);
}

absl::Status SqlStore::UpdateCase(const v1::Case& c, const v1::CaseEvent& event,
                                  AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  absl::Cleanup changed = [this] { cases_cache_.Clear(); };
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement stmt,
            Prepare(db_, "UPDATE cases SET state = ?, record = ? WHERE case_id = ?"));
        stmt.BindInt(1, c.state());
        stmt.BindBlob(2, c.SerializeAsString());
        stmt.BindText(3, c.case_id());
        SILTA_RETURN_IF_ERROR(stmt.Run());
        if (db_->Changes() == 0) {
          return absl::NotFoundError(absl::StrCat("case ", c.case_id(), " not found"));
        }
        SILTA_RETURN_IF_ERROR(WriteMembersLocked(c));
        SILTA_RETURN_IF_ERROR(AppendCaseEventLocked(event));
        return PublishChangeLocked({ChangeNotice::kCase, c.case_id(), ""});
      },
      audit);
}

absl::StatusOr<std::shared_ptr<const v1::Case>> SqlStore::GetCase(absl::string_view case_id) {
  if (fault_injection_) SILTA_RETURN_IF_ERROR(fault_injection_("get_case"));
  if (std::shared_ptr<const v1::Case> cached = cases_cache_.Get(case_id)) return cached;
  const uint64_t generation = cases_cache_.generation();
  ReadLock reader(this);
  sql::Connection* const db = reader.db();
  SILTA_ASSIGN_OR_RETURN(Statement stmt, Prepare(db, "SELECT record FROM cases WHERE case_id = ?"));
  stmt.BindText(1, case_id);
  SILTA_ASSIGN_OR_RETURN(std::optional<v1::Case> c, ReadOptionalBlob<v1::Case>(stmt, "case"));
  if (!c.has_value()) return nullptr;
  auto shared = std::make_shared<const v1::Case>(*std::move(c));
  cases_cache_.Put(case_id, shared, generation);
  return shared;
}

absl::StatusOr<std::optional<v1::Case>> SqlStore::FindOpenCase(absl::string_view subject_ref) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt, Prepare(db_, "SELECT record FROM cases WHERE subject_ref = ? AND state = ?"));
  stmt.BindText(1, subject_ref);
  stmt.BindInt(2, v1::OPEN);
  return ReadOptionalBlob<v1::Case>(stmt, "case");
}

absl::StatusOr<std::vector<v1::Case>> SqlStore::ListCasesForOrg(absl::string_view org_id,
                                                                v1::CaseState state,
                                                                uint32_t offset, uint32_t limit) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "SELECT c.record FROM cases c JOIN case_members m ON m.case_id = c.case_id "
              "WHERE m.org_id = ? AND (? = 0 OR c.state = ?) "
              "ORDER BY c.created_at_us DESC, c.case_id DESC LIMIT ? OFFSET ?"));
  stmt.BindText(1, org_id);
  stmt.BindInt(2, state);
  stmt.BindInt(3, state);
  stmt.BindInt(4, limit);
  stmt.BindInt(5, offset);
  return ReadAllBlobs<v1::Case>(stmt, "case");
}

absl::StatusOr<std::vector<v1::CaseEvent>> SqlStore::ListCaseEvents(absl::string_view case_id) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt, Prepare(db_, "SELECT event FROM case_events WHERE case_id = ? ORDER BY seq"));
  stmt.BindText(1, case_id);
  return ReadAllBlobs<v1::CaseEvent>(stmt, "case event");
}

absl::Status SqlStore::InsertConsentRecordLocked(absl::string_view id,
                                                 absl::string_view subject_ref, int kind,
                                                 const google::protobuf::Message& record,
                                                 const v1::ConsentEvent& given,
                                                 AuditEntries* audit) {
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement stmt,
            Prepare(db_,
                    "INSERT INTO consent_records(record_id, subject_ref, kind, record) "
                    "VALUES(?, ?, ?, ?)"));
        stmt.BindText(1, id);
        stmt.BindText(2, subject_ref);
        stmt.BindInt(3, kind);
        stmt.BindBlob(4, record.SerializeAsString());
        SILTA_RETURN_IF_ERROR(stmt.Run());
        SILTA_RETURN_IF_ERROR(AppendConsentEventLocked(id, given));
        return PublishChangeLocked(
            {ChangeNotice::kConsentRecord, std::string(id), std::string(subject_ref)});
      },
      audit);
}

absl::Status SqlStore::AppendConsentEventLocked(absl::string_view record_id,
                                                const v1::ConsentEvent& event) {
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "INSERT INTO consent_events(record_id, seq, event) VALUES(?, "
              "(SELECT COALESCE(MAX(seq), 0) + 1 FROM consent_events WHERE record_id = ?), ?)"));
  stmt.BindText(1, record_id);
  stmt.BindText(2, record_id);
  stmt.BindBlob(3, event.SerializeAsString());
  return stmt.Run();
}

absl::Status SqlStore::InsertConsent(const v1::Consent& consent, AuditEntries* audit) {
  if (consent.history_size() != 1) {
    return absl::InvalidArgumentError("a new consent must carry exactly its GIVEN event");
  }
  v1::Consent record = consent;
  record.clear_history();
  absl::MutexLock lock(&mu_);
  return InsertConsentRecordLocked(consent.consent_id(), consent.subject_ref(), kConsentKind,
                                   record, consent.history(0), audit);
}

absl::Status SqlStore::InsertRefusal(const v1::Refusal& refusal, AuditEntries* audit) {
  if (refusal.history_size() != 1) {
    return absl::InvalidArgumentError("a new refusal must carry exactly its GIVEN event");
  }
  v1::Refusal record = refusal;
  record.clear_history();
  absl::MutexLock lock(&mu_);
  return InsertConsentRecordLocked(refusal.refusal_id(), refusal.subject_ref(), kRefusalKind,
                                   record, refusal.history(0), audit);
}

absl::Status SqlStore::InsertAssessment(const v1::CompetenceAssessment& assessment,
                                        AuditEntries* audit) {
  if (assessment.history_size() != 1) {
    return absl::InvalidArgumentError("a new assessment must carry exactly its GIVEN event");
  }
  v1::CompetenceAssessment record = assessment;
  record.clear_history();
  absl::MutexLock lock(&mu_);
  return InsertConsentRecordLocked(assessment.assessment_id(), assessment.subject_ref(),
                                   kAssessmentKind, record, assessment.history(0), audit);
}

absl::Status SqlStore::AppendConsentEvent(absl::string_view record_id,
                                          const v1::ConsentEvent& event, AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement exists,
            Prepare(db_, "SELECT subject_ref FROM consent_records WHERE record_id = ?"));
        exists.BindText(1, record_id);
        SILTA_ASSIGN_OR_RETURN(bool row, exists.Step());
        if (!row) return absl::NotFoundError(absl::StrCat("record ", record_id, " not found"));
        const std::string subject_ref(exists.Text(0));
        SILTA_RETURN_IF_ERROR(AppendConsentEventLocked(record_id, event));
        return PublishChangeLocked(
            {ChangeNotice::kConsentRecord, std::string(record_id), subject_ref});
      },
      audit);
}

absl::StatusOr<Store::ConsentRecords> SqlStore::ConsentRecordsFrom(sql::Connection* db,
                                                                   absl::string_view where,
                                                                   absl::string_view value) {
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(db, absl::StrCat("SELECT r.record_id, r.kind, r.record, e.event "
                                                  "FROM consent_records r JOIN consent_events e "
                                                  "ON e.record_id = r.record_id WHERE ",
                                                  where, " ORDER BY r.rowid, e.seq")));
  stmt.BindText(1, value);
  ConsentRecords records;
  std::string current_id;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    const std::string id = stmt.Text(0);
    SILTA_ASSIGN_OR_RETURN(v1::ConsentEvent event,
                           ParseBlob<v1::ConsentEvent>(stmt.Blob(3), "consent event"));
    const int kind = stmt.Int(1);
    if (id != current_id) {
      current_id = id;
      switch (kind) {
        case kConsentKind: {
          SILTA_ASSIGN_OR_RETURN(v1::Consent c, ParseBlob<v1::Consent>(stmt.Blob(2), "consent"));
          records.consents.push_back(std::move(c));
          break;
        }
        case kRefusalKind: {
          SILTA_ASSIGN_OR_RETURN(v1::Refusal r, ParseBlob<v1::Refusal>(stmt.Blob(2), "refusal"));
          records.refusals.push_back(std::move(r));
          break;
        }
        case kAssessmentKind: {
          SILTA_ASSIGN_OR_RETURN(v1::CompetenceAssessment a,
                                 ParseBlob<v1::CompetenceAssessment>(stmt.Blob(2), "assessment"));
          records.assessments.push_back(std::move(a));
          break;
        }
        default:
          // A kind this build does not know: refuse rather than decide
          // without a record.
          return absl::DataLossError(
              absl::StrCat("consent record ", id, " has unknown kind ", kind));
      }
    }
    switch (kind) {
      case kConsentKind:
        *records.consents.back().add_history() = std::move(event);
        break;
      case kRefusalKind:
        *records.refusals.back().add_history() = std::move(event);
        break;
      default:
        *records.assessments.back().add_history() = std::move(event);
        break;
    }
  }
  return records;
}

absl::StatusOr<Store::ConsentRecords> SqlStore::ListConsentRecords(absl::string_view subject_ref) {
  // On the read connection: a registrar's read does not wait for a commit.
  ReadLock reader(this);
  return ConsentRecordsFrom(reader.db(), "(?1 = '' OR r.subject_ref = ?1)", subject_ref);
}

absl::StatusOr<Store::ConsentRecords> SqlStore::GetConsentRecord(absl::string_view record_id) {
  ReadLock reader(this);
  return ConsentRecordsFrom(reader.db(), "r.record_id = ?1", record_id);
}

absl::Status SqlStore::PublishKeyBundle(const v1::KeyBundle& bundle, AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  absl::Cleanup changed = [this] { bundles_cache_.Clear(); };
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(Statement retire,
                               Prepare(db_, "UPDATE key_bundles SET retired = 1 WHERE org_id = ?"));
        retire.BindText(1, bundle.org_id());
        SILTA_RETURN_IF_ERROR(retire.Run());
        SILTA_ASSIGN_OR_RETURN(
            Statement insert,
            Prepare(db_,
                    "INSERT INTO key_bundles(key_id, org_id, published_us, retired, record) "
                    "VALUES(?, ?, ?, 0, ?)"));
        v1::KeyBundle record = bundle;
        record.clear_retired();
        insert.BindText(1, bundle.key_id());
        insert.BindText(2, bundle.org_id());
        insert.BindInt(3, absl::ToUnixMicros(absl::Now()));
        insert.BindBlob(4, record.SerializeAsString());
        absl::Status inserted = insert.Run();
        if (absl::IsAlreadyExists(inserted)) {
          return absl::AlreadyExistsError(absl::StrCat("key bundle ", bundle.key_id(), " exists"));
        }
        SILTA_RETURN_IF_ERROR(inserted);
        return PublishChangeLocked({ChangeNotice::kKeyBundles, bundle.org_id(), ""});
      },
      audit);
}

absl::StatusOr<KeyBundles> SqlStore::ListKeyBundles(absl::string_view org_id,
                                                    bool include_retired) {
  const std::string key = absl::StrCat(org_id, include_retired ? "/all" : "/current");
  if (KeyBundles cached = bundles_cache_.Get(key)) return cached;
  const uint64_t generation = bundles_cache_.generation();
  ReadLock reader(this);
  sql::Connection* const db = reader.db();
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(db,
                                 "SELECT record, retired FROM key_bundles WHERE org_id = ? "
                                 "AND (? OR retired = 0) ORDER BY published_us DESC, rowid DESC"));
  stmt.BindText(1, org_id);
  stmt.BindInt(2, include_retired ? 1 : 0);
  auto bundles = std::make_shared<std::vector<v1::KeyBundle>>();
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    SILTA_ASSIGN_OR_RETURN(v1::KeyBundle b, ParseBlob<v1::KeyBundle>(stmt.Blob(0), "key bundle"));
    b.set_retired(stmt.Int(1) != 0);
    bundles->push_back(std::move(b));
  }
  bundles_cache_.Put(key, bundles, generation);
  return bundles;
}

namespace {

constexpr absl::string_view kDeliveryColumns =
    "delivery_id, message_id, recipient_org_id, state, attempts, next_attempt_us, updated_at_us";

// The audit log's size and the time of its last entry.
using AuditTail = audit::LogTail;

// The key of a node in audit_merkle (migration 14): the last leaf it
// covers, then its level, in one integer.
int64_t NodeKey(const audit::NodeId& node) {
  const uint64_t last_leaf = ((node.index + 1) << node.level) - 1;
  return static_cast<int64_t>((last_leaf << 6) | static_cast<uint64_t>(node.level));
}

// audit_merkle, for audit::AppendLeaf, through the append's statements.
class SqlNodeTable final : public audit::NodeTable {
 public:
  SqlNodeTable(Statement& insert, Statement& read) : insert_(insert), read_(read) {}
  absl::StatusOr<std::string> Get(const audit::NodeId& node) override {
    read_.Reset();
    read_.BindInt(1, NodeKey(node));
    SILTA_ASSIGN_OR_RETURN(const bool row, read_.Step());
    if (!row) return absl::NotFoundError("not stored");
    return read_.Blob(0);
  }
  absl::Status Put(const audit::NodeId& node, absl::string_view hash) override {
    insert_.Reset();
    insert_.BindInt(1, NodeKey(node));
    insert_.BindBlob(2, std::string(hash));
    return insert_.Run();
  }

 private:
  Statement& insert_;
  Statement& read_;
};

absl::StatusOr<AuditTail> AuditTailLocked(sql::Connection* db) {
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db, "SELECT idx, at_us FROM audit_entries ORDER BY idx DESC LIMIT 1"));
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return AuditTail{};
  return AuditTail{static_cast<uint64_t>(stmt.Int(0)) + 1, stmt.Int(1)};
}

// Message ids are unique per sender (message.proto): the store keys a
// message by "<sender_org_id>/<message_id>" (an org id has no '/'), in the
// message_id columns of messages and deliveries (migration 6).
std::string MessageKey(absl::string_view sender_org_id, absl::string_view message_id) {
  return absl::StrCat(sender_org_id, "/", message_id);
}

// The sender and message id of a key.
std::pair<std::string, std::string> SplitMessageKey(absl::string_view key) {
  const size_t slash = key.find('/');
  if (slash == absl::string_view::npos) return {"", std::string(key)};
  return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

DeliveryRecord ReadDelivery(const Statement& stmt) {
  DeliveryRecord d;
  d.delivery_id = stmt.Text(0);
  std::tie(d.sender_org_id, d.message_id) = SplitMessageKey(stmt.Text(1));
  d.recipient_org_id = stmt.Text(2);
  d.state = static_cast<v1::RecipientState>(stmt.Int(3));
  d.attempts = static_cast<uint32_t>(stmt.Int(4));
  d.next_attempt_us = stmt.Int(5);
  d.updated_at_us = stmt.Int(6);
  return d;
}

// Whether a delivery may still be delivered: PENDING, or DELIVERED and
// not yet acked.
bool Unfinished(const DeliveryRecord& d) {
  return d.state == v1::PENDING || d.state == v1::DELIVERED;
}

}  // namespace

absl::Status SqlStore::InsertMessageLocked(const MessageRecord& message,
                                           absl::string_view serialized_body, AuditEntries* audit) {
  // The receipt names its MESSAGE_ACCEPTED entry: the next index of the log,
  // stable while this transaction holds the write lock. The index follows
  // the receipt's bytes as a message of its own, which parsing merges into
  // the receipt (protobuf's rule for concatenated messages), rather than
  // set on a copy of the whole receipt.
  std::string receipt = message.receipt.SerializeAsString();
  if (!audit->empty()) {
    SILTA_ASSIGN_OR_RETURN(const AuditTail tail, AuditTailLocked(db_));
    v1::DeliveryReceipt index;
    index.set_audit_index(tail.size);
    receipt += index.SerializeAsString();
  }
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "INSERT INTO messages(message_id, sender_org_id, case_id, content_hash, "
              "accepted_at_us, expires_at_us, receipt, subject_ref, "
              "linked_case_id) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  const std::string key = MessageKey(message.sender_org_id, message.message_id);
  stmt.BindText(1, key);
  stmt.BindText(2, message.sender_org_id);
  stmt.BindText(3, message.case_id);
  stmt.BindBlob(4, message.content_hash);
  stmt.BindInt(5, message.accepted_at_us);
  stmt.BindInt(6, message.expires_at_us);
  stmt.BindBlob(7, receipt);
  stmt.BindText(8, message.subject_ref);
  stmt.BindText(9, message.linked_case_id);
  absl::Status inserted = stmt.Run();
  if (absl::IsAlreadyExists(inserted)) {
    return absl::AlreadyExistsError(absl::StrCat("message ", message.message_id, " exists"));
  }
  SILTA_RETURN_IF_ERROR(inserted);
  // Nothing permitted to anyone: the body is not kept, not even written.
  const bool deliverable =
      std::any_of(message.deliveries.begin(), message.deliveries.end(), Unfinished);
  if (deliverable) {
    SILTA_ASSIGN_OR_RETURN(
        Statement body_row,
        Prepare(db_,
                "INSERT INTO message_bodies(message_id, expires_at_us, body) VALUES(?, ?, ?)"));
    std::string body;
    if (message.body.has_value() && serialized_body.empty()) {
      body = message.body->SerializeAsString();
    }
    body_row.BindText(1, key);
    body_row.BindInt(2, message.expires_at_us);
    body_row.BindBlob(3, serialized_body.empty() ? absl::string_view(body) : serialized_body);
    SILTA_RETURN_IF_ERROR(body_row.Run());
  }
  for (const DeliveryRecord& d : message.deliveries) {
    SILTA_ASSIGN_OR_RETURN(Statement delivery,
                           Prepare(db_, absl::StrCat("INSERT INTO deliveries(", kDeliveryColumns,
                                                     ") VALUES(?, ?, ?, ?, ?, ?, ?)")));
    delivery.BindText(1, d.delivery_id);
    delivery.BindText(2, key);
    delivery.BindText(3, d.recipient_org_id);
    delivery.BindInt(4, d.state);
    delivery.BindInt(5, d.attempts);
    delivery.BindInt(6, d.next_attempt_us);
    delivery.BindInt(7, d.updated_at_us);
    SILTA_RETURN_IF_ERROR(delivery.Run());
  }
  if (deliverable) {
    SILTA_RETURN_IF_ERROR(
        PublishPathLocked({PathNotice::kAccepted, {message.sender_org_id, message.message_id}}));
  }
  return AuditedLocked(audit);
}

// The committer: every writer queues its write; one thread commits
// everything queued in one transaction (one fsync), each write inside its
// own savepoint so that one failure (a taken id) fails only that write.
// While it commits, the next batch queues. A batch of writes none of which
// needs to be durable at once (acks, releases) is committed without an
// fsync (synchronous=NORMAL, see UpdateDeliveries); one durable write makes
// the whole batch durable. Acks and releases that no caller waits for first
// linger up to kLinger for a durable write (the next Send, or the next
// deliveries' marks) and ride its commit: at light load a message then
// costs one commit, not one for the Send and one per recipient's ack.
namespace {
thread_local const void* committer_of = nullptr;  // the store whose committer this thread is
// While a committer runs a batch's completions: what they leave for after
// the answers (AfterTheAnswers).
thread_local std::vector<std::function<void()>>* after_the_answers = nullptr;
}  // namespace

void AfterTheAnswers(std::function<void()> then) {
  if (after_the_answers == nullptr) return then();
  after_the_answers->push_back(std::move(then));
}

void SqlStore::StartCommitter(std::optional<int> nice) {
  committer_ = std::thread([this, nice] {
    common::NameThisThread("silta-committer");
    std::optional<CommitterPriority> priority;
    if (nice.has_value()) priority.emplace(*nice, CommitterPriority::SetThreadNice);
    committer_of = this;
    CommitLoop(priority.has_value() ? &*priority : nullptr);
  });
}

void SqlStore::Enqueue(PendingWrite write) {
  absl::MutexLock queue_lock(&queue_mu_);
  if (!write.may_linger) ++urgent_queued_;
  write_queue_.push_back(std::move(write));
}

void SqlStore::CommitLoop(CommitterPriority* priority) {
  // Whether writes came within a linger of the last wait. While they do,
  // the committer waits up to kLinger for a write that cannot linger, and
  // a write that may is not worth a wake-up of its own: at light load the
  // acks of a message arrive just before the next Send, and woke the
  // committer only for it to wait again (a thread hand-over per message).
  bool busy = false;
  const absl::Condition urgent(
      +[](SqlStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->queue_mu_) {
        return s->stopping_ || s->urgent_queued_ > 0 || s->write_queue_.size() >= kLingerWrites;
      },
      this);
  while (true) {
    std::vector<PendingWrite> batch;
    {
      absl::MutexLock queue_lock(&queue_mu_);
      if (!busy) {
        // Idle: any write wakes it, then waits out its linger below.
        queue_mu_.Await(absl::Condition(
            +[](SqlStore* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->queue_mu_) {
              return s->stopping_ || !s->write_queue_.empty();
            },
            this));
      }
      queue_mu_.AwaitWithTimeout(urgent, kLinger);  // at once if one is queued
      busy = !write_queue_.empty();
      if (!busy) {
        if (stopping_) return;  // and nothing left
        continue;               // a linger without writes: idle, woken by the next
      }
      batch.swap(write_queue_);
      urgent_queued_ = 0;
    }
    if (priority != nullptr) priority->Observe(batch.size());
    CompleteBatch(batch, CommitBatch(batch));
  }
}

void SqlStore::CompleteBatch(const std::vector<PendingWrite>& batch,
                             const std::vector<absl::Status>& statuses) {
  // The completions of the writes a caller waits on first (a Send's
  // receipt, a batch of DELIVERED marks and its deliveries), then those of
  // the writes that lingered (acks' answers), then what the first left for
  // after the answers (AfterTheAnswers: the deliveries handed over at Send).
  // Each is a write on this thread; at light load a Send's commit carries
  // the acks of the message before, whose answers went ahead of its
  // receipt. A new message's delivery stays behind the acks' answers: a
  // recipient still waiting on its Ack's answer when a delivery arrived
  // read it on the wrong thread. A mark's delivery goes before them: a
  // delivery due again may be acked in the same commit, and its recipient
  // must not get it after being told the ack is durable
  // (docs/message-path.md, "A message alone").
  std::vector<std::function<void()>> deferred;
  after_the_answers = &deferred;
  for (const bool lingered : {false, true}) {
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].may_linger == lingered) batch[i].done(statuses[i]);
    }
  }
  after_the_answers = nullptr;
  for (std::function<void()>& then : deferred) then();
}

std::vector<absl::Status> SqlStore::CommitBatch(const std::vector<PendingWrite>& batch) {
  std::vector<absl::Status> statuses(batch.size());
  absl::MutexLock lock(&mu_);
  const absl::Time start = absl::Now();
  const bool fsync =
      std::any_of(batch.begin(), batch.end(), [](const PendingWrite& p) { return p.durable; });
  const absl::Status committed = InTransactionLocked(
      [&]() -> absl::Status {
        // A write alone in its batch has the transaction to itself: no
        // savepoint (two statements fewer, each a round trip on
        // PostgreSQL), and its failure rolls the transaction back.
        if (batch.size() == 1) return statuses[0] = batch[0].apply();
        for (size_t i = 0; i < batch.size(); ++i) {
          SILTA_RETURN_IF_ERROR(Exec(db_, "SAVEPOINT group_write"));
          statuses[i] = batch[i].apply();
          SILTA_RETURN_IF_ERROR(
              Exec(db_, statuses[i].ok() ? "RELEASE group_write" : "ROLLBACK TO group_write"));
          if (!statuses[i].ok()) SILTA_RETURN_IF_ERROR(Exec(db_, "RELEASE group_write"));
        }
        return absl::OkStatus();
      },
      fsync);
  if (!committed.ok()) {
    for (absl::Status& status : statuses) status = committed;
  }
  absl::MutexLock stats_lock(&stats_mu_);
  commit_stats_.batch_writes.Observe(static_cast<double>(batch.size()));
  commit_stats_.commit_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - start));
  return statuses;
}

absl::Status SqlStore::GroupCommit(std::function<absl::Status()> apply, bool durable) {
  std::vector<PendingWrite> one;
  one.push_back({std::move(apply), durable, nullptr});
  if (committer_of == this) return CommitBatch(one).front();
  absl::Notification committed;
  absl::Status status;
  one.front().done = [&](absl::Status s) {
    status = std::move(s);
    committed.Notify();
  };
  Enqueue(std::move(one.front()));
  committed.WaitForNotification();
  return status;
}

CommitStats SqlStore::ReadCommitStats() {
  absl::MutexLock stats_lock(&stats_mu_);
  return commit_stats_;
}

absl::Status SqlStore::InsertMessage(const MessageRecord& message, AuditEntries* audit) {
  return GroupCommit([&]() -> absl::Status { return InsertMessageLocked(message, "", audit); },
                     /*durable=*/true);
}

absl::Status SqlStore::StillDecidedLocked(std::optional<uint64_t> decided_at) {
  if (!decided_at.has_value()) return absl::OkStatus();
  if (!changes().Unchanged(*decided_at)) {
    return absl::AbortedError(
        "a consent, case, organisation or policy changed after this delivery was decided; decide "
        "again");
  }
  return AppliedEverythingLocked();
}

void SqlStore::ForgetCached(ChangeNotice::Kind kind) {
  if (kind == ChangeNotice::kCase) cases_cache_.Clear();
  if (kind == ChangeNotice::kKeyBundles) bundles_cache_.Clear();
}

void SqlStore::InsertMessageAsync(std::shared_ptr<const MessageRecord> message,
                                  std::string serialized_body, AuditEntries audit, WriteDone done,
                                  std::optional<uint64_t> decided_at) {
  auto entries = std::make_shared<AuditEntries>(std::move(audit));
  Enqueue({[this, message, serialized_body = std::move(serialized_body), entries, decided_at]()
               ABSL_NO_THREAD_SAFETY_ANALYSIS {
                 SILTA_RETURN_IF_ERROR(StillDecidedLocked(decided_at));
                 return InsertMessageLocked(*message, serialized_body, entries.get());
               },
           /*durable=*/true,
           [entries, done = std::move(done)](absl::Status status) {
             done(std::move(status), std::move(*entries));
           }});
}

absl::StatusOr<std::optional<MessageRecord>> SqlStore::GetMessage(absl::string_view sender_org_id,
                                                                  absl::string_view message_id) {
  const std::string key = MessageKey(sender_org_id, message_id);
  ReadLock reader(this);
  sql::Connection* const db = reader.db();
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db,
              "SELECT message_id, sender_org_id, case_id, content_hash, accepted_at_us, "
              "expires_at_us, (SELECT body FROM message_bodies b WHERE b.message_id = "
              "messages.message_id), receipt, subject_ref, linked_case_id "
              "FROM messages WHERE message_id = ?"));
  stmt.BindText(1, key);
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<MessageRecord>();
  MessageRecord m;
  m.message_id = SplitMessageKey(stmt.Text(0)).second;
  m.sender_org_id = stmt.Text(1);
  m.case_id = stmt.Text(2);
  m.content_hash = stmt.Blob(3);
  m.accepted_at_us = stmt.Int(4);
  m.expires_at_us = stmt.Int(5);
  const std::string body = stmt.Blob(6);
  if (!body.empty()) {
    SILTA_ASSIGN_OR_RETURN(v1::SealedMessage parsed, ParseBlob<v1::SealedMessage>(body, "message"));
    m.body = std::move(parsed);
  }
  SILTA_ASSIGN_OR_RETURN(m.receipt, ParseBlob<v1::DeliveryReceipt>(stmt.Blob(7), "receipt"));
  m.subject_ref = stmt.Text(8);
  m.linked_case_id = stmt.Text(9);
  SILTA_ASSIGN_OR_RETURN(
      Statement deliveries,
      Prepare(db, absl::StrCat("SELECT ", kDeliveryColumns,
                               " FROM deliveries WHERE message_id = ? ORDER BY rowid")));
  deliveries.BindText(1, key);
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool more, deliveries.Step());
    if (!more) break;
    m.deliveries.push_back(ReadDelivery(deliveries));
  }
  return std::optional<MessageRecord>(std::move(m));
}

absl::StatusOr<std::vector<UnfinishedDelivery>> SqlStore::UnfinishedDeliveries(int64_t now_us) {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt, Prepare(reader.db(),
                              "SELECT d.delivery_id, d.message_id, d.recipient_org_id, d.state, "
                              "d.attempts, d.next_attempt_us, d.updated_at_us, m.accepted_at_us "
                              "FROM deliveries d JOIN messages m ON m.message_id = d.message_id "
                              "WHERE d.state IN (?, ?) AND m.expires_at_us > ? AND EXISTS "
                              "(SELECT 1 FROM message_bodies b WHERE b.message_id = m.message_id) "
                              "ORDER BY m.accepted_at_us, d.rowid"));
  stmt.BindInt(1, v1::PENDING);
  stmt.BindInt(2, v1::DELIVERED);
  stmt.BindInt(3, now_us);
  std::vector<UnfinishedDelivery> out;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    out.push_back({ReadDelivery(stmt), stmt.Int(7)});
  }
  return out;
}

absl::Status SqlStore::PurgeIfFinishedLocked(absl::string_view message_key) {
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "DELETE FROM message_bodies WHERE message_id = ? AND NOT EXISTS "
              "(SELECT 1 FROM deliveries WHERE message_id = ? AND state IN (?, ?))"));
  stmt.BindText(1, message_key);
  stmt.BindText(2, message_key);
  stmt.BindInt(3, v1::PENDING);
  stmt.BindInt(4, v1::DELIVERED);
  return stmt.Run();
}

absl::Status SqlStore::UpdateDeliveryLocked(const DeliveryRecord& delivery) {
  // A delivery is marked DELIVERED (disclosed) only while it is unfinished:
  // never after its ack, even one committed by another instance whose
  // notice has not arrived here yet.
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(db_,
              "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_us = ?, "
              "updated_at_us = ? WHERE delivery_id = ? AND (? OR state IN (?, ?))"));
  stmt.BindInt(1, delivery.state);
  stmt.BindInt(2, delivery.attempts);
  stmt.BindInt(3, delivery.next_attempt_us);
  stmt.BindInt(4, delivery.updated_at_us);
  stmt.BindText(5, delivery.delivery_id);
  stmt.BindInt(6, delivery.state != v1::DELIVERED);
  stmt.BindInt(7, v1::PENDING);
  stmt.BindInt(8, v1::DELIVERED);
  SILTA_RETURN_IF_ERROR(stmt.Run());
  if (db_->Changes() == 0) {
    SILTA_ASSIGN_OR_RETURN(Statement exists,
                           Prepare(db_, "SELECT 1 FROM deliveries WHERE delivery_id = ?"));
    exists.BindText(1, delivery.delivery_id);
    SILTA_ASSIGN_OR_RETURN(const bool found, exists.Step());
    if (found) {
      return absl::FailedPreconditionError(
          absl::StrCat("delivery ", delivery.delivery_id, " is finished already"));
    }
    return absl::NotFoundError(absl::StrCat("delivery ", delivery.delivery_id, " not found"));
  }
  // A delivery still unfinished (marked DELIVERED, or made PENDING again)
  // keeps its message's body: only a finishing one can be the last.
  if (Unfinished(delivery)) return absl::OkStatus();
  return PurgeIfFinishedLocked(MessageKey(delivery.sender_org_id, delivery.message_id));
}

absl::Status SqlStore::UpdateDelivery(const DeliveryRecord& delivery, AuditEntries* audit) {
  return UpdateDeliveries({delivery}, audit);
}

// A delivery marked DELIVERED is a disclosure: it and its audit entries are
// committed with synchronous=FULL before the message leaves siltad. Other
// state changes (acked, released) are committed with synchronous=NORMAL: in
// WAL mode the commit is atomic and survives a process crash, and reaches
// the disk with the next fsync. A power cut can lose the latest of them with
// their entries, which only means a delivery is made (and recorded) again —
// at-least-once, and recipients deduplicate by message id.
absl::Status SqlStore::UpdateDeliveries(const std::vector<DeliveryRecord>& deliveries,
                                        AuditEntries* audit) {
  if (deliveries.empty() && audit->empty()) return absl::OkStatus();
  const bool discloses =
      std::any_of(deliveries.begin(), deliveries.end(),
                  [](const DeliveryRecord& d) { return d.state == v1::DELIVERED; });
  return GroupCommit([&]() -> absl::Status { return UpdateDeliveriesLocked(deliveries, audit); },
                     discloses);
}

void SqlStore::UpdateDeliveriesAsync(std::vector<DeliveryRecord> deliveries, AuditEntries audit,
                                     WriteDone done, std::optional<uint64_t> decided_at) {
  const bool discloses =
      std::any_of(deliveries.begin(), deliveries.end(),
                  [](const DeliveryRecord& d) { return d.state == v1::DELIVERED; });
  auto records = std::make_shared<std::vector<DeliveryRecord>>(std::move(deliveries));
  auto entries = std::make_shared<AuditEntries>(std::move(audit));
  Enqueue({[this, records, entries, decided_at]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
             SILTA_RETURN_IF_ERROR(StillDecidedLocked(decided_at));
             return UpdateDeliveriesLocked(*records, entries.get());
           },
           discloses,
           [entries, done = std::move(done)](absl::Status status) {
             done(std::move(status), std::move(*entries));
           },
           /*may_linger=*/!discloses});
}

absl::Status SqlStore::UpdateDeliveriesLocked(const std::vector<DeliveryRecord>& deliveries,
                                              AuditEntries* audit) {
  PathNotice delivered{PathNotice::kDelivered, {}};
  PathNotice finished{PathNotice::kFinished, {}};
  for (const DeliveryRecord& d : deliveries) {
    SILTA_RETURN_IF_ERROR(UpdateDeliveryLocked(d));
    if (d.state == v1::DELIVERED) delivered.ids.push_back(d.delivery_id);
    if (!Unfinished(d)) finished.ids.push_back(d.delivery_id);
  }
  if (!delivered.ids.empty()) SILTA_RETURN_IF_ERROR(PublishPathLocked(delivered));
  if (!finished.ids.empty()) SILTA_RETURN_IF_ERROR(PublishPathLocked(finished));
  return AuditedLocked(audit);
}

absl::StatusOr<std::vector<DeliveryRecord>> SqlStore::ExpireMessages(int64_t now_us,
                                                                     const ExpiryAudit& audit_for) {
  {
    // Most ticks find nothing: check on a reader, without the writer or a
    // commit.
    ReadLock reader(this);
    SILTA_ASSIGN_OR_RETURN(Statement any, Prepare(reader.db(),
                                                  "SELECT 1 FROM message_bodies "
                                                  "WHERE expires_at_us <= ? LIMIT 1"));
    any.BindInt(1, now_us);
    SILTA_ASSIGN_OR_RETURN(const bool found, any.Step());
    if (!found) return std::vector<DeliveryRecord>();
  }
  // The expiry rides the committer's next batch, as every write of the
  // message path does.
  std::vector<DeliveryRecord> expired;
  AuditEntries audit;
  SILTA_RETURN_IF_ERROR(GroupCommit(
      [&]() -> absl::Status {
        expired.clear();
        audit.clear();
        SILTA_ASSIGN_OR_RETURN(
            Statement messages,
            Prepare(db_,
                    "SELECT m.message_id, m.sender_org_id, m.case_id, m.receipt, m.subject_ref "
                    "FROM message_bodies b JOIN messages m ON m.message_id = b.message_id "
                    "WHERE b.expires_at_us <= ? ORDER BY m.accepted_at_us"));
        messages.BindInt(1, now_us);
        while (true) {
          SILTA_ASSIGN_OR_RETURN(bool row, messages.Step());
          if (!row) break;
          MessageRecord m;
          const std::string key = messages.Text(0);
          m.message_id = SplitMessageKey(key).second;
          m.sender_org_id = messages.Text(1);
          m.case_id = messages.Text(2);
          SILTA_ASSIGN_OR_RETURN(m.receipt,
                                 ParseBlob<v1::DeliveryReceipt>(messages.Blob(3), "receipt"));
          m.subject_ref = messages.Text(4);
          SILTA_ASSIGN_OR_RETURN(
              Statement open, Prepare(db_, absl::StrCat("SELECT ", kDeliveryColumns,
                                                        " FROM deliveries WHERE message_id = ? AND "
                                                        "state IN (?, ?) ORDER BY rowid")));
          open.BindText(1, key);
          open.BindInt(2, v1::PENDING);
          open.BindInt(3, v1::DELIVERED);
          while (true) {
            SILTA_ASSIGN_OR_RETURN(bool more, open.Step());
            if (!more) break;
            DeliveryRecord d = ReadDelivery(open);
            d.state = v1::EXPIRED_UNDELIVERED;
            d.updated_at_us = now_us;
            if (audit_for) {
              for (v1::AuditEntry& e : audit_for(d, m)) audit.push_back(std::move(e));
            }
            SILTA_RETURN_IF_ERROR(UpdateDeliveryLocked(d));
            expired.push_back(std::move(d));
          }
          SILTA_ASSIGN_OR_RETURN(Statement purge,
                                 Prepare(db_, "DELETE FROM message_bodies WHERE message_id = ?"));
          purge.BindText(1, key);
          SILTA_RETURN_IF_ERROR(purge.Run());
        }
        if (expired.empty()) return absl::OkStatus();
        PathNotice finished{PathNotice::kFinished, {}};
        for (const DeliveryRecord& d : expired) finished.ids.push_back(d.delivery_id);
        SILTA_RETURN_IF_ERROR(PublishPathLocked(finished));
        return AuditedLocked(&audit);
      },
      /*durable=*/true));
  return expired;
}

absl::Status SqlStore::LinkMessageToCase(absl::string_view sender_org_id,
                                         absl::string_view message_id, absl::string_view case_id,
                                         AuditEntries* audit) {
  const std::string key = MessageKey(sender_org_id, message_id);
  absl::MutexLock lock(&mu_);
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(
            Statement stmt, Prepare(db_,
                                    "UPDATE messages SET linked_case_id = ? WHERE message_id = ? "
                                    "AND linked_case_id = ''"));
        stmt.BindText(1, case_id);
        stmt.BindText(2, key);
        SILTA_RETURN_IF_ERROR(stmt.Run());
        if (db_->Changes() == 1) return absl::OkStatus();
        SILTA_ASSIGN_OR_RETURN(
            Statement exists,
            Prepare(db_, "SELECT linked_case_id FROM messages WHERE message_id = ?"));
        exists.BindText(1, key);
        SILTA_ASSIGN_OR_RETURN(bool row, exists.Step());
        if (!row) return absl::NotFoundError(absl::StrCat("message ", message_id, " not found"));
        return absl::FailedPreconditionError(
            absl::StrCat("message ", message_id, " is already linked to case ", exists.Text(0)));
      },
      audit);
}

absl::Status SqlStore::PutReportRestriction(const ReportRestriction& r, AuditEntries* audit) {
  absl::MutexLock lock(&mu_);
  return InAuditedTransactionLocked(
      [&]() -> absl::Status {
        SILTA_ASSIGN_OR_RETURN(Statement stmt,
                               Prepare(db_,
                                       "INSERT INTO report_restrictions(message_id, "
                                       "subject_ref, ground, review_at_us, set_at_us) "
                                       "VALUES(?, ?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE "
                                       "SET subject_ref = excluded.subject_ref, "
                                       "ground = excluded.ground, "
                                       "review_at_us = excluded.review_at_us, "
                                       "set_at_us = excluded.set_at_us"));
        stmt.BindText(1, MessageKey(r.sender_org_id, r.message_id));
        stmt.BindText(2, r.subject_ref);
        stmt.BindText(3, r.ground);
        stmt.BindInt(4, r.review_at_us);
        stmt.BindInt(5, r.set_at_us);
        return stmt.Run();
      },
      audit);
}

absl::StatusOr<std::vector<ReportRestriction>> SqlStore::ListReportRestrictions(
    absl::string_view subject_ref) {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(reader.db(),
              "SELECT message_id, subject_ref, ground, review_at_us, set_at_us "
              "FROM report_restrictions WHERE subject_ref = ? ORDER BY message_id"));
  stmt.BindText(1, subject_ref);
  std::vector<ReportRestriction> out;
  while (true) {
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ReportRestriction r;
    std::tie(r.sender_org_id, r.message_id) = SplitMessageKey(stmt.Text(0));
    r.subject_ref = stmt.Text(1);
    r.ground = stmt.Text(2);
    r.review_at_us = stmt.Int(3);
    r.set_at_us = stmt.Int(4);
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::optional<DeliveryRecord>> SqlStore::GetDelivery(absl::string_view delivery_id) {
  ReadLock reader(this);
  sql::Connection* const db = reader.db();
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(db, absl::StrCat("SELECT ", kDeliveryColumns,
                                                  " FROM deliveries WHERE delivery_id = ?")));
  stmt.BindText(1, delivery_id);
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<DeliveryRecord>();
  return std::optional<DeliveryRecord>(ReadDelivery(stmt));
}

// ---- The audit log. ----

absl::Status SqlStore::InAuditedTransactionLocked(const std::function<absl::Status()>& body,
                                                  AuditEntries* audit) {
  return InTransactionLocked([&]() -> absl::Status {
    SILTA_RETURN_IF_ERROR(body());
    return AuditedLocked(audit);
  });
}

absl::Status SqlStore::AuditedLocked(AuditEntries* audit) {
  if (fault_injection_) {
    SILTA_RETURN_IF_ERROR(fault_injection_("after_state_change"));
  }
  SILTA_RETURN_IF_ERROR(AppendAuditLocked(audit));
  if (fault_injection_) {
    SILTA_RETURN_IF_ERROR(fault_injection_("after_audit"));
  }
  return absl::OkStatus();
}

absl::Status SqlStore::AppendAuditLocked(AuditEntries* audit) {
  if (audit == nullptr) {
    return absl::InternalError("a state change was stored without its audit entries");
  }
  if (audit->empty()) return absl::OkStatus();
  SILTA_ASSIGN_OR_RETURN(AuditTail tail, AuditTailLocked(db_));
  SILTA_ASSIGN_OR_RETURN(Statement insert_entry,
                         Prepare(db_,
                                 "INSERT INTO audit_entries(idx, type, at_us, actor_org_id, "
                                 "counterpart_org_id, subject_ref, case_id, message_id, entry) "
                                 "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  SILTA_ASSIGN_OR_RETURN(Statement insert_node,
                         Prepare(db_, "INSERT INTO audit_merkle(node, hash) VALUES(?, ?)"));
  SILTA_ASSIGN_OR_RETURN(Statement read_node,
                         Prepare(db_, "SELECT hash FROM audit_merkle WHERE node = ?"));
  SqlNodeTable nodes(insert_node, read_node);
  for (v1::AuditEntry& entry : *audit) {
    audit::Sequence(entry, tail);
    insert_entry.Reset();
    insert_entry.BindInt(1, static_cast<int64_t>(entry.index()));
    insert_entry.BindInt(2, entry.type());
    insert_entry.BindInt(3, ToMicros(entry.at()));
    insert_entry.BindText(4, entry.actor_org_id());
    insert_entry.BindText(5, entry.counterpart_org_id());
    insert_entry.BindText(6, entry.subject_ref());
    insert_entry.BindText(7, entry.case_id());
    insert_entry.BindText(8, entry.message_id());
    // In one allocation of the right size.
    std::string blob(entry.ByteSizeLong(), '\0');
    {
      google::protobuf::io::ArrayOutputStream out(blob.data(), static_cast<int>(blob.size()));
      google::protobuf::io::CodedOutputStream coded(&out);
      coded.SetSerializationDeterministic(true);
      entry.SerializeWithCachedSizes(&coded);
      if (coded.HadError() || coded.ByteCount() != static_cast<int64_t>(blob.size())) {
        return absl::InternalError("an audit entry did not serialize to its own size");
      }
    }
    insert_entry.BindBlob(9, blob);
    SILTA_RETURN_IF_ERROR(insert_entry.Run());
    SILTA_RETURN_IF_ERROR(audit::AppendLeaf(entry.index(), audit::EntryLeafHash(entry), nodes));
  }
  return IndexAuditLocked(tail.size);
}

absl::StatusOr<uint64_t> SqlStore::AuditIndexedUpTo(sql::Connection* db) {
  SILTA_ASSIGN_OR_RETURN(Statement stmt, Prepare(db, "SELECT upto FROM audit_index_upto"));
  SILTA_ASSIGN_OR_RETURN(const bool row, stmt.Step());
  if (!row) return absl::InternalError("the audit log's index has lost its mark");
  return static_cast<uint64_t>(stmt.Int(0));
}

absl::Status SqlStore::IndexAuditLocked(uint64_t log_size) {
  SILTA_ASSIGN_OR_RETURN(const uint64_t upto, AuditIndexedUpTo(db_));
  if (log_size < upto + kAuditIndexLag) return absl::OkStatus();
  // Each term's indexes in the batch, by term in key order: the rows land
  // side by side, after the term's earlier rows. An entry purged before it
  // was indexed has no terms left, and is in no row.
  std::map<std::pair<int, std::string>, std::vector<uint64_t>> postings;
  {
    SILTA_ASSIGN_OR_RETURN(Statement read,
                           Prepare(db_,
                                   "SELECT idx, actor_org_id, counterpart_org_id, subject_ref, "
                                   "case_id FROM audit_entries WHERE idx >= ? ORDER BY idx"));
    read.BindInt(1, static_cast<int64_t>(upto));
    while (true) {
      SILTA_ASSIGN_OR_RETURN(const bool row, read.Step());
      if (!row) break;
      const auto idx = static_cast<uint64_t>(read.Int(0));
      for (auto& [kind, term] :
           IndexTerms(read.Text(1), read.Text(2), read.Text(3), read.Text(4))) {
        postings[{kind, std::move(term)}].push_back(idx);
      }
    }
  }
  for (const auto& [key, idxs] : postings) {
    SILTA_RETURN_IF_ERROR(InsertPosting(db_, key.first, key.second, idxs));
  }
  SILTA_ASSIGN_OR_RETURN(Statement mark, Prepare(db_, "UPDATE audit_index_upto SET upto = ?"));
  mark.BindInt(1, static_cast<int64_t>(log_size));
  return mark.Run();
}

absl::Status SqlStore::AppendAudit(AuditEntries* audit) {
  if (audit->empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return InTransactionLocked([&]() -> absl::Status { return AppendAuditLocked(audit); });
}

absl::StatusOr<uint64_t> SqlStore::AuditSize() {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(AuditTail tail, AuditTailLocked(reader.db()));
  return tail.size;
}

absl::StatusOr<std::vector<v1::AuditEntry>> SqlStore::ReadAuditRange(uint64_t begin, uint64_t end) {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(reader.db(),
              "SELECT entry FROM audit_entries WHERE idx >= ? AND idx < ? ORDER BY idx"));
  stmt.BindInt(1, static_cast<int64_t>(begin));
  stmt.BindInt(2, static_cast<int64_t>(end));
  return ReadAllBlobs<v1::AuditEntry>(stmt, "audit entry");
}

absl::StatusOr<uint64_t> SqlStore::FirstAuditIndexAt(int64_t at_us) {
  ReadLock reader(this);
  // Entry times never go backwards (store.h): bisect the log by index.
  SILTA_ASSIGN_OR_RETURN(AuditTail tail, AuditTailLocked(reader.db()));
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(reader.db(), "SELECT at_us FROM audit_entries WHERE idx = ?"));
  uint64_t low = 0, high = tail.size;  // the answer is in [low, high]
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    stmt.Reset();
    stmt.BindInt(1, static_cast<int64_t>(mid));
    SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::InternalError(absl::StrCat("audit entry ", mid, " is missing"));
    if (stmt.Int(0) >= at_us) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  return low;
}

absl::StatusOr<std::vector<v1::AuditEntry>> SqlStore::QueryAudit(const AuditQuery& q) {
  // Conditions on audit_entries and their parameters, in the order they
  // appear; the index range comes first, per part (below).
  std::vector<std::string> where = {"purged = 0"};
  std::vector<std::variant<int64_t, std::string>> params;
  const auto add = [&](std::string condition, auto... values) {
    where.push_back(std::move(condition));
    (params.emplace_back(values), ...);
  };
  if (!q.case_id.empty()) add("case_id = ?", q.case_id);
  if (!q.subject_ref.empty()) add("subject_ref = ?", q.subject_ref);
  if (!q.org_id.empty()) add("(actor_org_id = ? OR counterpart_org_id = ?)", q.org_id, q.org_id);
  if (!q.visible_to_org.empty()) {
    add(absl::StrCat("(actor_org_id = ? OR (counterpart_org_id = ? AND ",
                     TypeIn(q.counterpart_types), "))"),
        q.visible_to_org, q.visible_to_org);
  }
  if (q.from_us != 0) add("at_us >= ?", q.from_us);
  if (q.until_us != 0) add("at_us < ?", q.until_us);
  if (!q.types.empty()) add(TypeIn(q.types));
  const std::string conditions = absl::StrJoin(where, " AND ");
  const uint64_t before = std::min<uint64_t>(q.before_index, std::numeric_limits<int64_t>::max());

  ReadLock reader(this);
  std::vector<v1::AuditEntry> out;
  // Binds the conditions' parameters from `index` on.
  const auto bind_conditions = [&](Statement& stmt, int index) {
    for (const auto& param : params) {
      if (const auto* v = std::get_if<int64_t>(&param)) {
        stmt.BindInt(index++, *v);
      } else {
        stmt.BindText(index++, std::get<std::string>(param));
      }
    }
    return index;
  };
  // Entries [begin, end) matching, from the log itself, up to the limit
  // left.
  const auto read_log = [&](uint64_t begin, uint64_t end) -> absl::Status {
    if (begin >= end || out.size() >= q.limit) return absl::OkStatus();
    SILTA_ASSIGN_OR_RETURN(
        Statement stmt,
        Prepare(
            reader.db(),
            absl::StrCat("SELECT entry FROM audit_entries WHERE idx >= ? AND idx < ? AND ",
                         conditions, " ORDER BY idx", q.newest_first ? " DESC" : "", " LIMIT ?")));
    stmt.BindInt(1, static_cast<int64_t>(begin));
    stmt.BindInt(2, static_cast<int64_t>(end));
    const int index = bind_conditions(stmt, 3);
    stmt.BindInt(index, static_cast<int64_t>(q.limit - out.size()));
    SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> part,
                           ReadAllBlobs<v1::AuditEntry>(stmt, "audit entry"));
    for (v1::AuditEntry& e : part) out.push_back(std::move(e));
    return absl::OkStatus();
  };
  // The same through the index's posting rows of `term`: the row that
  // holds `begin` (the last to start at or before it) and the rows that
  // start after it, before `end`. Their indexes in [begin, end) are read
  // from the log in the query's order, kIndexChunk at a time (one
  // statement, one round trip to PostgreSQL), keeping those that match.
  constexpr int kIndexChunk = 32;
  const auto read_index = [&](uint64_t begin, uint64_t end, int kind,
                              absl::string_view term) -> absl::Status {
    if (begin >= end || out.size() >= q.limit) return absl::OkStatus();
    SILTA_ASSIGN_OR_RETURN(
        Statement rows,
        Prepare(reader.db(), absl::StrCat("SELECT first_idx, gaps FROM audit_postings "
                                          "WHERE kind = ? AND term = ? AND first_idx >= COALESCE("
                                          "(SELECT MAX(first_idx) FROM audit_postings "
                                          "WHERE kind = ? AND term = ? AND first_idx <= ?), 0) "
                                          "AND first_idx < ? ORDER BY first_idx",
                                          q.newest_first ? " DESC" : "")));
    for (int i : {1, 3}) {
      rows.BindInt(i, kind);
      rows.BindText(i + 1, term);
    }
    rows.BindInt(5, static_cast<int64_t>(begin));
    rows.BindInt(6, static_cast<int64_t>(end));
    SILTA_ASSIGN_OR_RETURN(
        Statement entries,
        Prepare(
            reader.db(),
            absl::StrCat("SELECT entry FROM audit_entries WHERE idx IN (?",
                         absl::StrJoin(std::vector<std::string>(kIndexChunk - 1, ", ?"), ""),
                         ") AND ", conditions, " ORDER BY idx", q.newest_first ? " DESC" : "")));
    std::vector<uint64_t> chunk;
    const auto read_chunk = [&]() -> absl::Status {
      if (chunk.empty() || out.size() >= q.limit) return absl::OkStatus();
      entries.Reset();
      for (int i = 0; i < kIndexChunk; ++i) {  // -1: no entry's index
        entries.BindInt(i + 1,
                        i < static_cast<int>(chunk.size()) ? static_cast<int64_t>(chunk[i]) : -1);
      }
      bind_conditions(entries, kIndexChunk + 1);
      chunk.clear();
      SILTA_ASSIGN_OR_RETURN(std::vector<v1::AuditEntry> part,
                             ReadAllBlobs<v1::AuditEntry>(entries, "audit entry"));
      for (v1::AuditEntry& e : part) {
        if (out.size() >= q.limit) break;
        out.push_back(std::move(e));
      }
      return absl::OkStatus();
    };
    while (out.size() < q.limit) {
      SILTA_ASSIGN_OR_RETURN(const bool row, rows.Step());
      if (!row) break;
      SILTA_ASSIGN_OR_RETURN(std::vector<uint64_t> idxs,
                             DecodePosting(static_cast<uint64_t>(rows.Int(0)), rows.Blob(1)));
      if (q.newest_first) std::reverse(idxs.begin(), idxs.end());
      for (const uint64_t idx : idxs) {
        if (idx < begin || idx >= end) continue;
        chunk.push_back(idx);
        if (chunk.size() == static_cast<size_t>(kIndexChunk)) SILTA_RETURN_IF_ERROR(read_chunk());
        if (out.size() >= q.limit) break;
      }
    }
    return read_chunk();
  };

  // The narrowest term the query names: a case, a person, an org.
  int kind = 0;
  std::string term;
  if (!q.case_id.empty()) {
    kind = kCaseTerm, term = q.case_id;
  } else if (!q.subject_ref.empty()) {
    kind = kSubjectTerm, term = q.subject_ref;
  } else if (!q.visible_to_org.empty() || !q.org_id.empty()) {
    kind = kOrgTerm, term = !q.visible_to_org.empty() ? q.visible_to_org : q.org_id;
  }
  if (kind == 0) {
    SILTA_RETURN_IF_ERROR(read_log(q.after_index, before));
    return out;
  }
  // The index holds the entries below its mark; the few after it are read
  // from the log. The mark only grows, so the rows below the one read here
  // are there for the reads after it.
  SILTA_ASSIGN_OR_RETURN(const uint64_t indexed, AuditIndexedUpTo(reader.db()));
  const uint64_t split = std::clamp(indexed, q.after_index, std::max(q.after_index, before));
  if (q.newest_first) {
    SILTA_RETURN_IF_ERROR(read_log(split, before));
    SILTA_RETURN_IF_ERROR(read_index(q.after_index, split, kind, term));
  } else {
    SILTA_RETURN_IF_ERROR(read_index(q.after_index, split, kind, term));
    SILTA_RETURN_IF_ERROR(read_log(split, before));
  }
  return out;
}

absl::StatusOr<uint64_t> SqlStore::PurgeAuditEntries(
    const std::vector<v1::AuditEventType>& types,
    const std::vector<v1::AuditEventType>& except_types, int64_t before_us, uint32_t limit) {
  std::string condition = "purged = 0 AND at_us < ?";
  if (!types.empty()) absl::StrAppend(&condition, " AND ", TypeIn(types));
  if (!except_types.empty()) {
    absl::StrAppend(&condition, " AND type NOT IN (", absl::StrJoin(except_types, ","), ")");
  }
  uint64_t purged = 0;
  absl::MutexLock lock(&mu_);
  SILTA_RETURN_IF_ERROR(InTransactionLocked([&]() -> absl::Status {
    purged = 0;
    SILTA_ASSIGN_OR_RETURN(
        Statement select,
        Prepare(db_, absl::StrCat("SELECT e.idx, e.entry, n.hash, e.actor_org_id, "
                                  "e.counterpart_org_id, e.subject_ref, e.case_id "
                                  "FROM audit_entries e "
                                  "JOIN audit_merkle n ON n.node = e.idx * 64 "
                                  "WHERE ",
                                  condition, " ORDER BY e.idx LIMIT ?")));
    select.BindInt(1, before_us);
    select.BindInt(2, limit);
    // Index, tombstone, and the terms it was indexed by.
    std::vector<std::tuple<int64_t, std::string, std::vector<std::pair<int, std::string>>>>
        tombstones;
    while (true) {
      SILTA_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      SILTA_ASSIGN_OR_RETURN(v1::AuditEntry entry,
                             ParseBlob<v1::AuditEntry>(select.Blob(1), "audit entry"));
      v1::AuditEntry tombstone;
      tombstone.set_index(entry.index());
      tombstone.set_type(entry.type());
      *tombstone.mutable_at() = entry.at();
      tombstone.set_purged_leaf_hash(select.Blob(2));
      tombstones.emplace_back(
          select.Int(0), tombstone.SerializeAsString(),
          IndexTerms(select.Text(3), select.Text(4), select.Text(5), select.Text(6)));
    }
    SILTA_ASSIGN_OR_RETURN(Statement update,
                           Prepare(db_,
                                   "UPDATE audit_entries SET entry = ?, actor_org_id = '', "
                                   "counterpart_org_id = '', subject_ref = '', case_id = '', "
                                   "message_id = '', purged = 1 WHERE idx = ?"));
    for (const auto& [idx, blob, terms] : tombstones) {
      update.Reset();
      update.BindBlob(1, blob);
      update.BindInt(2, idx);
      SILTA_RETURN_IF_ERROR(update.Run());
      // Nor does the log's index keep who took part, or whom it was about.
      for (const auto& [kind, term] : terms) {
        SILTA_RETURN_IF_ERROR(UnindexAuditEntry(db_, kind, term, static_cast<uint64_t>(idx)));
      }
      ++purged;
    }
    return absl::OkStatus();
  }));
  return purged;
}

namespace {

// When a consent record stops being in force: its valid_until or its
// withdrawal, whichever is first; nullopt while it has neither.
template <typename Record>
std::optional<int64_t> EndedAtUs(const Record& r) {
  std::optional<int64_t> end;
  if (r.has_valid_until()) end = ToMicros(r.valid_until());
  for (const v1::ConsentEvent& e : r.history()) {
    if (e.type() == v1::WITHDRAWN && (!end.has_value() || ToMicros(e.at()) < *end)) {
      end = ToMicros(e.at());
    }
  }
  return end;
}

}  // namespace

absl::StatusOr<uint64_t> SqlStore::PurgeClosedCases(int64_t closed_before_us) {
  absl::MutexLock lock(&mu_);
  absl::Cleanup changed = [this] { cases_cache_.Clear(); };
  uint64_t purged = 0;
  SILTA_RETURN_IF_ERROR(InTransactionLocked([&]() -> absl::Status {
    purged = 0;
    SILTA_ASSIGN_OR_RETURN(Statement closed,
                           Prepare(db_, "SELECT case_id, record FROM cases WHERE state = ?"));
    closed.BindInt(1, v1::CLOSED);
    std::vector<std::string> ids;
    while (true) {
      SILTA_ASSIGN_OR_RETURN(bool row, closed.Step());
      if (!row) break;
      SILTA_ASSIGN_OR_RETURN(v1::Case c, ParseBlob<v1::Case>(closed.Blob(1), "case"));
      if (c.has_closed_at() && ToMicros(c.closed_at()) < closed_before_us) {
        ids.push_back(closed.Text(0));
      }
    }
    for (const char* table : {"case_members", "case_events", "cases"}) {
      SILTA_ASSIGN_OR_RETURN(Statement remove, Prepare(db_, absl::StrCat("DELETE FROM ", table,
                                                                         " WHERE case_id = ?")));
      for (const std::string& id : ids) {
        remove.Reset();
        remove.BindText(1, id);
        SILTA_RETURN_IF_ERROR(remove.Run());
      }
    }
    purged = ids.size();
    if (ids.empty()) return absl::OkStatus();
    return PublishChangeLocked({ChangeNotice::kCase, "", ""});
  }));
  return purged;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> SqlStore::PurgeEndedConsentRecords(
    int64_t ended_before_us) {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, std::string>> purged;
  SILTA_RETURN_IF_ERROR(InTransactionLocked([&]() -> absl::Status {
    purged.clear();
    SILTA_ASSIGN_OR_RETURN(ConsentRecords all,
                           ConsentRecordsFrom(db_, "(?1 = '' OR r.subject_ref = ?1)", ""));
    const auto collect = [&](const auto& records, auto id_of) {
      for (const auto& r : records) {
        const std::optional<int64_t> end = EndedAtUs(r);
        if (end.has_value() && *end < ended_before_us)
          purged.emplace_back(r.subject_ref(), id_of(r));
      }
    };
    collect(all.consents, [](const v1::Consent& c) { return c.consent_id(); });
    collect(all.refusals, [](const v1::Refusal& r) { return r.refusal_id(); });
    collect(all.assessments, [](const v1::CompetenceAssessment& a) { return a.assessment_id(); });
    for (const char* table : {"consent_events", "consent_records"}) {
      SILTA_ASSIGN_OR_RETURN(Statement remove, Prepare(db_, absl::StrCat("DELETE FROM ", table,
                                                                         " WHERE record_id = ?")));
      for (const auto& [subject, id] : purged) {
        remove.Reset();
        remove.BindText(1, id);
        SILTA_RETURN_IF_ERROR(remove.Run());
      }
    }
    for (const auto& [subject, id] : purged) {
      SILTA_RETURN_IF_ERROR(PublishChangeLocked({ChangeNotice::kConsentRecord, id, subject}));
    }
    return absl::OkStatus();
  }));
  return purged;
}

absl::StatusOr<uint64_t> SqlStore::PurgeOldMessages(int64_t accepted_before_us) {
  absl::MutexLock lock(&mu_);
  uint64_t purged = 0;
  SILTA_RETURN_IF_ERROR(InTransactionLocked([&]() -> absl::Status {
    SILTA_ASSIGN_OR_RETURN(
        Statement deliveries,
        Prepare(db_,
                "DELETE FROM deliveries WHERE message_id IN (SELECT message_id FROM "
                "messages m WHERE accepted_at_us < ? AND NOT EXISTS (SELECT 1 FROM "
                "message_bodies b WHERE b.message_id = m.message_id))"));
    deliveries.BindInt(1, accepted_before_us);
    SILTA_RETURN_IF_ERROR(deliveries.Run());
    SILTA_ASSIGN_OR_RETURN(
        Statement messages,
        Prepare(db_,
                "DELETE FROM messages WHERE accepted_at_us < ? AND NOT EXISTS (SELECT 1 FROM "
                "message_bodies b WHERE b.message_id = messages.message_id)"));
    messages.BindInt(1, accepted_before_us);
    SILTA_RETURN_IF_ERROR(messages.Run());
    purged = static_cast<uint64_t>(db_->Changes());
    SILTA_ASSIGN_OR_RETURN(Statement restrictions,
                           Prepare(db_, "DELETE FROM report_restrictions WHERE review_at_us < ?"));
    restrictions.BindInt(1, accepted_before_us);
    return restrictions.Run();
  }));
  return purged;
}

namespace {

// The hash of one stored Merkle node, read with `stmt` (SELECT hash FROM
// audit_merkle WHERE node = ?); INTERNAL if it is missing.
absl::StatusOr<std::string> ReadAuditNode(Statement& stmt, const audit::NodeId& node) {
  stmt.Reset();
  stmt.BindInt(1, NodeKey(node));
  SILTA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return absl::InternalError(absl::StrCat("audit Merkle node (level ", node.level, ", index ",
                                            node.index, ") is missing"));
  }
  return stmt.Blob(0);
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SqlStore::ReadAuditNodes(
    const std::vector<audit::NodeId>& nodes) {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(reader.db(), "SELECT hash FROM audit_merkle WHERE node = ?"));
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const audit::NodeId& node : nodes) {
    SILTA_ASSIGN_OR_RETURN(std::string hash, ReadAuditNode(stmt, node));
    out.push_back(std::move(hash));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<audit::NodeId, std::string>>> SqlStore::ReadAuditNodesFrom(
    int min_level) {
  ReadLock reader(this);
  // The nodes of a level are spread over the table (keyed by their last
  // leaf): each of the few wanted is read by its key, level by level.
  SILTA_ASSIGN_OR_RETURN(
      Statement leaves,
      Prepare(reader.db(), "SELECT COALESCE((MAX(node) >> 6) + 1, 0) FROM audit_merkle"));
  SILTA_ASSIGN_OR_RETURN(bool counted, leaves.Step());
  const uint64_t size = counted ? static_cast<uint64_t>(leaves.Int(0)) : 0;
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(reader.db(), "SELECT hash FROM audit_merkle WHERE node = ?"));
  std::vector<std::pair<audit::NodeId, std::string>> out;
  for (int level = min_level; level < 64 && (size >> level) > 0; ++level) {
    for (uint64_t index = 0; index < (size >> level); ++index) {
      const audit::NodeId node{level, index};
      SILTA_ASSIGN_OR_RETURN(std::string hash, ReadAuditNode(stmt, node));
      out.emplace_back(node, std::move(hash));
    }
  }
  return out;
}

absl::Status SqlStore::InsertTreeHead(const v1::SignedTreeHead& head) {
  absl::MutexLock lock(&mu_);
  SILTA_ASSIGN_OR_RETURN(Statement stmt,
                         Prepare(db_,
                                 "INSERT INTO audit_tree_heads(tree_size, at_us, head) "
                                 "VALUES(?, ?, ?) ON CONFLICT DO NOTHING"));
  stmt.BindInt(1, static_cast<int64_t>(head.tree_size()));
  stmt.BindInt(2, ToMicros(head.timestamp()));
  stmt.BindBlob(3, head.SerializeAsString());
  return stmt.Run();
}

absl::StatusOr<std::optional<v1::SignedTreeHead>> SqlStore::LatestTreeHead() {
  ReadLock reader(this);
  SILTA_ASSIGN_OR_RETURN(
      Statement stmt,
      Prepare(reader.db(), "SELECT head FROM audit_tree_heads ORDER BY tree_size DESC LIMIT 1"));
  return ReadOptionalBlob<v1::SignedTreeHead>(stmt, "tree head");
}

}  // namespace silta::store
