// `augur record`: fetches a past release's primary and canary series for every metric of a
// model through the Prometheus source and writes them as a replay archive
// (sources/archive.h). All metrics are fetched before anything is written, so a Prometheus
// that is down or a query that fails leaves no archive behind.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <ostream>

#include "augur/config/model_file.h"
#include "augur/core/time.h"
#include "augur/sources/archive.h"
#include "augur/sources/prometheus_source.h"
#include "augur/sources/query_template.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/local_stack.h"

namespace augur::cli {
namespace {

const std::vector<FlagSpec> kRecordFlags = {
    {"prometheus", "URL", "Prometheus (or Thanos, Mimir, VictoriaMetrics) base URL", ""},
    {"model", "NAME|FILE", "analysis model whose metrics to record (bundled name or file)",
     "http-golden-signals"},
    {"provider", "P", "query template set (queries/<P>.yaml)", "haproxy"},
    {"queries", "DIR", "query templates folder (default: the bundled queries)", ""},
    {"var", "NAME=VALUE", "a template variable (repeatable), e.g. --var namespace=shop", ""},
    {"start", "TIME", "release start: RFC 3339 UTC, unix seconds, now-2h", ""},
    {"end", "TIME", "release end (rounded down onto the step grid from --start)", ""},
    {"step", "DURATION", "resolution of the recorded series", "60s"},
    {"out", "FILE", "archive to write (*.json, or *.json.gz with --gzip)", ""},
    {"name", "NAME", "release name (default: the file name without extension)", ""},
    {"label", "good|bad", "what is known about the release", ""},
    {"regression-start", "TIME", "bad releases: when the regression began", ""},
    {"regression", "KIND", "bad releases: what regressed, free text (e.g. latency-shift)", ""},
    {"gzip", "", "gzip-compress the archive", ""},
    {"bearer-token-file", "FILE", "send the token in FILE as a bearer token", ""},
    {"timeout", "DURATION", "per-request timeout", "30s"},
    {"control-scope", "SCOPE",
     "Kayenta canary config as --model: the baseline's scope (${scope} in its queries)", ""},
    {"experiment-scope", "SCOPE", "Kayenta canary config as --model: the canary's scope", ""},
    {"location", "LOCATION", "Kayenta canary config: ${location} (region) for both scopes", ""},
    {"scope-param", "NAME=VALUE",
     "Kayenta canary config: an extendedScopeParams entry for both scopes (repeatable)", ""},
};

// A bundled model name (models/<name>.yaml|.yml|.json beside the binary or in the source
// tree) or a path to a model file. (Same lookup as augur generate's.)
Result<judge::Model> ResolveModel(const std::string& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (spec.find('/') != std::string::npos || fs::is_regular_file(spec, ec)) {
    return config::LoadModelFile(spec);
  }
  {
    for (const char* ext : {".yaml", ".yml", ".json"}) {
      const fs::path p = fs::path(BundledDir("models")) / (spec + ext);
      if (fs::is_regular_file(p, ec)) return config::LoadModelFile(p.string());
    }
  }
  return Error{ErrorCode::kNotFound,
               "no model '" + spec + "' (not a file, and not in the bundled models/)"};
}

std::string StemOf(const std::string& path) {
  std::string base = std::filesystem::path(path).filename().string();
  for (const std::string ext : {".gz", ".json"}) {
    if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0) {
      base.resize(base.size() - ext.size());
    }
  }
  return base;
}

}  // namespace

