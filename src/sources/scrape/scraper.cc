// Scraper (HTTP fetch on a fixed schedule into a ScrapeStore) and the provider presets that turn
// a ScrapeQuery into range functions. See augur/sources/scrape.h for the contracts.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "augur/sources/scrape.h"
#include "common/http_exchange.h"

namespace augur::sources {
namespace {

using Labels = ScrapedSeries::Labels;
using SteadyClock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// --- Presets ----------------------------------------------------------------------------------

struct Preset {
  const char* requests;           // counter of responses, one series per status (class)
  LabelMatcher errors;            // which of those series count as errors (5xx)
  const char* latency_histogram;  // family name ("" if the provider has none)
  const char* latency_gauge;      // a pre-averaged latency gauge ("" if none)
  double latency_scale;           // to seconds
};

const Preset& PresetFor(IngressProvider p) {
  // HAProxy 2.6 PROMEX (shared/reference/components.md §3b): responses per server and code
  // class, no histograms. ingress-nginx: one series per exact status. Envoy: upstream_rq_xx per
  // status class; rq_time is in milliseconds.
  static const Preset kHaproxyServer{"haproxy_server_http_responses_total",
                                     {"code", MatchOp::kEqual, "5xx"},
                                     "",
                                     "haproxy_server_response_time_average_seconds",
                                     1.0};
  static const Preset kHaproxyBackend{"haproxy_backend_http_responses_total",
                                      {"code", MatchOp::kEqual, "5xx"},
                                      "",
                                      "haproxy_backend_response_time_average_seconds",
                                      1.0};
  static const Preset kNginx{"nginx_ingress_controller_requests",
                             {"status", MatchOp::kRegexMatch, "5.."},
                             "nginx_ingress_controller_request_duration_seconds",
                             "",
                             1.0};
  static const Preset kEnvoy{"envoy_cluster_upstream_rq_xx",
                             {"envoy_response_code_class", MatchOp::kEqual, "5"},
                             "envoy_cluster_upstream_rq_time",
                             "",
                             0.001};
  switch (p) {
    case IngressProvider::kHaproxyServer:
      return kHaproxyServer;
    case IngressProvider::kHaproxyBackend:
      return kHaproxyBackend;
    case IngressProvider::kNginxIngress:
      return kNginx;
    case IngressProvider::kEnvoy:
      return kEnvoy;
  }
  return kHaproxyServer;
}

LabelMatcher Negate(LabelMatcher m) {
  switch (m.op) {
    case MatchOp::kEqual:
      m.op = MatchOp::kNotEqual;
      break;
    case MatchOp::kNotEqual:
      m.op = MatchOp::kEqual;
      break;
    case MatchOp::kRegexMatch:
      m.op = MatchOp::kRegexNoMatch;
      break;
    case MatchOp::kRegexNoMatch:
      m.op = MatchOp::kRegexMatch;
      break;
  }
  return m;
}

// The evaluation of one query: selection plus the range functions, with errors propagated.
class Evaluator {
 public:
  Evaluator(const ScrapeStore& store, const ScrapeQuery& q, const EvalGrid& grid, int64_t window)
      : store_(store), q_(q), grid_(grid), window_(window) {}

  Result<std::vector<ScrapedSeries>> Select(const std::string& metric,
                                            std::optional<LabelMatcher> extra = std::nullopt) {
    SeriesSelector sel{metric, q_.selector};
    if (extra) sel.matchers.push_back(*extra);
    // Every function below looks back at most max(window, step) from the first step.
    const int64_t from = grid_.start_ms - std::max(window_, grid_.step_ms);
    auto found = store_.Select(sel, from, grid_.end_ms);
    // ingress-nginx and Envoy name their counters without _total in text 0.0.4; served as
    // OpenMetrics (client_golang with OpenMetrics enabled) the samples gain the suffix.
    if (found && found->empty() && !metric.ends_with("_total") && !metric.ends_with("_bucket") &&
        !metric.ends_with("_sum") && !metric.ends_with("_count")) {
      sel.metric += "_total";
      return store_.Select(sel, from, grid_.end_ms);
    }
    return found;
  }

  // sum by (by) (rate(metric{selector, extra}[window])).
  Result<std::vector<Series>> SumRate(const std::string& metric,
                                      std::optional<LabelMatcher> extra = std::nullopt,
                                      const std::vector<std::string>* by = nullptr) {
    auto raw = Select(metric, extra);
    if (!raw) return raw.error();
    auto rates = Rate(*raw, window_, grid_);
    if (!rates) return rates.error();
    return SumBy(*rates, by ? *by : q_.by);
  }

