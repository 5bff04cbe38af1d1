#include "augur/rollout/canary_spec.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "common/strict_yaml.h"

namespace augur::rollout {
namespace {

using common::strict_yaml::Bool;
using common::strict_yaml::Fail;
using common::strict_yaml::Number;
using common::strict_yaml::OnlyKeys;
using common::strict_yaml::ParseError;
using common::strict_yaml::Str;

std::string At(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

int Int(const YAML::Node& n, const std::string& path, int lo, int hi) {
  const double v = Number(n, path);
  if (v != std::floor(v)) Fail(path, "must be a whole number, got '" + n.Scalar() + "'");
  if (v < lo || v > hi) {
    Fail(path, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " +
                   n.Scalar());
  }
  return static_cast<int>(v);
}

int64_t Duration(const YAML::Node& n, const std::string& path) {
  auto ms = ParseGoDurationMs(Str(n, path));
  if (!ms) Fail(path, ms.error().message);
  return *ms;
}

YAML::Node Sequence(const YAML::Node& n, const std::string& path) {
  if (!n.IsSequence()) Fail(path, "must be a list");
  return n;
}

// Kubernetes string maps (labels, metadata, templateVariables): scalar values kept as text.
std::map<std::string, std::string> StringMap(const YAML::Node& n, const std::string& path) {
  if (!n.IsMap()) Fail(path, "must be a mapping of names to strings");
  std::map<std::string, std::string> out;
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    out[k] = Str(kv.second, path + "." + k);
  }
  return out;
}

// Provider blocks stay opaque: the provider's factory validates its own keys.
void Flatten(const YAML::Node& n, const std::string& key, const std::string& path,
             std::map<std::string, std::string>* out) {
  if (n.IsScalar()) {
    (*out)[key] = n.Scalar();
  } else if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.Scalar();
      Flatten(kv.second, key.empty() ? k : key + "." + k, path + "." + k, out);
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) Flatten(n[i], At(key, i), At(path, i), out);
  } else if (!n.IsNull()) {
    Fail(path, "unsupported value");
  }
}

ObjectRef Ref(const YAML::Node& n, const std::string& path, std::set<std::string> extra_keys = {},
              const std::set<std::string>& kinds = {}) {
  extra_keys.insert({"apiVersion", "kind", "name", "namespace"});
  OnlyKeys(n, path, extra_keys);
  ObjectRef r;
  if (n["apiVersion"]) r.api_version = Str(n["apiVersion"], path + ".apiVersion");
  if (n["kind"]) r.kind = Str(n["kind"], path + ".kind");
  if (n["namespace"]) r.namespace_ = Str(n["namespace"], path + ".namespace");
  if (!n["name"]) Fail(path + ".name", "is required");
  r.name = Str(n["name"], path + ".name");
  if (r.name.empty()) Fail(path + ".name", "must not be empty");
  if (!kinds.empty() && !r.kind.empty() && !kinds.count(r.kind)) {
    std::string names;
    for (const auto& k : kinds) names += (names.empty() ? "" : ", ") + k;
    Fail(path + ".kind", "'" + r.kind + "' is not one of " + names);
  }
  return r;
}

std::map<std::string, StringMatch> Matches(const YAML::Node& n, const std::string& path,
                                           const std::set<std::string>& ops) {
  if (!n.IsMap()) Fail(path, "must map names to a match like {exact: value}");
  std::map<std::string, StringMatch> out;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    const std::string p = path + "." + name;
    OnlyKeys(kv.second, p, ops);
    if (kv.second.size() != 1) Fail(p, "needs exactly one of its match operators");
    const auto op = *kv.second.begin();
    out[name] = StringMatch{op.first.Scalar(), Str(op.second, p + "." + op.first.Scalar())};
  }
  return out;
}

