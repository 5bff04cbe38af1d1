#include "augur/contracts/kayenta.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

namespace augur::contracts {
namespace {

using judge::Classification;
using nlohmann::json;

// Throwing inside the parser keeps the many checks short; every throw is caught at the
// public boundary below and turned into a Result.
struct ParseError {
  std::string message;
};

[[noreturn]] void Fail(const std::string& path, const std::string& what) {
  throw ParseError{path + ": " + what};
}

void OnlyKeys(const json& obj, const std::string& path, const std::set<std::string>& allowed) {
  if (!obj.is_object()) Fail(path, std::string("must be an object, got ") + obj.type_name());
  for (const auto& [k, v] : obj.items()) {
    if (!allowed.count(k)) Fail(path.empty() ? k : path + "." + k, "unknown key");
  }
}

double NonNumber(const json& v, const std::string& path) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s == "NaN") return NAN;
    if (s == "Infinity" || s == "+Inf" || s == "Inf") return INFINITY;
    if (s == "-Infinity" || s == "-Inf") return -INFINITY;
  }
  if (v.is_null()) return NAN;
  Fail(path, std::string("must be a number, got ") + v.type_name());
}

double Number(const json& v, const std::string& path) {
  if (v.is_number()) return v.get<double>();
  return NonNumber(v, path);
}

// The element of a series: the path is built only when the value is not a plain number
// (series hold thousands of values; a path string for each was a quarter of a judgement).
double Element(const json& v, const std::string& series_path, size_t index) {
  if (v.is_number()) return v.get<double>();
  return NonNumber(v, series_path + "[" + std::to_string(index) + "]");
}

// doc[key], an array of numbers ("NaN" allowed), into *out; `path` names it in errors.
void Series(const json& doc, const char* key, const std::string& path, std::vector<double>* out) {
  if (!doc.contains(key) || !doc[key].is_array()) Fail(path, "must be an array of numbers");
  const json& values = doc[key];
  out->reserve(values.size());
  size_t k = 0;
  for (const json& x : values) out->push_back(Element(x, path, k++));
}

bool Bool(const json& v, const std::string& path) {
  if (!v.is_boolean()) Fail(path, std::string("must be true or false, got ") + v.type_name());
  return v.get<bool>();
}

std::string String(const json& v, const std::string& path) {
  if (!v.is_string()) Fail(path, std::string("must be a string, got ") + v.type_name());
  return v.get<std::string>();
}

judge::ScoreThresholds Thresholds(const json& t, const std::string& path) {
  OnlyKeys(t, path, {"pass", "marginal"});
  judge::ScoreThresholds out;
  if (t.contains("pass")) out.pass = Number(t["pass"], path + ".pass");
  if (t.contains("marginal")) out.marginal = Number(t["marginal"], path + ".marginal");
  return out;
}

