// Reader connections of a history database. WAL lets them read while the writer commits; each
// is used by one thread at a time and keeps its prepared statements.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "augur/core/result.h"
#include "store/sqlite_util.h"

namespace augur::store {

class ReaderPool {
 public:
  ReaderPool(std::string path, int busy_timeout_ms, int max_idle)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), max_idle_(max_idle) {}

  // Opens a connection if none is idle, to check at Open that reading works.
  Status Check();

  // Runs f(stmt) with the statement for sql prepared on a pooled connection and returns what
  // f returns (a Result). The statement is reset afterwards, ending its read transaction, so
  // every call sees all writes committed before it started. Thread-safe.
  template <typename F>
  auto WithStatement(const std::string& sql, F&& f)
      -> decltype(f(static_cast<sqlite3_stmt*>(nullptr))) {
    auto conn = Acquire();
    if (!conn) return conn.error();
    StmtPtr& stmt = (*conn)->statements[sql];
    if (!stmt) {
      const int rc = Prepare((*conn)->db.get(), sql, &stmt, /*persistent=*/true);
      if (rc != SQLITE_OK) {
        Error e = SqliteError(path_, "cannot prepare a read", (*conn)->db.get(), rc);
        (*conn)->statements.erase(sql);
        Release(std::move(*conn));
        return e;
      }
    }
    auto result = [&] {
      ResetGuard guard{stmt.get()};
      return f(stmt.get());
    }();
    Release(std::move(*conn));
    return result;
  }

 private:
  struct Connection {
    DbPtr db;
    std::unordered_map<std::string, StmtPtr> statements;
  };
  Result<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> conn);

  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace augur::store
