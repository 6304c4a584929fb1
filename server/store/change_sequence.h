// File: server/store/change_sequence.h
//
// Keeps a disclosure from committing on a decision whose inputs changed
// after it was made. A delivery decision reads consents, cases, orgs and
// the policy on a gRPC thread; its DELIVERED mark is committed a moment
// later by the store's committer. A withdrawal committed in between must
// stop it: fail closed.
//
// Every change of a decision input runs inside a Change: it begins before
// the change's store write and ends once the in-memory state (the consent
// engine, the org registry, caches) reflects it. A decision takes Settled()
// before it reads anything; the write that discloses on it carries that
// token, and the store applies it only while Unchanged(token), checked with
// its write connection held. A change that began before that check makes
// the write fail with ABORTED (the caller decides again); one that begins
// after it commits after the disclosure, so the log shows the disclosure
// before the change, as it happened.
//
// Example:
//   // a writer of a decision input:
//   ChangeSequence::Change change = store->changes().Begin();
//   SILTA_RETURN_IF_ERROR(store->AppendConsentEvent(id, withdrawn, &audit));
//   engine->PutConsent(record);
//   // (ends with `change`)
//
//   // a decision:
//   const uint64_t decided_at = store->changes().Settled();
//   ... read inputs, decide ...
//   store->UpdateDeliveriesAsync(marks, audit, done, decided_at);
//
// Several instances on one database (PostgreSQL): every change of a
// decision input also bumps the database's change sequence in its
// transaction, and each instance applies the others' changes to its
// in-memory state inside a Change of its own (SetDatabaseApplied). A
// write decided at a token commits only if, besides Unchanged(token), the
// database's sequence (read in the write's transaction) still equals
// database_applied(): a change committed anywhere that this instance has
// not applied yet aborts it, and Settled() stays kUnsettled until the
// instance has caught up (NoteDatabaseAt).
//
// Thread-safe.
#ifndef SILTA_SERVER_STORE_CHANGE_SEQUENCE_H_
#define SILTA_SERVER_STORE_CHANGE_SEQUENCE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace silta::store {

class ChangeSequence {
 public:
  // The token of a decision taken while a change was under way: it never
  // counts as unchanged, as the decision may have seen half of the change.
  static constexpr uint64_t kUnsettled = std::numeric_limits<uint64_t>::max();

  // One change of a decision input, from before its write until its
  // in-memory state is updated; ends when destroyed.
  class Change {
   public:
    Change(Change&& other) noexcept : sequence_(other.sequence_) { other.sequence_ = nullptr; }
    Change(const Change&) = delete;
    Change& operator=(const Change&) = delete;
    Change& operator=(Change&&) = delete;
    ~Change() {
      if (sequence_ != nullptr) sequence_->End();
    }

   private:
    friend class ChangeSequence;
    explicit Change(ChangeSequence* sequence) : sequence_(sequence) {
      sequence_->begun_.fetch_add(1);
    }
    ChangeSequence* sequence_;
  };

  ChangeSequence() = default;
  ChangeSequence(const ChangeSequence&) = delete;
  ChangeSequence& operator=(const ChangeSequence&) = delete;

  [[nodiscard]] Change Begin() { return Change(this); }

  // The token of a decision about to read its inputs: how many changes had
  // begun, when all of them had ended; else kUnsettled.
  uint64_t Settled() const {
    const uint64_t begun = begun_.load();
    if (database_known_.load() > database_applied_.load()) return kUnsettled;
    return ended_.load() == begun ? begun : kUnsettled;
  }

  // Whether no change has begun since `token` was settled.
  bool Unchanged(uint64_t token) const { return token != kUnsettled && begun_.load() == token; }

  // ---- Several instances on one database. ----

  // The database change sequence that the in-memory state reflects (0
  // with one instance). Moves only inside a Change, so it is the same for
  // every token that is still Unchanged.
  uint64_t database_applied() const { return database_applied_.load(); }
  // Inside a Change: the in-memory state now reflects the database's
  // changes up to `sequence` (it never goes back).
  void SetDatabaseApplied(uint64_t sequence) {
    Raise(database_known_, sequence);
    Raise(database_applied_, sequence);
  }
  // A write found the database's sequence at `sequence`: until that much is
  // applied, nothing is settled.
  void NoteDatabaseAt(uint64_t sequence) { Raise(database_known_, sequence); }

  // Calls `fn` once no change is under way: now, on this thread, if none
  // is; else on the thread that ends the last one. A decision that finds
  // its inputs changing waits for this instead of deciding on half of a
  // change. `fn` must not block or begin a change.
  void CallWhenSettled(std::function<void()> fn) {
    {
      absl::MutexLock lock(&waiters_mu_);
      if (Settled() == kUnsettled) {
        waiters_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }

 private:
  void End() {
    ended_.fetch_add(1);
    std::vector<std::function<void()>> settled;
    {
      absl::MutexLock lock(&waiters_mu_);
      if (waiters_.empty() || Settled() == kUnsettled) return;
      settled.swap(waiters_);
    }
    for (std::function<void()>& fn : settled) fn();
  }

  static void Raise(std::atomic<uint64_t>& value, uint64_t to) {
    uint64_t now = value.load();
    while (now < to && !value.compare_exchange_weak(now, to)) {
    }
  }

  std::atomic<uint64_t> begun_{0};
  std::atomic<uint64_t> ended_{0};
  std::atomic<uint64_t> database_applied_{0};
  std::atomic<uint64_t> database_known_{0};
  absl::Mutex waiters_mu_;
  std::vector<std::function<void()>> waiters_ ABSL_GUARDED_BY(waiters_mu_);
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_CHANGE_SEQUENCE_H_