int RunRecord(const std::vector<std::string>& args, std::istream&, std::ostream& out,
              std::ostream& err) {
  const std::string prefix = "augur record: ";
  auto a = Args::Parse(args, kRecordFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur record --prometheus URL --model M [--provider P] --var k=v ... "
           "--start T --end T [--step S] --out ARCHIVE [--name N] [--label good|bad] "
           "[--regression-start T] [--gzip]\n"
           "       augur record --prometheus URL --model KAYENTA_CONFIG.json --control-scope S "
           "--experiment-scope S [--location L] [--scope-param k=v ...] --start T --end T ...\n\n"
           "Fetches the primary's and the canary's series "
           "of every metric of the model for a past window and writes them as a replay archive "
           "(Kayenta's metricSetPairList in a release envelope). Nothing is written unless "
           "every metric was fetched. A Kayenta canary config is recorded with its own "
           "Prometheus queries, rendered once per scope as Kayenta renders them.\n\nflags:\n"
        << FormatFlags(kRecordFlags);
    return kExitOk;
  }
  auto fail = [&](const Error& e) {
    err << prefix << e.message << "\n";
    return ExitCodeFor(e);
  };
  if (!a->positional().empty()) {
    return fail(InvalidArgument("unexpected argument '" + a->positional()[0] + "'"));
  }
  for (const char* required : {"prometheus", "start", "end", "out"}) {
    if (!a->Has(required)) {
      return fail(InvalidArgument(std::string("--") + required + " is required"));
    }
  }
  const int64_t now_ms = NowMs();
  auto start = ParseTimeMs(a->Get("start"), now_ms);
  if (!start) return fail(start.error().WithContext("--start"));
  auto end = ParseTimeMs(a->Get("end"), now_ms);
  if (!end) return fail(end.error().WithContext("--end"));
  auto step = ParseDurationMs(a->Get("step"));
  if (!step) return fail(step.error().WithContext("--step"));
  if (*step <= 0) return fail(InvalidArgument("--step must be positive"));
  auto timeout = ParseDurationMs(a->Get("timeout"));
  if (!timeout) return fail(timeout.error().WithContext("--timeout"));
  if (*end <= *start) return fail(InvalidArgument("--end must be after --start"));
  // The archive's grid is start + i * step; the last slot is the last one not after --end.
  const int64_t end_ms = *start + (*end - *start) / *step * *step;
  if (end_ms == *start) return fail(InvalidArgument("--end - --start is shorter than one step"));
  const size_t slots = static_cast<size_t>((end_ms - *start) / *step + 1);
  if (slots > 11000) {
    // Prometheus refuses range queries of more than 11,000 points per series.
    return fail(InvalidArgument("the window holds " + std::to_string(slots) +
                                " steps; Prometheus answers at most 11000 per query: use a "
                                "larger --step"));
  }

  sources::Release release;
  release.start_ms = *start;
  release.end_ms = end_ms;
  release.step_ms = *step;
  const std::string out_path = a->Get("out");
  release.name = a->Has("name") ? a->Get("name") : StemOf(out_path);
  if (release.name.empty()) return fail(InvalidArgument("--name must not be empty"));
  for (const auto& kv : a->GetAll("var")) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return fail(InvalidArgument("--var must be NAME=VALUE, got '" + kv + "'"));
    }
    release.vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (a->Has("label")) {
    release.label.truth = a->Get("label");
    if (release.label.truth != "good" && release.label.truth != "bad") {
      return fail(
          InvalidArgument("--label must be good or bad, got '" + release.label.truth + "'"));
    }
  }
  if (a->Has("regression-start") || a->Has("regression")) {
    if (release.label.truth != "bad") {
      return fail(InvalidArgument("--regression-start and --regression need --label bad"));
    }
  }
  if (a->Has("regression-start")) {
    auto t = ParseTimeMs(a->Get("regression-start"), now_ms);
    if (!t) return fail(t.error().WithContext("--regression-start"));
    if (*t < release.start_ms || *t > release.end_ms) {
      return fail(InvalidArgument("--regression-start lies outside [--start, --end]"));
    }
    release.label.regression_start_ms = *t;
  }
  release.label.regression = a->Get("regression");

  auto model = ResolveModel(a->Get("model"));
  if (!model) return fail(model.error().WithContext("--model"));
  if (model->metrics.empty()) return fail(InvalidArgument("--model: the model has no metrics"));
  release.model = model->name;
  const std::string queries_dir = a->Has("queries") ? a->Get("queries") : BundledDir("queries");
  auto templates = sources::LoadQueryTemplateDir(queries_dir);
  if (!templates) return fail(templates.error().WithContext("--queries"));

  sources::PrometheusOptions opts;
  opts.url = a->Get("prometheus");
  opts.timeout_ms = static_cast<int>(std::clamp<int64_t>(*timeout, 1, 3600000));
  if (a->Has("bearer-token-file")) {
    std::ifstream f(a->Get("bearer-token-file"));
    if (!f) return fail(InvalidArgument("cannot read --bearer-token-file"));
    std::getline(f, opts.bearer_token);
  }
  auto source = sources::NewPrometheusSource(opts, std::move(*templates));
  if (!source) return fail(source.error());
  // A down server is one clear message rather than the same error once per metric.
  if (auto st = (*source)->Check(); !st) {
    return fail(st.error().WithContext("Prometheus at " + opts.url));
  }

  const bool kayenta = a->Has("control-scope") || a->Has("experiment-scope");
  if (kayenta) {
    // A Kayenta canary config: its own queries, once per scope, on the release's grid.
    if (!a->Has("control-scope") || !a->Has("experiment-scope")) {
      return fail(InvalidArgument("--control-scope and --experiment-scope go together"));
    }
    std::ifstream in(a->Get("model"));
    if (!in) {
      return fail(
          InvalidArgument("--model: scopes are given, so --model must be a Kayenta "
                          "canary config file; cannot read '" +
                          a->Get("model") + "'"));
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto queries = sources::KayentaConfigQueries(text);
    if (!queries) return fail(queries.error().WithContext("--model"));
    std::map<std::string, std::string> scope_vars[2];
    for (int side = 0; side < 2; ++side) {
      auto& v = scope_vars[side];
      for (const auto& kv : a->GetAll("scope-param")) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          return fail(InvalidArgument("--scope-param must be NAME=VALUE, got '" + kv + "'"));
        }
        v[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      v["scope"] = a->Get(side == 0 ? "control-scope" : "experiment-scope");
      if (a->Has("location")) v["location"] = a->Get("location");
    }
    release.vars["controlScope"] = scope_vars[0]["scope"];
    release.vars["experimentScope"] = scope_vars[1]["scope"];
    if (a->Has("location")) release.vars["location"] = a->Get("location");
    for (const auto& q : *queries) {
      sources::ArchivedMetric am;
      am.name = q.metric;
      for (int side = 0; side < 2; ++side) {
        const char* which = side == 0 ? "control" : "experiment";
        auto promql = sources::RenderKayentaQuery(q.query, scope_vars[side]);
        if (!promql) {
          return fail(promql.error().WithContext("metric '" + q.metric + "' (" + which + ")"));
        }
        auto raw =
            (*source)->FetchRaw({*promql, release.start_ms, release.end_ms, release.step_ms});
        if (!raw) {
          return fail(raw.error().WithContext("metric '" + q.metric + "' (" + which + ": " +
                                              *promql + ")"));
        }
        if (raw->values.size() != slots) {
          return fail(Error{ErrorCode::kBadData, "metric '" + q.metric + "': the source returned " +
                                                     std::to_string(raw->values.size()) +
                                                     " points for a grid of " +
                                                     std::to_string(slots)});
        }
        if (std::all_of(raw->values.begin(), raw->values.end(),
                        [](double x) { return std::isnan(x); })) {
          err << prefix << "warning: metric '" << q.metric << "' has no " << which
              << " data in the window (" << *promql << ")\n";
        }
        (side == 0 ? am.primary : am.canary) = std::move(raw->values);
      }
      release.metrics.push_back(std::move(am));
    }
  } else {
    const std::string provider = a->Get("provider");
    for (const auto& m : model->metrics) {
      sources::MetricRequest req;
      req.provider = provider;
      req.query = m.query;
      req.vars = release.vars;
      req.start_ms = release.start_ms;
      req.end_ms = release.end_ms;
      req.step_ms = release.step_ms;
      auto s = (*source)->Fetch(req);
      if (!s) {
        Error e = s.error().WithContext("metric '" + m.name + "'");
        if (model->mode == judge::Mode::kKayenta) {
          e.message +=
              " (if --model is a Kayenta canary config, record it with its own queries: "
              "--control-scope and --experiment-scope)";
        }
        return fail(e);
      }
      if (s->primary.size() != slots || s->canary.size() != slots) {
        return fail(Error{ErrorCode::kBadData, "metric '" + m.name + "': the source returned " +
                                                   std::to_string(s->primary.size()) +
                                                   " points for a grid of " +
                                                   std::to_string(slots)});
      }
      for (const auto* side : {&s->primary, &s->canary}) {
        if (std::all_of(side->begin(), side->end(), [](double x) { return std::isnan(x); })) {
          err << prefix << "warning: metric '" << m.name << "' has no "
              << (side == &s->primary ? "primary" : "canary") << " data in the window ("
              << (side == &s->primary ? s->primary_query : s->canary_query) << ")\n";
        }
      }
      sources::ArchivedMetric am;
      am.name = m.name;
      am.primary = std::move(s->primary);
      am.canary = std::move(s->canary);
      release.metrics.push_back(std::move(am));
    }
  }
  if (auto st = sources::WriteArchive(release, out_path, a->Has("gzip")); !st) {
    return fail(st.error());
  }
  out << "recorded " << release.metrics.size() << " metrics x " << slots << " points of '"
      << release.name << "' to " << out_path << "\n";
  return kExitOk;
}

}  // namespace augur::cli
