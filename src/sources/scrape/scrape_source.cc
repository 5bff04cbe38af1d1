// Maps model query names to the scraper's golden signals; see scrape_source.h.
#include "augur/sources/scrape_source.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "augur/core/time.h"

namespace augur::sources {
namespace {

const char* DefaultSideLabel(IngressProvider p) {
  switch (p) {
    case IngressProvider::kHaproxyServer:
      return "server";
    case IngressProvider::kHaproxyBackend:
      return "proxy";
    case IngressProvider::kNginxIngress:
      return "service";
    case IngressProvider::kEnvoy:
      return "envoy_cluster_name";
  }
  return "server";
}

struct Mapped {
  ScrapeQueryKind kind;
  double quantile = 0.99;
};

// "latency_p99_seconds" -> 0.99, "latency_p999_seconds" -> 0.999; nullopt if not that shape.
std::optional<double> QuantileOf(const std::string& q) {
  const std::string pre = "latency_p", post = "_seconds";
  if (q.size() <= pre.size() + post.size() || q.rfind(pre, 0) != 0 ||
      q.compare(q.size() - post.size(), post.size(), post) != 0) {
    return std::nullopt;
  }
  const std::string digits = q.substr(pre.size(), q.size() - pre.size() - post.size());
  if (digits.empty() || digits.size() > 4) return std::nullopt;
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size()) return std::nullopt;
  return v / std::pow(10.0, static_cast<double>(digits.size()));
}

Result<Mapped> MapQuery(const std::string& q) {
  static const std::map<std::string, ScrapeQueryKind> kNames = {
      {"success_rate", ScrapeQueryKind::kSuccessRate},
      {"error_rate", ScrapeQueryKind::kErrorRate},
      {"error_count", ScrapeQueryKind::kErrorCount},
      {"request_rate", ScrapeQueryKind::kRequestRate},
      {"request_count", ScrapeQueryKind::kRequestCount},
      {"latency_mean_seconds", ScrapeQueryKind::kLatencyMean},
      {"latency_avg_seconds", ScrapeQueryKind::kLatencyMean},
  };
  if (auto it = kNames.find(q); it != kNames.end()) return Mapped{it->second};
  if (auto quantile = QuantileOf(q)) return Mapped{ScrapeQueryKind::kLatencyQuantile, *quantile};
  if (auto kind = ParseScrapeQueryKind(q)) return Mapped{*kind};
  return Error{ErrorCode::kNotFound,
               "the embedded scraper has no query '" + q +
                   "' (known: success_rate, error_rate, error_count, request_rate, "
                   "request_count, latency_pNN_seconds, latency_mean_seconds)"};
}

std::string Var(const std::map<std::string, std::string>& vars, const std::string& key,
                const std::string& fallback) {
  auto it = vars.find(key);
  return it == vars.end() || it->second.empty() ? fallback : it->second;
}

class ScrapeSource final : public MetricSource {
 public:
  ScrapeSource(const ScrapeStore& store, ScrapeSourceOptions o)
      : store_(store), opt_(std::move(o)) {
    if (opt_.side_label.empty()) opt_.side_label = DefaultSideLabel(opt_.provider);
  }

  std::string name() const override { return "scrape"; }

  Result<SeriesPair> Fetch(const MetricRequest& r) const override {
    auto mapped = MapQuery(r.query);
    if (!mapped) return mapped.error();
    if (r.step_ms <= 0 || r.end_ms < r.start_ms) {
      return InvalidArgument("bad window: start " + std::to_string(r.start_ms) + ", end " +
                             std::to_string(r.end_ms) + ", step " + std::to_string(r.step_ms));
    }
    ScrapeQuery q;
    q.provider = opt_.provider;
    q.kind = mapped->kind;
    q.quantile = mapped->quantile;
    const bool haproxy = opt_.provider == IngressProvider::kHaproxyServer ||
                         opt_.provider == IngressProvider::kHaproxyBackend;
    SeriesPair out;
    if (haproxy && q.kind == ScrapeQueryKind::kLatencyQuantile) {
      // HAProxy 2.6's exporter has no histogram; its rolling mean is the only latency there is.
      q.kind = ScrapeQueryKind::kLatencyMean;
      out.approximation = "HAProxy exposes no latency histogram: " + r.query +
                          " is the rolling mean of the last 1024 responses";
    }
    if (auto it = r.vars.find("interval"); it != r.vars.end() && !it->second.empty()) {
      auto w = ParseDurationMs(it->second);
      if (!w) return w.error().WithContext("variable interval");
      q.window_ms = *w;
    }
    if (opt_.provider == IngressProvider::kHaproxyServer) {
      q.selector.push_back({"proxy", MatchOp::kEqual, Var(r.vars, "proxy", "be_app")});
    }
    const EvalGrid grid{r.start_ms, r.end_ms, r.step_ms};
    const size_t n = static_cast<size_t>((r.end_ms - r.start_ms) / r.step_ms) + 1;
    for (int64_t t = r.start_ms; t <= r.end_ms; t += r.step_ms) out.timestamps_ms.push_back(t);
    out.primary.assign(n, std::numeric_limits<double>::quiet_NaN());
    out.canary.assign(n, std::numeric_limits<double>::quiet_NaN());
    for (int side = 0; side < 2; ++side) {
      const std::string value =
          Var(r.vars, side == 0 ? "primary" : "canary", side == 0 ? "primary" : "canary");
      ScrapeQuery sq = q;
      sq.selector.push_back({opt_.side_label, MatchOp::kEqual, value});
      auto series = EvaluateScrapeQuery(store_, sq, grid);
      if (!series) return series.error().WithContext(r.query);
      if (series->size() > 1) return BadData(r.query + ": several series for one side");
      std::string text = r.query + "{" + opt_.side_label + "=\"" + value + "\"} (embedded scraper)";
      (side == 0 ? out.primary_query : out.canary_query) = std::move(text);
      if (series->empty()) continue;
      auto& dst = side == 0 ? out.primary : out.canary;
      const Series& s = series->front();
      for (size_t i = 0; i < s.timestamps_ms.size(); ++i) {
        const int64_t slot = (s.timestamps_ms[i] - r.start_ms) / r.step_ms;
        if (slot >= 0 && static_cast<size_t>(slot) < n)
          dst[static_cast<size_t>(slot)] = s.values[i];
      }
    }
    return out;
  }

  bool InMemory() const override { return true; }
  Status Check() const override {
    for (const Scraper* s : opt_.scrapers) {
      const ScrapeStatus st = s->status();
      if (st.last_error) {
        return Error{st.last_error->code, s->options().url + ": " + st.last_error->message};
      }
    }
    return {};
  }

 private:
  const ScrapeStore& store_;
  ScrapeSourceOptions opt_;
};

}  // namespace

std::unique_ptr<MetricSource> NewScrapeSource(const ScrapeStore& store,
                                              ScrapeSourceOptions options) {
  return std::make_unique<ScrapeSource>(store, std::move(options));
}

}  // namespace augur::sources
