// Kayenta mode: NetflixACAJudge reproduced (shared/reference/kayenta.md §1.3-1.7).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "augur/judge/judge.h"
#include "augur/stats/descriptive.h"
#include "augur/stats/effect_size.h"
#include "augur/stats/kayenta_mann_whitney.h"
#include "augur/stats/sample.h"
#include "judge/common.h"

namespace augur::judge {
namespace {

// NaN strategy, then outliers, each side on its own (Kayenta's transformMetric). Returns the
// kept values sorted: every statistic after it is order-free, and on sorted data the IQR
// filter is a trim of both ends, so one sort per side serves the fences, the summaries and
// KayentaMannWhitney (which skips its own sort for sorted input).
std::vector<double> PreprocessSorted(const MetricConfig& m, std::span<const double> in) {
  std::vector<double> out;
  if (stats::AllFinite(in)) {  // nothing to replace or drop: one copy
    out.assign(in.begin(), in.end());
  } else {
    out.reserve(in.size());
    for (double v : in) {
      if (std::isnan(v)) {
        if (m.nan_strategy == NanStrategy::kReplace) out.push_back(0.0);
      } else {
        out.push_back(v);
      }
    }
  }
  stats::SortAscending(out);
  // With an infinite value the fences are undefined; Kayenta's filter is skipped then, as
  // RemoveIqrOutliers rejects non-finite input.
  if (m.remove_outliers && !out.empty() && std::isfinite(out.front()) &&
      std::isfinite(out.back())) {
    const auto f = stats::IqrFencesSorted(out, {m.outlier_factor, /*reduce_sensitivity=*/true});
    const auto first = std::lower_bound(out.begin(), out.end(), f.lower);
    const auto last = std::upper_bound(first, out.end(), f.upper);
    out.erase(last, out.end());
    out.erase(out.begin(), first);
  }
  return out;
}

// Kayenta adds N(0, (v * 1e-5)^2) noise to each side when both are constant, so that the
// rank test can separate two different constants. Kayenta's generator is unseeded; Augur's
// is seeded from the model, so a verdict can be reproduced.
void AddNoise(std::vector<double>* v, std::mt19937_64* rng) {
  const double sd = (*v)[0] * 1e-5;
  if (sd == 0) return;
  std::normal_distribution<double> noise(0.0, std::fabs(sd));
  for (double& x : *v) x += noise(*rng);
}

double KayentaMeanRatio(std::span<const double> experiment, std::span<const double> control) {
  auto r = stats::MeanRatio(experiment, control, stats::NonFinitePolicy::kDrop);
  return r && r->defined ? r->ratio : kNaN;
}

// commons-math Precision.round(x, 2): half-up on the shortest decimal representation of x
// (Java's Double.toString), so 2.675 rounds to 2.68 although its binary value is below it.
double RoundHalfUp2(double x) {
  if (!std::isfinite(x)) return x;
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(x), std::chars_format::fixed);
  std::string digits(buf, res.ptr);
  const size_t dot = digits.find('.');
  if (dot == std::string::npos) return x;
  std::string kept = digits.substr(0, std::min(digits.size(), dot + 3));
  double v = std::strtod(kept.c_str(), nullptr);
  if (digits.size() > dot + 3 && digits[dot + 3] >= '5') v += 0.01;
  v = std::round(v * 100.0) / 100.0;  // removes the representation error of the addition
  return std::signbit(x) ? -v : v;
}

}  // namespace

