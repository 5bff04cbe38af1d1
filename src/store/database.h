// Opening the history database file: checks, WAL and durability pragmas, schema migration.
#pragma once

#include "augur/core/result.h"
#include "augur/store/history_store.h"
#include "store/sqlite_util.h"

namespace augur::store {

// Opens or creates options.path as the writer's connection: checks the directory, refuses a
// read-only, foreign, newer or (with verify_on_open) corrupt file without writing to it, then
// switches to WAL, sets synchronous per options.sync and applies missing migrations. Errors
// as documented in history_store.h.
Result<DbPtr> OpenDatabase(const HistoryStoreOptions& options);

}  // namespace augur::store
