// `augur stats <test>`: runs one statistical test on samples read as JSON and prints one JSON
// object. The output shape is a contract used by scripts (issue #2): keep its keys.
#include <cmath>
#include <fstream>
#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "augur/stats/descriptive.h"
#include "augur/stats/effect_size.h"
#include "augur/stats/ks.h"
#include "augur/stats/mann_whitney.h"
#include "augur/stats/welch_t.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/json_input.h"

namespace augur::cli {
namespace {

using Json = nlohmann::ordered_json;

// JSON has no infinities: an open interval end is written as null.
Json Bound(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

const FlagSpec kInput{"input", "FILE", "read the JSON samples from FILE instead of stdin", ""};
const FlagSpec kNonFinite{"non-finite", "reject|drop",
                          "what to do with NaN/Inf/null values: reject (error) or drop them",
                          "reject"};
const FlagSpec kAlternative{"alternative", "two-sided|less|greater",
                            "alternative hypothesis; greater means x tends to exceed y",
                            "two-sided"};
const FlagSpec kConfLevel{"conf-level", "C", "confidence level of the interval, in (0, 1)", "0.95"};

struct Subcommand {
  const char* name;
  const char* summary;
  std::vector<FlagSpec> flags;
  bool two_samples;
  std::function<Result<Json>(const Args&, const Samples&)> run;
};

Result<Json> RunMannWhitney(const Args& a, const Samples& s) {
  stats::MannWhitneyOptions o;
  auto alt = stats::ParseAlternative(a.Get("alternative"));
  if (!alt) return alt.error();
  auto method = stats::ParseMannWhitneyMethod(a.Get("method"));
  if (!method) return method.error();
  auto conf = a.GetDouble("conf-level");
  if (!conf) return conf.error();
  auto nf = stats::ParseNonFinitePolicy(a.Get("non-finite"));
  if (!nf) return nf.error();
  o.alternative = *alt;
  o.method = *method;
  o.correct = !a.Has("no-correct");
  o.conf_int = !a.Has("no-conf-int");
  o.conf_level = *conf;
  o.non_finite = *nf;
  auto r = stats::MannWhitney(s.x, s.y, o);
  if (!r) return r.error();
  Json j;
  j["statistic"] = r->statistic;
  j["p_value"] = r->p_value;
  j["method"] = r->exact ? "exact" : "asymptotic";
  if (o.conf_int) {
    j["estimate"] = r->estimate;
    j["conf_int"] = Json::array({Bound(r->conf_low), Bound(r->conf_high)});
    j["conf_level"] = r->conf_level;
  }
  j["n_x"] = r->n_x;
  j["n_y"] = r->n_y;
  j["alternative"] = stats::AlternativeName(o.alternative);
  j["ties"] = r->ties;
  if (!r->exact) j["z"] = r->z;
  j["warnings"] = r->warnings;
  return j;
}

Result<Json> RunWelch(const Args& a, const Samples& s) {
  stats::WelchOptions o;
  auto alt = stats::ParseAlternative(a.Get("alternative"));
  if (!alt) return alt.error();
  auto conf = a.GetDouble("conf-level");
  if (!conf) return conf.error();
  auto nf = stats::ParseNonFinitePolicy(a.Get("non-finite"));
  if (!nf) return nf.error();
  o.alternative = *alt;
  o.conf_level = *conf;
  o.non_finite = *nf;
  auto r = stats::WelchT(s.x, s.y, o);
  if (!r) return r.error();
  Json j;
  j["statistic"] = r->statistic;
  j["p_value"] = r->p_value;
  j["method"] = "welch";
  j["estimate"] = r->estimate;
  j["conf_int"] = Json::array({Bound(r->conf_low), Bound(r->conf_high)});
  j["conf_level"] = r->conf_level;
  j["n_x"] = r->n_x;
  j["n_y"] = r->n_y;
  j["alternative"] = stats::AlternativeName(o.alternative);
  j["df"] = r->df;
  j["mean_x"] = r->mean_x;
  j["mean_y"] = r->mean_y;
  j["stderr"] = r->stderr_diff;
  return j;
}

Result<Json> RunKs(const Args& a, const Samples& s) {
  stats::KsOptions o;
  auto alt = stats::ParseAlternative(a.Get("alternative"));
  if (!alt) return alt.error();
  auto nf = stats::ParseNonFinitePolicy(a.Get("non-finite"));
  if (!nf) return nf.error();
  const std::string m = a.Get("method");
  if (m == "auto")
    o.method = stats::KsMethod::kAuto;
  else if (m == "exact")
    o.method = stats::KsMethod::kExact;
  else if (m == "asymptotic")
    o.method = stats::KsMethod::kAsymptotic;
  else
    return InvalidArgument("unknown method '" + m + "' (expected auto, exact or asymptotic)");
  o.alternative = *alt;
  o.non_finite = *nf;
  auto r = stats::KolmogorovSmirnov(s.x, s.y, o);
  if (!r) return r.error();
  Json j;
  j["statistic"] = r->statistic;
  j["p_value"] = r->p_value;
  j["method"] = r->exact ? "exact" : "asymptotic";
  j["n_x"] = r->n_x;
  j["n_y"] = r->n_y;
  j["alternative"] = stats::AlternativeName(o.alternative);
  return j;
}

Result<Json> RunEffectSize(const Args& a, const Samples& s) {
  auto nf = stats::ParseNonFinitePolicy(a.Get("non-finite"));
  if (!nf) return nf.error();
  auto cles = stats::CommonLanguageEffectSize(s.x, s.y, *nf);
  if (!cles) return cles.error();
  auto ratio = stats::MeanRatio(s.x, s.y, *nf);
  if (!ratio) return ratio.error();
  Json j;
  j["cles"] = *cles;
  j["mean_ratio"] = ratio->defined ? Json(ratio->ratio) : Json(nullptr);
  j["mean_x"] = ratio->mean_x;
  j["mean_y"] = ratio->mean_y;
  return j;
}

Result<Json> RunDescribe(const Args& a, const Samples& s) {
  auto nf = stats::ParseNonFinitePolicy(a.Get("non-finite"));
  if (!nf) return nf.error();
  auto d = stats::Describe(s.x, *nf);
  if (!d) return d.error();
  Json j;
  j["n"] = d->count;
  j["mean"] = d->mean;
  j["sd"] = d->sd;
  j["min"] = d->min;
  j["p25"] = d->p25;
  j["median"] = d->median;
  j["p75"] = d->p75;
  j["p90"] = d->p90;
  j["p95"] = d->p95;
  j["p99"] = d->p99;
  j["max"] = d->max;
  j["mad"] = d->mad;
  return j;
}

const std::vector<Subcommand>& Subcommands() {
  static const std::vector<Subcommand> kSubs = {
      {"mann-whitney",
       "Mann-Whitney U / Wilcoxon rank-sum test with the Hodges-Lehmann shift estimate and "
       "interval for x - y (R's wilcox.test(x, y, conf.int = TRUE))",
       {kAlternative,
        {"method", "auto|exact|asymptotic",
         "exact null distribution or normal approximation; auto = exact iff nx < 50, ny < 50 "
         "and no ties",
         "auto"},
        {"no-correct", "", "no continuity correction in the normal approximation", ""},
        kConfLevel,
        {"no-conf-int", "", "skip the Hodges-Lehmann estimate and interval", ""},
        kNonFinite,
        kInput},
       true,
       RunMannWhitney},
      {"welch-t",
       "Welch's unequal-variance t-test for mean(x) - mean(y) (R's t.test(x, y))",
       {kAlternative, kConfLevel, kNonFinite, kInput},
       true,
       RunWelch},
      {"ks",
       "two-sample Kolmogorov-Smirnov test (R's ks.test(x, y); exact iff nx*ny < 10000, "
       "also with ties)",
       {kAlternative,
        {"method", "auto|exact|asymptotic", "exact or asymptotic p-value", "auto"},
        kNonFinite,
        kInput},
       true,
       RunKs},
      {"effect-size",
       "common-language effect size P(x > y) + P(x = y)/2 and mean(x)/mean(y)",
       {kNonFinite, kInput},
       true,
       RunEffectSize},
      {"describe",
       "n, mean, sd, R-7 percentiles, median, MAD of the sample x",
       {kNonFinite, kInput},
       false,
       RunDescribe},
  };
  return kSubs;
}

void PrintStatsUsage(std::ostream& out) {
  out << "usage: augur stats <test> [flags] < samples.json\n\n"
         "Reads {\"x\": [...], \"y\": [...]} (numbers; \"NaN\", \"+Inf\", \"-Inf\" or null for "
         "non-finite values) and prints one JSON object.\n\ntests:\n";
  for (const auto& s : Subcommands()) out << "  " << s.name << "\n      " << s.summary << "\n";
  out << "\nSee augur stats <test> --help for the flags of each test. "
         "Bad input exits with code 2 and a one-line error on stderr.\n";
}

}  // namespace

int RunStats(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    PrintStatsUsage(args.empty() ? err : out);
    return args.empty() ? kExitBadInput : kExitOk;
  }
  const Subcommand* sub = nullptr;
  std::vector<std::string> names;
  for (const auto& s : Subcommands()) {
    if (args[0] == s.name) sub = &s;
    names.push_back(s.name);
  }
  if (sub == nullptr) {
    err << "augur stats: unknown test '" << args[0] << "'";
    if (auto s = DidYouMean(args[0], names)) err << "; did you mean '" << *s << "'?";
    err << " (see augur stats --help)\n";
    return kExitBadInput;
  }
  const std::string prefix = std::string("augur stats ") + sub->name + ": ";
  auto parsed = Args::Parse({args.begin() + 1, args.end()}, sub->flags);
  if (!parsed) {
    err << prefix << parsed.error().message << "\n";
    return kExitBadInput;
  }
  if (parsed->help()) {
    out << "usage: augur stats " << sub->name << " [flags] < samples.json\n\n"
        << sub->summary << ".\n\nflags:\n"
        << FormatFlags(sub->flags);
    return kExitOk;
  }
  if (!parsed->positional().empty()) {
    err << prefix << "unexpected argument '" << parsed->positional()[0] << "'\n";
    return kExitBadInput;
  }
  Result<Samples> samples = InvalidArgument("no input");
  if (parsed->Has("input") && parsed->Get("input") != "-") {
    std::ifstream file(parsed->Get("input"), std::ios::binary);
    if (!file) {
      err << prefix << "cannot open input file '" << parsed->Get("input") << "'\n";
      return kExitBadInput;
    }
    samples = ReadSamples(file, sub->two_samples);
  } else {
    samples = ReadSamples(in, sub->two_samples);
  }
  if (!samples) {
    err << prefix << samples.error().message << "\n";
    return kExitBadInput;
  }
  auto result = sub->run(*parsed, *samples);
  if (!result) {
    err << prefix << result.error().message << "\n";
    return result.error().code == ErrorCode::kInvalidArgument ? kExitBadInput : kExitFailure;
  }
  out << result->dump() << "\n";
  return kExitOk;
}

}  // namespace augur::cli
