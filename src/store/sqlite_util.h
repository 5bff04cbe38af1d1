// Thin RAII and error helpers over the SQLite C API, private to the store part.
#pragma once

#include <sqlite3.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "augur/core/result.h"

namespace augur::store {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The error codes after which the writer refuses further writes (see "sticky errors" in
// history_store.h).
inline bool IsStickyError(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_IOERR || primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

inline ErrorCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
      return ErrorCode::kBadData;
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOLFS:
    case SQLITE_NOMEM:
      return ErrorCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return ErrorCode::kConflict;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return ErrorCode::kInvalidArgument;
    default:
      return ErrorCode::kInternal;
  }
}

// "history store <path>: <what>: <sqlite message> (<hint>, errno N: ...)". The hint translates
// the codes an operator meets into what to do about them.
inline Error SqliteError(const std::string& path, std::string_view what, sqlite3* db, int rc) {
  std::string msg = "history store " + path + ": " + std::string(what) + ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const char* hint = nullptr;
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
      hint = "the database file is corrupt; restore it from a backup or move it away";
      break;
    case SQLITE_NOTADB:
      hint = "the file is not an SQLite database; it was left untouched";
      break;
    case SQLITE_FULL:
      hint = "the disk is full";
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      hint = "check that the file and its directory exist and are writable";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      hint = "another process holds the database lock";
      break;
    default:
      break;
  }
  switch (rc) {  // the extended I/O codes say which operation failed
    case SQLITE_IOERR_WRITE:
      hint = "a write to the database or its WAL failed";
      break;
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC:
      hint = "fsync failed; the disk may have lost data";
      break;
    case SQLITE_IOERR_READ:
    case SQLITE_IOERR_SHORT_READ:
      hint = "a read failed";
      break;
    case SQLITE_IOERR_TRUNCATE:
      hint = "truncating the WAL failed";
      break;
    default:
      break;
  }
  // SQLite records errno only for open failures reliably (for I/O errors it is whatever errno
  // holds when the error surfaces, possibly from a later call), so only those quote it.
  const int sys_errno =
      db != nullptr && (rc & 0xff) == SQLITE_CANTOPEN ? sqlite3_system_errno(db) : 0;
  if (hint != nullptr || sys_errno != 0) {
    msg += " (";
    if (hint != nullptr) msg += hint;
    if (sys_errno != 0) {
      if (hint != nullptr) msg += ", ";
      msg += "errno " + std::to_string(sys_errno) + ": " + std::strerror(sys_errno);
    }
    msg += ")";
  }
  return Error{CodeFor(rc), std::move(msg)};
}

// Runs SQL without results (pragmas, BEGIN/COMMIT, DDL).
inline int Exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

// persistent: the statement is cached and reused (a hint to SQLite's allocator).
inline int Prepare(sqlite3* db, std::string_view sql, StmtPtr* out, bool persistent = false) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  out->reset(stmt);
  return rc;
}

// SQLITE_TRANSIENT is avoided: the bound strings outlive each statement step, so SQLite need
// not copy multi-megabyte JSON. A null data pointer would bind SQL NULL, hence the "".
inline int BindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Text column with its exact length, so embedded NUL bytes survive.
inline std::string ColumnText(sqlite3_stmt* stmt, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
  const int n = sqlite3_column_bytes(stmt, col);
  return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(n));
}

// Resets a statement when a use of it ends, which also ends its implicit read transaction: a
// statement left mid-step would pin an old WAL snapshot and stall checkpoints.
struct ResetGuard {
  sqlite3_stmt* stmt;
  ~ResetGuard() {
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
  }
};

// Single-value query helper for pragmas and counts. Returns the SQLite result code.
inline int QueryInt(sqlite3* db, const char* sql, int64_t* out) {
  StmtPtr stmt;
  int rc = Prepare(db, sql, &stmt);
  if (rc != SQLITE_OK) return rc;
  rc = sqlite3_step(stmt.get());
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(stmt.get(), 0);
    return SQLITE_OK;
  }
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace augur::store
