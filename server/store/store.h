// File: server/store/store.h
//
// The storage interface of siltad: one interface per domain (org_store.h,
// case_store.h, consent_store.h, message_store.h, audit_store.h) and Store,
// which is all of them. Two implementations: SQLite (embedded, one
// instance; store/sqlite/) and PostgreSQL (several instances;
// store/postgres/), both over store/sql/. Callers see protos and
// absl::Status, never SQL or driver types.
//
// Implementations are expected to be thread-safe. Every mutating call is
// durable (fsynced) when it returns OK. Errors:
//   NOT_FOUND          the row does not exist (where noted)
//   ALREADY_EXISTS     a unique key is taken
//   UNAVAILABLE        transient database failure (busy, I/O); safe to retry
//   INTERNAL           corrupt data or a broken invariant
//
// The audit log: every mutating call takes the audit entries that record
// its state change (`AuditEntries* audit`) and appends them — index
// assigned, Merkle tree nodes updated — in the same transaction as the
// change: either both are stored or neither. On success each entry's
// `index` is set. Entry times never go backwards: an entry stamped before
// the previous one gets the previous one's time, so log order is time order.
#ifndef SILTA_SERVER_STORE_STORE_H_
#define SILTA_SERVER_STORE_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/store/audit_store.h"
#include "server/store/case_store.h"
#include "server/store/change_sequence.h"
#include "server/store/consent_store.h"
#include "server/store/message_store.h"
#include "server/store/org_store.h"

namespace silta::store {

// ---- Several instances on one database (PostgreSQL). ----

// A change of a decision input, or of the message path, committed by
// another instance on the same database.
struct ChangeNotice {
  enum Kind : char {
    kOrg = 'o',            // key: org_id
    kCase = 'c',           // key: case_id; empty: any (a retention purge)
    kConsentRecord = 'r',  // key: record id; subject_ref: whose
    kKeyBundles = 'k',     // key: org_id
  };
  Kind kind = kOrg;
  std::string key;
  std::string subject_ref;
};

// A change of the message path committed by another instance on the same
// database: a message accepted (its unfinished deliveries join this
// instance's queues, for a recipient whose stream is here), deliveries
// marked DELIVERED (due here again only after the ack timeout) or finished
// (acked, expired, nothing permitted: gone from the queues).
struct PathNotice {
  enum Kind : char { kAccepted = 'm', kDelivered = 'd', kFinished = 'f' };
  Kind kind = kAccepted;
  std::vector<std::string> ids;  // kAccepted: sender_org_id, message_id; else delivery ids
};

// What an instance does with the changes other instances commit: keeps its
// in-memory state (org registry, consent engine) in step with the
// database. Called on a thread of the store, one call at a time, in commit
// order, each inside a ChangeSequence::Change (so no delivery decides on a
// half-applied change). Neither may block for long or call back into
// FollowOthers.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Another instance committed `notice`: read what it touched again. An
  // error (the database unreachable) makes the store reload everything
  // until ReloadAll succeeds.
  virtual absl::Status Apply(const ChangeNotice& notice) = 0;
  // Notices may have been missed (the connection that receives them was
  // lost): read everything again. An error is retried (and until it
  // succeeds, no delivery decides: Settled() stays kUnsettled).
  virtual absl::Status ReloadAll() = 0;
  // Another instance committed `notice` (outside any Change: the message
  // path is no decision input).
  virtual void OnPath(const PathNotice& notice) = 0;
  // Path notices may have been missed (the store has just begun to listen,
  // or listens again): read the unfinished deliveries again.
  virtual absl::Status CatchUpPath() = 0;
};

// The whole store: one interface per domain, all written in one write
// transaction each, plus what spans them.
class Store : public OrgStore,
              public CaseStore,
              public ConsentStore,
              public MessageStore,
              public AuditStore {
 public:
  ~Store() override = default;

  // The schema version the database is at (the highest applied migration).
  virtual absl::StatusOr<int> SchemaVersion() = 0;

  // Stores `value` under `name` unless a value is stored there already;
  // returns the stored one. For what every siltad on the database must
  // share (the pepper's fingerprint, say): the first start records it, and
  // a later one with another value can tell.
  virtual absl::StatusOr<std::string> ClaimSetting(absl::string_view name,
                                                   absl::string_view value) = 0;

  // OK if the database answers a read now; UNAVAILABLE if it cannot be
  // reached (siltad's health follows it: ops/store_watch.h).
  virtual absl::Status Ping() = 0;

  // ---- Decision inputs. ----

  // Every writer of something a delivery decision reads (consents, cases,
  // orgs, the policy) wraps its change in changes().Begin(), so that a
  // disclosure decided before it cannot commit after it
  // (change_sequence.h).
  ChangeSequence& changes() { return changes_; }

  // Catches `feed` up once (CatchUpPath: the unfinished deliveries are read,
  // after listening where there is something to listen to), then tells it
  // what other instances on this database commit, until StopFollowing()
  // (which the owner calls before `feed` dies). A store used by one
  // instance only (SQLite) has nothing to follow: it only catches up. An
  // error from the first catch-up is returned: start-up fails closed.
  virtual absl::Status FollowOthers(ChangeFeed* feed) { return feed->CatchUpPath(); }
  virtual void StopFollowing() {}

 private:
  ChangeSequence changes_;
};

}  // namespace silta::store

#endif  // SILTA_SERVER_STORE_STORE_H_
