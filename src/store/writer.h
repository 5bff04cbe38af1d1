// The single writer of a history database: callers queue writes and block; one thread commits
// everything queued so far in one transaction (group commit, see history_store.h).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "augur/core/result.h"
#include "augur/store/history_store.h"
#include "store/sqlite_util.h"

namespace augur::store {

// A queued write. Lives on the caller's stack (or the heap for the writer's own periodic
// prune) until the writer releases done; the writer does not touch it after that.
struct WriteOp {
  enum class Kind { kAppend, kPutState, kDeleteState, kPrune };
  Kind kind = Kind::kAppend;
  JudgementRecord record;             // kAppend
  std::string state_kind, key, json;  // kPutState, kDeleteState
  int64_t expected_version = 0;       // kPutState, kDeleteState
  int64_t now_ms = 0;                 // kPrune: "now" for the age limit; kPutState: updated_ms
  bool internal = false;              // the writer's own periodic prune: nobody waits
  // kPrune: rows below (bound_ms, bound_seq) go; computed at the first step.
  bool have_bound = false;
  int64_t bound_ms = 0, bound_seq = 0;
  bool more = false;  // kPrune: another step is needed
  // Set by the writer before done is released.
  Status status;
  int64_t result = 0;  // new version (kPutState) or rows deleted so far (kPrune)
  // One semaphore per op rather than a shared condition variable: a commit wakes exactly the
  // callers in its batch, not every waiting thread (which showed as futex contention).
  std::binary_semaphore done{0};
};

class Writer {
 public:
  // Takes the connection from OpenDatabase, prepares the write statements and starts the
  // thread. options.now_ms must be set.
  static Result<std::unique_ptr<Writer>> Start(DbPtr db, const HistoryStoreOptions& options);
  // Commits what is already queued, then stops the thread and closes the connection.
  ~Writer();

  // Thread-safe. Blocks until op's transaction committed (op->status ok, op->result set) or
  // failed (op->status holds the error).
  Status Submit(WriteOp* op);
  HistoryStoreStats Stats() const;

 private:
  Writer(DbPtr db, const HistoryStoreOptions& options);
  Error Err(const std::string& what, int rc) const;
  void Run();
  void ExecuteBatch(const std::vector<WriteOp*>& batch);
  // Each returns SQLITE_OK, or a code that aborts the whole transaction (described in
  // *fatal). Refusals of one op (conflict, not found) go to op->status and return SQLITE_OK:
  // the rest of the batch still commits.
  int ExecuteOp(WriteOp* op, Error* fatal);
  int AppendOp(WriteOp* op, Error* fatal);
  int StateOp(WriteOp* op, Error* fatal);
  int PruneStep(WriteOp* op, Error* fatal);

  const HistoryStoreOptions opts_;
  DbPtr db_;  // used only by the writer thread once started
  StmtPtr begin_, commit_, rollback_, insert_, state_get_, state_insert_, state_update_,
      state_delete_, prune_bound_, prune_delete_;
  int64_t batch_pruned_ = 0;  // rows deleted in the current transaction (writer thread only)

  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // writes queued, or stop
  std::deque<WriteOp*> queue_;       // guarded by mu_, as are the members below
  bool stop_ = false;
  bool has_sticky_ = false;
  Error sticky_;
  HistoryStoreStats stats_;
  std::thread thread_;
};

}  // namespace augur::store