  // sum by (by) of exact per-window increases.
  Result<std::vector<Series>> SumCount(const std::string& metric, int64_t window,
                                       std::optional<LabelMatcher> extra = std::nullopt) {
    auto raw = Select(metric, extra);
    if (!raw) return raw.error();
    auto counts = ExactIncrease(*raw, window, grid_);
    if (!counts) return counts.error();
    return SumBy(*counts, q_.by);
  }

 private:
  const ScrapeStore& store_;
  const ScrapeQuery& q_;
  const EvalGrid& grid_;
  const int64_t window_;
};

// Keeps `values` only where `mask` (same labels) has a value > 0.
std::vector<Series> MaskWhereZero(std::vector<Series> values, const std::vector<Series>& mask) {
  std::map<Labels, const Series*> by_labels;
  for (const Series& m : mask) by_labels.emplace(m.labels, &m);
  std::vector<Series> out;
  for (Series& s : values) {
    auto it = by_labels.find(s.labels);
    bool any = false;
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double m = it == by_labels.end() ? kNaN : it->second->values[i];
      if (!(m > 0)) s.values[i] = kNaN;
      any = any || !std::isnan(s.values[i]);
    }
    if (any) out.push_back(std::move(s));
  }
  return out;
}

// `values` on the groups of `reference`, with 0 wherever the reference has a value and `values`
// none: an error series that never fired may be absent from the page (ingress-nginx creates it
// at the first error), yet it counted 0, not "unknown".
std::vector<Series> ZeroWhereMissing(const std::vector<Series>& values,
                                     const std::vector<Series>& reference) {
  std::map<Labels, const Series*> by_labels;
  for (const Series& v : values) by_labels.emplace(v.labels, &v);
  std::vector<Series> out;
  for (const Series& ref : reference) {
    auto it = by_labels.find(ref.labels);
    Series s{ref.labels, ref.timestamps_ms, std::vector<double>(ref.values.size(), kNaN)};
    for (size_t i = 0; i < s.values.size(); ++i) {
      const double v = it == by_labels.end() ? kNaN : it->second->values[i];
      s.values[i] = std::isnan(v) && !std::isnan(ref.values[i]) ? 0.0 : v;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Result<std::vector<Series>> EvaluateScrapeQuery(const ScrapeStore& store, const ScrapeQuery& query,
                                                const EvalGrid& grid) {
  if (grid.step_ms <= 0) {
    return InvalidArgument("evaluation step must be > 0 ms, got " + std::to_string(grid.step_ms));
  }
  if (query.window_ms < 0) {
    return InvalidArgument("ScrapeQuery.window_ms must be >= 0, got " +
                           std::to_string(query.window_ms));
  }
  const Preset& preset = PresetFor(query.provider);
  const int64_t window = query.window_ms > 0
                             ? query.window_ms
                             : std::max(grid.step_ms, 4 * store.options().scrape_interval_ms);
  Evaluator ev(store, query, grid, window);
  const std::string requests = preset.requests;
  switch (query.kind) {
    case ScrapeQueryKind::kRequestRate:
      return ev.SumRate(requests);
    case ScrapeQueryKind::kRequestCount:
      return ev.SumCount(requests, grid.step_ms);
    case ScrapeQueryKind::kErrorCount: {
      auto errors = ev.SumCount(requests, grid.step_ms, preset.errors);
      if (!errors) return errors.error();
      auto all = ev.SumCount(requests, grid.step_ms);
      if (!all) return all.error();
      return ZeroWhereMissing(*errors, *all);
    }
    case ScrapeQueryKind::kErrorRate:
    case ScrapeQueryKind::kSuccessRate: {
      const LabelMatcher m =
          query.kind == ScrapeQueryKind::kErrorRate ? preset.errors : Negate(preset.errors);
      auto num = ev.SumRate(requests, m);
      if (!num) return num.error();
      auto den = ev.SumRate(requests);
      if (!den) return den.error();
      return Ratio(*num, *den, /*missing_num_is_zero=*/true);
    }
    case ScrapeQueryKind::kLatencyQuantile: {
      if (!(query.quantile >= 0 && query.quantile <= 1)) {
        return InvalidArgument("ScrapeQuery.quantile must be within [0, 1], got " +
                               std::to_string(query.quantile));
      }
      const std::string family =
          query.latency_histogram.empty() ? preset.latency_histogram : query.latency_histogram;
      if (family.empty()) {
        return InvalidArgument(
            "latency-quantile: HAProxy's exporter has no latency histogram; use latency-mean or "
            "the ingress-log source for percentiles");
      }
      std::vector<std::string> by = query.by;
      by.push_back("le");
      auto buckets = ev.SumRate(family + "_bucket", std::nullopt, &by);
      if (!buckets) return buckets.error();
      auto q = HistogramQuantile(query.quantile, *buckets);
      if (!q) return q.error();
      return Scale(std::move(*q), preset.latency_scale);
    }
    case ScrapeQueryKind::kLatencyMean: {
      const std::string family =
          query.latency_histogram.empty() ? preset.latency_histogram : query.latency_histogram;
      if (family.empty()) {
        // HAProxy: its own rolling mean, which freezes when traffic stops, so it only counts
        // where the server answered requests during the window.
        auto raw = ev.Select(preset.latency_gauge);
        if (!raw) return raw.error();
        auto last = LastValue(*raw, window, grid);
        if (!last) return last.error();
        auto mean = AvgBy(*last, query.by);
        if (!mean) return mean.error();
        auto served = ev.SumCount(requests, window);
        if (!served) return served.error();
        return MaskWhereZero(std::move(*mean), *served);
      }
      auto sum = ev.SumRate(family + "_sum");
      if (!sum) return sum.error();
      auto count = ev.SumRate(family + "_count");
      if (!count) return count.error();
      auto mean = Ratio(*sum, *count);
      if (!mean) return mean.error();
      return Scale(std::move(*mean), preset.latency_scale);
    }
  }
  return InvalidArgument("unknown ScrapeQuery.kind");
}

namespace {

template <typename T>
Result<T> Lookup(std::string_view name, const char* what,
                 const std::vector<std::pair<const char*, T>>& table) {
  std::string known;
  for (const auto& [n, v] : table) {
    if (name == n) return v;
    known += known.empty() ? "" : ", ";
    known += n;
  }
  return InvalidArgument("unknown " + std::string(what) + " \"" + std::string(name) +
                         "\"; known: " + known);
}

}  // namespace

Result<IngressProvider> ParseIngressProvider(std::string_view name) {
  return Lookup<IngressProvider>(name, "ingress provider",
                                 {{"haproxy", IngressProvider::kHaproxyServer},
                                  {"haproxy-backend", IngressProvider::kHaproxyBackend},
                                  {"nginx", IngressProvider::kNginxIngress},
                                  {"envoy", IngressProvider::kEnvoy}});
}

Result<ScrapeQueryKind> ParseScrapeQueryKind(std::string_view name) {
  return Lookup<ScrapeQueryKind>(name, "scrape query kind",
                                 {{"request-rate", ScrapeQueryKind::kRequestRate},
                                  {"request-count", ScrapeQueryKind::kRequestCount},
                                  {"error-count", ScrapeQueryKind::kErrorCount},
                                  {"error-rate", ScrapeQueryKind::kErrorRate},
                                  {"success-rate", ScrapeQueryKind::kSuccessRate},
                                  {"latency-quantile", ScrapeQueryKind::kLatencyQuantile},
                                  {"latency-mean", ScrapeQueryKind::kLatencyMean}});
}

// --- Scraper ----------------------------------------------------------------------------------

namespace {

Error Unavailable(std::string message) {
  return Error{ErrorCode::kUnavailable, std::move(message)};
}
std::string Excerpt(const std::string& body) {
  std::string e = body.substr(0, 120);
  for (char& c : e) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return body.size() > 120 ? e + "..." : e;
}

struct ParsedUrl {
  std::string scheme_host_port;  // what httplib::Client takes
  std::string host_port;         // default target label
  std::string path;              // with any query string
};

Result<ParsedUrl> ParseUrl(const std::string& url) {
  auto bad = [&url](const std::string& why) {
    return InvalidArgument("ScraperOptions.url \"" + url + "\": " + why);
  };
  const size_t sep = url.find("://");
  if (sep == std::string::npos) return bad("expected http://host:port/path");
  const std::string scheme = url.substr(0, sep);
  if (scheme != "http" && scheme != "https") return bad("scheme must be http or https");
  const std::string rest = url.substr(sep + 3);
  const size_t slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/metrics" : rest.substr(slash);
  if (path.front() == '?') path = "/metrics" + path;
  if (path.find('#') != std::string::npos) return bad("fragments are not allowed");
  if (path.find_first_of(" \r\n") != std::string::npos) return bad("path contains whitespace");
  if (authority.empty()) return bad("missing host");
  if (authority.find('@') != std::string::npos) return bad("credentials in the URL");
  size_t host_end = authority.front() == '[' ? authority.find(']') : authority.find(':');
  if (authority.front() == '[') {
    if (host_end == std::string::npos) return bad("unterminated [IPv6] host");
    ++host_end;
  }
  if (host_end == std::string::npos) host_end = authority.size();
  if (host_end == 0 || (authority.front() == '[' && host_end <= 2)) return bad("missing host");
  if (host_end < authority.size()) {
    if (authority[host_end] != ':') return bad("unexpected text after host");
    const std::string port_text = authority.substr(host_end + 1);
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port < 1 || port > 65535) {
      return bad("invalid port \"" + port_text + "\"");
    }
  }
  return ParsedUrl{scheme + "://" + authority, authority, path};
}

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class Scraper::Impl {
 public:
  Impl(ScraperOptions options, ParsedUrl url, ScrapeStore& store)
      : options_(std::move(options)), url_(std::move(url)), store_(store) {
    if (!options_.now_ms) options_.now_ms = SystemNowMs;
    if (options_.target.empty()) options_.target = url_.host_port;
    client_ = std::make_unique<httplib::Client>(url_.scheme_host_port);
    const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
    client_->set_connection_timeout(timeout);
    client_->set_read_timeout(timeout);
    client_->set_write_timeout(timeout);
    client_->set_follow_location(false);
    client_->set_keep_alive(true);  // one connection per target, as Prometheus keeps
  }
  ~Impl() { Stop(); }

  Status Start();
  void Stop();
  Result<AppendStats> ScrapeOnce();
  ScrapeStatus status() const {
    std::lock_guard lock(status_mu_);
    return status_;
  }
  const ScraperOptions& options() const { return options_; }

 private:
  Result<std::vector<MetricFamily>> Fetch();
  void Run();

  ScraperOptions options_;
  const ParsedUrl url_;
  ScrapeStore& store_;

  std::mutex scrape_mu_;  // serialises scrapes; guards client_ use for requests
  std::unique_ptr<httplib::Client> client_;

  std::mutex abort_mu_;  // orders abort_ against in_flight_, so Stop can interrupt a request
  bool abort_ = false;
  bool in_flight_ = false;
  std::atomic<bool> abort_flag_{false};  // read by the body receiver without the lock

  mutable std::mutex status_mu_;
  ScrapeStatus status_;

  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stop_requested_ = false;
  std::thread thread_;
};

Result<std::vector<MetricFamily>> Scraper::Impl::Fetch() {
  const std::string where = "scrape " + url_.scheme_host_port + url_.path;
  {
    std::lock_guard lock(abort_mu_);
    if (abort_) return Unavailable(where + ": scraper stopping");
    in_flight_ = true;
  }
  struct InFlightReset {
    Impl* self;
    ~InFlightReset() {
      std::lock_guard lock(self->abort_mu_);
      self->in_flight_ = false;
    }
  } reset{this};

  httplib::Request req;
  req.method = "GET";
  req.path = url_.path;
  // Prometheus 2.42's Accept header: OpenMetrics preferred, text 0.0.4 as the fallback.
  req.headers.emplace("Accept",
                      "application/openmetrics-text;version=1.0.0,application/"
                      "openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/"
                      "*;q=0.1");
  req.headers.emplace("User-Agent", "augur-scraper");
  // Exporters that honour it (e.g. the blackbox exporter) size their own work to fit.
  char timeout_text[32];
  std::snprintf(timeout_text, sizeof timeout_text, "%g",
                static_cast<double>(options_.timeout_ms) / 1000);
  req.headers.emplace("X-Prometheus-Scrape-Timeout-Seconds", timeout_text);
  httplib::Error transport = httplib::Error::Success;
  auto fetched = common::SendBounded(*client_, std::move(req),
                                     {options_.timeout_ms, options_.max_body_bytes, &abort_flag_},
                                     where, "target", &transport);
  if (abort_flag_.load()) return Unavailable(where + ": scraper stopping");
  if (!fetched) return fetched.error();
  const std::string& body = fetched->body;
  if (fetched->status != 200) {
    std::string msg =
        where + ": HTTP " + std::to_string(fetched->status) + " \"" + Excerpt(body) + "\"";
    if (fetched->status >= 500) return Unavailable(std::move(msg));
    if (fetched->status >= 400) return InvalidArgument(std::move(msg));
    return BadData(std::move(msg));
  }
  auto families = ParseExposition(body, FormatFromContentType(fetched->content_type));
  if (!families) return families.error().WithContext(where);
  return families;
}

Result<AppendStats> Scraper::Impl::ScrapeOnce() {
  std::lock_guard scrape_lock(scrape_mu_);
  const int64_t scrape_time = options_.now_ms();
  const auto start = SteadyClock::now();
  auto families = Fetch();
  std::optional<AppendStats> stats;
  if (families) stats = store_.Append(*families, scrape_time, options_.target);
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();

  std::lock_guard lock(status_mu_);
  ++status_.scrapes;
  status_.last_attempt_ms = scrape_time;
  status_.last_duration_seconds = seconds;
  if (!families) {
    ++status_.failures;
    status_.last_error = families.error();
    return families.error();
  }
  status_.last_success_ms = scrape_time;
  status_.last_sample_count = stats->samples;
  status_.last_append = *stats;
  status_.last_error.reset();
  return *stats;
}

void Scraper::Impl::Run() {
  const auto interval = std::chrono::milliseconds(options_.interval_ms);
  auto next = SteadyClock::now();
  std::unique_lock lock(run_mu_);
  while (!stop_requested_) {
    lock.unlock();
    (void)ScrapeOnce();  // the outcome is kept in status_
    lock.lock();
    // A fixed schedule: a slow scrape does not shift later ones, and missed ticks are skipped.
    next += interval;
    const auto now = SteadyClock::now();
    if (next <= now) next += ((now - next) / interval + 1) * interval;
    cv_.wait_until(lock, next, [this] { return stop_requested_; });
  }
}

Status Scraper::Impl::Start() {
  std::lock_guard lock(run_mu_);
  if (thread_.joinable()) return Error{ErrorCode::kConflict, "scraper already running"};
  stop_requested_ = false;
  {
    std::lock_guard abort_lock(abort_mu_);
    abort_ = false;
    abort_flag_ = false;
  }
  thread_ = std::thread([this] { Run(); });
  return {};
}

void Scraper::Impl::Stop() {
  {
    std::lock_guard lock(run_mu_);
    if (!thread_.joinable()) return;
    stop_requested_ = true;
  }
  {
    std::lock_guard lock(abort_mu_);
    abort_ = true;
    abort_flag_ = true;
    // Shutting the socket down wakes a request blocked in a read; httplib allows this call from
    // another thread while send() runs.
    if (in_flight_) client_->stop();
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(abort_mu_);
  abort_ = false;
  abort_flag_ = false;
}

Result<std::unique_ptr<Scraper>> Scraper::Create(ScraperOptions options, ScrapeStore& store) {
  auto url = ParseUrl(options.url);
  if (!url) return url.error();
  if (options.interval_ms <= 0) {
    return InvalidArgument("ScraperOptions.interval_ms must be > 0, got " +
                           std::to_string(options.interval_ms));
  }
  if (options.timeout_ms <= 0 || options.timeout_ms > options.interval_ms) {
    return InvalidArgument("ScraperOptions.timeout_ms must be within (0, interval_ms = " +
                           std::to_string(options.interval_ms) + "], got " +
                           std::to_string(options.timeout_ms));
  }
  if (options.max_body_bytes <= 0) {
    return InvalidArgument("ScraperOptions.max_body_bytes must be > 0");
  }
  return std::unique_ptr<Scraper>(
      new Scraper(std::make_unique<Impl>(std::move(options), std::move(*url), store)));
}

Scraper::Scraper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Scraper::~Scraper() = default;
Status Scraper::Start() { return impl_->Start(); }
void Scraper::Stop() { impl_->Stop(); }
Result<AppendStats> Scraper::ScrapeOnce() { return impl_->ScrapeOnce(); }
ScrapeStatus Scraper::status() const { return impl_->status(); }
const ScraperOptions& Scraper::options() const { return impl_->options(); }

}  // namespace augur::sources
