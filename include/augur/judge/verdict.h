// What the judge returns: per-metric results with the numbers behind them, group scores and
// one overall verdict, each with a human reason.
// Plain data; safe to copy between threads.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace augur::judge {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Kayenta's metric labels, plus Augur's Inconclusive.
enum class Classification { kPass, kHigh, kLow, kNodata, kNodataFailMetric, kError, kInconclusive };
enum class Outcome { kPass, kMarginal, kFail, kInconclusive };

const char* ClassificationName(Classification c);  // "Pass", "High", ..., "Inconclusive"
const char* OutcomeName(Outcome o);                // "Pass", "Marginal", "Fail", "Inconclusive"

struct SideStats {
  size_t count = 0;
  double mean = 0, sd = 0, min = 0, max = 0;
  double p50 = 0, p90 = 0, p99 = 0;
};

struct MetricResult {
  std::string name;
  std::map<std::string, std::string> tags;
  std::vector<std::string> groups;
  Classification classification = Classification::kPass;
  std::string reason;     // empty for a plain Pass in Kayenta mode, as Kayenta
  bool critical = false;  // a critical failure (fails the whole canary)
  bool muted = false;
  SideStats control, experiment;
  // The numbers behind the decision; NaN when not computed.
  double estimate = kNaN;  // shift of experiment - control
  double ci_lower = kNaN, ci_upper = kNaN;
  double p_value = kNaN;      // augur mode
  double deviation = 1.0;     // Kayenta's mean ratio (1.0 when not computed, as Kayenta)
  double effect_size = kNaN;  // per the configured measure
  double bound = kNaN;        // Kayenta: tolerance * |estimate|
  std::string criterion;      // the rule that was applied, in words
  // Anomaly score of canary - baseline over time (aligned series only): the largest per-point
  // score in [0, 1], the points beyond limits and the scorer's own explanation.
  double anomaly_score = kNaN;
  size_t anomaly_alarms = 0;
  std::string anomaly_reason;
};

struct GroupScore {
  std::string name;
  double score = 0;  // 0..100
  bool no_data = false;
  size_t metrics = 0;
};

struct Judgement {
  std::string judge_name;  // "NetflixACAJudge-v1.0" in Kayenta mode, "augur-v1" otherwise
  std::vector<MetricResult> results;
  std::vector<GroupScore> groups;
  double score = 0;  // 0..100, rounded to 2 decimals
  Outcome outcome = Outcome::kPass;
  std::string reason;
};

}  // namespace augur::judge
