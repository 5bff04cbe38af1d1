#include "augur/config/model_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "augur/contracts/kayenta.h"
#include "common/strict_yaml.h"

namespace augur::config {
namespace {

using common::strict_yaml::Bool;
using common::strict_yaml::Fail;
using common::strict_yaml::Number;
using common::strict_yaml::OnlyKeys;
using common::strict_yaml::ParseError;
using common::strict_yaml::Str;

template <typename E>
E Enum(const YAML::Node& n, const std::string& path,
       std::initializer_list<std::pair<const char*, E>> values) {
  const std::string s = Str(n, path);
  std::string names;
  for (const auto& [name, v] : values) {
    if (s == name) return v;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  Fail(path, "'" + s + "' is not one of " + names);
}

void MetricSettings(const YAML::Node& n, const std::string& p, judge::MetricConfig* m,
                    bool is_defaults) {
  std::set<std::string> keys = {
      "direction",      "kind",      "exposure",    "critical",    "muted",      "mustHaveData",
      "thresholdRange", "criteria",  "aggregate",   "effectFloor", "minSamples", "noData",
      "confLevel",      "tolerance", "nanStrategy", "outliers",    "anomaly"};
  if (!is_defaults) keys.insert({"name", "query", "groups"});
  OnlyKeys(n, p, keys);
  using judge::Direction;
  if (n["name"]) m->name = Str(n["name"], p + ".name");
  if (n["query"]) m->query = Str(n["query"], p + ".query");
  if (n["groups"]) {
    if (!n["groups"].IsSequence()) Fail(p + ".groups", "must be a list of group names");
    m->groups.clear();
    for (size_t i = 0; i < n["groups"].size(); ++i)
      m->groups.push_back(Str(n["groups"][i], p + ".groups[" + std::to_string(i) + "]"));
  }
  if (n["direction"])
    m->direction = Enum<Direction>(n["direction"], p + ".direction",
                                   {{"increase", Direction::kIncrease},
                                    {"decrease", Direction::kDecrease},
                                    {"either", Direction::kEither}});
  if (n["kind"])
    m->kind = Enum<judge::MetricKind>(
        n["kind"], p + ".kind",
        {{"continuous", judge::MetricKind::kContinuous}, {"count", judge::MetricKind::kCount}});
  if (n["exposure"]) m->exposure_metric = Str(n["exposure"], p + ".exposure");
  if (n["critical"]) m->critical = Bool(n["critical"], p + ".critical");
  if (n["muted"]) m->muted = Bool(n["muted"], p + ".muted");
  if (n["mustHaveData"]) m->must_have_data = Bool(n["mustHaveData"], p + ".mustHaveData");
  if (n["thresholdRange"]) {
    OnlyKeys(n["thresholdRange"], p + ".thresholdRange", {"min", "max"});
    if (n["thresholdRange"]["min"])
      m->threshold_min = Number(n["thresholdRange"]["min"], p + ".thresholdRange.min");
    if (n["thresholdRange"]["max"])
      m->threshold_max = Number(n["thresholdRange"]["max"], p + ".thresholdRange.max");
  }
  if (n["criteria"]) {
    if (!n["criteria"].IsSequence())
      Fail(p + ".criteria", "must be a list like [\"<=+10%\", \"<600\"]");
    for (size_t i = 0; i < n["criteria"].size(); ++i) {
      const std::string cp = p + ".criteria[" + std::to_string(i) + "]";
      auto c = ParseCriterion(Str(n["criteria"][i], cp));
      if (!c) Fail(cp, c.error().message);
      m->criteria.push_back(*c);
    }
  }
  if (n["aggregate"]) {
    const std::string a = Str(n["aggregate"], p + ".aggregate");
    static const std::set<std::string> kAggs = {"mean", "median", "p50", "p90",
                                                "p99",  "sum",    "max"};
    if (!kAggs.count(a))
      Fail(p + ".aggregate", "'" + a + "' is not one of mean, median, p90, p99, sum, max");
    m->aggregate = a;
  }
  if (n["effectFloor"]) {
    OnlyKeys(n["effectFloor"], p + ".effectFloor", {"absolute", "relative"});
    if (n["effectFloor"]["absolute"])
      m->abs_floor = Number(n["effectFloor"]["absolute"], p + ".effectFloor.absolute");
    if (n["effectFloor"]["relative"])
      m->rel_floor = Number(n["effectFloor"]["relative"], p + ".effectFloor.relative");
  }
  if (n["minSamples"]) {
    const double v = Number(n["minSamples"], p + ".minSamples");
    if (v < 0 || v != std::floor(v)) Fail(p + ".minSamples", "must be a whole number >= 0");
    m->min_samples = static_cast<size_t>(v);
  }
  if (n["noData"])
    m->no_data = Enum<judge::NoDataPolicy>(n["noData"], p + ".noData",
                                           {{"fail", judge::NoDataPolicy::kFail},
                                            {"inconclusive", judge::NoDataPolicy::kInconclusive},
                                            {"pass", judge::NoDataPolicy::kPass}});
  if (n["anomaly"]) m->anomaly_criterion = Bool(n["anomaly"], p + ".anomaly");
  if (n["confLevel"]) m->conf_level = Number(n["confLevel"], p + ".confLevel");
  if (n["tolerance"]) m->tolerance = Number(n["tolerance"], p + ".tolerance");
  if (n["nanStrategy"])
    m->nan_strategy = Enum<judge::NanStrategy>(
        n["nanStrategy"], p + ".nanStrategy",
        {{"remove", judge::NanStrategy::kRemove}, {"replace", judge::NanStrategy::kReplace}});
  if (n["outliers"]) {
    OnlyKeys(n["outliers"], p + ".outliers", {"remove", "factor"});
    if (n["outliers"]["remove"])
      m->remove_outliers = Bool(n["outliers"]["remove"], p + ".outliers.remove");
    if (n["outliers"]["factor"])
      m->outlier_factor = Number(n["outliers"]["factor"], p + ".outliers.factor");
  }
}

judge::Model Native(const YAML::Node& doc) {
  OnlyKeys(doc, "", {"apiVersion", "kind", "metadata", "spec"});
  if (Str(doc["apiVersion"], "apiVersion") != "augur.dev/v1")
    Fail("apiVersion", "must be augur.dev/v1");
  if (Str(doc["kind"], "kind") != "AnalysisModel") Fail("kind", "must be AnalysisModel");
  judge::Model model;
  if (doc["metadata"]) {
    OnlyKeys(doc["metadata"], "metadata", {"name", "description", "labels"});
    if (doc["metadata"]["name"]) model.name = Str(doc["metadata"]["name"], "metadata.name");
  }
  const YAML::Node spec = doc["spec"];
  if (!spec) Fail("spec", "is required");
  OnlyKeys(spec, "spec", {"mode", "thresholds", "groupWeights", "defaults", "metrics", "seed"});
  if (spec["mode"])
    model.mode = Enum<judge::Mode>(spec["mode"], "spec.mode",
                                   {{"augur", judge::Mode::kAugur},
                                    {"kayenta", judge::Mode::kKayenta},
                                    {"sequential", judge::Mode::kSequential}});
  if (spec["thresholds"]) {
    OnlyKeys(spec["thresholds"], "spec.thresholds", {"pass", "marginal"});
    if (spec["thresholds"]["pass"])
      model.thresholds.pass = Number(spec["thresholds"]["pass"], "spec.thresholds.pass");
    if (spec["thresholds"]["marginal"])
      model.thresholds.marginal =
          Number(spec["thresholds"]["marginal"], "spec.thresholds.marginal");
  }
  if (spec["groupWeights"]) {
    if (!spec["groupWeights"].IsMap()) Fail("spec.groupWeights", "must map group names to weights");
    for (const auto& kv : spec["groupWeights"]) {
      const std::string g = kv.first.as<std::string>();
      model.group_weights[g] = Number(kv.second, "spec.groupWeights." + g);
    }
  }
  judge::MetricConfig defaults;
  defaults.conf_level = 0.95;  // Augur's default level; Kayenta configs keep 0.98
  defaults.min_samples = 10;
  if (spec["defaults"]) MetricSettings(spec["defaults"], "spec.defaults", &defaults, true);
  if (!spec["metrics"] || !spec["metrics"].IsSequence() || spec["metrics"].size() == 0) {
    Fail("spec.metrics", "must be a non-empty list of metrics");
  }
  for (size_t i = 0; i < spec["metrics"].size(); ++i) {
    const std::string mp = "spec.metrics[" + std::to_string(i) + "]";
    judge::MetricConfig m = defaults;
    m.criteria.clear();
    MetricSettings(spec["metrics"][i], mp, &m, false);
    if (m.name.empty()) Fail(mp + ".name", "is required");
    if (m.query.empty()) Fail(mp + ".query", "is required: every metric needs a query");
    if (m.groups.empty()) m.groups.push_back(m.name);
    if (m.kind == judge::MetricKind::kCount && m.exposure_metric.empty()) {
      Fail(mp + ".exposure", "a count metric needs the name of the metric holding its requests");
    }
    model.metrics.push_back(std::move(m));
  }
  if (auto st = judge::ValidateModel(model); !st) throw ParseError{"spec." + st.error().message};
  return model;
}

}  // namespace

Result<judge::Criterion> ParseCriterion(std::string_view text) {
  judge::Criterion c;
  c.text = std::string(text);
  std::string s;
  for (char ch : text)
    if (ch != ' ') s += ch;
  size_t pos = 0;
  if (s.rfind("<=", 0) == 0)
    c.op = judge::Criterion::Op::kLessEqual, pos = 2;
  else if (s.rfind(">=", 0) == 0)
    c.op = judge::Criterion::Op::kGreaterEqual, pos = 2;
  else if (s.rfind("<", 0) == 0)
    c.op = judge::Criterion::Op::kLess, pos = 1;
  else if (s.rfind(">", 0) == 0)
    c.op = judge::Criterion::Op::kGreater, pos = 1;
  else
    return InvalidArgument("cannot parse '" + c.text + "': start with <, <=, > or >=");
  std::string rest = s.substr(pos);
  if (!rest.empty() && rest.back() == '%') {
    c.relative = true;
    rest.pop_back();
    if (rest.empty() || (rest[0] != '+' && rest[0] != '-')) {
      return InvalidArgument("cannot parse '" + c.text +
                             "': a relative criterion needs a sign, e.g. <=+10%");
    }
  }
  std::istringstream in(rest);
  if (!(in >> c.value) || !in.eof() || !std::isfinite(c.value)) {
    return InvalidArgument("cannot parse '" + c.text + "': expected a number after the operator");
  }
  return c;
}

Result<judge::Model> ParseModel(std::string_view text, const std::string& origin) {
  try {
    // A Kayenta canary config is JSON with a top-level "metrics" array and no apiVersion.
    const YAML::Node doc = YAML::Load(std::string(text));
    if (doc.IsMap() && doc["metrics"] && !doc["apiVersion"]) {
      auto m = contracts::ParseKayentaCanaryConfig(text);
      if (!m) return m.error().WithContext(origin);
      return m;
    }
    return Native(doc);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(origin + ": not valid YAML/JSON at line " +
                           std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const ParseError& e) {
    return InvalidArgument(origin + ": " + e.message);
  }
}

Result<judge::Model> LoadModelFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot open model file '" + path + "'"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseModel(ss.str(), path);
}

Result<std::map<std::string, judge::Model>> LoadModelDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{ErrorCode::kNotFound, "models folder '" + dir + "' does not exist"};
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto ext = e.path().extension();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, judge::Model> out;
  for (const auto& f : files) {
    auto m = LoadModelFile(f.string());
    if (!m) return m.error();
    if (m->name.empty()) m->name = f.stem().string();
    const std::string name = m->name;
    if (!out.emplace(name, std::move(*m)).second) {
      return InvalidArgument(f.string() + ": a model named '" + name + "' is already loaded");
    }
  }
  return out;
}

}  // namespace augur::config
