#include "store/reader_pool.h"

namespace augur::store {

Status ReaderPool::Check() {
  auto conn = Acquire();
  if (!conn) return conn.error();
  Release(std::move(*conn));
  return {};
}

Result<std::unique_ptr<ReaderPool::Connection>> ReaderPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
  }
  auto conn = std::make_unique<Connection>();
  sqlite3* raw = nullptr;
  // Not SQLITE_OPEN_READONLY: a read-only connection cannot create the WAL index (-shm) if it
  // is missing. query_only keeps this connection from writing instead.
  int rc =
      sqlite3_open_v2(path_.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  conn->db.reset(raw);
  if (rc != SQLITE_OK) return SqliteError(path_, "cannot open a reader", raw, rc);
  sqlite3_busy_timeout(raw, busy_timeout_ms_);
  if ((rc = Exec(raw, "PRAGMA query_only=1")) != SQLITE_OK) {
    return SqliteError(path_, "cannot configure a reader", raw, rc);
  }
  return conn;
}

void ReaderPool::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace augur::store
