// Augur's embedded scraper (issue #4): without any Prometheus server, Augur scrapes the
// ingress's exposition page itself, keeps the samples in memory and computes what the judge
// needs (rates, error ratios, latency quantiles and means) with Prometheus's semantics.
//
// Four layers, usable separately:
//   - ScrapeStore: bounded in-memory samples, one fixed-capacity ring per series.
//   - Range functions (Rate, Increase, ExactIncrease, LastValue, SumBy, AvgBy, Ratio,
//     HistogramQuantile, Scale): pure functions from selected raw series to series on an
//     evaluation grid. NaN in an output means "no value" (too few points, zero denominator);
//     the judge treats it as missing.
//   - ScrapeQuery + EvaluateScrapeQuery: ready-made golden signals for HAProxy, the NGINX
//     ingress controller and Envoy, so the daemon needs no PromQL.
//   - Scraper: fetches one URL at a fixed interval on its own thread and appends to a store.
//
// Outputs reuse sources::Series (prometheus_client.h), so a series scraped here and one
// fetched from a Prometheus server look the same to the judge.
//
// Thread-safety: ScrapeStore is internally synchronised (a reader-writer lock that lets a
// waiting append in before new readers: appends exclusive, Select and Stats shared), so any
// number of readers may run during scraping, and several Scrapers may feed one store. The
// range functions are pure. Scraper's methods may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "augur/core/result.h"
#include "augur/sources/exposition.h"
#include "augur/sources/prometheus_client.h"

namespace augur::sources {

// ---------------------------------------------------------------------------------------------
// Selection: one metric name plus label matchers, with PromQL's matcher semantics. A label the
// series lacks matches as "". Regexes are ECMAScript (std::regex) and anchored at both ends
// like PromQL's (RE2) ones, so "5.." means ^(?:5..)$; RE2-only syntax such as (?i) is rejected.

enum class MatchOp { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };  // = != =~ !~

struct LabelMatcher {
  std::string name;
  MatchOp op = MatchOp::kEqual;
  std::string value;
};

struct SeriesSelector {
  std::string metric;  // exact sample name, e.g. "haproxy_server_http_responses_total"
  std::vector<LabelMatcher> matchers;
};

// ---------------------------------------------------------------------------------------------
// Storage.

struct ScrapePoint {
  int64_t t_ms = 0;
  double value = 0.0;  // may be a stale marker, see IsStaleMarker
};

// Raw points of one series as stored.
struct ScrapedSeries {
  using Labels = std::vector<std::pair<std::string, std::string>>;
  std::string name;
  Labels labels;                    // sorted by name, without __name__
  std::vector<ScrapePoint> points;  // strictly ascending t_ms
};

// True for the special NaN the store appends when a series disappears from its target's page
// (Prometheus's staleness marker, same bit pattern). Every range function skips these points,
// and LastValue returns no value after one.
bool IsStaleMarker(double value);

struct ScrapeStoreOptions {
  // How far back the store must reach, and the scrape interval expected. Together they size
  // every ring: capacity = retention_ms / scrape_interval_ms + 2 points (at most 1,000,000), so
  // memory is bounded by about max_series * (capacity * 16 + 300) bytes, the 300 being a
  // series' identity and index entries (measured: 50,000 series of 14 points, 25 MiB).
  // Scraping faster than scrape_interval_ms shortens the time covered, never grows memory.
  int64_t retention_ms = 15 * 60 * 1000;
  int64_t scrape_interval_ms = 5000;
  // Samples that would create a series beyond this count are dropped and counted. A series
  // whose newest point is older than retention_ms frees its slot.
  size_t max_series = 50000;
  // A counter, histogram or summary sum/count series that first appears in a later scrape of
  // a target (ingress-nginx and Envoy create a series at its first event) gets a 0 point at
  // that target's previous scrape time, so its first increments are counted, as Prometheus's
  // created-timestamp zero injection does. Off: Prometheus 2.42's default (they are lost).
  bool zero_fill_new_counters = true;
};

// What one Append did.
struct AppendStats {
  size_t samples = 0;             // points stored
  size_t new_series = 0;          // series created
  size_t dropped_max_series = 0;  // samples dropped because max_series was reached
  size_t out_of_order = 0;        // samples at or before their series' newest point, dropped
  size_t stale_marked = 0;        // series of this target absent from the page
  size_t expired_series = 0;      // series removed: no point within retention
};

struct ScrapeStoreStats {
  size_t series = 0;
  size_t points = 0;                // points held, stale markers included
  size_t ring_capacity = 0;         // points per series at most
  size_t approx_bytes = 0;          // rings, series keys and index overhead
  uint64_t dropped_max_series = 0;  // totals since creation
  uint64_t out_of_order = 0;
  int64_t newest_scrape_ms = 0;  // largest scrape_time_ms appended, 0 before the first
};

class ScrapeStore {
 public:
  // Errors: kInvalidArgument naming the field if an option is out of range.
  static Result<std::unique_ptr<ScrapeStore>> Create(ScrapeStoreOptions options);
  ~ScrapeStore();
  ScrapeStore(const ScrapeStore&) = delete;
  ScrapeStore& operator=(const ScrapeStore&) = delete;

