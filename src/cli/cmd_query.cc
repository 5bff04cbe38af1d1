// `augur query` (a Prometheus range query, raw or from a provider template for both sides)
// and `augur scrape` (fetch and parse one exposition page): the sources as a user sees them.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "augur/core/time.h"
#include "augur/sources/exposition.h"
#include "augur/sources/prometheus_client.h"
#include "augur/sources/query_template.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace augur::cli {
namespace {

using Json = nlohmann::ordered_json;

Json ValueOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

Json SeriesJson(const sources::Series& s) {
  Json labels = Json::object();
  for (const auto& [k, v] : s.labels) labels[k] = v;
  Json values = Json::array();
  for (size_t i = 0; i < s.values.size(); ++i) {
    values.push_back({static_cast<double>(s.timestamps_ms[i]) / 1000.0, ValueOrNull(s.values[i])});
  }
  return {{"labels", labels}, {"values", values}};
}

const std::vector<FlagSpec> kQueryFlags = {
    {"prometheus", "URL", "Prometheus (or Thanos, Mimir, VictoriaMetrics) base URL", ""},
    {"promql", "QUERY", "a PromQL query to run as it is", ""},
    {"template", "FILE:QUERY",
     "a provider template and query name, e.g. "
     "queries/haproxy.yaml:success_rate, rendered for primary and canary",
     ""},
    {"var", "NAME=VALUE", "a template variable (repeatable), e.g. --var namespace=shop", ""},
    {"start", "TIME", "range start: now, now-30m, unix seconds or RFC 3339 UTC", "now-30m"},
    {"end", "TIME", "range end", "now"},
    {"step", "DURATION", "resolution, e.g. 15s", "30s"},
    {"bearer-token-file", "FILE", "send the token in FILE as a bearer token", ""},
    {"timeout", "DURATION", "per-request timeout", "10s"},
    {"post", "", "send queries as form-encoded POST", ""},
};

}  // namespace