MetricResult ClassifyKayenta(const MetricConfig& m, std::span<const double> control_in,
                             std::span<const double> experiment_in, uint64_t seed) {
  MetricResult r;
  r.name = m.name;
  r.groups = m.groups;
  r.muted = m.muted;
  r.criterion = "Kayenta Mann-Whitney: CI outside +-" + std::to_string(m.tolerance) +
                " x |estimate| at " + std::to_string(m.conf_level);
  std::vector<double> control = PreprocessSorted(m, control_in);
  std::vector<double> experiment = PreprocessSorted(m, experiment_in);
  const auto sides = internal::SummarizeSortedPair(control, experiment);
  r.control = sides[0];
  r.experiment = sides[1];
  r.deviation = 1.0;

  if (control.empty() || experiment.empty()) {
    if (m.nan_strategy == NanStrategy::kReplace) {
      r.classification = Classification::kPass;
    } else if (m.must_have_data && !m.critical) {
      r.classification = Classification::kNodataFailMetric;
      r.reason = "Missing data for " + m.name;
    } else {
      r.classification = Classification::kNodata;
      r.critical = m.critical;
      r.reason = "Missing data for " + m.name;
    }
    return r;
  }
  if (experiment == control) {
    r.classification = Classification::kPass;
    r.reason = "The canary and baseline data are identical";
    return r;
  }
  const bool experiment_constant = experiment.front() == experiment.back();
  const bool control_constant = control.front() == control.back();
  if (experiment_constant && control_constant && experiment.front() == control.front()) {
    r.classification = Classification::kPass;  // one distinct value in the union
    return r;
  }
  const bool noise = experiment_constant && control_constant;
  if (noise) {
    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(m.name));
    AddNoise(&experiment, &rng);
    AddNoise(&control, &rng);
  }
  auto mw = stats::KayentaMannWhitney(experiment, control, m.conf_level);
  if (!mw) {
    r.classification = Classification::kError;
    r.reason = "Metric Classification Failed";
    return r;
  }
  r.ci_lower = mw->ci_lower;
  r.ci_upper = mw->ci_upper;
  r.estimate = mw->estimate;
  r.bound = m.tolerance * std::fabs(mw->estimate);
  // The summaries' means are MeanRatio's when they saw the same values: no noise added and
  // nothing infinite for MeanRatio to drop (sorted, so the ends tell).
  const bool same_values = !noise && std::isfinite(experiment.front()) &&
                           std::isfinite(experiment.back()) && std::isfinite(control.front()) &&
                           std::isfinite(control.back());
  if (same_values) {
    r.deviation =
        r.experiment.mean != 0 && r.control.mean != 0 ? r.experiment.mean / r.control.mean : kNaN;
  } else {
    r.deviation = KayentaMeanRatio(experiment, control);
  }
  if (m.effect.measure == EffectMeasure::kCles) {
    auto cles = stats::CommonLanguageEffectSize(experiment, control);
    r.effect_size = cles ? *cles : kNaN;
  } else {
    r.effect_size = r.deviation;
  }
  const bool effect_nan = std::isnan(r.effect_size);
  const bool high = m.direction != Direction::kDecrease && r.ci_lower > r.bound &&
                    (effect_nan || r.effect_size >= m.effect.allowed_increase);
  const bool low = m.direction != Direction::kIncrease && r.ci_upper < -r.bound &&
                   (effect_nan || r.effect_size <= m.effect.allowed_decrease);
  if (high) {
    r.classification = Classification::kHigh;
    if (m.critical && (effect_nan || r.effect_size >= m.effect.critical_increase)) {
      r.critical = true;
      r.reason = "The metric " + m.name + " was classified as High (Critical)";
    } else {
      r.reason = m.name + " was classified as High";
    }
  } else if (low) {
    r.classification = Classification::kLow;
    if (m.critical && (effect_nan || r.effect_size <= m.effect.critical_decrease)) {
      r.critical = true;
      r.reason = "The metric " + m.name + " was classified as Low (Critical)";
    } else {
      r.reason = m.name + " was classified as Low";
    }
  } else {
    r.classification = Classification::kPass;
  }
  return r;
}

void ScoreKayenta(const Model& model, Judgement* j) {
  // Muted metrics are reported but not scored.
  std::vector<const MetricResult*> scored;
  for (const auto& r : j->results)
    if (!r.muted) scored.push_back(&r);

  struct Tally {
    size_t pass = 0, fail = 0, total = 0;
  };
  std::map<std::string, Tally> groups;  // sorted by name, as Kayenta reports them
  for (const auto* r : scored) {
    for (const auto& g : r->groups) {
      Tally& t = groups[g];
      ++t.total;
      switch (r->classification) {
        case Classification::kPass:
          ++t.pass;
          break;
        case Classification::kHigh:
        case Classification::kLow:
        case Classification::kNodataFailMetric:
          ++t.fail;
          break;
        default:
          break;  // Nodata, Error, Inconclusive: outside the denominator
      }
    }
  }
  j->groups.clear();
  double configured = 0;
  for (const auto& [g, w] : model.group_weights) configured += w;
  size_t unweighted = 0;
  for (const auto& [g, t] : groups)
    if (!model.group_weights.count(g)) ++unweighted;
  double summary = 0;
  for (const auto& [g, t] : groups) {
    GroupScore gs;
    gs.name = g;
    gs.metrics = t.total;
    const size_t denom = t.pass + t.fail;
    gs.no_data = denom == 0;
    gs.score = gs.no_data ? 0.0 : 100.0 * static_cast<double>(t.pass) / static_cast<double>(denom);
    // A group without data counts as 100 in the summary (but is reported as 0).
    const double effective = gs.no_data ? 100.0 : gs.score;
    auto w = model.group_weights.find(g);
    const double weight = w != model.group_weights.end()
                              ? w->second
                              : (100.0 - configured) / static_cast<double>(unweighted);
    summary += effective * weight / 100.0;
    j->groups.push_back(gs);
  }
  j->reason.clear();
  size_t nodata = 0;
  for (const auto* r : scored)
    if (r->classification == Classification::kNodata) ++nodata;
  const MetricResult* critical_fail = nullptr;
  for (const auto* r : scored) {
    if (r->critical && r->classification != Classification::kPass) {
      critical_fail = r;
      break;
    }
  }
  if (critical_fail != nullptr) {
    summary = 0;
    // Java string concatenation of a null reason prints "null"; kept for byte compatibility.
    j->reason = "Canary Failed: " +
                (critical_fail->reason.empty() ? std::string("null") : critical_fail->reason);
  } else if (!scored.empty() &&
             100.0 * static_cast<double>(nodata) / static_cast<double>(scored.size()) >= 50.0) {
    summary = 0;
    j->reason = "Canary Failed: 50% or more metrics returned NODATA";
  }
  j->score = RoundHalfUp2(summary);
  const ScoreThresholds& t = model.thresholds;
  j->outcome = j->score >= t.pass       ? Outcome::kPass
               : j->score >= t.marginal ? Outcome::kMarginal
                                        : Outcome::kFail;
}

}  // namespace augur::judge
