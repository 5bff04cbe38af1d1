// Scoring replayed releases against their labels, and sweeping model/rollout parameters.
//
// Confusion matrix: a bad release rolled back is a true positive, a bad release promoted a
// false negative, a good release rolled back a false positive, a good release promoted a true
// negative. Inconclusive replays (the data ended first) are neither, and are counted per truth;
// rates use every labelled release of a class as denominator, so a setting cannot look better
// by never deciding. Unlabelled releases and replay errors are counted, not scored.
//
// Thread-safety: plain data and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "augur/core/result.h"
#include "augur/replay/replay.h"

namespace augur::replay {

struct Confusion {
  int tp = 0, fn = 0, fp = 0, tn = 0;
  int inconclusive_bad = 0, inconclusive_good = 0;
  int unlabelled = 0;  // no truth label (or an unknown one)
  int errors = 0;      // releases that could not be replayed
  // True positives rolled back before their labelled regression began: stopped for another
  // reason (e.g. inconclusive checks), so their negative delay is left out of the times below.
  int early = 0;
  // Detection delays (detected_after_ms >= 0) of the other true positives.
  std::optional<double> mean_ttd_ms, median_ttd_ms;

  int bad() const { return tp + fn + inconclusive_bad; }
  int good() const { return fp + tn + inconclusive_good; }
  double tpr() const;  // tp / bad(); 0 when there are no bad releases
  double fpr() const;  // fp / good(); 0 when there are no good releases
};

// Scores replays; `errors` adds releases that failed before replaying.
Confusion Score(std::span<const ReleaseReplay> replays, int errors = 0);

// --- Sweeps -------------------------------------------------------------------------------

// One swept parameter, "key=v1,v2,...". Keys (case-sensitive, as in the model file):
//   tolerance, confLevel, absFloor, relFloor, minSamples, noData  (every metric; or one metric
//   as "<metric>.<key>", e.g. "latency-p99.absFloor"), mode (kayenta|augur|sequential),
//   threshold, stepWeight, maxWeight, interval (e.g. 2m), passScore, marginalScore.
struct SweepParam {
  std::string key;
  std::vector<std::string> values;
};
Result<SweepParam> ParseSweep(std::string_view text);

using Setting = std::vector<std::pair<std::string, std::string>>;  // key, value

// Every combination of the parameters' values (the cartesian product), first parameter
// varying slowest. No parameters: one empty setting (the baseline).
std::vector<Setting> Combinations(std::span<const SweepParam> params);

// Applies one key=value to the options (model metrics, mode, spec). Errors: kInvalidArgument
// naming the key or the value, or a metric that the model does not have.
Status Apply(const std::string& key, const std::string& value, ReplayOptions* options);
Status Apply(const Setting& setting, ReplayOptions* options);
std::string FormatSetting(const Setting& setting);  // "tolerance=0.1 mode=augur" ("baseline")

// What "best" means for a sweep.
struct Objective {
  enum class Kind {
    kMaxTprUnderFpr,  // maximise TP rate subject to FP rate <= max_fpr
    kYouden,          // maximise TP rate - FP rate
    kAccuracy,        // maximise (TP + TN) / labelled
  } kind = Kind::kMaxTprUnderFpr;
  double max_fpr = 0.05;
};
// "tpr@fpr<=0.05" (default), "youden", "accuracy". Errors name the text.
Result<Objective> ParseObjective(std::string_view text);
// One sentence, printed with the sweep: "maximise TP rate subject to FP rate <= 5%, ties by
// lower mean time to detect, then fewer inconclusive".
std::string DescribeObjective(const Objective& objective);

struct SweepRow {
  Setting setting;
  Confusion confusion;
};

// The index of the best row per the objective, ties broken by lower mean time to detect, then
// fewer inconclusive releases, then the earlier row. Empty when no row meets the constraint.
std::optional<size_t> Best(std::span<const SweepRow> rows, const Objective& objective);

}  // namespace augur::replay