MatchRule Rule(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path, {"headers", "queryParams", "sourceLabels"});
  MatchRule r;
  if (n["headers"])
    r.headers = Matches(n["headers"], path + ".headers", {"exact", "prefix", "suffix", "regex"});
  if (n["queryParams"])
    r.query_params = Matches(n["queryParams"], path + ".queryParams", {"exact", "prefix", "regex"});
  if (n["sourceLabels"]) r.source_labels = StringMap(n["sourceLabels"], path + ".sourceLabels");
  return r;
}

MetricSpec Metric(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path,
           {"name", "interval", "threshold", "thresholdRange", "query", "templateRef",
            "templateVariables"});
  MetricSpec m;
  if (!n["name"]) Fail(path + ".name", "is required");
  m.name = Str(n["name"], path + ".name");
  if (n["interval"]) {
    m.interval = Str(n["interval"], path + ".interval");
    m.interval_ms = Duration(n["interval"], path + ".interval");
    if (m.interval_ms <= 0) Fail(path + ".interval", "must be positive");
  }
  if (n["query"]) m.query = Str(n["query"], path + ".query");
  if (n["templateRef"]) {
    const ObjectRef r = Ref(n["templateRef"], path + ".templateRef");
    m.template_name = r.name;
    m.template_namespace = r.namespace_;
  }
  if (n["templateVariables"])
    m.template_variables = StringMap(n["templateVariables"], path + ".templateVariables");
  if (!m.query.empty() && !m.template_name.empty())
    Fail(path, "set templateRef or query, not both");
  const bool known = m.name == "request-success-rate" || m.name == "request-duration";
  m.builtin = known && m.query.empty() && m.template_name.empty();
  // Flagger silently passed unknown names before #1581; a metric must say what it queries.
  if (!m.builtin && m.query.empty() && m.template_name.empty()) {
    Fail(path, "'" + m.name +
                   "' is not a built-in metric (request-success-rate, request-duration): it "
                   "needs templateRef or query");
  }
  if (n["thresholdRange"]) {
    const std::string rp = path + ".thresholdRange";
    OnlyKeys(n["thresholdRange"], rp, {"min", "max"});
    if (n["thresholdRange"]["min"]) m.min = Number(n["thresholdRange"]["min"], rp + ".min");
    if (n["thresholdRange"]["max"]) m.max = Number(n["thresholdRange"]["max"], rp + ".max");
    if (!m.min && !m.max) Fail(rp, "needs min, max or both");
    if (m.min && m.max && *m.min > *m.max) Fail(rp, "min is greater than max");
  } else if (n["threshold"]) {
    // The deprecated scalar reads as Flagger reads it: a floor for the success rate, a ceiling
    // for everything else (scheduler_metrics.go, flagger.md §1.4).
    const double t = Number(n["threshold"], path + ".threshold");
    if (m.builtin && m.name == "request-success-rate") {
      m.min = t;
    } else {
      m.max = t;
    }
  } else {
    Fail(path + ".thresholdRange", "is required: a metric without a range never fails");
  }
  return m;
}

HookType ParseHookType(const YAML::Node& n, const std::string& path) {
  const std::string s = Str(n, path);
  if (s.empty()) return HookType::kRollout;
  for (HookType t : {HookType::kConfirmRollout, HookType::kPreRollout, HookType::kRollout,
                     HookType::kConfirmTrafficIncrease, HookType::kConfirmPromotion,
                     HookType::kRollback, HookType::kPostRollout, HookType::kEvent}) {
    if (s == HookTypeName(t)) return t;
  }
  Fail(path, "'" + s +
                 "' is not one of confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, "
                 "confirm-promotion, rollback, post-rollout, event");
}

