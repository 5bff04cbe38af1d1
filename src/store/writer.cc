#include "store/writer.h"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

namespace augur::store {
namespace {

// Rows deleted per prune step: a step costs a few milliseconds, so appends queued behind it
// are barely delayed while a large backlog is pruned.
constexpr int kPruneStepRows = 2000;

}  // namespace

Writer::Writer(DbPtr db, const HistoryStoreOptions& options) : opts_(options), db_(std::move(db)) {}

Result<std::unique_ptr<Writer>> Writer::Start(DbPtr db, const HistoryStoreOptions& options) {
  std::unique_ptr<Writer> w(new Writer(std::move(db), options));
  struct {
    StmtPtr* stmt;
    const char* sql;
  } const statements[] = {
      {&w->begin_, "BEGIN IMMEDIATE"},
      {&w->commit_, "COMMIT"},
      {&w->rollback_, "ROLLBACK"},
      {&w->insert_,
       "INSERT INTO judgements (id, created_ms, source, target, checksum, model, mode, outcome, "
       "score, judge_version, inputs_json, request_json, result_json) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"},
      {&w->state_get_, "SELECT version FROM state WHERE kind = ?1 AND key = ?2"},
      {&w->state_insert_,
       "INSERT INTO state (kind, key, version, updated_ms, json) VALUES (?1, ?2, 1, ?3, ?4)"},
      {&w->state_update_,
       "UPDATE state SET version = version + 1, updated_ms = ?3, json = ?4 "
       "WHERE kind = ?1 AND key = ?2"},
      {&w->state_delete_, "DELETE FROM state WHERE kind = ?1 AND key = ?2"},
      // The newest-max_count-th row: everything older than it goes.
      {&w->prune_bound_,
       "SELECT created_ms, seq FROM judgements ORDER BY created_ms DESC, seq DESC "
       "LIMIT 1 OFFSET ?1"},
      // Oldest first through judgements_by_time; the bound (created_ms, seq) is exclusive.
      {&w->prune_delete_,
       "DELETE FROM judgements WHERE seq IN (SELECT seq FROM judgements WHERE created_ms <= ?1 "
       "AND (created_ms < ?1 OR seq < ?2) ORDER BY created_ms LIMIT ?3)"},
  };
  for (const auto& s : statements) {
    const int rc = Prepare(w->db_.get(), s.sql, s.stmt, /*persistent=*/true);
    if (rc != SQLITE_OK) return w->Err(std::string("cannot prepare ") + s.sql, rc);
  }
  w->thread_ = std::thread([raw = w.get()] { raw->Run(); });
  return w;
}

Writer::~Writer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Error Writer::Err(const std::string& what, int rc) const {
  return SqliteError(opts_.path, what, db_.get(), rc);
}

HistoryStoreStats Writer::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status Writer::Submit(WriteOp* op) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (has_sticky_) return sticky_;
    queue_.push_back(op);
  }
  work_cv_.notify_one();
  op->done.acquire();
  return op->status;
}

void Writer::Run() {
  using Clock = std::chrono::steady_clock;
  const bool periodic_prune = opts_.prune_interval_ms > 0 &&
                              (opts_.retention.max_age_ms > 0 || opts_.retention.max_count > 0);
  const auto interval = std::chrono::milliseconds(opts_.prune_interval_ms);
  const auto max_batch = static_cast<size_t>(opts_.max_batch);
  auto next_prune = Clock::now() + interval;
  std::vector<WriteOp*> batch, finished;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    auto ready = [this] { return !queue_.empty() || stop_; };
    if (periodic_prune) {
      work_cv_.wait_until(lock, next_prune, ready);
    } else {
      work_cv_.wait(lock, ready);
    }
    if (queue_.empty()) {
      if (stop_) break;
      if (!periodic_prune || Clock::now() < next_prune) continue;
      auto* op = new WriteOp;
      op->kind = WriteOp::Kind::kPrune;
      op->internal = true;
      op->now_ms = opts_.now_ms();
      queue_.push_back(op);
      next_prune = Clock::now() + interval;
    }
    if (opts_.max_batch_delay_us > 0 && queue_.size() < max_batch) {
      work_cv_.wait_for(lock, std::chrono::microseconds(opts_.max_batch_delay_us),
                        [&] { return queue_.size() >= max_batch || stop_; });
    }
    // Group commit: everything that queued up while the previous transaction committed.
    batch.clear();
    while (!queue_.empty() && batch.size() < max_batch) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    const bool sticky = has_sticky_;
    if (sticky) {
      for (WriteOp* op : batch) op->status = sticky_;
    }
    lock.unlock();
    if (!sticky) ExecuteBatch(batch);
    finished.clear();
    lock.lock();
    for (WriteOp* op : batch) {
      if (op->more && op->status.has_value()) {
        if (op->internal && stop_) {
          delete op;
        } else {
          queue_.push_back(op);  // the next prune step goes after what queued meanwhile
        }
      } else if (op->internal) {
        delete op;
      } else {
        finished.push_back(op);
      }
    }
    // Wake the callers without holding mu_, so they do not pile up on it.
    lock.unlock();
    for (WriteOp* op : finished) op->done.release();
    lock.lock();
  }
}

