// File: server/store/postgres/postgres_store.h
//
// The PostgreSQL store (DESIGN.md §9): a database on machines of its own,
// made highly available by PostgreSQL, with several siltad instances on
// it. The statements are SqlStore's
// (sql/sql_store.h); this file connects, applies migrations.h, and makes
// every write transaction take one transaction-scoped advisory lock first,
// so that writes from all connections are serialised in the database: the
// audit log stays one totally ordered log, whose next index each
// transaction reads and extends.
//
// Several instances: every change of a decision input bumps the table
// change_sequence in its transaction and NOTIFYs channel silta_change
// with what it touched ("<seq> <instance> <kind> <key> <subject_ref>");
// every change of the message path NOTIFYs channel silta_path
// ("<instance> <kind> <id> ..."), so that a message accepted on one
// instance reaches a recipient's stream on another at once.
// FollowOthers LISTENs on a connection of its own and hands the other
// instances' changes to a ChangeFeed, in commit order; a write decided on
// in-memory state commits only if the database's sequence is the one this
// instance has applied (store/change_sequence.h). Missed notifications (a
// lost connection, or the sequence found ahead for two seconds) make it
// reload everything.
//
// Connections: one writer (the committer's and other writes') and
// `readers` for reads, each used by one thread at a time. A connection lost
// (the server restarted, a standby promoted) fails what was under way with
// UNAVAILABLE and connects again on its next use; with a multi-host
// conninfo and target_session_attrs=read-write it finds the new primary.
//
// Example:
//   absl::StatusOr<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(
//       "host=db1,db2 dbname=silta target_session_attrs=read-write", {});
#ifndef SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_
#define SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/store/postgres/migrations.h"
#include "server/store/postgres/pg_connection.h"
#include "server/store/sql/sql_store.h"

namespace silta::store {

struct PostgresOptions {
  // Connections for reading, besides the writer.
  int readers = 4;
  // Use the database alone: refuse it while another siltad uses it
  // (kInstanceLock; after waiting up to 5 s for one that has just stopped
  // to let go of it), and publish nothing for others. Off by default:
  // several instances share one database.
  bool exclusive = false;
  // The committer thread's nice value; none: the process's (SqlStore::StartCommitter).
  std::optional<int> committer_nice;
  // Tests only (sql/sql_store.h).
  FaultInjection fault_injection;
};

class PostgresStore final : public SqlStore {
 public:
  // The advisory lock every write transaction holds until it ends.
  static constexpr int64_t kWriteLock = 0x53494c5441;  // "SILTA"
  // The advisory lock each instance holds while it is connected: shared,
  // or exclusive (PostgresOptions::exclusive).
  static constexpr int64_t kInstanceLock = 0x53494c544131;  // "SILTA1"

  // Connects with a libpq conninfo and applies pending migrations (one
  // instance at a time: they run under the write lock). UNAVAILABLE if the
  // database cannot be reached; FAILED_PRECONDITION if its schema is newer
  // than this build knows or a migration fails.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& conninfo,
                                                             const PostgresOptions& options);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  absl::Status FollowOthers(ChangeFeed* feed) override;
  void StopFollowing() override;

  // This instance's name in its notifications (random, per open).
  const std::string& instance_id() const { return instance_id_; }

 protected:
  // BEGIN, then the write lock. Every commit is durable (and on the
  // synchronous standby), even one that need not be on SQLite: see the
  // definition.
  absl::Status BeginLocked(bool durable) override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EndedLocked(bool durable, bool committed) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PublishChangeLocked(const ChangeNotice& notice) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status PublishPathLocked(const PathNotice& notice) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status AppliedEverythingLocked() override ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The readers in turn.
  Reader AcquireReader() override;

 private:
  struct ReadConnection {
    absl::Mutex mu;
    std::unique_ptr<PgConnection> db;
  };
  PostgresStore(std::unique_ptr<PgConnection> writer, std::string conninfo,
                PostgresOptions options);
  // A new writer: connected, and holding the instance lock when exclusive.
  static absl::StatusOr<std::unique_ptr<PgConnection>> ConnectWriter(
      const std::string& conninfo, const PostgresOptions& options);

  // The follower thread: LISTENs, applies, reloads when behind.
  void FollowLoop(uint64_t session);
  // Inside a Change: LISTENs (again), and reads what may have been missed:
  // the unfinished deliveries, and everything else if the change sequence
  // moved.
  absl::Status ListenAndCatchUp();
  // Inside a Change: applies one notification's payload.
  absl::Status ApplyNotice(absl::string_view payload);
  // Hands one silta_path payload to the feed (another instance's).
  void ApplyPathNotice(absl::string_view payload);

  // Whether no other instance uses the database (PostgresOptions).
  const bool exclusive_;
  const std::string conninfo_;
  const std::string instance_id_;
  // Filled at open, then immutable; each used with its mutex held.
  std::vector<std::unique_ptr<ReadConnection>> readers_;
  std::atomic<uint64_t> next_reader_{0};
  // The current write transaction's: the database's change sequence as
  // read in it (0: not read yet), and the first and last it bumped to.
  uint64_t transaction_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t first_bumped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t last_bumped_ ABSL_GUARDED_BY(mu_) = 0;
  // FollowOthers: the follower's connection and thread.
  ChangeFeed* feed_ = nullptr;
  std::unique_ptr<PgConnection> listener_;
  std::atomic<bool> stop_following_{false};
  std::thread follower_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_POSTGRES_POSTGRES_STORE_H_