HookSpec Hook(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path,
           {"name", "type", "url", "timeout", "metadata", "retries", "muteAlert", "disableTLS"});
  HookSpec h;
  if (!n["name"]) Fail(path + ".name", "is required");
  h.name = Str(n["name"], path + ".name");
  if (n["type"]) h.type = ParseHookType(n["type"], path + ".type");
  if (!n["url"]) Fail(path + ".url", "is required");
  h.url = Str(n["url"], path + ".url");
  if (h.url.rfind("http://", 0) != 0 && h.url.rfind("https://", 0) != 0)
    Fail(path + ".url", "must be an http:// or https:// URL, got '" + h.url + "'");
  if (n["timeout"]) {
    h.timeout_ms = Duration(n["timeout"], path + ".timeout");
    if (h.timeout_ms <= 0) Fail(path + ".timeout", "must be positive");
  }
  if (n["retries"]) h.retries = Int(n["retries"], path + ".retries", 0, 100);
  if (n["muteAlert"]) h.mute_alert = Bool(n["muteAlert"], path + ".muteAlert");
  if (n["disableTLS"]) h.disable_tls = Bool(n["disableTLS"], path + ".disableTLS");
  if (n["metadata"]) h.metadata = StringMap(n["metadata"], path + ".metadata");
  return h;
}

AlertSpec Alert(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path, {"name", "severity", "providerRef"});
  AlertSpec a;
  if (!n["name"]) Fail(path + ".name", "is required");
  a.name = Str(n["name"], path + ".name");
  if (n["severity"]) {
    a.severity = Str(n["severity"], path + ".severity");
    if (a.severity != "" && a.severity != "info" && a.severity != "warn" && a.severity != "error")
      Fail(path + ".severity", "'" + a.severity + "' is not one of info, warn, error");
  }
  if (!n["providerRef"]) Fail(path + ".providerRef", "is required");
  a.provider_ref = Ref(n["providerRef"], path + ".providerRef");
  return a;
}

void SessionAffinity(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path,
           {"cookieName", "primaryCookieName", "maxAge", "domain", "httpOnly", "partitioned",
            "path", "sameSite", "secure"});
  if (!n["cookieName"]) Fail(path + ".cookieName", "is required");
  const std::string cookie = Str(n["cookieName"], path + ".cookieName");
  if (n["primaryCookieName"] &&
      Str(n["primaryCookieName"], path + ".primaryCookieName") == cookie) {
    Fail(path + ".primaryCookieName", "must differ from cookieName");
  }
  if (n["sameSite"]) {
    const std::string s = Str(n["sameSite"], path + ".sameSite");
    if (s != "Strict" && s != "Lax" && s != "None")
      Fail(path + ".sameSite", "'" + s + "' is not one of Strict, Lax, None");
  }
}

