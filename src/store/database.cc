#include "store/database.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "store/schema.h"

namespace augur::store {
namespace {

Error Fail(const std::string& path, ErrorCode code, const std::string& what) {
  return Error{code, "history store " + path + ": " + what};
}

// The directory must exist: SQLite's own message for a missing directory ("unable to open
// database file") does not say which part of the path is wrong.
Status CheckPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return Fail(path, ErrorCode::kInvalidArgument, "directory " + dir + " does not exist");
    }
    return Fail(path, ErrorCode::kUnavailable,
                "cannot access directory " + dir + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Fail(path, ErrorCode::kInvalidArgument, dir + " is not a directory");
  }
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return Fail(path, ErrorCode::kInvalidArgument, "not a regular file");
  }
  return {};
}

// Looks before anything writes: a foreign or newer file must stay byte-for-byte untouched.
Status Inspect(sqlite3* db, const std::string& path) {
  int64_t app_id = 0, version = 0, objects = 0;
  int rc;
  if ((rc = QueryInt(db, "PRAGMA application_id", &app_id)) != SQLITE_OK ||
      (rc = QueryInt(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
      (rc = QueryInt(db, "SELECT count(*) FROM sqlite_schema", &objects)) != SQLITE_OK) {
    return SqliteError(path, "cannot read the database header", db, rc);
  }
  // A fresh (or zero-byte) file has all three at 0 and is adopted; anything else without
  // Augur's application_id belongs to someone else.
  if (app_id != kApplicationId && (app_id != 0 || version != 0 || objects != 0)) {
    return Fail(path, ErrorCode::kBadData,
                "not an Augur history database (application_id " + std::to_string(app_id) +
                    ", user_version " + std::to_string(version) + ", " + std::to_string(objects) +
                    " schema objects); it was left untouched");
  }
  if (version > kSchemaVersion) {
    return Fail(path, ErrorCode::kBadData,
                "schema version " + std::to_string(version) +
                    " was written by a newer Augur; this build supports up to " +
                    std::to_string(kSchemaVersion) +
                    " (upgrade Augur); the file was left "
                    "untouched");
  }
  return {};
}

Status Configure(sqlite3* db, const HistoryStoreOptions& o) {
  StmtPtr stmt;
  int rc;
  if ((rc = Prepare(db, "PRAGMA journal_mode=WAL", &stmt)) != SQLITE_OK ||
      (rc = sqlite3_step(stmt.get())) != SQLITE_ROW) {
    return SqliteError(o.path, "cannot switch to WAL mode", db, rc);
  }
  const std::string mode = ColumnText(stmt.get(), 0);
  if (mode != "wal") {
    return Fail(o.path, ErrorCode::kUnavailable,
                "WAL mode refused (journal_mode is '" + mode + "'); is the file system local?");
  }
  stmt.reset();
  const char* sync =
      o.sync == SyncMode::kFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  // journal_size_limit: after a checkpoint the WAL shrinks to 64 MiB instead of keeping the
  // size of the largest burst forever.
  if ((rc = Exec(db, sync)) != SQLITE_OK ||
      (rc = Exec(db, "PRAGMA journal_size_limit=67108864")) != SQLITE_OK) {
    return SqliteError(o.path, "cannot set pragmas", db, rc);
  }
  return {};
}

Status Migrate(sqlite3* db, const std::string& path) {
  int rc = Exec(db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return SqliteError(path, "cannot start the schema transaction", db, rc);
  auto fail = [&](Error e) {
    Exec(db, "ROLLBACK");
    return e;
  };
  int64_t version = 0;
  // Read again under the write lock: another process may have migrated meanwhile.
  if ((rc = QueryInt(db, "PRAGMA user_version", &version)) != SQLITE_OK) {
    return fail(SqliteError(path, "cannot read the schema version", db, rc));
  }
  if (version > kSchemaVersion) {
    return fail(Fail(path, ErrorCode::kBadData,
                     "schema version " + std::to_string(version) +
                         " is newer than this build supports (" + std::to_string(kSchemaVersion) +
                         ")"));
  }
  for (int64_t v = version; v < kSchemaVersion; ++v) {
    if ((rc = Exec(db, kMigrations[v])) != SQLITE_OK) {
      return fail(SqliteError(
          path, "schema migration to version " + std::to_string(v + 1) + " failed", db, rc));
    }
  }
  if (version < kSchemaVersion) {
    const std::string pragmas = "PRAGMA user_version=" + std::to_string(kSchemaVersion) +
                                "; PRAGMA application_id=" + std::to_string(kApplicationId);
    if ((rc = Exec(db, pragmas.c_str())) != SQLITE_OK) {
      return fail(SqliteError(path, "cannot set the schema version", db, rc));
    }
  }
  // Nothing changed when the schema was current: this commit writes nothing.
  if ((rc = Exec(db, "COMMIT")) != SQLITE_OK) {
    return fail(SqliteError(path, "cannot commit the schema", db, rc));
  }
  return {};
}

Status VerifyIntegrity(sqlite3* db, const std::string& path) {
  StmtPtr stmt;
  int rc = Prepare(db, "PRAGMA quick_check(5)", &stmt);
  if (rc != SQLITE_OK) return SqliteError(path, "integrity check failed", db, rc);
  std::string problems;
  while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
    const std::string line = ColumnText(stmt.get(), 0);
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  }
  if (rc != SQLITE_DONE) return SqliteError(path, "integrity check failed", db, rc);
  if (!problems.empty()) {
    return Fail(path, ErrorCode::kBadData,
                "the database file is corrupt (quick_check: " + problems +
                    "); restore it from a backup or move it away");
  }
  return {};
}

}  // namespace

Result<DbPtr> OpenDatabase(const HistoryStoreOptions& o) {
  if (Status st = CheckPath(o.path); !st) return st.error();
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      o.path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return SqliteError(o.path, "cannot open", raw, rc);
  // READWRITE silently degrades to read-only for a write-protected file; a history that
  // cannot be written must fail at startup, not at the first verdict.
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Fail(o.path, ErrorCode::kUnavailable,
                "the database file is read-only (check that the file and its directory are "
                "writable)");
  }
  sqlite3_busy_timeout(raw, o.busy_timeout_ms);
  if (Status st = Inspect(raw, o.path); !st) return st.error();
  if (Status st = Configure(raw, o); !st) return st.error();
  if (Status st = Migrate(raw, o.path); !st) return st.error();
  if (o.verify_on_open) {
    if (Status st = VerifyIntegrity(raw, o.path); !st) return st.error();
  }
  return db;
}

}  // namespace augur::store
