// The history database's schema as a list of forward migrations. PRAGMA user_version holds the
// number of migrations applied; Open applies the missing ones in one transaction and refuses a
// database whose version is higher than kMigrations' size (written by a newer Augur).
//
// Append a migration, never edit one that has shipped: databases in the field are at every
// version. PRAGMA application_id marks the file as Augur's, so Open never adopts another
// program's database.
#pragma once

#include <cstdint>
#include <iterator>

namespace augur::store {

inline constexpr int32_t kApplicationId = 0x41554752;  // "AUGR"

inline constexpr const char* kMigrations[] = {
    // 1: judgements and the rollout state table.
    // seq orders records inserted in the same millisecond and makes List cursors stable. The
    // small columns come first and the JSON last: a summary List then reads only a row's
    // first page, not its overflow pages. Indexes implicitly end in seq (the rowid), so they
    // serve "ORDER BY created_ms DESC, seq DESC" without sorting.
    R"sql(
CREATE TABLE judgements (
  seq           INTEGER PRIMARY KEY,
  id            TEXT NOT NULL UNIQUE,
  created_ms    INTEGER NOT NULL,
  source        TEXT NOT NULL,
  target        TEXT NOT NULL,
  checksum      TEXT NOT NULL,
  model         TEXT NOT NULL,
  mode          TEXT NOT NULL,
  outcome       TEXT NOT NULL,
  score         REAL,
  judge_version TEXT NOT NULL,
  inputs_json   TEXT NOT NULL,
  request_json  TEXT NOT NULL,
  result_json   TEXT NOT NULL
);
CREATE INDEX judgements_by_target ON judgements(target, created_ms);
CREATE INDEX judgements_by_time ON judgements(created_ms);
CREATE TABLE state (
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  json       TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
)sql",
};

inline constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

}  // namespace augur::store