AnalysisSpec Analysis(const YAML::Node& n, const std::string& path,
                      std::vector<std::string>* warnings) {
  if (n.IsMap()) {
    for (const char* k : {"model", "provider", "router", "notifications"}) {
      if (n[k]) Fail(path + "." + k, "Augur's own settings go under spec.augur");
    }
  }
  OnlyKeys(
      n, path,
      {"interval", "threshold", "maxWeight", "stepWeight", "stepWeights", "stepWeightPromotion",
       "iterations", "match", "mirror", "mirrorWeight", "primaryReadyThreshold",
       "canaryReadyThreshold", "alerts", "metrics", "webhooks", "sessionAffinity"});
  AnalysisSpec a;
  if (!n["interval"]) Fail(path + ".interval", "is required (e.g. 1m)");
  a.interval = Str(n["interval"], path + ".interval");
  a.interval_ms = Duration(n["interval"], path + ".interval");
  if (a.interval_ms < 10000) {
    warnings->push_back(path + ".interval: " + a.interval +
                        " is below Flagger's minimum; raised to 10s");
    a.interval_ms = 10000;
  }
  if (!n["threshold"]) Fail(path + ".threshold", "is required (failed checks before rollback)");
  a.threshold = Int(n["threshold"], path + ".threshold", 1, 1000000);

  const bool has_step = static_cast<bool>(n["stepWeight"]);
  const bool has_steps = static_cast<bool>(n["stepWeights"]);
  const bool has_iter = static_cast<bool>(n["iterations"]);
  if (has_step && has_steps) Fail(path + ".stepWeights", "set stepWeight or stepWeights, not both");
  if (has_iter && (has_step || has_steps)) {
    Fail(path + ".iterations", "iterations (A/B testing, blue/green) cannot be combined with " +
                                   std::string(has_step ? "stepWeight" : "stepWeights") +
                                   " (canary weights)");
  }
  if (!has_iter && !has_step && !has_steps) {
    Fail(path,
         "needs one of iterations (A/B testing, blue/green), stepWeight or stepWeights (canary)");
  }
  if (has_step) a.step_weight = Int(n["stepWeight"], path + ".stepWeight", 1, 100);
  if (has_steps) {
    const YAML::Node s = Sequence(n["stepWeights"], path + ".stepWeights");
    if (s.size() == 0) Fail(path + ".stepWeights", "must not be empty");
    for (size_t i = 0; i < s.size(); ++i) {
      const int w = Int(s[i], At(path + ".stepWeights", i), 1, 100);
      if (!a.step_weights.empty() && w <= a.step_weights.back())
        Fail(At(path + ".stepWeights", i), "rungs must increase strictly");
      a.step_weights.push_back(w);
    }
  }
  if (has_iter) a.iterations = Int(n["iterations"], path + ".iterations", 1, 1000000);
  if (n["maxWeight"]) {
    a.max_weight = Int(n["maxWeight"], path + ".maxWeight", 1, 100);
    if (has_steps || has_iter) {
      warnings->push_back(
          path + ".maxWeight: ignored with " +
          std::string(has_steps ? "stepWeights (the last rung is the maximum)" : "iterations"));
    }
  }
  if (has_steps) a.max_weight = std::min(100, a.step_weights.back());
  if (n["stepWeightPromotion"])
    a.step_weight_promotion = Int(n["stepWeightPromotion"], path + ".stepWeightPromotion", 0, 100);
  if (n["mirror"]) a.mirror = Bool(n["mirror"], path + ".mirror");
  if (n["mirrorWeight"]) a.mirror_weight = Int(n["mirrorWeight"], path + ".mirrorWeight", 0, 100);
  for (const char* k : {"primaryReadyThreshold", "canaryReadyThreshold"}) {
    if (n[k]) Int(n[k], path + "." + k, 0, 100);
  }
  if (n["match"]) {
    const YAML::Node m = Sequence(n["match"], path + ".match");
    for (size_t i = 0; i < m.size(); ++i) a.match.push_back(Rule(m[i], At(path + ".match", i)));
  }
  if (n["metrics"]) {
    const YAML::Node m = Sequence(n["metrics"], path + ".metrics");
    std::set<std::string> names;
    for (size_t i = 0; i < m.size(); ++i) {
      a.metrics.push_back(Metric(m[i], At(path + ".metrics", i)));
      if (!names.insert(a.metrics.back().name).second)
        Fail(At(path + ".metrics", i) + ".name",
             "duplicate metric '" + a.metrics.back().name + "'");
    }
  }
  if (n["webhooks"]) {
    const YAML::Node w = Sequence(n["webhooks"], path + ".webhooks");
    std::set<std::string> names;
    for (size_t i = 0; i < w.size(); ++i) {
      a.webhooks.push_back(Hook(w[i], At(path + ".webhooks", i)));
      if (!names.insert(a.webhooks.back().name).second)
        Fail(At(path + ".webhooks", i) + ".name",
             "duplicate webhook '" + a.webhooks.back().name + "'");
    }
  }
  if (n["alerts"]) {
    const YAML::Node al = Sequence(n["alerts"], path + ".alerts");
    for (size_t i = 0; i < al.size(); ++i)
      a.alerts.push_back(Alert(al[i], At(path + ".alerts", i)));
  }
  if (n["sessionAffinity"]) SessionAffinity(n["sessionAffinity"], path + ".sessionAffinity");
  return a;
}

