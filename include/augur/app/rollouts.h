// The composition root for rollouts: the only place that turns a rollout spec's provider
// blocks into concrete routers, notifiers and webhooks, and a spec's metrics and model into
// the analysis check. The daemon (augur serve), `augur rollout` and `augur demo` all build their
// rollout::Manager through here, so a rollout behaves the same in each.
//
// Thread-safety: the factory and the check are thread-safe (the manager calls them from its
// workers); the environment's pointers must outlive every manager using them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "augur/analysis/analysis.h"
#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/rollout/manager.h"
#include "augur/routers/router.h"
#include "augur/sources/source.h"

namespace augur::store {
class HistoryStore;
}

namespace augur::app {

struct RolloutEnvironment {
  const sources::MetricSource* source = nullptr;                // required
  const std::map<std::string, judge::Model>* models = nullptr;  // by name; may be null
  std::string default_provider = "haproxy";  // query templates when spec.augur.provider is empty
  analysis::SourceFailure on_source_failure = analysis::SourceFailure::kInconclusive;
  // The model judges the window [max(run start, now - model_window_intervals x interval), now]
  // sampled every `step_ms` (0: interval / 5, at least 1 s).
  int64_t model_window_intervals = 10;
  int64_t step_ms = 0;
  // Every notification also goes here (e.g. the daemon's JSON log); may be empty.
  std::function<void(const std::string& line)> log;
};

// The wall clock, for daemons (tests and replay pass their own).
const rollout::Clock& SystemClock();

// What a spec's `spec.augur.router` becomes (the recording router when absent).
Result<routers::RouterConfig> RouterConfigFor(const rollout::CanarySpec& spec);

// One analysis check, Flagger's way for the spec's metrics (each metric's value over its own
// interval against thresholdRange; the built-ins request-success-rate in percent and
// request-duration in milliseconds) and Augur's way for spec.augur.model (the judge over the
// window above). Any failure fails the check; no data or a source error is inconclusive, never
// a pass.
rollout::CheckResult RunCheck(const RolloutEnvironment& env, const rollout::CheckContext& ctx);

// Builds each rollout's providers from its spec.
rollout::ProviderFactory MakeProviderFactory(RolloutEnvironment env);

// Rollout records in the history database (state table, kind "rollout"), one JSON document per
// rollout. `history` must outlive the store.
std::unique_ptr<rollout::StateStore> NewHistoryStateStore(store::HistoryStore* history);

}  // namespace augur::app
