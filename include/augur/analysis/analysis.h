// One analysis: fetch every metric of a model from a MetricSource over a time window, judge
// the pairs, and explain what was fetched. The daemon's endpoints, the rollout state machine
// and replay all judge through here, so "a source that is down never yields pass" is enforced
// in one place.
//
// Thread-safety: Analyze is reentrant; the source must be thread-safe (its contract).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/judge.h"
#include "augur/sources/source.h"

namespace augur::analysis {

struct AnalysisRequest {
  std::string provider;                     // query template set, e.g. "haproxy"
  std::map<std::string, std::string> vars;  // template variables
  int64_t start_ms = 0, end_ms = 0, step_ms = 0;
};

// What was fetched for one model metric.
struct MetricFetch {
  std::string metric;
  std::string primary_query, canary_query, approximation;
  size_t points = 0, missing_primary = 0, missing_canary = 0;
  std::string error;  // empty when the fetch succeeded
};

// Options for what happens when a source fails.
enum class SourceFailure {
  kInconclusive,  // the verdict cannot be Pass; it becomes Inconclusive (default)
  kFail,          // the verdict becomes Fail
};

struct Analysis {
  judge::Judgement judgement;
  std::vector<MetricFetch> fetches;  // one per model metric, in model order
  size_t source_errors = 0;
};

// Fetches every model metric (concurrently, one request per metric and side) and judges them.
// A metric whose fetch failed is judged as having no data and its result's reason names the
// source error. If any fetch failed, a Pass verdict is replaced per `on_failure`, because a
// Kayenta-style score can pass with a metric missing and a down Prometheus must never pass a
// canary. Errors: a metric with no query (kInvalidArgument), a bad window (kInvalidArgument),
// the judge's own errors.
Result<Analysis> Analyze(const judge::Model& model, const sources::MetricSource& source,
                         const AnalysisRequest& request,
                         SourceFailure on_failure = SourceFailure::kInconclusive);

// Sequential mode: the same, with the running state carried from check to check.
Result<Analysis> AnalyzeSequential(const judge::Model& model, const sources::MetricSource& source,
                                   const AnalysisRequest& request, judge::SequentialState* state,
                                   SourceFailure on_failure = SourceFailure::kInconclusive);

// Applies `on_failure` to a judgement produced with `source_errors` failed fetches. Exposed
// for callers that judge pairs obtained elsewhere (e.g. webhook payloads with inline data).
void GuardAgainstMissingData(size_t source_errors, SourceFailure on_failure,
                             judge::Judgement* judgement);

}  // namespace augur::analysis