ProviderBlock Provider(const YAML::Node& n, const std::string& path,
                       std::set<std::string> extra_keys = {}) {
  if (!n.IsMap()) Fail(path, "must be a mapping like {kind: haproxy, haproxy: {...}}");
  if (!n["kind"]) Fail(path + ".kind", "is required");
  ProviderBlock b;
  b.kind = Str(n["kind"], path + ".kind");
  if (b.kind.empty()) Fail(path + ".kind", "must not be empty");
  extra_keys.insert({"kind", b.kind});
  OnlyKeys(n, path, extra_keys);
  if (n[b.kind]) {
    if (!n[b.kind].IsMap()) Fail(path + "." + b.kind, "must be a mapping");
    Flatten(n[b.kind], "", path + "." + b.kind, &b.config);
  }
  return b;
}

AugurSpec Augur(const YAML::Node& n, const std::string& path) {
  OnlyKeys(n, path, {"model", "provider", "vars", "router", "notifications"});
  AugurSpec a;
  if (n["model"]) a.model = Str(n["model"], path + ".model");
  if (const YAML::Node v = n["vars"]) {
    if (!v.IsMap()) Fail(path + ".vars", "must be a mapping of template variables");
    for (const auto& kv : v) {
      const std::string k = kv.first.Scalar();
      a.vars[k] = Str(kv.second, path + ".vars." + k);
    }
  }
  if (n["provider"]) a.provider = Str(n["provider"], path + ".provider");
  if (n["router"]) a.router = Provider(n["router"], path + ".router");
  if (n["notifications"]) {
    const YAML::Node l = Sequence(n["notifications"], path + ".notifications");
    for (size_t i = 0; i < l.size(); ++i) {
      const std::string p = At(path + ".notifications", i);
      ProviderBlock b = Provider(l[i], p, {"severity"});
      NotificationSpec s{b.kind, "info", std::move(b.config)};
      if (l[i]["severity"]) {
        s.severity = Str(l[i]["severity"], p + ".severity");
        if (s.severity != "info" && s.severity != "warn" && s.severity != "error")
          Fail(p + ".severity", "'" + s.severity + "' is not one of info, warn, error");
      }
      a.notifications.push_back(std::move(s));
    }
  }
  return a;
}

void Service(const YAML::Node& n, const std::string& path, CanarySpec* c) {
  // The generated-Service and mesh settings are Flagger's business; their keys are checked so a
  // typo is caught, their values are kept opaque.
  OnlyKeys(n, path, {"name",          "port",     "portName",       "appProtocol", "targetPort",
                     "portDiscovery", "timeout",  "backendTimeout", "meshName",    "backends",
                     "hosts",         "gateways", "gatewayRefs",    "delegation",  "match",
                     "rewrite",       "retries",  "headers",        "corsPolicy",  "trafficPolicy",
                     "mirror",        "apex",     "primary",        "canary"});
  if (n["name"]) c->service_name = Str(n["name"], path + ".name");
  if (n["port"]) c->service_port = Int(n["port"], path + ".port", 1, 65535);
}