int RunQuery(const std::vector<std::string>& args, std::istream&, std::ostream& out,
             std::ostream& err) {
  const std::string prefix = "augur query: ";
  auto a = Args::Parse(args, kQueryFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur query --prometheus URL (--promql QUERY | --template FILE:QUERY --var k=v "
           "...)"
           " [--start T --end T --step S]\n\nRuns a range query and prints the series as JSON; "
           "with --template, for the primary and the canary, aligned on the step grid.\n\nflags:\n"
        << FormatFlags(kQueryFlags);
    return kExitOk;
  }
  auto fail = [&](const Error& e) {
    err << prefix << e.message << "\n";
    return ExitCodeFor(e);
  };
  if (!a->Has("prometheus")) return fail(InvalidArgument("--prometheus URL is required"));
  if (a->Has("promql") == a->Has("template")) {
    return fail(InvalidArgument("give exactly one of --promql and --template"));
  }
  const int64_t now_ms = NowMs();
  auto start = ParseTimeMs(a->Get("start"), now_ms);
  if (!start) return fail(start.error().WithContext("--start"));
  auto end = ParseTimeMs(a->Get("end"), now_ms);
  if (!end) return fail(end.error().WithContext("--end"));
  auto step = ParseDurationMs(a->Get("step"));
  if (!step) return fail(step.error().WithContext("--step"));
  auto timeout = ParseDurationMs(a->Get("timeout"));
  if (!timeout) return fail(timeout.error().WithContext("--timeout"));
  const int64_t step_ms = *step;

  sources::PrometheusOptions opts;
  opts.url = a->Get("prometheus");
  opts.timeout_ms = static_cast<int>(std::min<int64_t>(*timeout, 3600000));
  opts.use_post = a->Has("post");
  if (a->Has("bearer-token-file")) {
    std::ifstream f(a->Get("bearer-token-file"));
    if (!f) return fail(InvalidArgument("cannot read --bearer-token-file"));
    std::getline(f, opts.bearer_token);
  }
  auto client = sources::PrometheusClient::Create(opts);
  if (!client) return fail(client.error());

  if (a->Has("promql")) {
    auto r = client->QueryRange(a->Get("promql"), *start, *end, step_ms);
    if (!r) return fail(r.error());
    Json series = Json::array();
    for (const auto& s : r->series) series.push_back(SeriesJson(s));
    out << Json{{"query", a->Get("promql")},
                {"result_type", r->result_type},
                {"series", series},
                {"warnings", r->warnings}}
               .dump()
        << "\n";
    return kExitOk;
  }
  const std::string spec = a->Get("template");
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return fail(InvalidArgument("--template must be FILE:QUERY"));
  auto templates = sources::LoadQueryTemplates(spec.substr(0, colon));
  if (!templates) return fail(templates.error());
  std::map<std::string, std::string> vars;
  for (const auto& kv : a->GetAll("var")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(InvalidArgument("--var must be NAME=VALUE, got '" + kv + "'"));
    }
    vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto queries = sources::RenderBothSides(*templates, spec.substr(colon + 1), vars);
  if (!queries) return fail(queries.error());
  Json doc = {{"query", {{"primary", queries->primary}, {"canary", queries->canary}}}};
  sources::Series sides[2];
  const std::string side_names[2] = {"primary", "canary"};
  for (int i = 0; i < 2; ++i) {
    auto r = client->QueryRange(i == 0 ? queries->primary : queries->canary, *start, *end, step_ms);
    if (!r) return fail(r.error().WithContext(side_names[i]));
    // One series per side is what the judge compares; several would need a per-series
    // judgement, so they are reported rather than silently reduced to one.
    if (r->series.size() != 1) {
      return fail(Error{ErrorCode::kBadData, side_names[i] + ": the query returned " +
                                                 std::to_string(r->series.size()) +
                                                 " series; one is needed per side"});
    }
    sides[i] = r->series[0];
    doc[side_names[i]] = SeriesJson(sides[i]);
  }
  const auto aligned = sources::AlignSeries(sides[0], sides[1], *start, *end, step_ms);
  Json ts = Json::array(), p = Json::array(), c = Json::array();
  for (size_t i = 0; i < aligned.timestamps_ms.size(); ++i) {
    ts.push_back(static_cast<double>(aligned.timestamps_ms[i]) / 1000.0);
    p.push_back(ValueOrNull(aligned.primary[i]));
    c.push_back(ValueOrNull(aligned.canary[i]));
  }
  doc["aligned"] = {{"timestamps", ts},
                    {"primary", p},
                    {"canary", c},
                    {"missing_primary", aligned.missing_primary},
                    {"missing_canary", aligned.missing_canary}};
  out << doc.dump() << "\n";
  return kExitOk;
}

int RunScrape(const std::vector<std::string>& args, std::istream&, std::ostream& out,
              std::ostream& err) {
  const std::string prefix = "augur scrape: ";
  const std::vector<FlagSpec> flags = {{"timeout", "DURATION", "request timeout", "10s"}};
  auto a = Args::Parse(args, flags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur scrape URL\n\nFetches a Prometheus exposition page (text 0.0.4 or "
           "OpenMetrics) and prints its metric families as JSON.\n\nflags:\n"
        << FormatFlags(flags);
    return kExitOk;
  }
  if (a->positional().size() != 1) {
    err << prefix << "give exactly one URL, e.g. http://127.0.0.1:18404/metrics\n";
    return kExitBadInput;
  }
  const std::string url = a->positional()[0];
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)) {
    err << prefix << "URL must start with http:// or https://\n";
    return kExitBadInput;
  }
  const size_t path_at = url.find('/', scheme_end + 3);
  const std::string base = path_at == std::string::npos ? url : url.substr(0, path_at);
  const std::string path = path_at == std::string::npos ? "/" : url.substr(path_at);
  auto timeout = ParseDurationMs(a->Get("timeout"));
  if (!timeout) {
    err << prefix << "--timeout: " << timeout.error().message << "\n";
    return kExitBadInput;
  }
  httplib::Client cli(base);
  const auto t = std::chrono::milliseconds(*timeout);
  cli.set_connection_timeout(t);
  cli.set_read_timeout(t);
  auto res = cli.Get(
      path,
      {{"Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"}});
  if (!res) {
    err << prefix << "cannot fetch " << url << ": " << httplib::to_string(res.error()) << "\n";
    return kExitFailure;
  }
  if (res->status != 200) {
    err << prefix << url << " answered HTTP " << res->status << "\n";
    return kExitFailure;
  }
  auto families = sources::ParseExposition(
      res->body, sources::FormatFromContentType(res->get_header_value("Content-Type")));
  if (!families) {
    err << prefix << url << ": " << families.error().message << "\n";
    return kExitFailure;
  }
  Json doc = Json::array();
  for (const auto& f : *families) {
    Json samples = Json::array();
    for (const auto& s : f.samples) {
      Json labels = Json::object();
      for (const auto& [k, v] : s.labels) labels[k] = v;
      Json sample = {{"name", s.name}, {"labels", labels}, {"value", ValueOrNull(s.value)}};
      if (s.timestamp_ms) sample["timestamp_ms"] = *s.timestamp_ms;
      samples.push_back(sample);
    }
    doc.push_back({{"name", f.name},
                   {"type", sources::MetricTypeName(f.type)},
                   {"help", f.help},
                   {"samples", samples}});
  }
  out << doc.dump() << "\n";
  return kExitOk;
}

}  // namespace augur::cli