void ParseCanarySettings(const json& c, const std::string& path, judge::MetricConfig* m) {
  OnlyKeys(c, path,
           {"direction", "nanStrategy", "outliers", "critical", "mustHaveData", "muted",
            "effectSize", "tolerance", "confLevel"});
  if (c.contains("direction")) {
    const std::string d = String(c["direction"], path + ".direction");
    if (d == "increase")
      m->direction = judge::Direction::kIncrease;
    else if (d == "decrease")
      m->direction = judge::Direction::kDecrease;
    else if (d == "either")
      m->direction = judge::Direction::kEither;
    else
      Fail(path + ".direction", "'" + d + "' is not one of increase, decrease, either");
  }
  if (c.contains("nanStrategy")) {
    const std::string s = String(c["nanStrategy"], path + ".nanStrategy");
    if (s == "remove" || s == "none")
      m->nan_strategy = judge::NanStrategy::kRemove;
    else if (s == "replace")
      m->nan_strategy = judge::NanStrategy::kReplace;
    else
      Fail(path + ".nanStrategy", "'" + s + "' is not one of remove, replace");
  }
  if (c.contains("outliers")) {
    const json& o = c["outliers"];
    OnlyKeys(o, path + ".outliers", {"strategy", "outlierFactor"});
    if (o.contains("strategy")) {
      const std::string s = String(o["strategy"], path + ".outliers.strategy");
      if (s == "remove")
        m->remove_outliers = true;
      else if (s == "keep" || s == "none")
        m->remove_outliers = false;
      else
        Fail(path + ".outliers.strategy", "'" + s + "' is not one of remove, keep");
    }
    if (o.contains("outlierFactor"))
      m->outlier_factor = Number(o["outlierFactor"], path + ".outliers.outlierFactor");
  }
  if (c.contains("critical")) m->critical = Bool(c["critical"], path + ".critical");
  if (c.contains("mustHaveData"))
    m->must_have_data = Bool(c["mustHaveData"], path + ".mustHaveData");
  if (c.contains("muted")) m->muted = Bool(c["muted"], path + ".muted");
  if (c.contains("tolerance")) m->tolerance = Number(c["tolerance"], path + ".tolerance");
  if (c.contains("confLevel")) m->conf_level = Number(c["confLevel"], path + ".confLevel");
  if (c.contains("effectSize")) {
    const json& e = c["effectSize"];
    const std::string ep = path + ".effectSize";
    OnlyKeys(
        e, ep,
        {"measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease"});
    if (e.contains("measure")) {
      const std::string s = String(e["measure"], ep + ".measure");
      if (s == "meanRatio")
        m->effect.measure = judge::EffectMeasure::kMeanRatio;
      else if (s == "cles")
        m->effect.measure = judge::EffectMeasure::kCles;
      else
        Fail(ep + ".measure", "'" + s + "' is not one of meanRatio, cles");
    }
    // Kayenta's defaults depend on the measure: 1.0 for the mean ratio, 0.5 for CLES.
    const double d = m->effect.measure == judge::EffectMeasure::kCles ? 0.5 : 1.0;
    auto get = [&](const char* k) { return e.contains(k) ? Number(e[k], ep + "." + k) : d; };
    m->effect.allowed_increase = get("allowedIncrease");
    m->effect.allowed_decrease = get("allowedDecrease");
    m->effect.critical_increase = get("criticalIncrease");
    m->effect.critical_decrease = get("criticalDecrease");
  }
}

judge::Model CanaryConfig(const json& doc, const std::string& root) {
  const std::string p = root.empty() ? "" : root + ".";
  OnlyKeys(doc, root,
           {"createdTimestamp", "updatedTimestamp", "createdTimestampIso", "updatedTimestampIso",
            "name", "id", "description", "configVersion", "applications", "judge", "metrics",
            "templates", "classifier"});
  judge::Model model;
  model.mode = judge::Mode::kKayenta;
  if (doc.contains("name")) model.name = String(doc["name"], p + "name");
  if (!doc.contains("metrics") || !doc["metrics"].is_array())
    Fail(p + "metrics", "must be an array of metrics");
  size_t i = 0;
  for (const json& mj : doc["metrics"]) {
    const std::string mp = p + "metrics[" + std::to_string(i++) + "]";
    OnlyKeys(mj, mp, {"name", "query", "groups", "analysisConfigurations", "scopeName"});
    judge::MetricConfig m;
    if (!mj.contains("name")) Fail(mp + ".name", "is required");
    m.name = String(mj["name"], mp + ".name");
    if (!mj.contains("query") || !mj["query"].is_object())
      Fail(mp + ".query", "is required (an object)");
    if (mj["query"].contains("customInlineTemplate")) {
      m.query = String(mj["query"]["customInlineTemplate"], mp + ".query.customInlineTemplate");
    } else if (mj["query"].contains("metricName")) {
      m.query = String(mj["query"]["metricName"], mp + ".query.metricName");
    }
    if (mj.contains("groups")) {
      if (!mj["groups"].is_array()) Fail(mp + ".groups", "must be an array of strings");
      size_t g = 0;
      for (const json& gj : mj["groups"])
        m.groups.push_back(String(gj, mp + ".groups[" + std::to_string(g++) + "]"));
    }
    if (mj.contains("analysisConfigurations")) {
      const json& a = mj["analysisConfigurations"];
      OnlyKeys(a, mp + ".analysisConfigurations", {"canary"});
      if (a.contains("canary"))
        ParseCanarySettings(a["canary"], mp + ".analysisConfigurations.canary", &m);
    }
    model.metrics.push_back(std::move(m));
  }
  if (doc.contains("classifier")) {
    const json& c = doc["classifier"];
    OnlyKeys(c, p + "classifier", {"groupWeights", "scoreThresholds"});
    if (c.contains("groupWeights")) {
      if (!c["groupWeights"].is_object()) Fail(p + "classifier.groupWeights", "must be an object");
      for (const auto& [g, w] : c["groupWeights"].items())
        model.group_weights[g] = Number(w, p + "classifier.groupWeights." + g);
    }
    if (c.contains("scoreThresholds"))
      model.thresholds = Thresholds(c["scoreThresholds"], p + "classifier.scoreThresholds");
  }
  if (auto st = judge::ValidateModel(model); !st)
    throw ParseError{(root.empty() ? "" : root + ": ") + st.error().message};
  return model;
}

