#include "augur/judge/judge.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "augur/core/worker_pool.h"
#include "judge/augur_mode.h"
#include "judge/common.h"

namespace augur::judge {

const char* ModeName(Mode mode) {
  switch (mode) {
    case Mode::kKayenta:
      return "kayenta";
    case Mode::kAugur:
      return "augur";
    case Mode::kSequential:
      return "sequential";
  }
  return "augur";
}

const char* ClassificationName(Classification c) {
  switch (c) {
    case Classification::kPass:
      return "Pass";
    case Classification::kHigh:
      return "High";
    case Classification::kLow:
      return "Low";
    case Classification::kNodata:
      return "Nodata";
    case Classification::kNodataFailMetric:
      return "NodataFailMetric";
    case Classification::kError:
      return "Error";
    case Classification::kInconclusive:
      return "Inconclusive";
  }
  return "Error";
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "Pass";
    case Outcome::kMarginal:
      return "Marginal";
    case Outcome::kFail:
      return "Fail";
    case Outcome::kInconclusive:
      return "Inconclusive";
  }
  return "Fail";
}

Status ValidateModel(const Model& model) {
  std::set<std::string> names;
  if (model.metrics.empty()) return InvalidArgument("metrics: the model has no metrics");
  for (size_t i = 0; i < model.metrics.size(); ++i) {
    const MetricConfig& m = model.metrics[i];
    const std::string path = "metrics[" + std::to_string(i) + "]";
    if (m.name.empty()) return InvalidArgument(path + ".name: must not be empty");
    if (!names.insert(m.name).second) {
      return InvalidArgument(path + ".name: duplicate metric name '" + m.name + "'");
    }
    if (!(m.conf_level > 0 && m.conf_level < 1)) {
      return InvalidArgument(path + ".confLevel: must lie in (0, 1), got " +
                             std::to_string(m.conf_level));
    }
    if (!(m.tolerance >= 0)) return InvalidArgument(path + ".tolerance: must be >= 0");
    if (!(m.outlier_factor > 0))
      return InvalidArgument(path + ".outliers.outlierFactor: must be > 0");
    if (m.abs_floor < 0 || m.rel_floor < 0)
      return InvalidArgument(path + ": effect floors must be >= 0");
    if (m.threshold_min && m.threshold_max && *m.threshold_min > *m.threshold_max) {
      return InvalidArgument(path + ".thresholdRange: min is greater than max");
    }
  }
  for (size_t i = 0; i < model.metrics.size(); ++i) {
    const MetricConfig& m = model.metrics[i];
    if (m.kind == MetricKind::kCount && !m.exposure_metric.empty() &&
        !names.count(m.exposure_metric)) {
      return InvalidArgument("metrics[" + std::to_string(i) + "].exposure: no metric named '" +
                             m.exposure_metric + "'");
    }
  }
  double sum = 0;
  for (const auto& [g, w] : model.group_weights) {
    if (!(w >= 0)) return InvalidArgument("classifier.groupWeights." + g + ": must be >= 0");
    sum += w;
  }
  if (sum > 100 + 1e-9) {
    return InvalidArgument("classifier.groupWeights: weights sum to " + std::to_string(sum) +
                           ", more than 100");
  }
  const auto& t = model.thresholds;
  if (!(t.marginal >= 0 && t.marginal <= t.pass && t.pass <= 100)) {
    return InvalidArgument("scoreThresholds: need 0 <= marginal <= pass <= 100, got marginal " +
                           std::to_string(t.marginal) + ", pass " + std::to_string(t.pass));
  }
  return {};
}

namespace {

// Number of threads worth starting for `points` values in total (0 = hardware concurrency).
size_t ThreadsFor(int requested, size_t metrics, size_t points) {
  size_t n = requested > 0 ? static_cast<size_t>(requested)
                           : std::max(1u, std::thread::hardware_concurrency());
  // Waking a pool thread costs tens of microseconds: below ~20,000 points in total one thread
  // finishes sooner.
  if (requested == 0 && points < 20000) n = 1;
  return std::min(n, metrics);
}

}  // namespace

Result<Judgement> Judge(const Model& model, std::span<const MetricPair> pairs,
                        const JudgeOptions& options) {
  if (model.mode == Mode::kSequential) {
    SequentialState fresh;  // a single look: the first check of a new canary
    return JudgeSequential(model, pairs, &fresh);
  }
  auto index = internal::IndexPairs(model, pairs);
  if (!index) return index.error();
  const auto& by_name = index->metrics;
  const auto& first_pair = index->first_pair;
  Judgement j;
  j.judge_name = model.mode == Mode::kKayenta ? "NetflixACAJudge-v1.0" : "augur-v1";
  // One result per pair (a grouped query yields several pairs per metric, each judged), and
  // a no-data result for a model metric that got no pair at all.
  auto classify = [&](const MetricPair& p) {
    const MetricConfig& m = *by_name.at(p.name);
    MetricResult r;
    if (model.mode == Mode::kKayenta) {
      r = ClassifyKayenta(m, p.control, p.experiment, model.seed);
    } else {
      internal::ExposurePair exposure;
      const internal::ExposurePair* exp_ptr = nullptr;
      if (m.kind == MetricKind::kCount && !m.exposure_metric.empty()) {
        auto it = first_pair.find(m.exposure_metric);
        if (it != first_pair.end()) {
          exposure = {it->second->control, it->second->experiment};
          exp_ptr = &exposure;
        }
      }
      r = internal::ClassifyAugur(m, p.control, p.experiment, exp_ptr);
    }
    r.tags = p.tags;
    return r;
  };
  size_t points = 0;
  for (const auto& p : pairs) points += p.control.size() + p.experiment.size();
  const size_t threads = ThreadsFor(options.threads, pairs.size(), points);
  j.results.resize(pairs.size());
  if (threads <= 1) {
    for (size_t i = 0; i < pairs.size(); ++i) j.results[i] = classify(pairs[i]);
  } else {
    // Pool threads take the next unjudged pair; results land in their pair's slot, so the
    // order (and hence the verdict) does not depend on scheduling. The classifiers are pure.
    core::ParallelFor(pairs.size(), threads - 1,
                      [&](size_t i) { j.results[i] = classify(pairs[i]); });
  }
  for (const auto& m : model.metrics) {
    if (first_pair.count(m.name)) continue;
    MetricResult r = model.mode == Mode::kKayenta ? ClassifyKayenta(m, {}, {}, model.seed)
                                                  : internal::ClassifyAugur(m, {}, {}, nullptr);
    j.results.push_back(std::move(r));
  }
  if (model.mode == Mode::kKayenta) {
    ScoreKayenta(model, &j);
  } else {
    internal::ScoreAugur(model, &j);
  }
  return j;
}

}  // namespace augur::judge
