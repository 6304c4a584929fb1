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
  };
  return *migrations;
}

}  // namespace silta::store
