#include "server/store/postgres/postgres_store.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "lib/common/status_macros.h"
#include "server/common/logging.h"
#include "server/common/thread_name.h"

namespace silta::store {

namespace {

// The channels of notifications: changes of decision inputs, and of the
// message path.
constexpr absl::string_view kChangeChannel = "silta_change";
constexpr absl::string_view kPathChannel = "silta_path";
// Delivery ids per path notification (a payload must stay under 8000
// bytes).
constexpr size_t kIdsPerNotice = 150;

std::string NewInstanceId() {
  std::random_device random;
  return absl::StrCat(absl::Hex(random(), absl::kZeroPad8), absl::Hex(random(), absl::kZeroPad8));
}

// The database's change sequence, read on `db`.
absl::StatusOr<uint64_t> ReadChangeSequence(sql::Connection& db) {
  SILTA_ASSIGN_OR_RETURN(sql::Statement read,
                         db.Prepare("SELECT seq FROM change_sequence WHERE id = 1"));
  SILTA_ASSIGN_OR_RETURN(const bool row, read.Step());
  if (!row) return absl::InternalError("database: the change_sequence row is missing");
  return static_cast<uint64_t>(read.Int(0));
}

}  // namespace

PostgresStore::PostgresStore(std::unique_ptr<PgConnection> writer, std::string conninfo,
                             PostgresOptions options)
    : SqlStore(std::move(writer), std::move(options.fault_injection)),
      exclusive_(options.exclusive),
      conninfo_(std::move(conninfo)),
      instance_id_(NewInstanceId()) {}

PostgresStore::~PostgresStore() {
  StopFollowing();
  StopCommitter();  // it calls BeginLocked
}

namespace {

// Takes the instance lock on `db`'s session: exclusive, or shared with
// other non-exclusive instances.
absl::Status TakeInstanceLock(PgConnection& db, bool exclusive) {
  SILTA_ASSIGN_OR_RETURN(
      sql::Statement lease,
      db.Prepare(absl::StrCat("SELECT pg_try_advisory_lock", exclusive ? "" : "_shared", "(",
                              PostgresStore::kInstanceLock, ")")));
  SILTA_ASSIGN_OR_RETURN(const bool row, lease.Step());
  if (!row || lease.Int(0) != 1) {
    return absl::FailedPreconditionError(
        "another siltad is using this PostgreSQL database, and one of them uses it exclusively; "
        "stop the other, or open both without the exclusive option");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<PgConnection>> PostgresStore::ConnectWriter(
    const std::string& conninfo, const PostgresOptions& options) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, PgConnection::Connect(conninfo));
  const bool exclusive = options.exclusive;
  // An instance that has just stopped may hold the lock a moment longer:
  // its server process ends after the connection closes (a restart by
  // systemd comes that fast). A running one holds it for good.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  absl::Status locked = TakeInstanceLock(*writer, exclusive);
  while (absl::IsFailedPrecondition(locked) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
    locked = TakeInstanceLock(*writer, exclusive);
  }
  SILTA_RETURN_IF_ERROR(locked);
  // A new session after a reconnect holds no lock: it takes it again, or
  // writes nothing.
  writer->SetOnReconnect([exclusive](PgConnection& db) { return TakeInstanceLock(db, exclusive); });
  return writer;
}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& conninfo,
                                                                   const PostgresOptions& options) {
  SILTA_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> writer, ConnectWriter(conninfo, options));
  auto store =
      std::unique_ptr<PostgresStore>(new PostgresStore(std::move(writer), conninfo, options));
  absl::Status migrated = store->Migrate(PostgresMigrations(), R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version       BIGINT PRIMARY KEY,
  description   TEXT NOT NULL,
  applied_at_us BIGINT NOT NULL
))sql");
  if (!migrated.ok()) {
    if (absl::IsUnavailable(migrated)) return migrated;
    return absl::FailedPreconditionError(absl::StrCat("database: ", migrated.message()));
  }
  {
    // What the in-memory state will be read from: everything up to now.
    absl::MutexLock lock(&store->mu_);
    SILTA_ASSIGN_OR_RETURN(const uint64_t sequence, ReadChangeSequence(*store->db_));
    store->changes().SetDatabaseApplied(sequence);
  }
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto reader = std::make_unique<ReadConnection>();
    SILTA_ASSIGN_OR_RETURN(reader->db, PgConnection::Connect(conninfo));
    store->readers_.push_back(std::move(reader));
  }
  store->StartCommitter(options.committer_nice);
  return store;
}

absl::Status PostgresStore::BeginLocked(bool /*durable*/) {
  // Every commit is durable here, acks too: with synchronous_commit off, a
  // crash of the server (or a failover: nothing waits for the standby)
  // loses an ack the client was told of, and the delivery comes again
  // after a confirmed ack (kill_loop_test: the database restarted under
  // load). Acks still ride the next commit in batches (SqlStore).
  // One round trip. If the lock fails after BEGIN has run, the transaction
  // is open on the server, aborted: end it.
  const absl::Status begun =
      db_->Exec(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kWriteLock, ")"));
  if (!begun.ok()) (void)db_->Exec("ROLLBACK");
  transaction_sequence_ = first_bumped_ = last_bumped_ = 0;
  return begun;
}

