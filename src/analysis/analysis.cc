#include "augur/analysis/analysis.h"

#include <cmath>
#include <thread>
#include <utility>

namespace augur::analysis {
namespace {

struct Fetched {
  std::vector<judge::MetricPair> pairs;
  std::vector<MetricFetch> fetches;
  size_t errors = 0;
};

Result<Fetched> FetchAll(const judge::Model& model, const sources::MetricSource& source,
                         const AnalysisRequest& request) {
  if (request.step_ms <= 0 || request.end_ms < request.start_ms) {
    return InvalidArgument("analysis window: need step > 0 and end >= start");
  }
  if ((request.end_ms - request.start_ms) / request.step_ms > 1000000) {
    return InvalidArgument("analysis window: more than 1,000,000 steps");
  }
  for (const auto& m : model.metrics) {
    if (m.query.empty()) {
      return InvalidArgument("metric '" + m.name + "' has no query: a source-backed analysis " +
                             "needs the query name of the provider's template for each metric");
    }
  }
  const size_t n = model.metrics.size();
  std::vector<Result<sources::SeriesPair>> results(n, Error{ErrorCode::kInternal, "not fetched"});
  auto fetch = [&](size_t i) {
    sources::MetricRequest r{request.provider, model.metrics[i].query, request.vars,
                             request.start_ms, request.end_ms,         request.step_ms};
    results[i] = source.Fetch(r);
  };
  // Network fetches wait, not compute: one thread per metric keeps the analysis as slow as its
  // slowest query instead of the sum of them. From memory, a thread costs more than the fetch.
  if (source.InMemory() || n == 1) {
    for (size_t i = 0; i < n; ++i) fetch(i);
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 1; i < n; ++i) threads.emplace_back(fetch, i);
    if (n > 0) fetch(0);
    for (auto& t : threads) t.join();
  }

  Fetched out;
  for (size_t i = 0; i < n; ++i) {
    const auto& m = model.metrics[i];
    MetricFetch f;
    f.metric = m.name;
    if (!results[i]) {
      f.error = results[i].error().message;
      ++out.errors;
    } else {
      auto& s = *results[i];
      f.primary_query = s.primary_query;
      f.canary_query = s.canary_query;
      f.approximation = s.approximation;
      f.points = s.timestamps_ms.size();
      for (double v : s.primary) f.missing_primary += std::isnan(v);
      for (double v : s.canary) f.missing_canary += std::isnan(v);
      out.pairs.push_back({m.name, {}, std::move(s.primary), std::move(s.canary)});
    }
    out.fetches.push_back(std::move(f));
  }
  return out;
}

void Explain(const std::vector<MetricFetch>& fetches, judge::Judgement* j) {
  for (auto& r : j->results) {
    for (const auto& f : fetches) {
      if (f.metric != r.name) continue;
      if (!f.error.empty()) {
        r.reason = "no data: source error: " + f.error + (r.reason.empty() ? "" : "; " + r.reason);
      } else if (!f.approximation.empty()) {
        r.reason +=
            (r.reason.empty() ? "" : "; ") + std::string("approximation: ") + f.approximation;
      }
    }
  }
}

Result<Analysis> Finish(Fetched fetched, Result<judge::Judgement> j, SourceFailure on_failure) {
  if (!j) return j.error();
  Analysis a;
  a.judgement = std::move(*j);
  a.fetches = std::move(fetched.fetches);
  a.source_errors = fetched.errors;
  Explain(a.fetches, &a.judgement);
  GuardAgainstMissingData(a.source_errors, on_failure, &a.judgement);
  return a;
}

}  // namespace

void GuardAgainstMissingData(size_t source_errors, SourceFailure on_failure, judge::Judgement* j) {
  if (source_errors == 0) return;
  const std::string why = std::to_string(source_errors) + " metric(s) could not be fetched";
  if (on_failure == SourceFailure::kFail) {
    if (j->outcome != judge::Outcome::kFail) {
      j->outcome = judge::Outcome::kFail;
      j->reason =
          why + " (source failures count as failure)" + (j->reason.empty() ? "" : "; " + j->reason);
    }
    return;
  }
  if (j->outcome == judge::Outcome::kPass || j->outcome == judge::Outcome::kMarginal) {
    j->outcome = judge::Outcome::kInconclusive;
    j->reason = why + ": cannot pass without them" + (j->reason.empty() ? "" : "; " + j->reason);
  }
}

Result<Analysis> Analyze(const judge::Model& model, const sources::MetricSource& source,
                         const AnalysisRequest& request, SourceFailure on_failure) {
  auto fetched = FetchAll(model, source, request);
  if (!fetched) return fetched.error();
  auto j = judge::Judge(model, fetched->pairs);
  return Finish(std::move(*fetched), std::move(j), on_failure);
}

Result<Analysis> AnalyzeSequential(const judge::Model& model, const sources::MetricSource& source,
                                   const AnalysisRequest& request, judge::SequentialState* state,
                                   SourceFailure on_failure) {
  auto fetched = FetchAll(model, source, request);
  if (!fetched) return fetched.error();
  auto j = judge::JudgeSequential(model, fetched->pairs, state);
  return Finish(std::move(*fetched), std::move(j), on_failure);
}

}  // namespace augur::analysis
