// Offline replay: runs a past release through the same rollout::StateMachine the daemon runs,
// with the release's archive as the MetricSource, a manual clock starting at the release's
// start and a recording router (style.md §5.3: "replay is a swap, not a second
// implementation"). At every tick the state machine asks for a check and the check is
// analysis::Analyze (or AnalyzeSequential) over the window that ends at the simulated now, so
// the judge never sees a point recorded after the instant it is judging.
//
// Timeline of one replay with the default spec (stepWeight 10, maxWeight 50, threshold 2):
// tick 0 at release.start initialises routing, tick 1 starts the run, tick 2 sets weight 10,
// ticks 3..7 check at weights 10..50, then Promoting -> Finalising -> Succeeded. A release
// whose data ends before the state machine decides is "inconclusive".
//
// Thread-safety: ReplayRelease and ReplaySource are reentrant (each replay owns its machine,
// clock and router; the source must be thread-safe, as every MetricSource is). ReplayAll runs
// releases on a pool of threads and returns results in input order.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "augur/analysis/analysis.h"
#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/judge/verdict.h"
#include "augur/rollout/canary_spec.h"
#include "augur/rollout/interfaces.h"
#include "augur/rollout/state.h"
#include "augur/sources/archive.h"
#include "augur/sources/source.h"

namespace augur::replay {

// Which points each (non-sequential) check judges.
enum class WindowKind {
  kSinceStart,  // from the release's start up to now: Kayenta's lifetime analysis (default)
  kTrailing,    // the last `trailing_ms` up to now: Flagger's per-interval metric query
};

struct ReplayOptions {
  judge::Model model;  // metrics are looked up in the archive by name
  // Query template set for ReplaySource over a templated source (e.g. Prometheus); the
  // archive source ignores it.
  std::string provider;
  // Overrides model.mode when set (the CLI's --mode).
  std::optional<judge::Mode> mode;
  // Tick interval of the default spec; ignored when `spec` is set (its own interval rules).
  int64_t interval_ms = 60000;
  // The rollout to simulate. Empty: DefaultSpec(interval_ms). Webhooks in a loaded spec are
  // answered "approved" (gates) and "no" (rollback hooks): replay judges the metrics only.
  std::optional<rollout::CanarySpec> spec;
  // The rollout begins this long after the archive's first point: the points before it are
  // history that only a trailing window reaches back into (the since-start window and
  // sequential mode begin at the rollout). 0: the rollout begins with the archive.
  int64_t rollout_offset_ms = 0;
  WindowKind window = WindowKind::kSinceStart;
  int64_t trailing_ms = 0;  // kTrailing only; must be > 0 then
  // Overrides every metric's no-data policy when set.
  std::optional<judge::NoDataPolicy> no_data;
  // What a failed fetch does to a check (see analysis::Analyze).
  analysis::SourceFailure on_source_failure = analysis::SourceFailure::kInconclusive;
  // Records every router change (for the HTML report's weight plot); cheap, on by default.
  bool record_timeline = true;
};

// The spec replay runs when none is given: canary strategy, stepWeight 10, maxWeight 50,
// threshold 2, the given interval, no webhooks, analysis not skipped.
rollout::CanarySpec DefaultSpec(int64_t interval_ms);

enum class FinalVerdict { kPromoted, kRolledBack, kInconclusive };
const char* FinalVerdictName(FinalVerdict v);  // "promoted", "rolled_back", "inconclusive"

struct MetricOutcome {
  std::string name;
  judge::Classification classification = judge::Classification::kPass;
  std::string reason;
};

// One analysis check as the state machine asked for it.
struct CheckRecord {
  int64_t time_ms = 0;                                  // the simulated now
  int64_t window_start_ms = 0, window_end_ms = 0;       // what the judge was shown
  rollout::Phase phase = rollout::Phase::kProgressing;  // before the check
  int canary_weight = 0;                                // traffic share the window was judged at
  rollout::CheckVerdict verdict = rollout::CheckVerdict::kInconclusive;  // what the machine got
  judge::Outcome outcome = judge::Outcome::kInconclusive;                // the judge's own outcome
  double score = 0;
  std::string reason;  // the judgement's reason, or the analysis error
  std::vector<MetricOutcome> metrics;
  // The machine's state right after the tick that ran this check.
  int failed_checks_after = 0;
  int weight_after = 0;
  rollout::Phase phase_after = rollout::Phase::kProgressing;
};

// Every router change, for plots.
struct WeightChange {
  int64_t time_ms = 0;
  int canary_weight = 0;
};

struct ReleaseReplay {
  std::string release;  // Release::name
  std::string origin;   // the file it came from
  sources::ReleaseLabel label;
  int64_t start_ms = 0, end_ms = 0, step_ms = 0;
  std::string model;  // model name judged with
  judge::Mode mode = judge::Mode::kAugur;
  std::string judge_name;  // from the first judgement ("augur-v1", "NetflixACAJudge-v1.0")
  FinalVerdict final_verdict = FinalVerdict::kInconclusive;
  std::string final_reason;  // the machine's message at the end (or why it is inconclusive)
  // When the machine decided: entered Promoting (promoted) or Failed (rolled back).
  std::optional<int64_t> decided_ms;
  // Labelled bad releases that were rolled back: decided_ms - regression_start_ms (negative
  // when the rollback came before the labelled start).
  std::optional<int64_t> detected_after_ms;
  std::vector<CheckRecord> checks;
  std::vector<WeightChange> timeline;
};

// Replays one release over its own archive source. Errors: kInvalidArgument when a model
// metric has no series in the release (names them), the interval is shorter than the release's
// step, or the release has no grid; kInternal if the state machine refuses a step.
Result<ReleaseReplay> ReplayRelease(const sources::Release& release, const ReplayOptions& options);

// Replays the release described by `release` (its name, grid and label; its metrics are not
// read) with the series coming from `source` instead. Lets tests put a spy or a real
// Prometheus behind the same loop; the queries asked are the model metrics' names unless the
// model sets `query`.
Result<ReleaseReplay> ReplaySource(const sources::Release& release,
                                   const sources::MetricSource& source,
                                   const ReplayOptions& options);

// Runs fn(i) for i in [0, n) on `threads` threads (0 = hardware concurrency), calling
// `progress(done, n)` from the worker that finished an item (serialised). Work is handed out
// one item at a time, so long releases do not leave a core idle.
void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn,
                 const std::function<void(size_t, size_t)>& progress = {});

// Replays every release in parallel; results are in input order whatever the thread count.
std::vector<Result<ReleaseReplay>> ReplayAll(
    std::span<const sources::Release> releases, const ReplayOptions& options, int threads = 0,
    const std::function<void(size_t, size_t)>& progress = {});

}  // namespace augur::replay
