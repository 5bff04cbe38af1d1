// Query templates: the PromQL a metric source runs for each analysis-model query, per provider.
//
// A provider file (queries/<provider>.yaml) names each query the models use (success_rate,
// error_count, request_rate, latency_p50_seconds, ...) and gives one PromQL template for it.
// The same template serves both sides of a canary: the renderer renders it twice, once with the
// built-in variable `side` set to the value of `primary` and once with it set to the value of
// `canary` (RenderBothSides), so the two series differ only in the workload they select.
//
// Placeholders are `{{name}}` or `{{ name }}` (the second is Flagger's Go-template spelling, so
// Flagger MetricTemplate inline queries render unchanged), with one optional filter:
// `{{name | regex}}`. Values are never trusted:
//   * A placeholder must sit inside a double-quoted PromQL string (a label value). Its value is
//     escaped with EscapePromQLString, so it cannot close the string and inject PromQL.
//   * Inside the string of a regex matcher (`=~"..."`, `!~"..."`), or with `| regex`, the value
//     is first RE2-escaped, so `.` in a name matches only a dot and `|` cannot widen the match.
//     Values are always literals; write alternations in the template, not in a value.
//   * `{{interval}}` (and any `{{name | duration}}`) is the one placeholder allowed outside
//     quotes, e.g. in a range `[{{interval}}]`: its value must be a Prometheus duration (30s,
//     1m, 1h30m) and is inserted as is.
//   * Values holding NUL or other control characters (newline aside) or invalid UTF-8 are
//     rejected, because a label value can never legitimately contain them.
// Single-quoted and backquoted PromQL strings may not contain placeholders, because the escaping
// above is for double-quoted strings only.
//
// Thread-safety: free functions on values; safe from any thread.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::sources {

// The name the renderer sets to the primary's or the canary's workload value.
inline constexpr const char kSideVariable[] = "side";

// One variable a provider's templates use.
struct Variable {
  std::string name;
  bool required = false;     // rendering fails if the caller gives no value and there is no default
  bool has_default = false;  // `default` present (an empty default is a valid default)
  std::string default_value;  // used when the caller gives no value
  std::string description;
};

struct QueryTemplates {
  std::string provider;  // metadata.name, e.g. "haproxy"
  std::vector<Variable> variables;
  std::map<std::string, std::string> queries;  // query name -> PromQL template
  // Query name -> why its result is only an approximation of what the name promises (for
  // example HAProxy's latency "percentiles", which come from a rolling mean). Callers should show
  // this next to any verdict that relies on the query.
  std::map<std::string, std::string> approximations;
};

// Parses a provider file (apiVersion augur.dev/v1, kind QueryTemplates). Strict: unknown keys,
// wrong types, duplicate variables, placeholders naming undeclared variables, unknown filters and
// misplaced placeholders are kInvalidArgument errors that start with `origin` and name the path,
// e.g. "haproxy.yaml: spec.queries.success_rate: must be a string".
Result<QueryTemplates> ParseQueryTemplates(std::string_view yaml, const std::string& origin);

// Reads and parses one file; the error names the file.
Result<QueryTemplates> LoadQueryTemplates(const std::string& path);

// Renders one template with `vars` (see the file comment for the escaping rules). Every
// placeholder must have a value; the error lists all missing names at once.
Result<std::string> RenderQuery(std::string_view tmpl,
                                const std::map<std::string, std::string>& vars);

// Renders `templates.queries[query]`: applies the declared defaults, rejects variables the file
// does not declare (a typo would otherwise be silently ignored) and names missing required ones.
// `side` may be given directly; it is always allowed.
Result<std::string> RenderNamedQuery(const QueryTemplates& templates, const std::string& query,
                                     const std::map<std::string, std::string>& vars);

struct SideQueries {
  std::string primary;  // rendered with side = vars["primary"] (or its default)
  std::string canary;   // rendered with side = vars["canary"] (or its default)
};

// Renders `query` for both sides. The file must declare `primary` and `canary`.
Result<SideQueries> RenderBothSides(const QueryTemplates& templates, const std::string& query,
                                    const std::map<std::string, std::string>& vars);

// Escapes `s` for the inside of a PromQL double-quoted string: backslash, double quote and
// newline get backslash escapes; other control characters become \xHH so the result is always
// a well-formed string body (RenderQuery rejects them before they get here).
std::string EscapePromQLString(std::string_view s);

// Escapes the RE2 metacharacters \.+*?()|[]{}^$ with a backslash (like Go's regexp.QuoteMeta),
// so `s` matches only itself. The result still needs EscapePromQLString inside a PromQL string.
std::string EscapeRegex(std::string_view s);

// Validates a Prometheus duration: one or more <digits><unit> with units y w d h m s ms, each at
// most once and from largest to smallest, total greater than zero (a zero range is an error).
Status ValidatePromDuration(std::string_view s);

// Kayenta's Prometheus query config (PrometheusCanaryMetricSetQueryConfig, type "prometheus").
struct KayentaQueryConfig {
  std::string metric_name;  // required unless custom_inline_template starts with "PromQL:"
  // Each "label<op>value" with op one of = != =~ !~; the value may be quoted with ' or ".
  std::vector<std::string> label_bindings;
  std::vector<std::string> group_by_fields;
  // Either "PromQL:<query>" (the query after the prefix is used as is) or a filter: comma-
  // separated "label<op>'value'" tokens, e.g. "namespace='${namespace}', scope='${scope}'".
  // The caller puts here whichever filter the config gives: customInlineTemplate, else the
  // template customFilterTemplate names, else the deprecated customFilter.
  std::string custom_inline_template;
  // Used only without a filter: "gce_instance" or "aws_ec2_instance" select the scope by
  // Kayenta's fixed label matchers; anything else is an error then.
  std::string resource_type;
};

// Builds the query Kayenta's PrometheusMetricsService would build:
// `avg(metricName{<filter tokens>,<labelBindings>}) by (groupByFields)` (no `by` without group-
// by fields), or the text after "PromQL:" verbatim. Without a filter the scope is selected by
// the resource type (gce_instance: instance=~"<scope>-.{4}", zone=~".+/projects/<project>/
// zones/<location>-.{1}"; aws_ec2_instance: asg_groupName="<scope>", zone=~"<location>.{1}");
// with neither it is an error, because the query would then read the same series for the
// control and the experiment scope, and the canary would pass on the baseline's data. `${name}` in
// the template and in the bindings takes its value from `scope` (scope, location, project, extended
// scope params ...) and, unlike in Kayenta, is escaped like a `{{name}}` value; an unknown
// `${name}` is an error. Filter and binding values are re-emitted as double-quoted strings.
Result<std::string> RenderKayentaQuery(const KayentaQueryConfig& config,
                                       const std::map<std::string, std::string>& scope);

// One metric of a Kayenta canary config with its Prometheus query, the filter resolved as
// Kayenta resolves it: customInlineTemplate, else the config's templates[customFilterTemplate],
// else the deprecated customFilter.
struct KayentaMetricQuery {
  std::string metric;      // the metric's name
  std::string scope_name;  // its scopeName ("default" when absent)
  KayentaQueryConfig query;
};

// The queries of every metric of a Kayenta canary config (JSON text), in order. Errors
// (kInvalidArgument) name the path: not JSON, a query that is not of type prometheus, a
// customFilterTemplate that names no template, fields of the wrong type.
Result<std::vector<KayentaMetricQuery>> KayentaConfigQueries(std::string_view config_json);

}  // namespace augur::sources