absl::Status PostgresStore::PublishChangeLocked(const ChangeNotice& notice) {
  // One round trip: the bump, and its notification (sent at COMMIT, in
  // commit order; dropped with the transaction if it rolls back).
  SILTA_ASSIGN_OR_RETURN(
      sql::Statement bump,
      db_->Prepare(absl::StrCat(
          "WITH s AS (UPDATE change_sequence SET seq = seq + 1 WHERE id = 1 RETURNING seq) "
          "SELECT s.seq, pg_notify('",
          kChangeChannel, "', s.seq || ' ' || ?) FROM s")));
  bump.BindText(1, absl::StrCat(instance_id_, " ", std::string(1, notice.kind), " ", notice.key,
                                " ", notice.subject_ref));
  SILTA_ASSIGN_OR_RETURN(const bool row, bump.Step());
  if (!row) return absl::InternalError("database: the change_sequence row is missing");
  last_bumped_ = transaction_sequence_ = static_cast<uint64_t>(bump.Int(0));
  if (first_bumped_ == 0) first_bumped_ = last_bumped_;
  return absl::OkStatus();
}

absl::Status PostgresStore::PublishPathLocked(const PathNotice& notice) {
  if (exclusive_) return absl::OkStatus();  // no one else to tell
  for (size_t begin = 0; begin < notice.ids.size(); begin += kIdsPerNotice) {
    const size_t end = std::min(notice.ids.size(), begin + kIdsPerNotice);
    std::string payload = absl::StrCat(instance_id_, " ", std::string(1, notice.kind));
    for (size_t i = begin; i < end; ++i) absl::StrAppend(&payload, " ", notice.ids[i]);
    SILTA_ASSIGN_OR_RETURN(sql::Statement notify,
                           db_->Prepare(absl::StrCat("SELECT pg_notify('", kPathChannel, "', ?)")));
    notify.BindText(1, payload);
    SILTA_RETURN_IF_ERROR(notify.Run());
  }
  return absl::OkStatus();
}

absl::Status PostgresStore::EndedLocked(bool /*durable*/, bool committed) {
  // This instance's own changes: applied in memory by the caller (inside
  // its Change). If no other instance's change came between, the state
  // now reflects the database up to the last bump; else the follower
  // catches up in order.
  if (committed && first_bumped_ != 0 && changes().database_applied() + 1 == first_bumped_) {
    changes().SetDatabaseApplied(last_bumped_);
  }
  transaction_sequence_ = first_bumped_ = last_bumped_ = 0;
  return absl::OkStatus();
}

absl::Status PostgresStore::AppliedEverythingLocked() {
  // The write lock is held: no change commits until this transaction ends,
  // so one read serves every write of the batch.
  if (transaction_sequence_ == 0) {
    SILTA_ASSIGN_OR_RETURN(transaction_sequence_, ReadChangeSequence(*db_));
  }
  if (transaction_sequence_ == changes().database_applied()) return absl::OkStatus();
  // Another instance's change has committed and is not applied here yet:
  // nothing decides until it is.
  changes().NoteDatabaseAt(transaction_sequence_);
  return absl::AbortedError(
      "a consent, case or organisation changed on another siltad instance after this delivery "
      "was decided; decide again");
}

absl::Status PostgresStore::FollowOthers(ChangeFeed* feed) {
  if (follower_.joinable()) return absl::FailedPreconditionError("already following");
  SILTA_ASSIGN_OR_RETURN(listener_, PgConnection::Connect(conninfo_));
  feed_ = feed;
  {
    // The first catch-up before returning: siltad serves only once its
    // delivery queues hold what is unfinished (read once, after LISTEN).
    const ChangeSequence::Change change = changes().Begin();
    SILTA_RETURN_IF_ERROR(ListenAndCatchUp());
  }
  stop_following_ = false;
  follower_ = std::thread([this, session = listener_->session()] {
    common::NameThisThread("silta-follow");
    FollowLoop(session);
  });
  return absl::OkStatus();
}

void PostgresStore::StopFollowing() {
  stop_following_ = true;
  if (follower_.joinable()) follower_.join();
}

