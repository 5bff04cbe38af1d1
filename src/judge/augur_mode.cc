// Augur mode: the default classifier. Stricter about evidence than Kayenta's: a metric fails
// only when the exact Hodges-Lehmann interval (or a count test) shows a shift in the bad
// direction that is larger than the configured effect floors; missing or too little data is
// Inconclusive (or whatever the no-data policy says), never a silent Pass.
#include "judge/augur_mode.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "augur/stats/anomaly.h"
#include "augur/stats/descriptive.h"
#include "augur/stats/mann_whitney.h"
#include "augur/stats/rate_test.h"
#include "judge/common.h"

namespace augur::judge::internal {
namespace {

double Aggregate(const std::string& how, const SideStats& s, std::span<const double> v) {
  if (how == "median" || how == "p50") return s.p50;
  if (how == "p90") return s.p90;
  if (how == "p99") return s.p99;
  if (how == "max") return s.max;
  if (how == "sum") {
    double t = 0;
    for (double x : v) t += x;
    return t;
  }
  return s.mean;
}

bool Holds(const Criterion& c, double canary, double baseline) {
  const double target = c.relative ? baseline * (1.0 + c.value / 100.0) : c.value;
  switch (c.op) {
    case Criterion::Op::kLess:
      return canary < target;
    case Criterion::Op::kLessEqual:
      return canary <= target;
    case Criterion::Op::kGreater:
      return canary > target;
    case Criterion::Op::kGreaterEqual:
      return canary >= target;
  }
  return true;
}

MetricResult NoData(const MetricConfig& m, MetricResult r, const std::string& why) {
  switch (m.no_data) {
    case NoDataPolicy::kFail:
      r.classification = Classification::kNodataFailMetric;
      r.critical = m.critical;
      r.reason = why + "; the no-data policy fails the metric";
      break;
    case NoDataPolicy::kInconclusive:
      r.classification = Classification::kInconclusive;
      r.reason = why + "; inconclusive (no-data policy)";
      break;
    case NoDataPolicy::kPass:
      r.classification = Classification::kPass;
      r.reason = why + "; passed only because the no-data policy says so";
      break;
  }
  return r;
}

void Fail(const MetricConfig& m, MetricResult* r, bool high, const std::string& reason) {
  r->classification = high ? Classification::kHigh : Classification::kLow;
  r->critical = m.critical;
  r->reason = reason;
}

}  // namespace

std::optional<bool> ScoreAnomaly(const MetricConfig& m, std::span<const double> control,
                                 std::span<const double> experiment, MetricResult* r) {
  if (control.size() != experiment.size() || control.size() < 3) return std::nullopt;
  stats::AnomalyOptions options;
  options.per_point = false;  // the verdict needs the summary only
  auto a = stats::ScoreCanaryAnomaly(experiment, control, options);
  if (!a) return std::nullopt;
  r->anomaly_score = a->max_score;
  r->anomaly_alarms = a->alarm_count;
  r->anomaly_reason = a->reason;
  if (!m.anomaly_criterion || !a->first_alarm_index) return std::nullopt;
  // The direction of the first alarm decides whether it is a regression for this metric.
  const double z = a->first_alarm_z;
  const bool up = z > 0;
  if (m.direction == Direction::kEither || up == (m.direction == Direction::kIncrease)) return up;
  return std::nullopt;
}

MetricResult ClassifyAugur(const MetricConfig& m, std::span<const double> control_in,
                           std::span<const double> experiment_in, const ExposurePair* exposure) {
  MetricResult r;
  r.name = m.name;
  r.groups = m.groups;
  r.muted = m.muted;
  // Sorted once: the summaries read it, and the rank tests below sort sorted data cheaply.
  std::vector<double> control = FiniteValues(control_in), experiment = FiniteValues(experiment_in);
  stats::SortAscending(control);
  stats::SortAscending(experiment);
  const auto sides = SummarizeSortedPair(control, experiment);
  r.control = sides[0];
  r.experiment = sides[1];
  const size_t missing =
      (control_in.size() - control.size()) + (experiment_in.size() - experiment.size());
  if (control.empty() || experiment.empty()) {
    return NoData(
        m, r, std::string("no data for ") + (experiment.empty() ? "the canary" : "the baseline"));
  }
  const size_t min_n = std::max<size_t>(m.min_samples, 1);
  if (m.kind == MetricKind::kContinuous && (control.size() < min_n || experiment.size() < min_n)) {
    r.classification = Classification::kInconclusive;
    r.reason = "too few samples (" + std::to_string(experiment.size()) + " canary, " +
               std::to_string(control.size()) + " baseline; at least " + std::to_string(min_n) +
               " per side needed)";
    return r;
  }
  std::string missing_note =
      missing ? " (" + std::to_string(missing) + " missing points ignored)" : "";
  if (auto up = ScoreAnomaly(m, control_in, experiment_in, &r)) {
    Fail(m, &r, *up, "anomaly over time: " + r.anomaly_reason);
    r.criterion = "anomaly score (robust z, EWMA, CUSUM of canary - baseline)";
    return r;
  }
  const bool bad_up = m.direction != Direction::kDecrease;
  const bool bad_down = m.direction != Direction::kIncrease;

  // Absolute checks (Flagger thresholdRange) and relative criteria (Keptn) on the aggregate.
  const double canary_agg = Aggregate(m.aggregate, r.experiment, experiment);
  const double baseline_agg = Aggregate(m.aggregate, r.control, control);
  if (m.threshold_max && canary_agg > *m.threshold_max) {
    Fail(m, &r, true,
         "canary " + m.aggregate + " " + Num(canary_agg) + " is above the maximum " +
             Num(*m.threshold_max));
    r.criterion = "thresholdRange.max";
    return r;
  }
  if (m.threshold_min && canary_agg < *m.threshold_min) {
    Fail(m, &r, false,
         "canary " + m.aggregate + " " + Num(canary_agg) + " is below the minimum " +
             Num(*m.threshold_min));
    r.criterion = "thresholdRange.min";
    return r;
  }
  for (const auto& c : m.criteria) {
    if (!Holds(c, canary_agg, baseline_agg)) {
      const bool high = c.op == Criterion::Op::kLess || c.op == Criterion::Op::kLessEqual;
      Fail(m, &r, high,
           "criterion " + c.text + " violated: canary " + m.aggregate + " " + Num(canary_agg) +
               " vs baseline " + Num(baseline_agg));
      r.criterion = c.text;
      return r;
    }
  }

  if (m.kind == MetricKind::kCount) {
    // Conditional test of two Poisson rates: given E events in total, the canary's share is
    // Binomial(E, rho0) under H0 with rho0 its share of the exposure (requests). Exact
    // binomial tails through the regularized incomplete beta, so 8 errors against 0 is seen
    // even though both series are mostly zeros.
    double ec = 0, eb = 0;
    for (double v : experiment) ec += v;
    for (double v : control) eb += v;
    double xc = static_cast<double>(experiment.size()), xb = static_cast<double>(control.size());
    if (exposure != nullptr) {
      xc = 0;
      xb = 0;
      for (double v : exposure->experiment)
        if (std::isfinite(v)) xc += v;
      for (double v : exposure->control)
        if (std::isfinite(v)) xb += v;
    }
    if (!(xc > 0 && xb > 0))
      return NoData(m, r, "no exposure (requests) to compare error counts against");
    auto test = stats::PoissonRateTest(ec, xc, eb, xb);
    if (!test) return NoData(m, r, test.error().message);
    const double rate_c = test->rate_x, rate_b = test->rate_y;
    const double p_up = test->p_greater, p_down = test->p_less;
    r.estimate = rate_c - rate_b;
    r.effect_size = rate_b > 0 ? rate_c / rate_b : (rate_c > 0 ? INFINITY : 1.0);
    r.criterion = "exact conditional Poisson rate test at alpha " + Num(1 - m.conf_level);
    const double alpha = 1 - m.conf_level;
    const double floor_abs = m.abs_floor, floor_rel = m.rel_floor * rate_b;
    const double floor = std::max(floor_abs, floor_rel);
    if (bad_up && p_up < alpha && r.estimate > floor) {
      r.p_value = p_up;
      Fail(m, &r, true,
           "canary error rate " + Num(rate_c) + " vs baseline " + Num(rate_b) + " (" + Num(ec) +
               " vs " + Num(eb) + " events), p = " + Num(p_up) + missing_note);
      return r;
    }
    if (bad_down && p_down < alpha && -r.estimate > floor) {
      r.p_value = p_down;
      Fail(
          m, &r, false,
          "canary rate " + Num(rate_c) + " below baseline " + Num(rate_b) + ", p = " + Num(p_down));
      return r;
    }
    r.p_value = bad_up ? p_up : p_down;
    r.classification = Classification::kPass;
    r.reason = "canary rate " + Num(rate_c) + " vs baseline " + Num(rate_b) +
               ": no significant increase (p = " + Num(r.p_value) + ")" + missing_note;
    return r;
  }

  stats::MannWhitneyOptions o;
  o.conf_level = m.conf_level;
  auto mw = stats::MannWhitney(experiment, control, o);
  if (!mw) {
    r.classification = Classification::kError;
    r.reason = "Mann-Whitney failed: " + mw.error().message;
    return r;
  }
  r.estimate = mw->estimate;
  r.ci_lower = mw->conf_low;
  r.ci_upper = mw->conf_high;
  r.p_value = mw->p_value;
  r.effect_size = (static_cast<double>(r.experiment.count) * r.control.count) > 0
                      ? mw->statistic / (static_cast<double>(r.experiment.count) * r.control.count)
                      : 0.5;  // CLES
  r.deviation = r.control.mean != 0 ? r.experiment.mean / r.control.mean : kNaN;
  const double floor = std::max(m.abs_floor, m.rel_floor * std::fabs(r.control.p50));
  r.bound = floor;
  r.criterion = "Mann-Whitney " + Num(m.conf_level * 100) +
                "% HL interval beyond the effect floor " + Num(floor);
  const std::string numbers = "shift " + Num(r.estimate) + " [" + Num(r.ci_lower) + ", " +
                              Num(r.ci_upper) + "], p = " + Num(r.p_value) + missing_note;
  // A metric fails only when the whole interval lies beyond the floor in the bad direction:
  // the shift is then both real and big enough to matter.
  if (bad_up && r.ci_lower > floor) {
    Fail(m, &r, true, m.name + " increased: " + numbers);
    return r;
  }
  if (bad_down && r.ci_upper < -floor) {
    Fail(m, &r, false, m.name + " decreased: " + numbers);
    return r;
  }
  r.classification = Classification::kPass;
  r.reason = (r.ci_lower > 0 || r.ci_upper < 0)
                 ? "shift within the effect floor " + Num(floor) + ": " + numbers
                 : "no significant shift: " + numbers;
  return r;
}

void ScoreAugur(const Model& model, Judgement* j) {
  std::map<std::string, std::array<size_t, 4>> groups;  // pass, fail, inconclusive, total
  bool critical_fail = false, critical_unknown = false;
  std::string first_critical;
  size_t decided = 0, unknown = 0;
  for (const auto& r : j->results) {
    if (r.muted) continue;
    const bool pass = r.classification == Classification::kPass;
    const bool fail = r.classification == Classification::kHigh ||
                      r.classification == Classification::kLow ||
                      r.classification == Classification::kNodataFailMetric;
    const bool inconclusive = !pass && !fail;
    if (r.critical && fail && !critical_fail) {
      critical_fail = true;
      first_critical = r.name + ": " + r.reason;
    }
    if (inconclusive && model.metrics.size() && [&] {
          for (const auto& m : model.metrics)
            if (m.name == r.name) return m.critical;
          return false;
        }()) {
      critical_unknown = true;
    }
    (inconclusive ? unknown : decided)++;
    for (const auto& g : r.groups) {
      auto& t = groups[g];
      t[pass ? 0 : fail ? 1 : 2]++;
      t[3]++;
    }
  }
  // Scores with every inconclusive metric counted as passing (best) and as failing (worst).
  double configured = 0;
  for (const auto& [g, w] : model.group_weights) configured += w;
  size_t unweighted = 0;
  for (const auto& [g, t] : groups)
    if (!model.group_weights.count(g)) ++unweighted;
  double best = 0, worst = 0, total_weight = 0;
  j->groups.clear();
  for (const auto& [g, t] : groups) {
    auto w = model.group_weights.find(g);
    const double weight =
        w != model.group_weights.end() ? w->second : (100.0 - configured) / unweighted;
    const double n = static_cast<double>(t[0] + t[1] + t[2]);
    GroupScore gs{g, n > 0 ? 100.0 * t[0] / n : 0.0, t[0] + t[1] == 0, t[3]};
    j->groups.push_back(gs);
    if (n == 0) continue;
    best += weight * (t[0] + t[2]) / n;
    worst += weight * t[0] / n;
    total_weight += weight;
  }
  // Augur normalises by the weights of the groups present, so a missing group cannot make a
  // canary pass or fail by itself (Kayenta does not; see kayenta.md §1.7).
  if (total_weight > 0) {
    best = 100 * best / total_weight;
    worst = 100 * worst / total_weight;
  }
  j->score = std::round(worst * 100) / 100;
  const double pass = model.thresholds.pass;
  if (critical_fail) {
    j->outcome = Outcome::kFail;
    j->score = 0;
    j->reason = "critical metric failed: " + first_critical;
  } else if (decided == 0) {
    j->outcome = Outcome::kInconclusive;
    j->reason = "no metric could be judged";
  } else if (critical_unknown) {
    j->outcome = Outcome::kInconclusive;
    j->reason = "a critical metric is inconclusive";
  } else if (worst >= pass) {
    j->outcome = Outcome::kPass;
    j->reason = "score " + Num(j->score) + " >= pass threshold " + Num(pass);
  } else if (best < pass) {
    j->outcome = Outcome::kFail;
    j->reason = "score " + Num(j->score) + " < pass threshold " + Num(pass) +
                (unknown ? " even if the inconclusive metrics passed" : "");
  } else {
    j->outcome = Outcome::kInconclusive;
    j->reason = std::to_string(unknown) + " inconclusive metric(s) decide between pass (score " +
                Num(best) + ") and fail (score " + Num(worst) + ")";
  }
}

}  // namespace augur::judge::internal
