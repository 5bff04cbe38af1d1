// The judge: paired control (primary/baseline) and experiment (canary) series in, an
// explained Judgement out. It knows nothing of Prometheus, HTTP or rollouts.
//
// Kayenta mode reproduces NetflixACAJudge (shared/reference/kayenta.md §1): preprocessing,
// the Mann-Whitney classifier ladder, group scores and thresholds, label for label. Augur
// mode is the default and is stricter about evidence: an exact Hodges-Lehmann interval and a
// p-value per metric, effect floors, count metrics judged as counts, and Inconclusive when the
// data cannot support a decision (never Pass because data was missing).
// Judge is a pure function of its inputs (the Kayenta constant-series noise comes from
// Model::seed); it is thread-safe and may run many judgements concurrently.
#pragma once

#include <map>
#include <span>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/judge/verdict.h"
#include "augur/stats/sequential.h"

namespace augur::judge {

// One metric's two series (Kayenta's MetricSetPair). NaN marks a missing point.
struct MetricPair {
  std::string name;
  std::map<std::string, std::string> tags;
  std::vector<double> control, experiment;
};

struct JudgeOptions {
  // Threads that judge metrics concurrently. 1 (the default) judges on the caller's thread:
  // right for the daemon, which is already parallel across requests. 0 means up to
  // std::thread::hardware_concurrency(), used only when the data is large enough (about
  // 20,000 points) to pay for starting threads. The verdict is the same for every value.
  int threads = 1;
};

// Judges every pair against the model's metric of the same name. A pair naming no metric is
// kInvalidArgument; a model metric with no pair is judged as having no data.
Result<Judgement> Judge(const Model& model, std::span<const MetricPair> pairs,
                        const JudgeOptions& options = {});

// Sequential mode's running state, one test per metric and tag set. The caller keeps it
// between checks (the daemon in memory, replay in its loop); a fresh state starts a canary.
struct SequentialState {
  std::map<std::string, stats::MsprtState> values;
  std::map<std::string, stats::CountTestState> counts;
};

// One check of sequential mode: `new_data` holds only the points that arrived since the
// previous check; `state` accumulates them. A metric fails once its always-valid test
// rejects at level 1 - conf_level in the bad direction and the estimated shift exceeds the
// effect floors; until then it passes ("no evidence so far"), or is Inconclusive while a
// side has fewer than min_samples points in all.
Result<Judgement> JudgeSequential(const Model& model, std::span<const MetricPair> new_data,
                                  SequentialState* state);

// Kayenta's per-metric classifier (MannWhitneyClassifier.classify plus the judge's
// preprocessing), exposed for conformance tests against Kayenta's own vectors.
MetricResult ClassifyKayenta(const MetricConfig& metric, std::span<const double> control,
                             std::span<const double> experiment, uint64_t seed);

// Kayenta's roll-up (ScoringHelper + WeightedSumScorer + ThresholdScoreClassifier).
void ScoreKayenta(const Model& model, Judgement* judgement);

}  // namespace augur::judge
