#include "server/store/postgres/migrations.h"

namespace silta::store {

// Differences from the SQLite schema, each for a reason:
// - Text is compared and sorted byte by byte (COLLATE "C"), as in SQLite,
//   whatever the database's locale: ids sort the same on both stores.
// - Integers are BIGINT (microseconds, indices).
// - SQLite's implicit rowid, which orders consent records, key bundles and
//   deliveries by insertion, is a column of that name here.
const std::vector<Migration>& PostgresMigrations() {
  static const std::vector<Migration>* migrations = new std::vector<Migration>{
      {1, "the schema of the SQLite store at its version 11", R"sql(
CREATE TABLE orgs (
  org_id        TEXT COLLATE "C" PRIMARY KEY,
  display_name  TEXT NOT NULL,
  kind          BIGINT NOT NULL,
  roles         TEXT NOT NULL,
  state         BIGINT NOT NULL,
  region        TEXT NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL
);
CREATE TABLE cases (
  case_id       TEXT COLLATE "C" PRIMARY KEY,
  subject_ref   TEXT COLLATE "C" NOT NULL,
  state         BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  record        BYTEA NOT NULL
);
CREATE UNIQUE INDEX cases_one_open_per_subject ON cases(subject_ref) WHERE state = 1;
CREATE TABLE case_members (
  case_id TEXT COLLATE "C" NOT NULL REFERENCES cases(case_id),
  org_id  TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (case_id, org_id)
);
CREATE INDEX case_members_by_org ON case_members(org_id);
CREATE TABLE case_events (
  case_id TEXT COLLATE "C" NOT NULL REFERENCES cases(case_id),
  seq     BIGINT NOT NULL,
  event   BYTEA NOT NULL,
  PRIMARY KEY (case_id, seq)
);
CREATE TABLE consent_records (
  record_id   TEXT COLLATE "C" PRIMARY KEY,
  subject_ref TEXT COLLATE "C" NOT NULL,
  kind        BIGINT NOT NULL,
  record      BYTEA NOT NULL,
  rowid       BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX consent_records_by_subject ON consent_records(subject_ref);
CREATE TABLE consent_events (
  record_id TEXT COLLATE "C" NOT NULL REFERENCES consent_records(record_id),
  seq       BIGINT NOT NULL,
  event     BYTEA NOT NULL,
  PRIMARY KEY (record_id, seq)
);
CREATE TABLE key_bundles (
  key_id       TEXT COLLATE "C" PRIMARY KEY,
  org_id       TEXT COLLATE "C" NOT NULL,
  published_us BIGINT NOT NULL,
  retired      BIGINT NOT NULL DEFAULT 0,
  record       BYTEA NOT NULL,
  rowid        BIGINT GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX key_bundles_by_org ON key_bundles(org_id, published_us);
CREATE TABLE messages (
  message_id     TEXT COLLATE "C" PRIMARY KEY,  -- <sender>/<message id>
  sender_org_id  TEXT COLLATE "C" NOT NULL,
  case_id        TEXT COLLATE "C" NOT NULL,
  content_hash   BYTEA NOT NULL,
  accepted_at_us BIGINT NOT NULL,
  expires_at_us  BIGINT NOT NULL,
  body           BYTEA,
  receipt        BYTEA NOT NULL,
  subject_ref    TEXT COLLATE "C" NOT NULL DEFAULT '',
  linked_case_id TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX messages_by_expiry ON messages(expires_at_us) WHERE body IS NOT NULL;
CREATE TABLE deliveries (
  delivery_id      TEXT COLLATE "C" PRIMARY KEY,
  message_id       TEXT COLLATE "C" NOT NULL REFERENCES messages(message_id),
  recipient_org_id TEXT COLLATE "C" NOT NULL,
  state            BIGINT NOT NULL,
  attempts         BIGINT NOT NULL,
  next_attempt_us  BIGINT NOT NULL,
  updated_at_us    BIGINT NOT NULL,
  rowid            BIGINT GENERATED ALWAYS AS IDENTITY,
  UNIQUE (message_id, recipient_org_id)
);
CREATE TABLE audit_entries (
  idx                BIGINT PRIMARY KEY,
  type               BIGINT NOT NULL,
  at_us              BIGINT NOT NULL,
  actor_org_id       TEXT COLLATE "C" NOT NULL,
  counterpart_org_id TEXT COLLATE "C" NOT NULL,
  subject_ref        TEXT COLLATE "C" NOT NULL,
  case_id            TEXT COLLATE "C" NOT NULL,
  message_id         TEXT COLLATE "C" NOT NULL,
  entry              BYTEA NOT NULL,
  purged             BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX audit_by_subject ON audit_entries(subject_ref, idx) WHERE subject_ref != '';
CREATE INDEX audit_by_case ON audit_entries(case_id, idx) WHERE case_id != '';
CREATE INDEX audit_by_actor ON audit_entries(actor_org_id, idx);
CREATE INDEX audit_by_counterpart ON audit_entries(counterpart_org_id, idx)
  WHERE counterpart_org_id != '';
CREATE INDEX audit_unpurged_by_time ON audit_entries(at_us) WHERE purged = 0;
CREATE TABLE audit_tree (
  pos   BIGINT NOT NULL,  -- the node's last leaf: ((index + 1) << level) - 1
  level BIGINT NOT NULL,  -- 0 = leaves
  hash  BYTEA NOT NULL,
  PRIMARY KEY (pos, level)
);
CREATE TABLE audit_tree_heads (
  tree_size BIGINT PRIMARY KEY,
  at_us     BIGINT NOT NULL,
  head      BYTEA NOT NULL
);
CREATE TABLE report_restrictions (
  message_id   TEXT COLLATE "C" PRIMARY KEY,
  subject_ref  TEXT COLLATE "C" NOT NULL,
  ground       TEXT NOT NULL,
  review_at_us BIGINT NOT NULL,
  set_at_us    BIGINT NOT NULL
);
CREATE INDEX report_restrictions_by_subject ON report_restrictions(subject_ref);
)sql"},
      {2, "the change sequence of decision inputs, for several instances", R"sql(
CREATE TABLE change_sequence (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL
);
INSERT INTO change_sequence(id, seq) VALUES (1, 0);
)sql"},
      {3, "settings every instance must share (the pepper's and log key's fingerprints)", R"sql(
CREATE TABLE settings (
  name  TEXT COLLATE "C" PRIMARY KEY,
  value TEXT NOT NULL
);
)sql"},
      // As SQLite's migration 13: the index of the log follows it in batches.
      {4, "the audit log's index by org, subject and case follows it in batches", R"sql(
CREATE TABLE audit_index (
  kind INTEGER NOT NULL,    -- 1 an org (actor or counterpart), 2 a subject_ref, 3 a case_id
  term TEXT COLLATE "C" NOT NULL,
  idx  BIGINT NOT NULL,
  PRIMARY KEY (kind, term, idx)
);
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
  upto BIGINT NOT NULL
);
INSERT INTO audit_index_upto(id, upto) SELECT 1, COALESCE(MAX(idx) + 1, 0) FROM audit_entries;
DROP INDEX audit_by_subject;
DROP INDEX audit_by_case;
DROP INDEX audit_by_actor;
DROP INDEX audit_by_counterpart;
)sql"},
      // As SQLite's migration 14.
      {5, "the Merkle nodes keyed by one integer, (last leaf << 6) | level", R"sql(
CREATE TABLE audit_merkle (
  node BIGINT PRIMARY KEY,  -- (the node's last leaf << 6) | its level (0 = leaves)
  hash BYTEA NOT NULL
);
INSERT INTO audit_merkle(node, hash) SELECT (pos << 6) | level, hash FROM audit_tree ORDER BY 1;
DROP TABLE audit_tree;
)sql"},
      // As SQLite's migration 15.
      {6, "message bodies in a table of their own, deleted at purge", R"sql(
CREATE TABLE message_bodies (
  message_id    TEXT COLLATE "C" PRIMARY KEY REFERENCES messages(message_id),
  expires_at_us BIGINT NOT NULL,
  body          BYTEA NOT NULL     -- serialized SealedMessage
);
CREATE INDEX message_bodies_by_expiry ON message_bodies(expires_at_us);
INSERT INTO message_bodies(message_id, expires_at_us, body)
  SELECT message_id, expires_at_us, body FROM messages WHERE body IS NOT NULL ORDER BY message_id;
DROP INDEX messages_by_expiry;
ALTER TABLE messages DROP COLUMN body;
)sql"},
      // As SQLite's migration 16.
      {7, "the audit log's index keeps a row per term and batch, not per entry", R"sql(
CREATE TABLE audit_postings (
  kind      INTEGER NOT NULL,  -- 1 an org (actor or counterpart), 2 a subject_ref, 3 a case_id
  term      TEXT COLLATE "C" NOT NULL,
  first_idx BIGINT NOT NULL,   -- the row's first index
  gaps      BYTEA NOT NULL,    -- the others, as varint distances from the one before
  PRIMARY KEY (kind, term, first_idx)
);
INSERT INTO audit_postings(kind, term, first_idx, gaps)
  SELECT kind, term, idx, ''::bytea FROM audit_index ORDER BY 1, 2, 3;
DROP TABLE audit_index;
)sql"},
  };
  return *migrations;
}

}  // namespace silta::store
