// MetricSource: where the primary's and the canary's series for one model metric come from.
// The analysis and the state machine see only this interface, never HTTP (leveldb's Env for
// metrics). Providers: Prometheus (and its API-compatible servers) rendering the provider's
// query templates, the embedded ingress scraper, per-request ingress logs, archives (replay).
//
// Contract for every provider:
// - Fetch is thread-safe and returns within the provider's configured timeout.
// - Empty data is a success (every slot NaN): the judge's no-data policy decides about it.
// - An unknown provider or query name is kNotFound; an unreachable server kUnavailable; a slow
//   one kDeadlineExceeded; an answer that cannot be read kBadData. An error never carries
//   partial data.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::sources {

struct MetricRequest {
  std::string provider;  // query template set, e.g. "haproxy", "istio" (queries/<provider>.yaml)
  std::string query;     // query name within it, e.g. "success_rate" (the model metric's query)
  std::map<std::string, std::string> vars;        // namespace, primary, canary, interval, ...
  int64_t start_ms = 0, end_ms = 0, step_ms = 0;  // the step grid [start, end]
};

struct SeriesPair {
  std::vector<int64_t> timestamps_ms;   // the step grid
  std::vector<double> primary, canary;  // one value per slot, NaN where a side has none
  // What was asked, for explanations (e.g. both rendered PromQL queries).
  std::string primary_query, canary_query;
  // Non-empty when the query only approximates what its name promises (e.g. a "p99" from a
  // rolling mean): shown next to any verdict that relies on it.
  std::string approximation;
};

// A query in the source's own language (PromQL for Prometheus), for one side: what Kayenta's
// canary configs carry instead of a template name.
struct RawQuery {
  std::string query;
  int64_t start_ms = 0, end_ms = 0, step_ms = 0;
};

// The values of a raw query on its step grid (NaN where the series has no point).
struct RawSeries {
  std::vector<int64_t> timestamps_ms;
  std::vector<double> values;
};

class MetricSource {
 public:
  virtual ~MetricSource() = default;
  virtual std::string name() const = 0;
  virtual Result<SeriesPair> Fetch(const MetricRequest& request) const = 0;
  // Runs a query in the source's own language. A source without one (the scraper) answers
  // kInvalidArgument saying so. Several series in the answer are kBadData.
  virtual Result<RawSeries> FetchRaw(const RawQuery& query) const {
    (void)query;
    return InvalidArgument(name() + " cannot run raw queries; use a Prometheus source");
  }
  // True when Fetch answers from memory (archives, the embedded scraper): callers then fetch
  // metrics one after another instead of one thread per metric, which would cost more than
  // the fetch itself.
  virtual bool InMemory() const { return false; }
  // Readiness: the backing server answers (the daemon's /readyz).
  virtual Status Check() const = 0;
};

}  // namespace augur::sources