void Writer::ExecuteBatch(const std::vector<WriteOp*>& batch) {
  Error fatal;
  batch_pruned_ = 0;
  // Errors are described before sqlite3_reset, which may replace the connection's message.
  int rc = sqlite3_step(begin_.get());
  if (rc != SQLITE_DONE) fatal = Err("cannot begin a write transaction", rc);
  sqlite3_reset(begin_.get());
  if (rc == SQLITE_DONE) {
    rc = SQLITE_OK;
    for (WriteOp* op : batch) {
      op->status = Status();
      op->more = false;
      if ((rc = ExecuteOp(op, &fatal)) != SQLITE_OK) break;
    }
    if (rc == SQLITE_OK) {
      rc = sqlite3_step(commit_.get());
      if (rc != SQLITE_DONE) fatal = Err("cannot commit", rc);
      sqlite3_reset(commit_.get());
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    }
    // SQLite rolls back by itself after some errors (disk full, I/O); otherwise we do.
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(db_.get())) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (rc != SQLITE_OK) {
    for (WriteOp* op : batch) {
      op->status = fatal;
      op->more = false;
    }
    ++stats_.failed_transactions;
    if (IsStickyError(rc) && !has_sticky_) {
      has_sticky_ = true;
      sticky_ =
          Error{fatal.code, "writes refused until the store is reopened, after: " + fatal.message};
    }
    return;
  }
  ++stats_.transactions;
  stats_.writes += static_cast<int64_t>(batch.size());
  stats_.largest_batch = std::max<int64_t>(stats_.largest_batch, batch.size());
  stats_.pruned += batch_pruned_;
}

int Writer::ExecuteOp(WriteOp* op, Error* fatal) {
  switch (op->kind) {
    case WriteOp::Kind::kAppend:
      return AppendOp(op, fatal);
    case WriteOp::Kind::kPutState:
    case WriteOp::Kind::kDeleteState:
      return StateOp(op, fatal);
    case WriteOp::Kind::kPrune:
      return PruneStep(op, fatal);
  }
  return SQLITE_OK;
}

int Writer::AppendOp(WriteOp* op, Error* fatal) {
  const JudgementRecord& r = op->record;
  sqlite3_stmt* s = insert_.get();
  ResetGuard guard{s};
  BindText(s, 1, r.id);
  sqlite3_bind_int64(s, 2, r.created_ms);
  BindText(s, 3, r.source);
  BindText(s, 4, r.target);
  BindText(s, 5, r.checksum);
  BindText(s, 6, r.model);
  BindText(s, 7, r.mode);
  BindText(s, 8, r.outcome);
  if (std::isnan(r.score)) {
    sqlite3_bind_null(s, 9);  // SQLite would store NaN as NULL anyway; say so explicitly
  } else {
    sqlite3_bind_double(s, 9, r.score);
  }
  BindText(s, 10, r.judge_version);
  BindText(s, 11, r.inputs_json);
  BindText(s, 12, r.request_json);
  BindText(s, 13, r.result_json);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return SQLITE_OK;
  // Statement-level failures: SQLite undoes just this statement, the batch goes on.
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    op->status = Error{ErrorCode::kConflict, "history store " + opts_.path + ": judgement id " +
                                                 r.id + " already stored"};
    return SQLITE_OK;
  }
  if ((rc & 0xff) == SQLITE_TOOBIG) {
    op->status = Err("judgement " + r.id + " too large", rc);
    return SQLITE_OK;
  }
  *fatal = Err("cannot store judgement " + r.id, rc);
  return rc;
}

