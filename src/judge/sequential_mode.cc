// Sequential mode: per-metric anytime-valid tests whose state carries across checks.
#include <cmath>
#include <sstream>

#include "augur/judge/judge.h"
#include "judge/augur_mode.h"
#include "judge/common.h"

namespace augur::judge {
namespace {

using internal::Num;

std::string Key(const MetricPair& p) {
  std::string k = p.name;
  for (const auto& [t, v] : p.tags) k += "|" + t + "=" + v;
  return k;
}

stats::Alternative AlternativeOf(Direction d) {
  switch (d) {
    case Direction::kIncrease:
      return stats::Alternative::kGreater;
    case Direction::kDecrease:
      return stats::Alternative::kLess;
    case Direction::kEither:
      return stats::Alternative::kTwoSided;
  }
  return stats::Alternative::kTwoSided;
}

double Sum(std::span<const double> v) {
  double s = 0;
  for (double x : v)
    if (std::isfinite(x)) s += x;
  return s;
}

void Decide(const MetricConfig& m, bool reject, double shift, double baseline_level,
            const std::string& numbers, MetricResult* r) {
  const double floor = std::max(m.abs_floor, m.rel_floor * std::fabs(baseline_level));
  r->bound = floor;
  const bool up = shift > 0;
  const bool bad =
      m.direction == Direction::kEither || (up == (m.direction == Direction::kIncrease));
  if (reject && bad && std::fabs(shift) > floor) {
    r->classification = up ? Classification::kHigh : Classification::kLow;
    r->critical = m.critical;
    r->reason =
        m.name + (up ? " increased" : " decreased") + " (anytime-valid test rejects): " + numbers;
  } else if (reject && bad) {
    r->classification = Classification::kPass;
    r->reason = "shift within the effect floor " + Num(floor) + ": " + numbers;
  } else {
    r->classification = Classification::kPass;
    r->reason = "no evidence of a regression so far: " + numbers;
  }
}

}  // namespace

Result<Judgement> JudgeSequential(const Model& model, std::span<const MetricPair> new_data,
                                  SequentialState* state) {
  auto index = internal::IndexPairs(model, new_data);
  if (!index) return index.error();
  const auto& by_name = index->metrics;
  const auto& first = index->first_pair;
  Judgement j;
  j.judge_name = "augur-sequential-v1";
  for (const auto& p : new_data) {
    const MetricConfig& m = *by_name.at(p.name);
    MetricResult r;
    r.name = m.name;
    r.tags = p.tags;
    r.groups = m.groups;
    r.muted = m.muted;
    const auto control = internal::FiniteValues(p.control),
               experiment = internal::FiniteValues(p.experiment);
    r.control = internal::Summarize(control);
    r.experiment = internal::Summarize(experiment);
    const double alpha = 1 - m.conf_level;
    internal::ScoreAnomaly(m, p.control, p.experiment, &r);  // reported; this check's window
    if (m.kind == MetricKind::kCount) {
      const MetricPair* exposure = nullptr;
      if (auto it = first.find(m.exposure_metric); it != first.end()) exposure = it->second;
      const double xc =
          exposure ? Sum(exposure->experiment) : static_cast<double>(experiment.size());
      const double xb = exposure ? Sum(exposure->control) : static_cast<double>(control.size());
      stats::CountTestOptions o;
      o.alpha = alpha;
      o.alternative = AlternativeOf(m.direction);
      auto& st = state->counts[Key(p)];
      auto t = stats::CountTestUpdate(st, static_cast<uint64_t>(std::llround(Sum(experiment))), xc,
                                      static_cast<uint64_t>(std::llround(Sum(control))), xb, o);
      r.criterion = "anytime-valid Beta-mixture count test at alpha " + Num(alpha);
      if (!t) {
        r.classification = Classification::kInconclusive;
        r.reason = "count test could not run: " + t.error().message;
      } else if (!t->testable) {
        r.classification = Classification::kInconclusive;
        r.reason = "no exposure on one side yet";
      } else {
        const double rate_c = t->canary_exposure > 0 ? t->canary_events / t->canary_exposure : 0;
        const double rate_b =
            t->baseline_exposure > 0 ? t->baseline_events / t->baseline_exposure : 0;
        r.p_value = t->p_value;
        r.estimate = rate_c - rate_b;
        r.effect_size = t->rate_ratio;
        Decide(m, t->reject, r.estimate, rate_b,
               "rate " + Num(rate_c) + " vs " + Num(rate_b) + " (" +
                   std::to_string(t->canary_events) + " vs " + std::to_string(t->baseline_events) +
                   " events in all), always-valid p = " + Num(t->p_value),
               &r);
      }
    } else {
      stats::MsprtOptions o;
      o.alpha = alpha;
      o.alternative = AlternativeOf(m.direction);
      auto& st = state->values[Key(p)];
      auto t = stats::MsprtUpdate(st, experiment, control, o);
      r.criterion = "anytime-valid mixture SPRT at alpha " + Num(alpha);
      const size_t min_n = std::max<size_t>(m.min_samples, 2);
      if (!t) {
        r.classification = Classification::kInconclusive;
        r.reason = "mSPRT could not run: " + t.error().message;
      } else if (!t->testable || t->n_canary < min_n || t->n_baseline < min_n) {
        r.classification = Classification::kInconclusive;
        r.reason = "too few samples so far (" + std::to_string(t->n_canary) + " canary, " +
                   std::to_string(t->n_baseline) + " baseline)";
      } else {
        r.p_value = t->p_value;
        r.estimate = t->estimate;
        r.ci_lower = t->conf_low;
        r.ci_upper = t->conf_high;
        Decide(m, t->reject, t->estimate, r.control.p50,
               "shift " + Num(t->estimate) + " [" + Num(t->conf_low) + ", " + Num(t->conf_high) +
                   "], always-valid p = " + Num(t->p_value) + " after " +
                   std::to_string(st.checks) + " checks",
               &r);
      }
    }
    j.results.push_back(std::move(r));
  }
  internal::ScoreAugur(model, &j);
  return j;
}

}  // namespace augur::judge