std::string Fnv1a32(std::string_view text) {
  uint32_t h = 2166136261u;
  for (unsigned char ch : text) h = (h ^ ch) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

CanarySpec Document(const YAML::Node& doc) {
  OnlyKeys(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  if (!doc["apiVersion"]) Fail("apiVersion", "is required (flagger.app/v1beta1)");
  if (const std::string v = Str(doc["apiVersion"], "apiVersion"); v != "flagger.app/v1beta1")
    Fail("apiVersion", "must be flagger.app/v1beta1, got '" + v + "'");
  if (!doc["kind"]) Fail("kind", "is required (Canary)");
  if (const std::string k = Str(doc["kind"], "kind"); k != "Canary")
    Fail("kind", "must be Canary, got '" + k + "'");
  CanarySpec c;
  const YAML::Node md = doc["metadata"];
  if (!md) Fail("metadata.name", "is required");
  // Server-set fields are accepted so `kubectl get -o yaml` output loads.
  OnlyKeys(md, "metadata",
           {"name", "namespace", "labels", "annotations", "uid", "resourceVersion", "generation",
            "creationTimestamp", "managedFields", "finalizers", "ownerReferences", "generateName",
            "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"});
  if (!md["name"]) Fail("metadata.name", "is required");
  c.name = Str(md["name"], "metadata.name");
  if (c.name.empty()) Fail("metadata.name", "must not be empty");
  if (md["namespace"]) c.namespace_ = Str(md["namespace"], "metadata.namespace");
  if (md["labels"]) StringMap(md["labels"], "metadata.labels");
  if (md["annotations"]) StringMap(md["annotations"], "metadata.annotations");

  const YAML::Node spec = doc["spec"];
  if (!spec) Fail("spec", "is required");
  OnlyKeys(spec, "spec",
           {"provider", "metricsServer", "targetRef", "autoscalerRef", "ingressRef", "routeRef",
            "upstreamRef", "service", "analysis", "canaryAnalysis", "progressDeadlineSeconds",
            "skipAnalysis", "revertOnDeletion", "suspend", "augur"});
  if (!spec["targetRef"]) Fail("spec.targetRef", "is required");
  c.target_ref =
      Ref(spec["targetRef"], "spec.targetRef", {}, {"Deployment", "DaemonSet", "Service"});
  if (spec["autoscalerRef"])
    c.autoscaler_ref = Ref(spec["autoscalerRef"], "spec.autoscalerRef",
                           {"primaryScalerQueries", "primaryScalerReplicas"},
                           {"HorizontalPodAutoscaler", "ScaledObject"});
  if (spec["ingressRef"]) c.ingress_ref = Ref(spec["ingressRef"], "spec.ingressRef");
  if (spec["routeRef"]) c.route_ref = Ref(spec["routeRef"], "spec.routeRef");
  if (spec["upstreamRef"]) c.upstream_ref = Ref(spec["upstreamRef"], "spec.upstreamRef");
  if (spec["service"]) Service(spec["service"], "spec.service", &c);
  if (spec["provider"]) c.mesh_provider = Str(spec["provider"], "spec.provider");
  if (spec["metricsServer"]) c.metrics_server = Str(spec["metricsServer"], "spec.metricsServer");
  if (spec["progressDeadlineSeconds"]) {
    c.progress_deadline_ms = int64_t{1000} * Int(spec["progressDeadlineSeconds"],
                                                 "spec.progressDeadlineSeconds", 1, 100000000);
  }
  if (spec["skipAnalysis"]) c.skip_analysis = Bool(spec["skipAnalysis"], "spec.skipAnalysis");
  if (spec["suspend"]) c.suspend = Bool(spec["suspend"], "spec.suspend");
  if (spec["revertOnDeletion"])
    c.revert_on_deletion = Bool(spec["revertOnDeletion"], "spec.revertOnDeletion");

  // canaryAnalysis is Flagger's deprecated alias; analysis wins when both are set (GetAnalysis).
  if (spec["analysis"]) {
    if (spec["canaryAnalysis"])
      c.warnings.push_back("spec.canaryAnalysis: ignored because spec.analysis is set");
    c.analysis = Analysis(spec["analysis"], "spec.analysis", &c.warnings);
  } else if (spec["canaryAnalysis"]) {
    c.analysis = Analysis(spec["canaryAnalysis"], "spec.canaryAnalysis", &c.warnings);
  } else {
    Fail("spec.analysis", "is required (interval, threshold and a traffic plan)");
  }
  if (spec["augur"]) c.augur = Augur(spec["augur"], "spec.augur");

  if (c.analysis.iterations > 0) {
    c.strategy = c.analysis.match.empty() ? Strategy::kBlueGreen : Strategy::kABTesting;
  } else {
    c.strategy = Strategy::kCanary;
  }
  return c;
}

}  // namespace

const char* StrategyName(Strategy s) {
  switch (s) {
    case Strategy::kCanary:
      return "canary";
    case Strategy::kABTesting:
      return "ab-testing";
    case Strategy::kBlueGreen:
      return "blue-green";
  }
  return "canary";
}

const char* HookTypeName(HookType t) {
  switch (t) {
    case HookType::kConfirmRollout:
      return "confirm-rollout";
    case HookType::kPreRollout:
      return "pre-rollout";
    case HookType::kRollout:
      return "rollout";
    case HookType::kConfirmTrafficIncrease:
      return "confirm-traffic-increase";
    case HookType::kConfirmPromotion:
      return "confirm-promotion";
    case HookType::kRollback:
      return "rollback";
    case HookType::kPostRollout:
      return "post-rollout";
    case HookType::kEvent:
      return "event";
  }
  return "rollout";
}

Result<int64_t> ParseGoDurationMs(std::string_view text) {
  // Built by append: g++ 12 warns falsely (-Wrestrict) on "'" + std::string(text).
  std::string quoted(1, '\'');
  quoted.append(text).push_back('\'');
  if (text == "0") return int64_t{0};
  if (text.empty()) return InvalidArgument("empty duration; expected e.g. 30s or 1m");
  if (text[0] == '-') return InvalidArgument("negative duration " + quoted);
  if (text[0] == '+') text.remove_prefix(1);
  // Go's units; "µs" in either of its two Unicode spellings.
  static const std::pair<std::string_view, double> kUnits[] = {
      {"ns", 1e-6}, {"us", 1e-3}, {"\xC2\xB5s", 1e-3}, {"\xCE\xBCs", 1e-3},
      {"ms", 1.0},  {"s", 1e3},   {"m", 6e4},          {"h", 3.6e6}};
  double total = 0;
  size_t i = 0;
  if (text.empty()) return InvalidArgument("invalid duration " + quoted);
  while (i < text.size()) {
    double whole = 0, frac = 0, scale = 1;
    bool digits = false;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      whole = whole * 10 + (text[i++] - '0');
      digits = true;
    }
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
        scale /= 10;
        frac += (text[i++] - '0') * scale;
        digits = true;
      }
    }
    if (!digits) return InvalidArgument("invalid duration " + quoted + "; expected e.g. 1m30s");
    const size_t unit_start = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9') && text[i] != '.') ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      return InvalidArgument("missing unit in duration " + quoted + " (ns, us, ms, s, m or h)");
    }
    double factor = 0;
    for (const auto& [name, f] : kUnits)
      if (unit == name) factor = f;
    if (factor == 0) {
      return InvalidArgument("unknown unit '" + std::string(unit) + "' in duration " + quoted +
                             " (ns, us, ms, s, m or h)");
    }
    total += (whole + frac) * factor;
  }
  if (!(total <= 9.2e15)) return InvalidArgument("duration " + quoted + " is too long");
  return static_cast<int64_t>(std::floor(total + 1e-9));
}

Result<CanarySpec> ParseCanary(std::string_view text, const std::string& origin) {
  try {
    std::vector<YAML::Node> docs;
    for (const YAML::Node& d : YAML::LoadAll(std::string(text))) {
      if (!d.IsNull()) docs.push_back(d);
    }
    if (docs.size() != 1) {
      return InvalidArgument(origin + ": expected exactly one Canary document, found " +
                             std::to_string(docs.size()));
    }
    CanarySpec c = Document(docs[0]);
    c.checksum = Fnv1a32(text);
    return c;
  } catch (const YAML::Exception& e) {
    return InvalidArgument(origin + ": not valid YAML/JSON at line " +
                           std::to_string(e.mark.line + 1) + ", column " +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  } catch (const ParseError& e) {
    return InvalidArgument(origin + ": " + e.message);
  }
}

Result<CanarySpec> LoadCanaryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::kNotFound, "cannot open canary file '" + path + "'"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseCanary(ss.str(), path);
}

}  // namespace augur::rollout