absl::Status PostgresStore::ListenAndCatchUp() {
  SILTA_RETURN_IF_ERROR(
      listener_->Exec(absl::StrCat("LISTEN ", kChangeChannel, "; LISTEN ", kPathChannel)));
  // Read after LISTEN: what is committed from here on is also notified.
  SILTA_RETURN_IF_ERROR(feed_->CatchUpPath());
  // Read before the state: a change committed after this read is also
  // notified, and applied after.
  SILTA_ASSIGN_OR_RETURN(const uint64_t sequence, ReadChangeSequence(*listener_));
  if (sequence == changes().database_applied()) return absl::OkStatus();  // nothing missed
  ForgetCached(ChangeNotice::kCase);
  ForgetCached(ChangeNotice::kKeyBundles);
  SILTA_RETURN_IF_ERROR(feed_->ReloadAll());
  if (sequence > changes().database_applied()) changes().SetDatabaseApplied(sequence);
  return absl::OkStatus();
}

absl::Status PostgresStore::ApplyNotice(absl::string_view payload) {
  // "<seq> <instance> <kind> <key> <subject_ref>"
  const std::vector<absl::string_view> parts = absl::StrSplit(payload, ' ');
  uint64_t sequence = 0;
  if (parts.size() != 5 || !absl::SimpleAtoi(parts[0], &sequence) || parts[2].size() != 1) {
    return absl::InternalError("a change notification that this siltad cannot read");
  }
  if (sequence <= changes().database_applied()) return absl::OkStatus();  // reloaded already
  if (sequence != changes().database_applied() + 1) {
    return absl::InternalError("a change notification is missing");
  }
  if (parts[1] != instance_id_) {
    ChangeNotice notice;
    notice.kind = static_cast<ChangeNotice::Kind>(parts[2][0]);
    notice.key = std::string(parts[3]);
    notice.subject_ref = std::string(parts[4]);
    ForgetCached(notice.kind);
    SILTA_RETURN_IF_ERROR(feed_->Apply(notice));
  }
  changes().SetDatabaseApplied(sequence);
  return absl::OkStatus();
}

void PostgresStore::ApplyPathNotice(absl::string_view payload) {
  // "<instance> <kind> <id> ..."
  std::vector<std::string> parts = absl::StrSplit(payload, ' ');
  if (parts.size() < 3 || parts[1].size() != 1) return;
  if (parts[0] == instance_id_) return;
  PathNotice notice;
  notice.kind = static_cast<PathNotice::Kind>(parts[1][0]);
  notice.ids.assign(std::make_move_iterator(parts.begin() + 2),
                    std::make_move_iterator(parts.end()));
  feed_->OnPath(notice);
}

void PostgresStore::FollowLoop(uint64_t session) {
  // `session`: the listener's session the state was last caught up in.
  bool reload = false;
  int behind = 0;  // checks in a row that found the database ahead
  absl::Time next_check = absl::Now();
  while (!stop_following_) {
    if (reload || listener_->session() != session) {
      absl::Status reloaded;
      {
        const ChangeSequence::Change change = changes().Begin();
        reloaded = ListenAndCatchUp();
      }
      if (!reloaded.ok()) {
        common::Log(common::LogLevel::kWarn, "instances_reload_failed",
                    {{"error", std::string(reloaded.message())}});
        for (int i = 0; i < 10 && !stop_following_; ++i) absl::SleepFor(absl::Milliseconds(100));
        continue;
      }
      common::Log(common::LogLevel::kInfo, "instances_reloaded", {});
      session = listener_->session();
      reload = false;
      behind = 0;
    }
    const std::vector<PgConnection::Notification> received =
        listener_->AwaitNotifications(absl::Milliseconds(200));
    bool changes_received = false;
    for (const PgConnection::Notification& n : received) {
      if (n.channel == kPathChannel) {
        ApplyPathNotice(n.payload);
      } else {
        changes_received = true;
      }
    }
    if (changes_received) {
      const ChangeSequence::Change change = changes().Begin();
      for (const PgConnection::Notification& n : received) {
        if (n.channel != kChangeChannel) continue;
        const absl::Status applied = ApplyNotice(n.payload);
        if (!applied.ok()) {
          // Fail closed: nothing decides until everything is read again.
          common::Log(common::LogLevel::kWarn, "instances_change_not_applied",
                      {{"error", std::string(applied.message())}});
          reload = true;
          break;
        }
      }
    }
    if (listener_->Broken()) {
      reload = true;  // its next Exec connects again
      continue;
    }
    if (absl::Now() >= next_check) {
      // A notification cannot be lost on a live session; this catches
      // what would still be wrong (the sequence ahead, with nothing
      // arriving) by reloading.
      next_check = absl::Now() + absl::Seconds(1);
      absl::StatusOr<uint64_t> sequence = ReadChangeSequence(*listener_);
      if (sequence.ok() && *sequence > changes().database_applied()) {
        if (++behind >= 2) reload = true;
      } else {
        behind = 0;
      }
    }
  }
}

SqlStore::Reader PostgresStore::AcquireReader() {
  if (readers_.empty()) return SqlStore::AcquireReader();  // still opening
  ReadConnection& reader = *readers_[next_reader_.fetch_add(1) % readers_.size()];
  return {&reader.mu, reader.db.get()};
}

}  // namespace silta::store
