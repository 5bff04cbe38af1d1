// Durable history of judgements (issue #5) and a small versioned state table for the rollout
// state machine (issue #6), in one SQLite database in WAL mode.
//
// Durability: when Append/PutState/DeleteState return success the write is committed and, with
// SyncMode::kFull, fsynced; the server answers only after that, so an answered judgement
// survives a process crash (tested with SIGKILL) and, with kFull, a power loss. An error means
// the write was not committed (after an I/O error during commit it may still turn up later).
//
// Group commit: one writer thread owns the write connection. Callers queue a write and block;
// the writer commits everything queued while the previous transaction was committing (up to
// max_batch) in one transaction, with one fsync. Throughput therefore grows with the number of
// concurrent callers: about callers / (2 x commit latency), since callers settle into two
// cohorts that alternate. Measured numbers: README, "History".
//
// kFull is the default: in WAL mode kNormal fsyncs only at checkpoints, which survives a
// process crash but can lose the last commits on power loss, i.e. verdicts already answered.
// Group commit spreads the fsync over the batch (8 callers: ~4 records per fsync).
//
// Errors (augur/core/result.h); every message names the database path:
//   kInvalidArgument  bad options or record, bad cursor, or the directory does not exist
//   kUnavailable      cannot open/create/write: permissions, read-only, disk full, I/O error,
//                     locked by another process beyond busy_timeout_ms
//   kBadData          not an SQLite database, corrupt, another application's database, or a
//                     schema version newer than this build. Such a file is never modified,
//                     recreated or migrated.
//   kConflict         Append of an id already stored; PutState/DeleteState version mismatch
//   kNotFound         Get/GetState of an absent id/key; DeleteState of an absent key
// Sticky errors: after an I/O error or corruption while writing, every later write fails with
// it until the store is reopened: whether a failed fsync reached the disk is unknown, and later
// writes must not be reported durable on top of lost ones.
//
// Thread-safety: all methods may be called concurrently from any thread. Reads use their own
// connections (WAL readers and the writer do not block each other) and see every write that
// returned before the read started. The destructor commits what is queued, stops the writer
// and must not race with other calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::store {

// One judgement as the daemon answered it. Strings are byte strings (UTF-8 by convention) and
// may contain NUL bytes; JSON is stored as given (the server serialises and parses it).
struct JudgementRecord {
  std::string id;             // unique; 1..256 bytes (e.g. a UUID or the caller's request id)
  int64_t created_ms = 0;     // Unix epoch ms when judged; retention and List order use it
  std::string source;         // caller protocol: "flagger", "argo", "kayenta", "native", "cli"
  std::string target;         // what was judged, e.g. "namespace/name"
  std::string checksum;       // checksum of the canary spec/model, to group a rollout's checks
  std::string model;          // model (metric config) name
  std::string mode;           // judge mode: "kayenta", "augur", "sequential"
  std::string outcome;        // "pass", "marginal", "fail", "inconclusive" or "error"
  double score = 0;           // 0..100; NaN allowed (stored as NULL, read back as NaN)
  std::string judge_version;  // judge name/version, so replay can flag old verdicts
  std::string inputs_json;    // summary of the inputs: series, ranges, counts
  std::string request_json;   // the request as received
  std::string result_json;    // per-metric results and the verdict as answered
};

// Either limit may be 0 (= no limit). Records older than max_age_ms, and beyond the newest
// max_count, are deleted by Prune and by the writer's periodic prune.
struct Retention {
  int64_t max_age_ms = int64_t{30} * 24 * 3600 * 1000;  // 30 days
  int64_t max_count = 0;
};

enum class SyncMode {
  kFull,    // fsync the WAL at every commit: survives power loss (default; see file comment)
  kNormal,  // fsync only at checkpoints: survives a process crash, not a power loss
};

