#include "server/store/sqlite/migrations.h"

namespace silta::store {

const std::vector<Migration>& SqliteMigrations() {
  static const std::vector<Migration>* migrations = new std::vector<Migration>{
      {1, "organisation registry", R"sql(
CREATE TABLE orgs (
  org_id        TEXT PRIMARY KEY NOT NULL,
  display_name  TEXT NOT NULL,
  kind          INTEGER NOT NULL,
  roles         TEXT NOT NULL,      -- comma-separated silta.v1.Role numbers
  state         INTEGER NOT NULL,
  region        TEXT NOT NULL DEFAULT '',
  created_at_us INTEGER NOT NULL,
  updated_at_us INTEGER NOT NULL
) STRICT;
)sql"},
      {2, "cases, members, case events, consents, refusals and their events", R"sql(
CREATE TABLE cases (
  case_id       TEXT PRIMARY KEY NOT NULL,
  subject_ref   TEXT NOT NULL,
  state         INTEGER NOT NULL,   -- silta.v1.CaseState
  created_at_us INTEGER NOT NULL,
  record        BLOB NOT NULL       -- serialized silta.v1.Case
) STRICT;
-- The "one adult" rule: at most one open case per subject.
CREATE UNIQUE INDEX cases_one_open_per_subject ON cases(subject_ref) WHERE state = 1;
CREATE TABLE case_members (
  case_id TEXT NOT NULL REFERENCES cases(case_id),
  org_id  TEXT NOT NULL,
  PRIMARY KEY (case_id, org_id)
) STRICT;
CREATE INDEX case_members_by_org ON case_members(org_id);
CREATE TABLE case_events (
  case_id TEXT NOT NULL REFERENCES cases(case_id),
  seq     INTEGER NOT NULL,
  event   BLOB NOT NULL,            -- serialized silta.v1.CaseEvent
  PRIMARY KEY (case_id, seq)
) STRICT;
CREATE TABLE consent_records (
  record_id   TEXT PRIMARY KEY NOT NULL,
  subject_ref TEXT NOT NULL,
  kind        INTEGER NOT NULL,     -- 1 consent, 2 refusal
  record      BLOB NOT NULL         -- serialized Consent/Refusal without history
) STRICT;
CREATE INDEX consent_records_by_subject ON consent_records(subject_ref);
CREATE TABLE consent_events (
  record_id TEXT NOT NULL REFERENCES consent_records(record_id),
  seq       INTEGER NOT NULL,
  event     BLOB NOT NULL,          -- serialized silta.v1.ConsentEvent
  PRIMARY KEY (record_id, seq)
) STRICT;
)sql"},
      {3, "organisation key bundles", R"sql(
CREATE TABLE key_bundles (
  key_id       TEXT PRIMARY KEY NOT NULL,
  org_id       TEXT NOT NULL,
  published_us INTEGER NOT NULL,
  retired      INTEGER NOT NULL DEFAULT 0,
  record       BLOB NOT NULL        -- serialized silta.v1.KeyBundle (retired flag not kept here)
) STRICT;
CREATE INDEX key_bundles_by_org ON key_bundles(org_id, published_us);
)sql"},
      {4, "messages and deliveries", R"sql(
CREATE TABLE messages (
  message_id     TEXT PRIMARY KEY NOT NULL,
  sender_org_id  TEXT NOT NULL,
  case_id        TEXT NOT NULL,
  content_hash   BLOB NOT NULL,
  accepted_at_us INTEGER NOT NULL,
  expires_at_us  INTEGER NOT NULL,
  body           BLOB,              -- serialized SealedMessage; NULL once purged
  receipt        BLOB NOT NULL      -- serialized DeliveryReceipt
) STRICT;
CREATE INDEX messages_by_expiry ON messages(expires_at_us) WHERE body IS NOT NULL;
CREATE TABLE deliveries (
  delivery_id      TEXT PRIMARY KEY NOT NULL,
  message_id       TEXT NOT NULL REFERENCES messages(message_id),
  recipient_org_id TEXT NOT NULL,
  state            INTEGER NOT NULL,  -- silta.v1.RecipientState
  attempts         INTEGER NOT NULL,
  next_attempt_us  INTEGER NOT NULL,
  updated_at_us    INTEGER NOT NULL,
  UNIQUE (message_id, recipient_org_id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries(recipient_org_id, state, next_attempt_us);
)sql"},
      {5, "the audit log: entries, Merkle tree nodes, signed tree heads", R"sql(
CREATE TABLE audit_entries (
  idx                INTEGER PRIMARY KEY,  -- the entry's index in the log
  type               INTEGER NOT NULL,     -- silta.v1.AuditEventType
  at_us              INTEGER NOT NULL,
  actor_org_id       TEXT NOT NULL,
  counterpart_org_id TEXT NOT NULL,
  subject_ref        TEXT NOT NULL,
  case_id            TEXT NOT NULL,
  message_id         TEXT NOT NULL,
  entry              BLOB NOT NULL         -- serialized silta.v1.AuditEntry
) STRICT;
CREATE INDEX audit_by_time ON audit_entries(at_us);
CREATE INDEX audit_by_subject ON audit_entries(subject_ref, idx) WHERE subject_ref != '';
CREATE INDEX audit_by_case ON audit_entries(case_id, idx) WHERE case_id != '';
CREATE INDEX audit_by_actor ON audit_entries(actor_org_id, idx);
CREATE INDEX audit_by_counterpart ON audit_entries(counterpart_org_id, idx)
  WHERE counterpart_org_id != '';
-- Hashes of the perfect subtrees of the RFC 6962 tree (level 0 = leaves).
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_tree_heads (
  tree_size INTEGER PRIMARY KEY,
  at_us     INTEGER NOT NULL,
  head      BLOB NOT NULL                  -- serialized silta.v1.SignedTreeHead
) STRICT;
)sql"},
      {6, "message ids are unique per sender: messages are keyed <sender>/<id>", R"sql(
PRAGMA defer_foreign_keys = ON;
UPDATE deliveries SET message_id =
  (SELECT m.sender_org_id FROM messages m WHERE m.message_id = deliveries.message_id)
  || '/' || message_id;
UPDATE messages SET message_id = sender_org_id || '/' || message_id;
)sql"},
      {7, "notifications outside a case: the subject, and the case a recipient linked", R"sql(
ALTER TABLE messages ADD COLUMN subject_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN linked_case_id TEXT NOT NULL DEFAULT '';
)sql"},
      {8, "senders' restrictions of entries in the subject report", R"sql(
CREATE TABLE report_restrictions (
  message_id   TEXT PRIMARY KEY NOT NULL,  -- <sender>/<message id>, as in messages
  subject_ref  TEXT NOT NULL,
  ground       TEXT NOT NULL,
  review_at_us INTEGER NOT NULL,
  set_at_us    INTEGER NOT NULL
) STRICT;
CREATE INDEX report_restrictions_by_subject ON report_restrictions(subject_ref);
)sql"},
      {9, "audit entries purged under the retention policy keep only their leaf hash", R"sql(
ALTER TABLE audit_entries ADD COLUMN purged INTEGER NOT NULL DEFAULT 0;
CREATE INDEX audit_unpurged_by_time ON audit_entries(at_us) WHERE purged = 0;
)sql"},
      // Due deliveries are found in memory now (server/routing/delivery_queues.h);
      // the index only cost every delivery's insert and state change.
      {10, "due deliveries come from the delivery queues in memory: no index for them", R"sql(
DROP INDEX deliveries_due;
)sql"},
      // A commit appends a few leaves and the nodes they complete. Keyed by
      // (level, index), those nodes were on one B-tree page per level (8 of
      // a light-load commit's 40 pages); keyed by the last leaf they cover,
      // they are adjacent. audit_by_time was audit_unpurged_by_time with
      // the purged entries: a time's first index is found by bisection (the
      // log's times never go backwards).
      {11, "the Merkle nodes keyed by the last leaf they cover; no audit_by_time", R"sql(
CREATE TABLE audit_tree (
  pos   INTEGER NOT NULL,  -- the node's last leaf: ((index + 1) << level) - 1
  level INTEGER NOT NULL,  -- 0 = leaves
  hash  BLOB NOT NULL,
  PRIMARY KEY (pos, level)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_tree(pos, level, hash)
  SELECT ((idx + 1) << level) - 1, level, hash FROM audit_nodes ORDER BY 1, 2;
DROP TABLE audit_nodes;
DROP INDEX audit_by_time;
)sql"},
      {12, "settings every instance must share (the pepper's and log key's fingerprints)", R"sql(
CREATE TABLE settings (
  name  TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
)sql"},
      // Each entry put a row in four indexes (actor, counterpart, subject,
      // case), each on a page of its own: a third of a light-load commit's
      // pages. audit_index is filled by the commit that takes the log
      // kAuditIndexLag entries past audit_index_upto, in one batch in key
      // order; queries read the entries after the mark from the log
      // (sql_store.cc, QueryAudit).
      {13, "the audit log's index by org, subject and case follows it in batches", R"sql(
CREATE TABLE audit_index (
  kind INTEGER NOT NULL,    -- 1 an org (actor or counterpart), 2 a subject_ref, 3 a case_id
  term TEXT NOT NULL,
  idx  INTEGER NOT NULL,
  PRIMARY KEY (kind, term, idx)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_index(kind, term, idx)
  SELECT 1, actor_org_id, idx FROM audit_entries WHERE actor_org_id != ''
  UNION ALL
  SELECT 1, counterpart_org_id, idx FROM audit_entries
    WHERE counterpart_org_id != '' AND counterpart_org_id != actor_org_id
  UNION ALL
  SELECT 2, subject_ref, idx FROM audit_entries WHERE subject_ref != ''
  UNION ALL
  SELECT 3, case_id, idx FROM audit_entries WHERE case_id != ''
  ORDER BY 1, 2, 3;
-- Entries below this index are in audit_index.
CREATE TABLE audit_index_upto (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  upto INTEGER NOT NULL
) STRICT;
INSERT INTO audit_index_upto(id, upto) SELECT 1, COALESCE(MAX(idx) + 1, 0) FROM audit_entries;
DROP INDEX audit_by_subject;
DROP INDEX audit_by_case;
DROP INDEX audit_by_actor;
DROP INDEX audit_by_counterpart;
)sql"},
      // audit_tree's rows all go at its end, but as a WITHOUT ROWID table
      // its full pages split in two and rebalance with their neighbours:
      // 2.9 pages written per light-load commit. Keyed by one integer, the
      // rowid, an append at the end fills a page and starts the next.
      {14, "the Merkle nodes keyed by one integer, (last leaf << 6) | level", R"sql(
CREATE TABLE audit_merkle (
  node INTEGER PRIMARY KEY,  -- (the node's last leaf << 6) | its level (0 = leaves)
  hash BLOB NOT NULL
) STRICT;
INSERT INTO audit_merkle(node, hash) SELECT (pos << 6) | level, hash FROM audit_tree ORDER BY 1;
DROP TABLE audit_tree;
)sql"},
      // A message's ciphertext in a row of its own. In messages, the body
      // and the receipt (about 8 and 5 KiB in the bench) took three
      // overflow pages; the purge's UPDATE rewrote the whole row, zeroing
      // the three and writing the receipt to a new one. Now the purge
      // deletes the body's row, and the message's row is written once.
      {15, "message bodies in a table of their own, deleted at purge", R"sql(
CREATE TABLE message_bodies (
  message_id    TEXT PRIMARY KEY NOT NULL REFERENCES messages(message_id),
  expires_at_us INTEGER NOT NULL,
  body          BLOB NOT NULL     -- serialized SealedMessage
) STRICT;
CREATE INDEX message_bodies_by_expiry ON message_bodies(expires_at_us);
INSERT INTO message_bodies(message_id, expires_at_us, body)
  SELECT message_id, expires_at_us, body FROM messages WHERE body IS NOT NULL ORDER BY message_id;
DROP INDEX messages_by_expiry;
ALTER TABLE messages DROP COLUMN body;
)sql"},
      // audit_index had a row per (term, entry): a message's seven entries
      // put about 28 rows in it, and its batch took 42% of the audit
      // append's time at 64 senders (docs/message-path-log.md, session 37). A
      // posting row holds the indexes one batch took of one term
      // (sql/audit_postings.h); the rows of audit_index become rows of one
      // index each.
      {16, "the audit log's index keeps a row per term and batch, not per entry", R"sql(
CREATE TABLE audit_postings (
  kind      INTEGER NOT NULL,  -- 1 an org (actor or counterpart), 2 a subject_ref, 3 a case_id
  term      TEXT NOT NULL,
  first_idx INTEGER NOT NULL,  -- the row's first index
  gaps      BLOB NOT NULL,     -- the others, as varint distances from the one before
  PRIMARY KEY (kind, term, first_idx)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_postings(kind, term, first_idx, gaps)
  SELECT kind, term, idx, X'' FROM audit_index ORDER BY 1, 2, 3;
DROP TABLE audit_index;
)sql"},
  };
  return *migrations;
}

}  // namespace silta::store
