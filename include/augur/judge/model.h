// The analysis model: which metrics to judge, how, and how to roll their classifications up
// into one verdict. Kayenta canary configs and Augur's native models (config/ parses both)
// end up as this plain struct, so the judge has one input shape.
//
// Field defaults are Kayenta's (shared/reference/kayenta.md §1.2), so a Kayenta config with
// nothing set judges exactly as NetflixACAJudge does. Augur's extensions default to "off".
// Plain data; no invariants beyond what ValidateModel checks.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::judge {

enum class Mode {
  kKayenta,  // NetflixACAJudge reproduced: Mann-Whitney CI outside +-tolerance*|estimate|
  kAugur,    // exact HL interval, p-value, effect floors, count tests, Inconclusive
  // Anytime-valid tests (mixture SPRT for values, Beta-mixture Bayes factor for counts) whose
  // state is carried from check to check, so judging every minute keeps the false-fail rate
  // at 1 - conf_level over the whole canary (see JudgeSequential).
  kSequential,
};

enum class Direction { kIncrease, kDecrease, kEither };  // which change is bad
enum class NanStrategy { kRemove, kReplace };            // Kayenta: drop NaN, or NaN -> 0
enum class EffectMeasure { kMeanRatio, kCles };
enum class NoDataPolicy { kFail, kInconclusive, kPass };
// What the series holds. kContinuous: a gauge-like value (latency, CPU), judged by ranks.
// kCount: events per step (errors, 5xx), judged as counts with a rate test against the
// requests in `exposure_metric`, so a zero-inflated error series is not waved through.
enum class MetricKind { kContinuous, kCount };

struct EffectSizeConfig {
  EffectMeasure measure = EffectMeasure::kMeanRatio;
  // Kayenta gates: High needs effect >= allowed_increase, Low needs effect <= allowed_decrease;
  // "critical" failures need the critical_* bounds. Defaults depend on the measure (1.0 for
  // meanRatio, 0.5 for CLES) and are filled in by the parser.
  double allowed_increase = 1.0, allowed_decrease = 1.0;
  double critical_increase = 1.0, critical_decrease = 1.0;
};

// Keptn-style criterion against the baseline, e.g. "<=+10%" (canary <= 1.1 x baseline) or
// "<600" (canary < 600 absolute). Applied to the metric's `aggregate` of each side.
struct Criterion {
  enum class Op { kLess, kLessEqual, kGreater, kGreaterEqual } op = Op::kLessEqual;
  bool relative = false;  // value is a percentage change against the baseline
  double value = 0;
  std::string text;  // as written, for explanations
};

struct MetricConfig {
  std::string name;
  std::vector<std::string> groups;
  Direction direction = Direction::kEither;
  NanStrategy nan_strategy = NanStrategy::kRemove;
  bool remove_outliers = false;
  double outlier_factor = 3.0;
  bool critical = false;
  bool must_have_data = false;
  bool muted = false;
  EffectSizeConfig effect;
  double tolerance = 0.25;   // Kayenta: bound = tolerance * |estimate|
  double conf_level = 0.98;  // Kayenta's judge value; also Augur mode's interval level

  // Augur extensions (ignored in Kayenta mode).
  MetricKind kind = MetricKind::kContinuous;
  std::string exposure_metric;                         // kCount: the metric holding request counts
  std::optional<double> threshold_min, threshold_max;  // Flagger thresholdRange on the canary
  std::string aggregate = "mean";   // for thresholds/criteria: mean|median|p90|p99|sum|max
  std::vector<Criterion> criteria;  // Keptn-style, all must hold
  double abs_floor = 0;             // a shift smaller than this (metric units) never fails
  double rel_floor = 0;    // a shift smaller than this fraction of the baseline never fails
  size_t min_samples = 0;  // fewer points per side -> Inconclusive (augur mode)
  NoDataPolicy no_data = NoDataPolicy::kInconclusive;
  // The anomaly score of canary - baseline over time (robust z, EWMA, CUSUM) is always
  // reported for aligned series; with this set, an alarm in the bad direction also fails the
  // metric (augur and sequential modes).
  bool anomaly_criterion = false;
  std::string query;  // for sources; the judge does not read it
};

struct ScoreThresholds {
  double pass = 75;
  double marginal = 50;
};

struct Model {
  std::string name;
  Mode mode = Mode::kAugur;
  std::vector<MetricConfig> metrics;
  std::map<std::string, double> group_weights;
  ScoreThresholds thresholds;
  uint64_t seed = 0x5EEDu;  // Kayenta's constant-series noise, seeded for reproducibility
};

// Checks cross-field rules: unique metric names, weights >= 0 and summing to <= 100 when all
// groups are weighted, thresholds 0 <= marginal <= pass <= 100, conf levels in (0, 1),
// exposure metrics that exist. Errors name the path, e.g. "metrics[2].conf_level".
Status ValidateModel(const Model& model);

const char* ModeName(Mode mode);

}  // namespace augur::judge