struct HistoryStoreOptions {
  std::string path;  // database file; its directory must exist. "-wal"/"-shm" files go beside it
  Retention retention;
  SyncMode sync = SyncMode::kFull;
  int max_batch = 512;         // most writes per transaction (>= 1)
  int max_batch_delay_us = 0;  // extra wait for a batch to fill; 0: commit as soon as idle
  int busy_timeout_ms = 5000;  // wait for another process's lock before kUnavailable
  // Periodic prune on the writer thread, first one interval after Open; 0 disables it.
  int64_t prune_interval_ms = 10 * 60 * 1000;
  int64_t max_record_bytes = int64_t{16} << 20;  // sum of a record's fields; bigger: rejected
  // Run PRAGMA quick_check at Open (reads the whole file: seconds for gigabytes). Without it,
  // corruption surfaces as kBadData from the first read or write that meets it.
  bool verify_on_open = false;
  int max_idle_readers = 4;  // reader connections kept open for reuse
  // Clock (Unix ms) for the periodic prune and StateEntry::updated_ms; null = system clock.
  // Called from the writer thread and from PutState callers, so it must be thread-safe.
  std::function<int64_t()> now_ms;
};

// Filters for List; empty strings and zero times match everything.
struct ListFilter {
  std::string target, source, outcome;  // exact matches
  int64_t since_ms = 0;                 // created_ms >= since_ms
  int64_t until_ms = 0;                 // created_ms < until_ms (0: no upper bound)
  int limit = 100;                      // 1..1000 per page
  std::string cursor;                   // next_cursor of the previous page; empty: first page
  bool with_json = true;  // false: leave the three *_json fields empty (cheap summaries)
};

struct JudgementPage {
  std::vector<JudgementRecord> records;  // newest first (created_ms, then insertion order)
  std::string next_cursor;               // empty when there are no more records
};

// One entry of the generic state table (rollout state later).
struct StateEntry {
  std::string kind, key;
  std::string json;
  int64_t version = 0;     // 1 after the first PutState, then +1 per PutState
  int64_t updated_ms = 0;  // store clock at the last write
};

// Counters since Open, for /metrics and for checking that group commit groups.
struct HistoryStoreStats {
  int64_t transactions = 0;   // committed write transactions
  int64_t writes = 0;         // writes committed in them (appends, state writes, prune steps)
  int64_t largest_batch = 0;  // most writes in one transaction
  int64_t failed_transactions = 0;
  int64_t pruned = 0;  // records deleted by retention
};

class HistoryStore {
 public:
  // Any PutState/DeleteState version is accepted.
  static constexpr int64_t kAnyVersion = -1;

  // Opens or creates the database, migrates an older schema forward and starts the writer.
  static Result<std::unique_ptr<HistoryStore>> Open(const HistoryStoreOptions& options);
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  // Stores the record durably; blocks until its transaction has committed. kInvalidArgument
  // unless: id is 1..256 bytes, source is set, outcome is one of the five lower-case names,
  // created_ms > 0 and all fields together fit max_record_bytes. kConflict if the id is
  // already stored (the stored record is unchanged).
  Status Append(JudgementRecord record);

  Result<JudgementRecord> Get(std::string_view id) const;
  Result<JudgementPage> List(const ListFilter& filter) const;
  Result<int64_t> Count() const;

  // Deletes what the retention options say is old at now_ms; returns the number deleted (0,
  // writing nothing, when retention has no limit). Runs on the writer in steps of 2,000 rows,
  // each its own transaction, so appends are not held up behind a large backlog.
  Result<int64_t> Prune(int64_t now_ms);

  // Compare-and-swap write: expected_version 0 requires the key to be absent, n > 0 requires
  // version n, kAnyVersion writes unconditionally. Returns the new version; kConflict (with
  // the current version in the message) on mismatch. Durable on return, like Append.
  Result<int64_t> PutState(std::string_view kind, std::string_view key, std::string json,
                           int64_t expected_version);
  // Same versioning as PutState (0 is not allowed); kNotFound if absent.
  Status DeleteState(std::string_view kind, std::string_view key, int64_t expected_version);
  Result<StateEntry> GetState(std::string_view kind, std::string_view key) const;
  Result<std::vector<StateEntry>> ListState(std::string_view kind) const;  // sorted by key

  HistoryStoreStats Stats() const;
  const std::string& path() const;

  // The schema version this build writes (PRAGMA user_version).
  static int SchemaVersion();

 private:
  class Impl;
  explicit HistoryStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace augur::store