int Writer::StateOp(WriteOp* op, Error* fatal) {
  const std::string name = op->state_kind + "/" + op->key;
  int64_t current = 0;  // 0: absent
  {
    sqlite3_stmt* s = state_get_.get();
    ResetGuard guard{s};
    BindText(s, 1, op->state_kind);
    BindText(s, 2, op->key);
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      current = sqlite3_column_int64(s, 0);
    } else if (rc != SQLITE_DONE) {
      *fatal = Err("cannot read state " + name, rc);
      return rc;
    }
  }
  if (op->kind == WriteOp::Kind::kDeleteState && current == 0) {
    op->status = Error{ErrorCode::kNotFound,
                       "history store " + opts_.path + ": state " + name + " does not exist"};
    return SQLITE_OK;
  }
  if (op->expected_version != HistoryStore::kAnyVersion && op->expected_version != current) {
    const std::string now =
        current == 0 ? "does not exist" : "is at version " + std::to_string(current);
    op->status = Error{ErrorCode::kConflict, "history store " + opts_.path + ": state " + name +
                                                 " " + now + ", expected version " +
                                                 std::to_string(op->expected_version)};
    return SQLITE_OK;
  }
  sqlite3_stmt* s = op->kind == WriteOp::Kind::kDeleteState
                        ? state_delete_.get()
                        : (current == 0 ? state_insert_.get() : state_update_.get());
  ResetGuard guard{s};
  BindText(s, 1, op->state_kind);
  BindText(s, 2, op->key);
  if (op->kind == WriteOp::Kind::kPutState) {
    sqlite3_bind_int64(s, 3, op->now_ms);
    BindText(s, 4, op->json);
  }
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) {
    *fatal = Err("cannot write state " + name, rc);
    return rc;
  }
  op->result = current + 1;
  return SQLITE_OK;
}

int Writer::PruneStep(WriteOp* op, Error* fatal) {
  if (!op->have_bound) {
    // Rows below the bound (created_ms, seq) go: the age limit gives (now - max_age, 0), the
    // count limit the newest-max_count-th row, whichever is higher. Rows appended later are
    // newer, so a bound computed once stays right for every step.
    int64_t bound_ms = std::numeric_limits<int64_t>::min(), bound_seq = 0;
    if (opts_.retention.max_age_ms > 0) bound_ms = op->now_ms - opts_.retention.max_age_ms;
    if (opts_.retention.max_count > 0) {
      sqlite3_stmt* s = prune_bound_.get();
      ResetGuard guard{s};
      sqlite3_bind_int64(s, 1, opts_.retention.max_count - 1);
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        const int64_t ms = sqlite3_column_int64(s, 0), seq = sqlite3_column_int64(s, 1);
        if (ms > bound_ms || (ms == bound_ms && seq > bound_seq)) {
          bound_ms = ms;
          bound_seq = seq;
        }
      } else if (rc != SQLITE_DONE) {
        *fatal = Err("cannot prune", rc);
        return rc;
      }
    }
    op->have_bound = true;
    op->bound_ms = bound_ms;
    op->bound_seq = bound_seq;
  }
  sqlite3_stmt* s = prune_delete_.get();
  ResetGuard guard{s};
  sqlite3_bind_int64(s, 1, op->bound_ms);
  sqlite3_bind_int64(s, 2, op->bound_seq);
  sqlite3_bind_int64(s, 3, kPruneStepRows);
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) {
    *fatal = Err("cannot prune", rc);
    return rc;
  }
  const int deleted = sqlite3_changes(db_.get());
  op->result += deleted;
  op->more = deleted == kPruneStepRows;
  batch_pruned_ += deleted;
  return SQLITE_OK;
}

}  // namespace augur::store
