#include "augur/replay/replay.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "augur/core/time.h"
#include "augur/rollout/state_machine.h"
#include "replay/recording_router.h"

namespace augur::replay {
namespace {

class ManualClock : public rollout::Clock {
 public:
  int64_t NowMs() const override { return now_; }
  void Set(int64_t now) { now_ = now; }

 private:
  int64_t now_ = 0;
};

// Replay has nobody to ask: every gate is approved and no rollback hook says "roll back", so
// the outcome depends on the metrics alone.
class ApprovingWebhooks : public rollout::Webhooks {
 public:
  Result<rollout::HookAnswer> Call(const rollout::HookSpec& hook,
                                   const rollout::HookPayload&) override {
    rollout::HookAnswer a;
    a.ok = hook.type != rollout::HookType::kRollback;
    a.reason = "replay";
    return a;
  }
};

rollout::CheckVerdict ToCheckVerdict(judge::Outcome o) {
  switch (o) {
    case judge::Outcome::kPass:
      return rollout::CheckVerdict::kPass;
    case judge::Outcome::kFail:
      return rollout::CheckVerdict::kFail;
    default:
      // Marginal is not a pass: the machine counts it like Inconclusive (a failed check), as
      // it never advances on evidence that is not good enough.
      return rollout::CheckVerdict::kInconclusive;
  }
}

// A phase from which the machine will still ask for a check before it decides.
bool NeedsData(rollout::Phase p) {
  return p != rollout::Phase::kPromoting && p != rollout::Phase::kFinalising &&
         !rollout::IsTerminal(p);
}

struct Grid {
  int64_t start, end, step;
  // The first slot at or after t (t itself when on the grid).
  int64_t SlotAtOrAfter(int64_t t) const {
    if (t <= start) return start;
    const int64_t k = (t - start + step - 1) / step;
    return start + k * step;
  }
};

Result<ReleaseReplay> Run(const sources::Release& release, const sources::MetricSource& source,
                          const ReplayOptions& options, bool queries_are_names) {
  if (release.step_ms <= 0 || release.end_ms < release.start_ms) {
    return InvalidArgument(release.origin + ": release '" + release.name +
                           "' has no usable grid (step must be > 0 and end >= start)");
  }
  rollout::CanarySpec spec = options.spec ? *options.spec : DefaultSpec(options.interval_ms);
  const int64_t interval = spec.analysis.interval_ms;
  if (interval < release.step_ms) {
    return InvalidArgument("interval " + std::to_string(interval / 1000) +
                           "s is shorter than release '" + release.name + "''s step " +
                           std::to_string(release.step_ms / 1000) +
                           "s: a check would see no new point");
  }
  if (options.window == WindowKind::kTrailing && options.trailing_ms <= 0) {
    return InvalidArgument("a trailing analysis window needs a length > 0");
  }
  if (options.rollout_offset_ms < 0 ||
      options.rollout_offset_ms > release.end_ms - release.start_ms) {
    return InvalidArgument("rollout offset must lie within the release");
  }
  const int64_t rollout_start = release.start_ms + options.rollout_offset_ms;
  judge::Model model = options.model;
  if (options.mode) model.mode = *options.mode;
  for (auto& m : model.metrics) {
    if (queries_are_names || m.query.empty()) m.query = m.name;
    if (options.no_data) m.no_data = *options.no_data;
  }
  const bool sequential = model.mode == judge::Mode::kSequential;
  const Grid grid{release.start_ms, release.end_ms, release.step_ms};

  ReleaseReplay out;
  out.release = release.name;
  out.origin = release.origin;
  out.label = release.label;
  out.start_ms = release.start_ms;
  out.end_ms = release.end_ms;
  out.step_ms = release.step_ms;
  out.model = model.name;
  out.mode = model.mode;

  ManualClock clock;
  clock.Set(rollout_start);
  // The router starts with all traffic on the primary; the machine sends only changes.
  if (options.record_timeline) out.timeline.push_back({rollout_start, 0});
  RecordingRouter router(&clock, options.record_timeline ? &out.timeline : nullptr);
  ApprovingWebhooks webhooks;
  judge::SequentialState seq_state;
  int64_t seq_from = grid.SlotAtOrAfter(rollout_start);  // sequential: first slot not shown
  std::optional<CheckRecord> pending;

  rollout::Dependencies deps;
  deps.clock = &clock;
  deps.router = &router;
  deps.webhooks = &webhooks;
  deps.persist = [](const rollout::RolloutState&) -> Status { return {}; };
  deps.check = [&](const rollout::CheckContext& ctx) -> rollout::CheckResult {
    CheckRecord rec;
    rec.time_ms = ctx.now_ms;
    rec.phase = ctx.state.phase;
    rec.canary_weight = ctx.state.canary_weight;
    analysis::AnalysisRequest req;
    req.provider = options.provider;
    req.vars = release.vars;
    req.step_ms = release.step_ms;
    req.end_ms = ctx.now_ms;
    if (sequential) {
      req.start_ms = seq_from;
    } else if (options.window == WindowKind::kTrailing) {
      req.start_ms = grid.SlotAtOrAfter(ctx.now_ms - options.trailing_ms + 1);
    } else {
      req.start_ms = grid.SlotAtOrAfter(rollout_start);
    }
    rec.window_start_ms = req.start_ms;
    rec.window_end_ms = req.end_ms;
    auto a = sequential ? analysis::AnalyzeSequential(model, source, req, &seq_state,
                                                      options.on_source_failure)
                        : analysis::Analyze(model, source, req, options.on_source_failure);
    if (sequential) seq_from = grid.SlotAtOrAfter(ctx.now_ms + 1);
    if (!a) {
      rec.verdict = rollout::CheckVerdict::kInconclusive;
      rec.outcome = judge::Outcome::kInconclusive;
      rec.reason = "analysis error: " + a.error().message;
    } else {
      const judge::Judgement& j = a->judgement;
      if (out.judge_name.empty()) out.judge_name = j.judge_name;
      rec.outcome = j.outcome;
      rec.verdict = ToCheckVerdict(j.outcome);
      rec.score = j.score;
      rec.reason = j.reason;
      rec.metrics.reserve(j.results.size());
      for (const auto& r : j.results) rec.metrics.push_back({r.name, r.classification, r.reason});
    }
    rollout::CheckResult result;
    result.verdict = rec.verdict;
    result.reason = rec.reason;
    pending = std::move(rec);
    return result;
  };

  auto machine = rollout::StateMachine::Create(std::move(spec), std::move(deps));
  if (!machine) return machine.error().WithContext("replay");
  rollout::StateMachine& sm = **machine;

  // A generous bound: the machine needs at most a handful of ticks beyond the data.
  const int64_t max_ticks = (release.end_ms - rollout_start) / interval + 1000;
  int64_t now = rollout_start;
  rollout::Phase last_phase = sm.state().phase;
  for (int64_t tick = 0;; ++tick) {
    const rollout::Phase phase = sm.state().phase;
    if (rollout::IsTerminal(phase)) break;
    if (now > release.end_ms && NeedsData(phase)) {
      out.final_reason = "data ended (" + FormatTimeMs(release.end_ms) +
                         ") before the rollout decided: phase " + rollout::PhaseName(phase) +
                         ", canary weight " + std::to_string(sm.state().canary_weight) +
                         ", failed checks " + std::to_string(sm.state().failed_checks) + "/" +
                         std::to_string(sm.spec().analysis.threshold);
      break;
    }
    if (tick > max_ticks) {
      return Error{ErrorCode::kInternal, "replay of '" + release.name + "' did not finish after " +
                                             std::to_string(tick) + " ticks"};
    }
    clock.Set(now);
    pending.reset();
    if (auto st = sm.Tick(); !st) return st.error().WithContext("replay: tick");
    const rollout::RolloutState& s = sm.state();
    if (pending) {
      pending->failed_checks_after = s.failed_checks;
      pending->weight_after = s.canary_weight;
      pending->phase_after = s.phase;
      out.checks.push_back(std::move(*pending));
    }
    if (s.phase != last_phase) {
      if (s.phase == rollout::Phase::kPromoting || s.phase == rollout::Phase::kFailed ||
          (s.phase == rollout::Phase::kSucceeded && !out.decided_ms)) {
        if (!out.decided_ms) out.decided_ms = now;
      }
      last_phase = s.phase;
    }
    const int64_t due = sm.NextTickDueMs();
    now = due > now ? due : now + interval;
  }

  const rollout::RolloutState& s = sm.state();
  if (s.phase == rollout::Phase::kSucceeded) {
    out.final_verdict = FinalVerdict::kPromoted;
    out.final_reason = s.message;
  } else if (s.phase == rollout::Phase::kFailed) {
    out.final_verdict = FinalVerdict::kRolledBack;
    out.final_reason = s.message;
    if (release.label.truth == "bad" && out.decided_ms) {
      // A bad release without a labelled start was bad from its first minute.
      const int64_t from = release.label.regression_start_ms.value_or(release.start_ms);
      out.detected_after_ms = *out.decided_ms - from;
    }
  } else {
    out.final_verdict = FinalVerdict::kInconclusive;
    out.decided_ms.reset();
  }
  return out;
}

}  // namespace

rollout::CanarySpec DefaultSpec(int64_t interval_ms) {
  rollout::CanarySpec spec;
  spec.name = "replay";
  spec.target_ref.name = "replay";
  spec.service_name = "replay";
  spec.strategy = rollout::Strategy::kCanary;
  spec.analysis.interval_ms = std::max<int64_t>(interval_ms, 1);
  spec.analysis.interval = std::to_string(spec.analysis.interval_ms / 1000) + "s";
  spec.analysis.threshold = 2;
  spec.analysis.step_weight = 10;
  spec.analysis.max_weight = 50;
  spec.checksum = "replay";
  return spec;
}

const char* FinalVerdictName(FinalVerdict v) {
  switch (v) {
    case FinalVerdict::kPromoted:
      return "promoted";
    case FinalVerdict::kRolledBack:
      return "rolled_back";
    case FinalVerdict::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

Result<ReleaseReplay> ReplayRelease(const sources::Release& release, const ReplayOptions& options) {
  std::set<std::string> have;
  for (const auto& m : release.metrics) have.insert(m.name);
  std::string missing;
  for (const auto& m : options.model.metrics) {
    if (!have.count(m.name)) missing += (missing.empty() ? "" : ", ") + m.name;
  }
  if (!missing.empty()) {
    std::string has;
    for (const auto& n : have) has += (has.empty() ? "" : ", ") + n;
    return InvalidArgument((release.origin.empty() ? release.name : release.origin) + ": model '" +
                           options.model.name + "' needs metric(s) the archive does not have: " +
                           missing + " (archive has: " + (has.empty() ? "none" : has) + ")");
  }
  auto source = sources::NewArchiveSource(release);
  return Run(release, *source, options, /*queries_are_names=*/true);
}

Result<ReleaseReplay> ReplaySource(const sources::Release& release,
                                   const sources::MetricSource& source,
                                   const ReplayOptions& options) {
  return Run(release, source, options, /*queries_are_names=*/false);
}

void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn,
                 const std::function<void(size_t, size_t)>& progress) {
  if (n == 0) return;
  size_t t = threads > 0 ? static_cast<size_t>(threads)
                         : std::max(1u, std::thread::hardware_concurrency());
  t = std::min(t, n);
  std::atomic<size_t> next{0};
  std::mutex mu;
  size_t done = 0;
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) {
      fn(i);
      if (progress) {
        std::lock_guard<std::mutex> lock(mu);
        progress(++done, n);
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t i = 1; i < t; ++i) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

std::vector<Result<ReleaseReplay>> ReplayAll(std::span<const sources::Release> releases,
                                             const ReplayOptions& options, int threads,
                                             const std::function<void(size_t, size_t)>& progress) {
  std::vector<Result<ReleaseReplay>> out(releases.size(),
                                         Error{ErrorCode::kInternal, "not replayed"});
  ParallelFor(
      releases.size(), threads, [&](size_t i) { out[i] = ReplayRelease(releases[i], options); },
      progress);
  return out;
}

}  // namespace augur::replay