  // Stores every sample of one scraped page, at the sample's own timestamp if the page gave
  // one, else at scrape_time_ms. A non-empty `target` (e.g. "10.0.0.7:8404") is added as
  // the label instance="<target>" (a page's own instance label becomes exported_instance,
  // as Prometheus does) and scopes staleness: series of this target missing from the page get
  // a stale marker. Labels with an empty value are dropped, as Prometheus drops them. Once a
  // series' ring is full, appending to it allocates nothing.
  AppendStats Append(const std::vector<MetricFamily>& families, int64_t scrape_time_ms,
                     std::string_view target = {});

  // Copies the points of every series matching `selector` with start_ms <= t <= end_ms, each
  // preceded by its newest point before start_ms if any (the value in force at start_ms).
  // Series are returned sorted by labels. Errors: kInvalidArgument for an empty metric name,
  // an invalid regex or end_ms < start_ms.
  Result<std::vector<ScrapedSeries>> Select(const SeriesSelector& selector, int64_t start_ms,
                                            int64_t end_ms) const;

  ScrapeStoreStats Stats() const;
  const ScrapeStoreOptions& options() const;

 private:
  class Impl;
  explicit ScrapeStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Range functions. They evaluate at t = start_ms, start_ms + step_ms, ... <= end_ms; every
// output series holds exactly those timestamps. Series with no value anywhere are left out
// (as in a Prometheus range query). The functions taking `const std::vector<Series>&` require
// all inputs on one grid (as produced here): otherwise kInvalidArgument.

struct EvalGrid {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  int64_t step_ms = 0;
};
// At most this many evaluation timestamps (kInvalidArgument beyond, and for step <= 0 or
// end < start).
inline constexpr int64_t kMaxEvalPoints = 100000;

// PromQL increase()/rate() over [t - window_ms, t] (both ends inclusive, as Prometheus 2.x;
// 3.x excludes the left end). Prometheus's extrapolatedRate: with n >= 2 points, delta = last -
// first plus, for each drop (counter reset), the value before the drop. The sampled interval
// [first, last] is stretched to each window edge by the gap to that edge if the gap is below
// 1.1 x the average spacing, else by half the average spacing; at the start it stretches no
// further than where the counter would have been 0 (delta / sampled * first value). Fewer
// than 2 points -> NaN. Rate divides by the window in seconds. Output labels: the input's.
Result<std::vector<Series>> Increase(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                     const EvalGrid& grid);
Result<std::vector<Series>> Rate(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                 const EvalGrid& grid);

// Exact, non-extrapolated counter increase over (t - window_ms, t], for counts the judge tests
// (errors against requests): the increments (reset-aware, as above) between the newest point
// at or before t - window_ms (unless it is a stale marker) and the newest point at or before t.
// With window_ms == step_ms consecutive windows share their boundary point, so the values add
// up to the true total. No point in (t - window_ms, t], or no earlier point to start from and
// fewer than 2 in the window -> NaN.
Result<std::vector<Series>> ExactIncrease(const std::vector<ScrapedSeries>& in, int64_t window_ms,
                                          const EvalGrid& grid);

// PromQL instant-vector value (for gauges): the newest point in [t - lookback_ms, t], or NaN
// if there is none or it is a stale marker.
Result<std::vector<Series>> LastValue(const std::vector<ScrapedSeries>& in, int64_t lookback_ms,
                                      const EvalGrid& grid);

// PromQL sum by (by...) / avg by (by...): one output series per distinct value tuple of `by`
// (labels missing from a series count as ""), labelled with those labels only. NaN inputs are
// skipped (NaN means "no value" here, whereas PromQL would propagate a real NaN); a slot with
// no value in any member is NaN.
Result<std::vector<Series>> SumBy(const std::vector<Series>& in,
                                  const std::vector<std::string>& by);
Result<std::vector<Series>> AvgBy(const std::vector<Series>& in,
                                  const std::vector<std::string>& by);

// num / den, matched one-to-one on identical label sets (PromQL's "/" without modifiers);
// unmatched series are left out. Unlike PromQL, x / 0 is NaN (missing), never +-Inf: a side
// with no traffic has no ratio. A label set appearing twice on one side is kInvalidArgument.
// If `missing_num_is_zero`, a den series without a matching num series, or a NaN num slot
// where den has a value, counts as num 0 (an error counter that never fired is absent from an
// ingress-nginx page, yet its rate is 0, not unknown).
Result<std::vector<Series>> Ratio(const std::vector<Series>& num, const std::vector<Series>& den,
                                  bool missing_num_is_zero = false);

// PromQL histogram_quantile(q, buckets) with Prometheus 2.42's algorithm: buckets are grouped
// by all labels except "le" (series whose le does not parse are skipped), sorted by le,
// duplicates merged, decreasing counts raised to the running maximum; linear interpolation
// within the bucket holding rank q * count(+Inf), the first bucket starting at 0 (or returning
// its bound if that is <= 0), and the +Inf bucket answering the largest finite bound.
// q < 0 -> -Inf, q > 1 -> +Inf, q NaN, no +Inf bucket, fewer than 2 buckets or a zero
// total -> NaN. Output labels: the group's.
Result<std::vector<Series>> HistogramQuantile(double q, const std::vector<Series>& buckets);

// Multiplies every value (unit conversion, e.g. Envoy's milliseconds to seconds).
std::vector<Series> Scale(std::vector<Series> in, double factor);

// ---------------------------------------------------------------------------------------------
// Golden signals without PromQL. Each provider maps the kinds to its own metric names:
//   provider         requests (counter; errors = 5xx)                         latency
//   kHaproxyServer   haproxy_server_http_responses_total{proxy,server,code}  code="5xx"
//                    mean: gauge haproxy_server_response_time_average_seconds (rolling average
//                    of the last 1024 responses; NaN where the requests did not increase over
//                    the window); no histogram in HAProxy 2.6, so no quantile.
//   kHaproxyBackend  haproxy_backend_http_responses_total{proxy,code}        code="5xx"
//                    mean: gauge haproxy_backend_response_time_average_seconds, as above.
//   kNginxIngress    nginx_ingress_controller_requests{ingress,service,status,canary,...}
//                    status=~"5.."; nginx_ingress_controller_request_duration_seconds histogram
//   kEnvoy           envoy_cluster_upstream_rq_xx{envoy_cluster_name,envoy_response_code_class}
//                    class "5"; envoy_cluster_upstream_rq_time histogram in ms, scaled to s.
enum class IngressProvider { kHaproxyServer, kHaproxyBackend, kNginxIngress, kEnvoy };

enum class ScrapeQueryKind {
  kRequestRate,      // requests/s: sum(rate(requests[window]))
  kRequestCount,     // requests per step: sum(ExactIncrease(requests, step))
  kErrorCount,       // 5xx per step, as kRequestCount (0 where requests have a value)
  kErrorRate,        // fraction 0..1: sum(rate(5xx)) / sum(rate(requests))
  kSuccessRate,      // fraction 0..1: sum(rate(non-5xx)) / sum(rate(requests))
  kLatencyQuantile,  // seconds: histogram_quantile(quantile, sum by (le)(rate(bucket)))
  kLatencyMean,      // seconds: sum(rate(_sum)) / sum(rate(_count)), or HAProxy's gauge
};

struct ScrapeQuery {
  IngressProvider provider = IngressProvider::kHaproxyServer;
  ScrapeQueryKind kind = ScrapeQueryKind::kErrorRate;
  // Added to every metric the kind reads, e.g. {proxy="be_app"}, {server="canary"}.
  std::vector<LabelMatcher> selector;
  // Group labels: one output series per value tuple (e.g. {"server"} gives primary and canary
  // at once). Empty: one series over everything selected.
  std::vector<std::string> by;
  double quantile = 0.99;  // kLatencyQuantile only
  // rate() window and gauge lookback. 0: max(step, 4 x the store's scrape interval), the
  // usual rule that a window should hold at least four scrapes. Counts always use the step.
  int64_t window_ms = 0;
  // Optional histogram family replacing the provider's latency histogram (e.g.
  // "nginx_ingress_controller_response_duration_seconds"); the provider's unit scale stays.
  std::string latency_histogram;
};

// Evaluates `query` over `grid` from `store`. An empty vector means no matching data (a
// success: the judge sees no data). Errors: kInvalidArgument for a bad grid, quantile outside
// [0, 1], a bad matcher regex, or kLatencyQuantile on a HAProxy provider (no histogram).
Result<std::vector<Series>> EvaluateScrapeQuery(const ScrapeStore& store, const ScrapeQuery& query,
                                                const EvalGrid& grid);

// Names for configuration files: "haproxy" (= server), "haproxy-backend", "nginx", "envoy";
// "request-rate", "request-count", "error-count", "error-rate", "success-rate",
// "latency-quantile", "latency-mean". Unknown names: kInvalidArgument listing the known ones.
Result<IngressProvider> ParseIngressProvider(std::string_view name);
Result<ScrapeQueryKind> ParseScrapeQueryKind(std::string_view name);

// ---------------------------------------------------------------------------------------------
// Scraper: GET url every interval_ms (ticks on a fixed schedule, missed ticks skipped), parse by
// Content-Type (OpenMetrics or text 0.0.4) and Append to the store with the scrape's start
// time. A failed scrape (unreachable, timeout, non-200, oversized or unparseable body) appends
// nothing and is recorded in status(): never partial data.

struct ScraperOptions {
  std::string url;  // http://host:port/path (https too, no credentials in the URL)
  int64_t interval_ms = 5000;
  int64_t timeout_ms = 3000;  // whole request; must not exceed interval_ms
  // The instance label and staleness scope passed to Append; empty: host:port from the URL.
  std::string target;
  int64_t max_body_bytes = int64_t{64} << 20;
  // Wall clock in ms since the epoch, for sample timestamps. Null: the system clock.
  std::function<int64_t()> now_ms;
};

struct ScrapeStatus {
  uint64_t scrapes = 0;   // attempts finished
  uint64_t failures = 0;  // attempts that stored nothing
  int64_t last_attempt_ms = 0;
  int64_t last_success_ms = 0;       // 0 if none yet
  double last_duration_seconds = 0;  // of the last attempt, fetch + parse + append
  size_t last_sample_count = 0;      // samples stored by the last successful scrape
  AppendStats last_append;           // of the last successful scrape
  std::optional<Error> last_error;   // of the last attempt; empty after a success
};

class Scraper {
 public:
  // Validates the options (URL shape, interval, timeout <= interval, body limit). `store` must
  // outlive the Scraper. Errors: kInvalidArgument naming the field.
  static Result<std::unique_ptr<Scraper>> Create(ScraperOptions options, ScrapeStore& store);
  ~Scraper();  // Stop()s
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // Starts the background thread; its first scrape is immediate. kConflict if already running.
  Status Start();
  // Stops and joins the thread; an in-flight request is aborted. Idempotent; returns within
  // milliseconds unless the request has not opened its socket yet (a connect pending): then
  // within timeout_ms.
  void Stop();

  // One synchronous scrape, the same path the thread uses (scrapes are serialised). Errors:
  // kUnavailable (cannot connect, HTTP 5xx, or Stop() interrupted it), kDeadlineExceeded
  // (timeout_ms passed), kInvalidArgument (HTTP 4xx: wrong path), kBadData (another non-200
  // status, a body over the limit, or a page the parser rejects).
  Result<AppendStats> ScrapeOnce();

  ScrapeStatus status() const;
  const ScraperOptions& options() const;

 private:
  class Impl;
  explicit Scraper(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace augur::sources