std::vector<judge::MetricPair> PairList(const json& doc, const std::string& root) {
  if (!doc.is_array()) Fail(root, "must be an array of metric set pairs");
  std::vector<judge::MetricPair> out;
  size_t i = 0;
  for (const json& pj : doc) {
    const std::string pp = root + "[" + std::to_string(i++) + "]";
    OnlyKeys(pj, pp,
             {"name", "id", "tags", "values", "attributes", "scopes", "startTimeMillis",
              "startTimeIso", "stepMillis"});
    judge::MetricPair pair;
    if (!pj.contains("name")) Fail(pp + ".name", "is required");
    pair.name = String(pj["name"], pp + ".name");
    if (pj.contains("tags") && !pj["tags"].is_null()) {
      if (!pj["tags"].is_object()) Fail(pp + ".tags", "must be an object");
      for (const auto& [k, v] : pj["tags"].items()) pair.tags[k] = String(v, pp + ".tags." + k);
    }
    if (!pj.contains("values")) Fail(pp + ".values", "is required");
    const json& v = pj["values"];
    OnlyKeys(v, pp + ".values", {"control", "experiment"});
    Series(v, "control", pp + ".values.control", &pair.control);
    Series(v, "experiment", pp + ".values.experiment", &pair.experiment);
    out.push_back(std::move(pair));
  }
  return out;
}

template <typename F>
auto Guard(std::string_view text, const char* what, F&& f) -> Result<decltype(f(json()))> {
  try {
    return f(json::parse(text));
  } catch (const json::parse_error& e) {
    return InvalidArgument(std::string(what) + " is not valid JSON: " + e.what());
  } catch (const ParseError& e) {
    return InvalidArgument(std::string(what) + ": " + e.message);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string(what) + ": " + e.what());
  }
}

// Guard for a document that is parsed already.
template <typename F>
auto GuardDoc(const json& doc, const char* what, F&& f) -> Result<decltype(f(json()))> {
  try {
    return f(doc);
  } catch (const ParseError& e) {
    return InvalidArgument(std::string(what) + ": " + e.message);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string(what) + ": " + e.what());
  }
}

json StatsJson(const judge::SideStats& s) {
  return {{"count", s.count}, {"mean", s.mean}, {"min", s.min}, {"max", s.max}, {"std", s.sd}};
}

json NumOrNull(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

}  // namespace

Result<judge::Model> ParseKayentaCanaryConfig(std::string_view text) {
  return Guard(text, "canary config", [](const json& doc) { return CanaryConfig(doc, ""); });
}

Result<std::vector<judge::MetricPair>> ParseMetricSetPairList(std::string_view text) {
  return Guard(text, "metricSetPairList",
               [](const json& doc) { return PairList(doc, "metricSetPairList"); });
}

namespace {

std::vector<judge::MetricPair> JudgeData(const json& doc) {
  if (doc.is_array()) return PairList(doc, "metricSetPairList");
  OnlyKeys(doc, "", {"metrics"});
  if (!doc.contains("metrics") || !doc["metrics"].is_array()) Fail("metrics", "must be an array");
  std::vector<judge::MetricPair> out;
  size_t i = 0;
  for (const json& mj : doc["metrics"]) {
    const std::string mp = "metrics[" + std::to_string(i++) + "]";
    OnlyKeys(mj, mp, {"name", "tags", "canary", "baseline"});
    judge::MetricPair pair;
    if (!mj.contains("name")) Fail(mp + ".name", "is required");
    pair.name = String(mj["name"], mp + ".name");
    if (mj.contains("tags")) {
      if (!mj["tags"].is_object()) Fail(mp + ".tags", "must be an object");
      for (const auto& [k, v] : mj["tags"].items()) pair.tags[k] = String(v, mp + ".tags." + k);
    }
    Series(mj, "canary", mp + ".canary", &pair.experiment);
    Series(mj, "baseline", mp + ".baseline", &pair.control);
    out.push_back(std::move(pair));
  }
  return out;
}

}  // namespace

