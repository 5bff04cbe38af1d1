// Client for the Prometheus HTTP API (/api/v1/query_range and /api/v1/query), used by Augur to
// fetch the primary and canary time series it compares (issue #4).
//
// Three pieces, usable separately:
//   - ParseQueryResponse: a pure parser of a Prometheus JSON answer (no I/O, safe to fuzz).
//   - PrometheusClient: HTTP(S) transport with auth, retries, timeouts and range splitting.
//   - AlignSeries: puts a primary and a canary series on one step grid, gaps made explicit.
//
// Error mapping (see augur/core/result.h):
//   kUnavailable       server unreachable (connection refused, DNS, reset) or 5xx after retries
//   kDeadlineExceeded  no answer within timeout_ms, or Prometheus's own "timeout" error
//   kBadData           answer is not a Prometheus JSON document, or is larger than the limit
//   kInvalidArgument   bad request (checked locally, or Prometheus answered 4xx)
//
// Thread-safety: PrometheusClient's const methods may be called concurrently; each call uses
// its own connection. ParseQueryResponse and AlignSeries are pure functions.
//
// httplib and nlohmann/json stay out of this header on purpose: httplib.h drags in <resolv.h>,
// whose `_res` macro breaks Eigen in any translation unit that includes both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "augur/core/result.h"

namespace augur::sources {

struct PrometheusOptions {
  // http://host:port[/prefix] or https://host:port[/prefix]; the prefix is for a Prometheus
  // served under --web.route-prefix or behind a path-routing proxy.
  std::string url;
  // At most one of bearer_token and basic_user may be set (both would fight over the
  // Authorization header).
  std::string bearer_token;
  std::string basic_user, basic_password;
  // Sent on every request (e.g. X-Scope-OrgID for Thanos/Cortex/Mimir tenants).
  std::vector<std::pair<std::string, std::string>> headers;
  int timeout_ms = 10000;  // per HTTP attempt: connect, and each wait for bytes, and in total
  int retries = 2;         // extra attempts after a connection error or HTTP 5xx
  int backoff_ms = 100;    // first retry delay; doubled for each further retry
  // POST form-encoded instead of GET: long PromQL does not hit URL length limits.
  bool use_post = false;
  // Bodies larger than this are refused with kBadData, so a runaway query cannot exhaust the
  // daemon's memory. Settable mainly so tests can exercise the limit cheaply.
  int64_t max_body_bytes = int64_t{256} << 20;
};

struct Series {
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name, incl. __name__
  std::vector<int64_t> timestamps_ms;                       // ascending
  std::vector<double> values;                               // same length as timestamps_ms
};

struct QueryResult {
  std::string result_type;  // "matrix", "vector", "scalar" or "string"
  // matrix/vector: one entry per series, in the server's order. scalar: one unlabelled series
  // with one point. string: one series with one NaN point and the text in the label
  // "__string__" (Augur never compares strings; this only keeps the answer inspectable).
  std::vector<Series> series;
  std::vector<std::string> warnings;
};

// Parses one /api/v1/query or /api/v1/query_range response body.
// - {"status":"success",...}: the result; values may be "NaN", "+Inf", "-Inf".
//   Timestamps (seconds, possibly fractional) become milliseconds, rounded to nearest.
// - {"status":"error","errorType":T,"error":M}: an Error whose message contains T and M. The
//   code follows T: "timeout"/"canceled" -> kDeadlineExceeded, "unavailable"/"internal" ->
//   kUnavailable, anything else -> kInvalidArgument.
// - anything else (not JSON, truncated, wrong shape): kBadData; for invalid JSON the message
//   names the byte offset reported by the JSON parser.
Result<QueryResult> ParseQueryResponse(std::string_view body);

class PrometheusClient {
 public:
  // Validates the options (URL shape, auth, header values, numeric ranges).
  static Result<PrometheusClient> Create(PrometheusOptions options);

  // Range query over [start_ms, end_ms] with step_ms. Prometheus rejects more than 11,000
  // steps per request, so longer ranges are split into consecutive requests on the same
  // step grid and the answers stitched back together: series are matched by label set and a
  // timestamp never appears twice. Returns kInvalidArgument if step_ms <= 0, end_ms < start_ms
  // or the range would need more than kMaxRangeRequests requests.
  Result<QueryResult> QueryRange(std::string_view promql, int64_t start_ms, int64_t end_ms,
                                 int64_t step_ms) const;

  // Instant query evaluated at time_ms.
  Result<QueryResult> Query(std::string_view promql, int64_t time_ms) const;

  const PrometheusOptions& options() const { return options_; }

  // Guards against a mistaken 1 ms step over a month turning into millions of requests.
  static constexpr int64_t kMaxRangeRequests = 100;
  // Prometheus's limit: a request is rejected when (end - start) / step > 11000.
  static constexpr int64_t kMaxStepsPerRequest = 11000;

 private:
  PrometheusClient(PrometheusOptions options, std::string scheme_host_port, std::string path_prefix)
      : options_(std::move(options)),
        scheme_host_port_(std::move(scheme_host_port)),
        path_prefix_(std::move(path_prefix)) {}

  PrometheusOptions options_;
  std::string scheme_host_port_;  // e.g. "http://127.0.0.1:9090", as httplib::Client takes it
  std::string path_prefix_;       // "" or "/prefix" without a trailing slash
};

struct AlignedPair {
  std::vector<int64_t> timestamps_ms;              // start_ms, start_ms + step_ms, ... <= end_ms
  std::vector<double> primary, canary;             // NaN where that side has no point
  size_t missing_primary = 0, missing_canary = 0;  // grid slots with no point on that side
};

// Puts both series on the step grid of [start_ms, end_ms]. A point is placed in the nearest
// slot if it lies within half a step of it (Prometheus returns points exactly on the grid of
// the query, so this only matters for series fetched with another start); if two points
// compete for a slot the closer one wins. Points outside the range are ignored. A point whose
// value is NaN is not counted as missing, although it reads the same in the output.
// Returns an empty result if step_ms <= 0 or end_ms < start_ms.
// REQUIRES: (end_ms - start_ms) / step_ms is a grid size the caller can afford in memory.
AlignedPair AlignSeries(const Series& primary, const Series& canary, int64_t start_ms,
                        int64_t end_ms, int64_t step_ms);

}  // namespace augur::sources
