// A Flagger `Canary` resource (flagger.app/v1beta1) as the rollout state machine runs it.
//
// The parser is strict: an unknown key is an error naming its path ("spec.analysis.stepWieght:
// unknown key (allowed: ...)"), but every field Flagger's CRD knows is accepted even where
// Augur ignores it (service, autoscalerRef, alerts, sessionAffinity, ...), so a Canary written
// for Flagger loads unchanged. `status` and server-set metadata (uid, resourceVersion, ...) are
// accepted and ignored, so `kubectl get canary -o yaml` output loads too.
//
// Augur's own settings live in one `spec.augur` block (model, provider, router, notifications)
// rather than among Flagger's keys: `spec.provider` already means the mesh provider in Flagger,
// and a separate block keeps a Canary diffable against its Flagger original.
//
// Semantics follow Flagger (shared/reference/flagger.md §1), with these documented choices:
//  - the analysis must be present and name exactly one of iterations, stepWeight, stepWeights
//    (the CRD's oneOf); interval and threshold are required, as in the CRD;
//  - an interval below 10s is raised to 10s, as Flagger does (with a warning);
//  - maxWeight is ignored when stepWeights is set (the last rung is the maximum; warning);
//  - every metric needs a range (thresholdRange, or the deprecated threshold converted as
//    Flagger reads it) and a non-built-in metric needs templateRef or query; a metric interval
//    defaults to 1m for every kind (Flagger leaves templateRef metrics without one).
//
// Thread-safety: plain value types; parsing is a pure function.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::rollout {

// How traffic reaches the canary, derived as Flagger does (canary.go): iterations with match is
// A/B testing, iterations alone is blue/green, otherwise weights (stepWeight/stepWeights).
enum class Strategy { kCanary, kABTesting, kBlueGreen };
const char* StrategyName(Strategy s);  // "canary", "ab-testing", "blue-green" (Flagger's labels)

// Webhook types by their Flagger spelling; `type: ""` means kRollout.
enum class HookType {
  kConfirmRollout,
  kPreRollout,
  kRollout,
  kConfirmTrafficIncrease,
  kConfirmPromotion,
  kRollback,
  kPostRollout,
  kEvent,
};
const char* HookTypeName(HookType t);  // "confirm-rollout", ..., "event"

struct ObjectRef {
  std::string api_version, kind, name, namespace_;  // empty when not given
};

// One Istio-style string match (`exact`, `prefix`, `suffix` or `regex`).
struct StringMatch {
  std::string op;  // "exact" | "prefix" | "suffix" | "regex"
  std::string value;
};

// One A/B match rule (Istio HTTPMatchRequest subset Flagger's CRD allows), kept as data for the
// router. Cookies are matched through the `cookie` header, as in Flagger's examples.
struct MatchRule {
  std::map<std::string, StringMatch> headers;
  std::map<std::string, StringMatch> query_params;
  std::map<std::string, std::string> source_labels;
};

struct MetricSpec {
  std::string name;
  std::optional<double> min, max;  // the accepted range, inclusive (thresholdRange)
  std::string interval = "1m";     // query window as written; rendered into {{ interval }}
  int64_t interval_ms = 60000;
  std::string template_name, template_namespace;  // templateRef (namespace may be empty)
  std::string query;                              // inline PromQL (deprecated in Flagger)
  std::map<std::string, std::string> template_variables;
  bool builtin = false;  // request-success-rate or request-duration without templateRef/query
};

struct HookSpec {
  std::string name;
  HookType type = HookType::kRollout;
  std::string url;
  int64_t timeout_ms = 10000;
  int retries = 0;
  bool mute_alert = false;
  bool disable_tls = false;
  std::map<std::string, std::string> metadata;
};

struct AlertSpec {
  std::string name;
  std::string severity;  // "info" | "warn" | "error" | "" (Flagger: "" never fires)
  ObjectRef provider_ref;
};

struct AnalysisSpec {
  std::string interval = "1m";  // as written
  int64_t interval_ms = 60000;  // parsed, raised to at least 10 s
  int threshold = 1;            // rollback when failed checks >= threshold (cumulative)
  int max_weight = 100;         // effective: min(100, last stepWeights rung) with stepWeights
  int step_weight = 0;
  std::vector<int> step_weights;  // strictly increasing rungs in 1..100
  int step_weight_promotion = 0;  // 0 = all traffic back to primary in one step
  int iterations = 0;
  bool mirror = false;
  std::optional<int> mirror_weight;
  std::vector<MatchRule> match;
  std::vector<MetricSpec> metrics;
  std::vector<HookSpec> webhooks;
  std::vector<AlertSpec> alerts;
};

// A provider block: `{kind: haproxy, haproxy: {...}}`. Nested mappings are flattened to dotted
// keys and lists to `key[i]`, so the config stays an opaque string map for the provider's own
// factory to validate.
struct ProviderBlock {
  std::string kind;
  std::map<std::string, std::string> config;
};

struct NotificationSpec {
  std::string kind;
  std::string severity = "info";  // minimum severity sent; Augur's default, unlike Flagger's ""
  std::map<std::string, std::string> config;
};

// `spec.augur`: what the standalone rollout needs beyond Flagger's fields.
struct AugurSpec {
  std::string model;     // analysis model name; empty = metrics thresholds only
  std::string provider;  // query template set for the metric source (e.g. "haproxy")
  // Template variables for the queries (e.g. primary/canary server names); namespace and
  // target default to the spec's.
  std::map<std::string, std::string> vars;
  std::optional<ProviderBlock> router;
  std::vector<NotificationSpec> notifications;
};

struct CanarySpec {
  std::string name, namespace_ = "default";
  ObjectRef target_ref;                                            // name required
  ObjectRef autoscaler_ref, ingress_ref, route_ref, upstream_ref;  // kept, unused here
  std::string service_name;  // spec.service.name (Flagger default: target name)
  int service_port = 0;
  std::string mesh_provider;  // Flagger's spec.provider
  std::string metrics_server;
  int64_t progress_deadline_ms = 600000;  // progressDeadlineSeconds, default 600
  bool skip_analysis = false;
  bool suspend = false;
  bool revert_on_deletion = false;
  AnalysisSpec analysis;
  AugurSpec augur;
  Strategy strategy = Strategy::kCanary;
  std::string checksum;               // fnv-1a of the document text, 8 hex digits
  std::vector<std::string> warnings;  // "<path>: <what Augur does differently>"
};

// Parses one Canary document (YAML or JSON). `origin` (a file name) prefixes every error.
// Errors: kInvalidArgument with "<origin>: <path>: <what is wrong>".
Result<CanarySpec> ParseCanary(std::string_view text, const std::string& origin = "canary");

// Reads and parses a file. Errors: kNotFound when it cannot be read, else as ParseCanary.
Result<CanarySpec> LoadCanaryFile(const std::string& path);

// Go time.ParseDuration syntax ("1m", "30s", "1m30s", "1.5h", "500ms") in whole milliseconds
// (fractions below 1 ms truncate). Errors: kInvalidArgument naming the text.
Result<int64_t> ParseGoDurationMs(std::string_view text);

}  // namespace augur::rollout