Result<std::vector<judge::MetricPair>> ParseJudgeData(std::string_view text) {
  return Guard(text, "judge data", JudgeData);
}

Result<std::vector<judge::MetricPair>> JudgeDataFromJson(const json& doc) {
  return GuardDoc(doc, "judge data", JudgeData);
}

Result<RemoteJudgeRequest> ParseRemoteJudgeRequest(std::string_view text) {
  return Guard(text, "remote judge request", [](const json& doc) {
    OnlyKeys(doc, "", {"canaryConfig", "scoreThresholds", "metricSetPairList"});
    if (!doc.contains("canaryConfig")) Fail("canaryConfig", "is required");
    if (!doc.contains("metricSetPairList")) Fail("metricSetPairList", "is required");
    RemoteJudgeRequest r;
    r.model = CanaryConfig(doc["canaryConfig"], "canaryConfig");
    // The request's thresholds win over the config's, as in Kayenta (§1.1).
    if (doc.contains("scoreThresholds") && !doc["scoreThresholds"].is_null())
      r.model.thresholds = Thresholds(doc["scoreThresholds"], "scoreThresholds");
    r.pairs = PairList(doc["metricSetPairList"], "metricSetPairList");
    return r;
  });
}

std::string CanaryJudgeResultJson(const judge::Judgement& j) {
  json results = json::array();
  for (const auto& r : j.results) {
    json tags = json::object();
    for (const auto& [k, v] : r.tags) tags[k] = v;
    results.push_back({{"name", r.name},
                       {"id", r.name},
                       {"tags", tags},
                       {"classification", judge::ClassificationName(r.classification)},
                       {"classificationReason", r.reason.empty() ? json(nullptr) : json(r.reason)},
                       {"groups", r.groups},
                       {"experimentMetadata", {{"stats", StatsJson(r.experiment)}}},
                       {"controlMetadata", {{"stats", StatsJson(r.control)}}},
                       {"resultMetadata", {{"ratio", NumOrNull(r.deviation)}}},
                       {"critical", r.critical},
                       {"muted", r.muted}});
  }
  json groups = json::array();
  for (const auto& g : j.groups) {
    groups.push_back({{"name", g.name},
                      {"score", g.score},
                      {"classification", ""},
                      {"classificationReason", ""}});
  }
  json out = {{"judgeName", j.judge_name},
              {"results", results},
              {"groupScores", groups},
              {"score",
               {{"score", j.score},
                {"classification", judge::OutcomeName(j.outcome)},
                {"classificationReason", j.reason}}}};
  return out.dump();
}

std::string JudgementJson(const judge::Judgement& j) {
  auto side = [](const judge::SideStats& s) {
    return json{{"n", s.count}, {"mean", s.mean}, {"sd", s.sd},
                {"p50", s.p50}, {"p90", s.p90},   {"p99", s.p99}};
  };
  json metrics = json::array();
  for (const auto& r : j.results) {
    json tags = json::object();
    for (const auto& [k, v] : r.tags) tags[k] = v;
    metrics.push_back({{"name", r.name},
                       {"tags", tags},
                       {"groups", r.groups},
                       {"classification", judge::ClassificationName(r.classification)},
                       {"reason", r.reason},
                       {"critical", r.critical},
                       {"muted", r.muted},
                       {"criterion", r.criterion},
                       {"canary", side(r.experiment)},
                       {"baseline", side(r.control)},
                       {"estimate", NumOrNull(r.estimate)},
                       {"conf_int", {NumOrNull(r.ci_lower), NumOrNull(r.ci_upper)}},
                       {"p_value", NumOrNull(r.p_value)},
                       {"effect_size", NumOrNull(r.effect_size)},
                       {"mean_ratio", NumOrNull(r.deviation)},
                       {"bound", NumOrNull(r.bound)},
                       {"anomaly",
                        {{"max_score", NumOrNull(r.anomaly_score)},
                         {"alarms", r.anomaly_alarms},
                         {"reason", r.anomaly_reason}}}});
  }
  json groups = json::array();
  for (const auto& g : j.groups)
    groups.push_back(
        {{"name", g.name}, {"score", g.score}, {"no_data", g.no_data}, {"metrics", g.metrics}});
  const char* verdict = j.outcome == judge::Outcome::kPass       ? "pass"
                        : j.outcome == judge::Outcome::kFail     ? "fail"
                        : j.outcome == judge::Outcome::kMarginal ? "marginal"
                                                                 : "inconclusive";
  json out = {{"verdict", verdict},    {"score", j.score}, {"reason", j.reason},
              {"judge", j.judge_name}, {"groups", groups}, {"metrics", metrics}};
  return out.dump();
}

