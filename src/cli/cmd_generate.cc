// `augur generate`: labelled synthetic releases (replay/generator.h), one archive per release,
// for the bundled sample set, threshold sweeps and benchmarks.
#include <filesystem>
#include <ostream>

#include "augur/config/model_file.h"
#include "augur/core/time.h"
#include "augur/replay/generator.h"
#include "augur/sources/archive.h"
#include "cli/args.h"
#include "cli/commands.h"

namespace augur::cli {
namespace {

const std::vector<FlagSpec> kGenerateFlags = {
    {"out", "DIR", "folder to write the archives to (created if missing)", ""},
    {"count", "N", "number of releases", "24"},
    {"seed", "S", "random seed (same seed, same releases)", "1"},
    {"bad-fraction", "F", "fraction of releases with an injected regression", "0.5"},
    {"duration", "DURATION", "length of each release", "60m"},
    {"step", "DURATION", "step of the series", "60s"},
    {"model", "NAME|FILE",
     "model whose metrics to generate: a bundled model name or a model file; a metric's signal "
     "is told from its query name",
     "http-golden-signals"},
    {"kinds", "K1,K2,...",
     "regressions the bad releases cycle through: latency-shift, tail-only, variance-increase, "
     "error-burst, gradual-leak",
     "all five"},
    {"error-rate", "F", "expected error fraction of a healthy side", "0.003"},
    {"first-day", "TIME", "release i starts on day i after this (RFC 3339 or unix seconds)",
     "2026-01-01T00:00:00Z"},
    {"prefix", "NAME", "release name prefix (names are PREFIX-SEED-INDEX)", "gen"},
    {"gzip", "", "gzip-compress the archives (*.json.gz)", ""},
};

// A bundled model name (models/<name>.yaml|.yml|.json beside the binary or in the source
// tree) or a path to a model file.
Result<judge::Model> ResolveModel(const std::string& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (spec.find('/') != std::string::npos || fs::is_regular_file(spec, ec)) {
    return config::LoadModelFile(spec);
  }
  std::vector<fs::path> dirs;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back(exe.parent_path().parent_path() / "share" / "augur" / "models");
  dirs.push_back(fs::path(AUGUR_INSTALL_DATADIR) / "models");
  dirs.push_back(fs::path(AUGUR_SOURCE_DIR) / "models");
  for (const auto& d : dirs) {
    for (const char* ext : {".yaml", ".yml", ".json"}) {
      const fs::path p = d / (spec + ext);
      if (fs::is_regular_file(p, ec)) return config::LoadModelFile(p.string());
    }
  }
  return Error{ErrorCode::kNotFound,
               "no model '" + spec + "' (not a file, and not in the bundled models/)"};
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = s.find(',', at);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > at) out.push_back(s.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

}  // namespace

int RunGenerate(const std::vector<std::string>& args, std::istream&, std::ostream& out,
                std::ostream& err) {
  const std::string prefix = "augur generate: ";
  auto a = Args::Parse(args, kGenerateFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur generate --out DIR [--count N] [--seed S] [--bad-fraction F] "
           "[--duration 60m] [--step 60s] [--model NAME|FILE] [--gzip]\n\n"
           "Writes labelled synthetic releases (diurnal traffic, AR(1) noise, lognormal-mixture "
           "latency, zero-inflated errors, low-traffic windows, injected regressions) as replay "
           "archives, one per release. The same seed gives the same files.\n\nflags:\n"
        << FormatFlags(kGenerateFlags);
    return kExitOk;
  }
  auto bad = [&](const Error& e) {
    err << prefix << e.message << "\n";
    return ExitCodeFor(e);
  };
  if (!a->positional().empty()) {
    return bad(InvalidArgument("unexpected argument '" + a->positional()[0] + "'"));
  }
  if (!a->Has("out")) return bad(InvalidArgument("--out DIR is required"));

  replay::GeneratorOptions o;
  auto integer = [&](const std::string& flag, int64_t lo, int64_t hi) -> Result<int64_t> {
    const std::string v = a->Get(flag);
    size_t used = 0;
    int64_t x = 0;
    try {
      x = std::stoll(v, &used);
    } catch (...) {
      used = 0;
    }
    if (used != v.size() || v.empty() || x < lo || x > hi) {
      return InvalidArgument("--" + flag + ": '" + v + "' is not an integer in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return x;
  };
  auto count = integer("count", 1, 1000000);
  if (!count) return bad(count.error());
  o.count = static_cast<int>(*count);
  auto seed = integer("seed", 0, INT64_MAX);
  if (!seed) return bad(seed.error());
  o.seed = static_cast<uint64_t>(*seed);
  auto fraction = a->GetDouble("bad-fraction");
  if (!fraction) return bad(fraction.error().WithContext("--bad-fraction"));
  o.bad_fraction = *fraction;
  auto rate = a->GetDouble("error-rate");
  if (!rate) return bad(rate.error().WithContext("--error-rate"));
  o.error_rate = *rate;
  auto duration = ParseDurationMs(a->Get("duration"));
  if (!duration) return bad(duration.error().WithContext("--duration"));
  o.duration_ms = *duration;
  auto step = ParseDurationMs(a->Get("step"));
  if (!step) return bad(step.error().WithContext("--step"));
  o.step_ms = *step;
  auto day = ParseTimeMs(a->Get("first-day"), NowMs());
  if (!day) return bad(day.error().WithContext("--first-day"));
  o.first_day_ms = *day;
  o.name_prefix = a->Get("prefix");
  if (a->Has("kinds")) {
    o.kinds.clear();
    for (const auto& k : Split(a->Get("kinds"))) {
      auto kind = replay::ParseRegression(k);
      if (!kind) return bad(kind.error().WithContext("--kinds"));
      o.kinds.push_back(*kind);
    }
  }
  auto model = ResolveModel(a->Get("model"));
  if (!model) return bad(model.error().WithContext("--model"));
  auto metrics = replay::MetricsForModel(*model);
  if (!metrics) return bad(metrics.error().WithContext("--model"));
  o.metrics = std::move(*metrics);
  o.model = model->name;
  if (auto st = replay::ValidateGeneratorOptions(o); !st) return bad(st.error());

  const std::string dir = a->Get("out");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return bad(Error{ErrorCode::kUnavailable, "cannot create " + dir + ": " + ec.message()});
  }
  const bool gzip = a->Has("gzip");
  int bad_count = 0;
  // One release at a time: a large benchmark set never sits in memory at once.
  const std::vector<replay::Regression> plan = replay::PlanRegressions(o);
  for (int i = 0; i < o.count; ++i) {
    auto r = replay::GenerateRelease(o, i, plan[static_cast<size_t>(i)]);
    if (!r) return bad(r.error());
    bad_count += r->label.truth == "bad";
    const std::string path =
        (std::filesystem::path(dir) / (r->name + (gzip ? ".json.gz" : ".json"))).string();
    if (auto st = sources::WriteArchive(*r, path, gzip); !st) return bad(st.error());
  }
  out << "wrote " << o.count << " releases (" << bad_count << " bad) to " << dir << "\n";
  return kExitOk;
}

}  // namespace augur::cli
