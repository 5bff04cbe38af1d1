// Many rollouts in one process: the daemon's (and `augur rollout start`'s) owner of state
// machines. It schedules each machine's ticks on a small worker pool (one tick in flight per
// rollout, so a slow analysis never delays another rollout), runs operator commands between
// ticks, keeps the last check of every rollout for status displays, and persists every change
// through a StateStore before the machine touches the router (the machine's write-ahead rule).
// Start() resumes every persisted rollout where it stopped: a SIGKILL at any point loses no
// step and repeats none (the machine reconciles the router against the persisted weights).
//
// Providers (router, webhooks, workload, the analysis check) come from a factory supplied by
// the composition root, so this part names no provider.
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/rollout/canary_spec.h"
#include "augur/rollout/interfaces.h"
#include "augur/rollout/state.h"

namespace augur::rollout {

// What is persisted per rollout. The spec travels as submitted so a restart re-parses it.
struct RolloutRecord {
  std::string spec_text;
  RolloutState state;
  CheckResult last_check;
  int64_t last_check_ms = 0;
  std::vector<std::string> events;  // newest last; at most kMaxEvents
  int64_t created_ms = 0;
  static constexpr size_t kMaxEvents = 100;
};

// The interface the manager persists through (the consumer owns it, leveldb-style); the store
// part implements it over SQLite, tests keep it in memory.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // Every persisted rollout, keyed "namespace/name".
  virtual Result<std::vector<std::pair<std::string, RolloutRecord>>> LoadAll() = 0;
  // Durable when it returns OK.
  virtual Status Save(const std::string& key, const RolloutRecord& record) = 0;
  virtual Status Remove(const std::string& key) = 0;
};

// The providers of one rollout, built from its spec by the composition root.
struct RolloutProviders {
  std::unique_ptr<Router> router;                         // required
  std::unique_ptr<Webhooks> webhooks;                     // required when the spec has hooks
  std::unique_ptr<Workload> workload;                     // optional
  std::unique_ptr<Notifier> notifier;                     // optional (fan-out of the spec's)
  std::function<CheckResult(const CheckContext&)> check;  // required unless skipAnalysis
};
using ProviderFactory = std::function<Result<RolloutProviders>(const CanarySpec&)>;

struct ManagerOptions {
  const Clock* clock = nullptr;  // required
  StateStore* store = nullptr;   // required
  ProviderFactory providers;     // required
  int workers = 4;               // ticks running at once (across rollouts)
  // Flagger raises analysis intervals below 10 s to 10 s; a demo or a test may allow shorter
  // ones (the interval as written is used, down to this floor). 0 keeps Flagger's rule.
  int64_t min_interval_ms = 0;
  // Told about every event of every rollout (after it was persisted), e.g. a CLI display.
  std::function<void(const std::string& key, const Event&)> on_event;
  int64_t poll_ms = 100;  // scheduler resolution
};

enum class Command { kPause, kResume, kPromote, kAbort, kRetry };
Result<Command> ParseCommand(const std::string& name);  // "pause", "resume", "promote", ...

struct RolloutStatus {
  std::string key, name, namespace_;
  Strategy strategy = Strategy::kCanary;
  RolloutState state;
  CheckResult last_check;
  int64_t last_check_ms = 0;
  int64_t next_tick_ms = 0;
  int max_weight = 0, step_weight = 0, threshold = 0, iterations = 0;
  int64_t interval_ms = 0;
  std::string model;
  std::vector<std::string> events;
  std::string last_error;  // the last tick's error (router down, persist failed), if any
};

class Manager {
 public:
  static Result<std::unique_ptr<Manager>> Create(ManagerOptions options);
  ~Manager();  // Stop()s
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Loads and resumes every persisted rollout, then starts scheduling. A persisted rollout
  // whose spec or providers fail is kept (status shows the error) and not ticked.
  Status Start();
  // Finishes the ticks in flight and stops scheduling. Idempotent.
  void Stop();

  // Starts a rollout from a Canary document. The same spec (checksum) again is idempotent and
  // returns the existing rollout; a new spec for a finished rollout starts it afresh; a new spec
  // while one is running is kConflict (abort it first). Errors: the spec's parse errors
  // (kInvalidArgument with the path), provider errors, the store's.
  // `created` (optional) tells a new rollout from the existing one returned for the same spec.
  Result<RolloutStatus> Submit(const std::string& spec_text, const std::string& origin = "spec",
                               bool* created = nullptr);
  Status Run(const std::string& key, Command command, const std::string& reason = "operator");
  Result<RolloutStatus> Get(const std::string& key) const;  // kNotFound
  std::vector<RolloutStatus> List() const;
  // Removes a finished rollout (kConflict while it runs).
  Status Remove(const std::string& key);

 private:
  class Impl;
  explicit Manager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace augur::rollout