std::string SequentialStateJson(const judge::SequentialState& st) {
  auto arm = [](const stats::ArmSummary& a) {
    return json{{"n", a.n}, {"mean", a.mean}, {"m2", a.m2}};
  };
  json values = json::object(), counts = json::object();
  for (const auto& [key, v] : st.values) {
    values[key] = {{"canary", arm(v.canary)},
                   {"baseline", arm(v.baseline)},
                   {"checks", v.checks},
                   {"max_log_lambda", v.max_log_lambda},
                   {"conf_low", NumOrNull(v.conf_low)},
                   {"conf_high", NumOrNull(v.conf_high)}};
  }
  for (const auto& [key, c] : st.counts) {
    counts[key] = {{"canary_events", c.canary_events},
                   {"baseline_events", c.baseline_events},
                   {"canary_exposure", c.canary_exposure},
                   {"baseline_exposure", c.baseline_exposure},
                   {"prior_a", c.prior_a},
                   {"prior_b", c.prior_b},
                   {"checks", c.checks},
                   {"max_log_bf", c.max_log_bf}};
  }
  return json{
      {"kind", "augur-sequential-state"}, {"version", 1}, {"values", values}, {"counts", counts}}
      .dump();
}

Result<judge::SequentialState> ParseSequentialState(std::string_view text) {
  return Guard(text, "sequential state", [](const json& doc) {
    OnlyKeys(doc, "", {"kind", "version", "values", "counts"});
    if (doc.value("kind", "") != "augur-sequential-state")
      Fail("kind", "must be augur-sequential-state");
    judge::SequentialState st;
    auto u64 = [](const json& v, const std::string& p) {
      if (!v.is_number_unsigned()) Fail(p, "must be a whole number >= 0");
      return v.get<uint64_t>();
    };
    auto arm = [&](const json& a, const std::string& p) {
      OnlyKeys(a, p, {"n", "mean", "m2"});
      return stats::ArmSummary{u64(a.at("n"), p + ".n"), Number(a.at("mean"), p + ".mean"),
                               Number(a.at("m2"), p + ".m2")};
    };
    if (doc.contains("values")) {
      for (const auto& [key, v] : doc["values"].items()) {
        const std::string p = "values." + key;
        OnlyKeys(v, p, {"canary", "baseline", "checks", "max_log_lambda", "conf_low", "conf_high"});
        stats::MsprtState m;
        m.canary = arm(v.at("canary"), p + ".canary");
        m.baseline = arm(v.at("baseline"), p + ".baseline");
        m.checks = u64(v.at("checks"), p + ".checks");
        m.max_log_lambda = Number(v.at("max_log_lambda"), p + ".max_log_lambda");
        m.conf_low =
            v.at("conf_low").is_null() ? -INFINITY : Number(v.at("conf_low"), p + ".conf_low");
        m.conf_high =
            v.at("conf_high").is_null() ? INFINITY : Number(v.at("conf_high"), p + ".conf_high");
        st.values[key] = m;
      }
    }
    if (doc.contains("counts")) {
      for (const auto& [key, c] : doc["counts"].items()) {
        const std::string p = "counts." + key;
        OnlyKeys(c, p,
                 {"canary_events", "baseline_events", "canary_exposure", "baseline_exposure",
                  "prior_a", "prior_b", "checks", "max_log_bf"});
        stats::CountTestState t;
        t.canary_events = u64(c.at("canary_events"), p + ".canary_events");
        t.baseline_events = u64(c.at("baseline_events"), p + ".baseline_events");
        t.canary_exposure = Number(c.at("canary_exposure"), p + ".canary_exposure");
        t.baseline_exposure = Number(c.at("baseline_exposure"), p + ".baseline_exposure");
        t.prior_a = Number(c.at("prior_a"), p + ".prior_a");
        t.prior_b = Number(c.at("prior_b"), p + ".prior_b");
        t.checks = u64(c.at("checks"), p + ".checks");
        t.max_log_bf = Number(c.at("max_log_bf"), p + ".max_log_bf");
        st.counts[key] = t;
      }
    }
    return st;
  });
}

}  // namespace augur::contracts
