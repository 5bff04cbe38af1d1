#include "augur/sources/query_template.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace augur::sources {
namespace {

namespace fs = std::filesystem;

const std::string kQueriesDir = std::string(AUGUR_SOURCE_DIR) + "/queries";

// Every provider must ship; a missing file is a test failure, not a skipped loop iteration.
const std::vector<std::string> kProviders = {
    "haproxy", "nginx-ingress", "istio",       "envoy-contour",
    "linkerd", "traefik",       "gateway-api", "kubernetes-resources"};
const std::vector<std::string> kHttpProviders = {
    "haproxy", "nginx-ingress", "istio", "envoy-contour", "linkerd", "traefik", "gateway-api"};
// The queries models/http-golden-signals.yaml names.
const std::vector<std::string> kGoldenSignals = {"success_rate", "error_count", "request_rate",
                                                 "latency_p50_seconds", "latency_p99_seconds"};

std::map<std::string, std::string> StandardVars() {
  return {{"namespace", "shop-prod"},
          {"target", "web"},
          {"primary", "web-primary"},
          {"canary", "web-canary"},
          {"interval", "1m"}};
}

// Checks that brackets pair up and every string closes, skipping string contents with their
// escapes: what a PromQL lexer needs before it can parse anything.
::testing::AssertionResult Balanced(const std::string& q) {
  std::string stack;
  char quote = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    const char c = q[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      } else if (c == '\n') {
        return ::testing::AssertionFailure() << "raw newline inside a string in: " << q;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '(' || c == '{' || c == '[') {
      stack += c;
    } else if (c == ')' || c == '}' || c == ']') {
      const char open = c == ')' ? '(' : c == '}' ? '{' : '[';
      if (stack.empty() || stack.back() != open) {
        return ::testing::AssertionFailure() << "unbalanced '" << c << "' at " << i << " in: " << q;
      }
      stack.pop_back();
    }
  }
  if (quote) return ::testing::AssertionFailure() << "unterminated string in: " << q;
  if (!stack.empty())
    return ::testing::AssertionFailure() << "unclosed '" << stack << "' in: " << q;
  return ::testing::AssertionSuccess();
}

TEST(QueryTemplateFiles, EveryProviderFileExistsAndNoOthers) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(kQueriesDir)) {
    if (e.path().extension() == ".yaml") found.push_back(e.path().stem().string());
  }
  for (const auto& p : kProviders) {
    EXPECT_NE(std::find(found.begin(), found.end(), p), found.end()) << p;
  }
  EXPECT_EQ(found.size(), kProviders.size());
}

TEST(QueryTemplateFiles, EveryQueryRendersForBothSides) {
  for (const auto& e : fs::directory_iterator(kQueriesDir)) {
    if (e.path().extension() != ".yaml") continue;
    SCOPED_TRACE(e.path().string());
    auto t = LoadQueryTemplates(e.path().string());
    ASSERT_TRUE(t.has_value()) << t.error().message;
    EXPECT_EQ(t->provider, e.path().stem().string());
    ASSERT_FALSE(t->queries.empty());
    for (const auto& [name, tmpl] : t->queries) {
      SCOPED_TRACE(name);
      EXPECT_NE(tmpl.find("{{side"), std::string::npos)
          << "a query must select its side with {{side}}";
      auto r = RenderBothSides(*t, name, StandardVars());
      ASSERT_TRUE(r.has_value()) << r.error().message;
      for (const std::string* q : {&r->primary, &r->canary}) {
        EXPECT_TRUE(Balanced(*q));
        EXPECT_NE(q->find("shop-prod"), std::string::npos) << *q;
        EXPECT_EQ(q->find("{{"), std::string::npos) << *q;
        // Ranges take the interval variable, so the caller's step decides the window.
        if (q->find("rate(") != std::string::npos || q->find("_over_time(") != std::string::npos) {
          EXPECT_NE(q->find("[1m]"), std::string::npos) << *q;
        }
      }
      EXPECT_NE(r->primary, r->canary);
      EXPECT_NE(r->primary.find("web-primary"), std::string::npos) << r->primary;
      EXPECT_NE(r->canary.find("web-canary"), std::string::npos) << r->canary;
      EXPECT_EQ(r->canary.find("web-primary"), std::string::npos) << r->canary;
    }
  }
}

// Each side must come back as one series however many targets Prometheus scrapes (several
// ingress replicas, a namespace label on some series and not others): every query's outermost
// operation aggregates. A bare selector or *_over_time function returns one series per target,
// and the source then cannot pair primary with canary.
TEST(QueryTemplateFiles, EveryQueryAggregatesToOneSeriesPerSide) {
  const std::vector<std::string> aggregations = {"sum(", "avg(",   "max(",
                                                 "min(", "count(", "histogram_quantile("};
  for (const auto& provider : kProviders) {
    auto t = LoadQueryTemplates(kQueriesDir + "/" + provider + ".yaml");
    ASSERT_TRUE(t) << t.error().message;
    for (const auto& [name, query] : t->queries) {
      const size_t start = query.find_first_not_of(" \n");
      const std::string head = query.substr(start == std::string::npos ? 0 : start);
      const bool aggregated =
          std::any_of(aggregations.begin(), aggregations.end(),
                      [&](const std::string& a) { return head.rfind(a, 0) == 0; });
      EXPECT_TRUE(aggregated) << provider << ": " << name << " starts with: " << head.substr(0, 40);
      if (head.rfind("histogram_quantile(", 0) == 0) {
        EXPECT_NE(head.find("sum by (le)"), std::string::npos) << provider << ": " << name;
      }
    }
  }
}

TEST(QueryTemplateFiles, HttpProvidersOfferTheGoldenSignals) {
  for (const auto& p : kHttpProviders) {
    auto t = LoadQueryTemplates(kQueriesDir + "/" + p + ".yaml");
    ASSERT_TRUE(t.has_value()) << t.error().message;
    for (const auto& q : kGoldenSignals) EXPECT_TRUE(t->queries.count(q)) << p << " lacks " << q;
    EXPECT_TRUE(t->queries.count("latency_mean_seconds")) << p;
  }
  auto k = LoadQueryTemplates(kQueriesDir + "/kubernetes-resources.yaml");
  ASSERT_TRUE(k.has_value()) << k.error().message;
  EXPECT_TRUE(k->queries.count("cpu_usage_cores"));
  EXPECT_TRUE(k->queries.count("memory_working_set_bytes"));
}

TEST(QueryTemplateFiles, HaproxyMarksItsLatencyAsApproximate) {
  auto t = LoadQueryTemplates(kQueriesDir + "/haproxy.yaml");
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_TRUE(t->approximations.count("latency_p99_seconds"));
  EXPECT_TRUE(t->approximations.count("latency_p50_seconds"));
  // The lab setup works with the defaults alone: servers "primary"/"canary" in backend be_app.
  auto r = RenderBothSides(*t, "error_count", {{"namespace", "lab"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->canary,
            "sum(increase(haproxy_server_http_responses_total{namespace=~\"lab|\",proxy=\"be_app\","
            "server=\"canary\",code=\"5xx\"}[1m]))\n");
}

TEST(QueryTemplateRender, BothSpellingsOfPlaceholders) {
  auto r = RenderQuery("up{a=\"{{x}}\",b=\"{{ x }}\",c=\"{{  x|regex }}\"}[{{ interval }}]",
                       {{"x", "v.1"}, {"interval", "5m"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "up{a=\"v.1\",b=\"v.1\",c=\"v\\\\.1\"}[5m]");
}

TEST(QueryTemplateRender, InjectionStaysInsideTheString) {
  auto r = RenderQuery("sum(up{job=\"{{job}}\"})", {{"job", "a\"}) or vector(1) #"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "sum(up{job=\"a\\\"}) or vector(1) #\"})");
  EXPECT_TRUE(Balanced(*r));
}

TEST(QueryTemplateRender, BackslashesAndNewlinesAreEscaped) {
  auto r = RenderQuery("up{job=\"{{job}}\"}", {{"job", "a\\\"b\nc\\"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "up{job=\"a\\\\\\\"b\\nc\\\\\"}");
  EXPECT_TRUE(Balanced(*r));
}

TEST(QueryTemplateRender, RegexFilterEscapesMetacharactersThenTheString) {
  auto r = RenderQuery("up{pod=~\"{{p | regex}}-.+\"}", {{"p", "a.b|c*(d)[e]{f}^$+?\\\""}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  // RE2 escape: a\.b\|c\*\(d\)\[e\]\{f\}\^\$\+\?\\"  then every backslash and quote doubled up.
  EXPECT_EQ(*r,
            "up{pod=~\"a\\\\.b\\\\|c\\\\*\\\\(d\\\\)\\\\[e\\\\]\\\\{f\\\\}\\\\^\\\\$\\\\+\\\\?"
            "\\\\\\\\\\\"-.+\"}");
  EXPECT_TRUE(Balanced(*r));
}

TEST(QueryTemplateRender, RegexMatcherEscapesEvenWithoutTheFilter) {
  // Flagger's templates write {{ target }} inside =~ without any filter.
  auto r = RenderQuery("up{d=~\"{{ target }}\", e!~ \"{{target}}\", f=\"{{target}}\"}",
                       {{"target", "a.b"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "up{d=~\"a\\\\.b\", e!~ \"a\\\\.b\", f=\"a.b\"}");
}

TEST(QueryTemplateRender, FlaggerInlineTemplateRenders) {
  const std::string flagger =
      "sum(rate(istio_requests_total{destination_workload_namespace=\"{{ namespace }}\","
      "destination_workload=~\"{{ target }}\",response_code!~\"5.*\"}[{{ interval }}]))";
  auto r = RenderQuery(flagger, {{"namespace", "shop"}, {"target", "web"}, {"interval", "30s"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r,
            "sum(rate(istio_requests_total{destination_workload_namespace=\"shop\","
            "destination_workload=~\"web\",response_code!~\"5.*\"}[30s]))");
}

TEST(QueryTemplateRender, ControlCharactersAndBadUtf8AreRejected) {
  for (const std::string& bad : {std::string("a\0b", 3), std::string("a\tb"), std::string("a\rb"),
                                 std::string("\x7f"), std::string("\xff"), std::string("\xc3")}) {
    auto r = RenderQuery("up{a=\"{{v}}\"}", {{"v", bad}});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("'v'"), std::string::npos) << r.error().message;
  }
  EXPECT_TRUE(RenderQuery("up{a=\"{{v}}\"}", {{"v", "caf\xc3\xa9"}}).has_value());
}

TEST(QueryTemplateRender, MissingVariablesAreAllNamed) {
  auto r = RenderQuery("up{a=\"{{alpha}}\",b=\"{{beta}}\",c=\"{{gamma}}\"}", {{"beta", "x"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message, "missing variables: alpha, gamma");
}

TEST(QueryTemplateRender, BadDurationsNameTheVariable) {
  for (const char* bad :
       {"", "1", "5 m", "m", "1m5h", "1m1m", "0s", "1m]) or vector(1", "-1m", "1.5m", "1M"}) {
    auto r = RenderQuery("rate(x[{{interval}}])", {{"interval", bad}});
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("variable 'interval'"), std::string::npos)
        << r.error().message;
  }
  for (const char* good :
       {"30s", "1m", "5m", "1h30m", "2d", "1w", "1y", "500ms", "1h0m", "90s", "1m30s500ms"}) {
    auto r = RenderQuery("rate(x[{{interval}}])", {{"interval", good}});
    ASSERT_TRUE(r.has_value()) << good << ": " << r.error().message;
    EXPECT_EQ(*r, std::string("rate(x[") + good + "])");
  }
}

TEST(QueryTemplateRender, PlaceholdersMustBeQuotedUnlessDurations) {
  auto bare = RenderQuery("sum(up{a=\"x\"}) by ({{label}})", {{"label", "job"}});
  ASSERT_FALSE(bare.has_value());
  EXPECT_NE(bare.error().message.find("{{label}}"), std::string::npos) << bare.error().message;
  EXPECT_FALSE(RenderQuery("up{a='{{v}}'}", {{"v", "x"}}).has_value());
  EXPECT_FALSE(RenderQuery("up{a=`{{v}}`}", {{"v", "x"}}).has_value());
  EXPECT_FALSE(RenderQuery("up # {{v}}", {{"v", "x"}}).has_value());
  EXPECT_FALSE(RenderQuery("up{a=\"{{v | upper}}\"}", {{"v", "x"}}).has_value());
  EXPECT_FALSE(RenderQuery("up{a=\"{{v\"}", {{"v", "x"}}).has_value());
  EXPECT_FALSE(RenderQuery("up{a=\"{{ $route }}\"}", {{"v", "x"}}).has_value());
  // A duration filter allows other names in bare positions.
  auto step = RenderQuery("x[5m:{{step | duration}}]", {{"step", "15s"}});
  ASSERT_TRUE(step.has_value()) << step.error().message;
  EXPECT_EQ(*step, "x[5m:15s]");
}

TEST(QueryTemplateRender, EscapePromQLString) {
  EXPECT_EQ(EscapePromQLString("plain-name_1.2"), "plain-name_1.2");
  EXPECT_EQ(EscapePromQLString("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapePromQLString(std::string("\0\t", 2)), "\\x00\\x09");
  EXPECT_EQ(EscapeRegex("a.b-c"), "a\\.b-c");
}

TEST(QueryTemplateNamed, DefaultsUnknownAndRequiredVariables) {
  auto t = LoadQueryTemplates(kQueriesDir + "/istio.yaml");
  ASSERT_TRUE(t.has_value()) << t.error().message;
  auto unknown =
      RenderBothSides(*t, "request_rate",
                      {{"namespace", "a"}, {"primary", "p"}, {"canary", "c"}, {"namepsace", "a"}});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("unknown variables: namepsace"), std::string::npos)
      << unknown.error().message;

  auto missing = RenderNamedQuery(*t, "request_rate", {{"side", "web"}});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("missing required variables: namespace, primary, canary"),
            std::string::npos)
      << missing.error().message;

  auto no_sides = RenderBothSides(*t, "request_rate", {{"namespace", "a"}});
  ASSERT_FALSE(no_sides.has_value());
  EXPECT_NE(no_sides.error().message.find("primary"), std::string::npos)
      << no_sides.error().message;

  auto no_query = RenderNamedQuery(*t, "nope", StandardVars());
  ASSERT_FALSE(no_query.has_value());
  EXPECT_EQ(no_query.error().code, ErrorCode::kNotFound);

  auto bad_interval =
      RenderBothSides(*t, "request_rate",
                      {{"namespace", "a"}, {"primary", "p"}, {"canary", "c"}, {"interval", "1x"}});
  ASSERT_FALSE(bad_interval.has_value());
  EXPECT_NE(bad_interval.error().message.find("variable 'interval'"), std::string::npos)
      << bad_interval.error().message;

  auto ok =
      RenderBothSides(*t, "request_rate", {{"namespace", "a"}, {"primary", "p"}, {"canary", "c"}});
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(
      ok->primary,
      "sum(rate(istio_requests_total{reporter=\"destination\",destination_workload_namespace=\"a\","
      "destination_workload=\"p\"}[1m]))\n");
}

constexpr char kMinimal[] = R"(apiVersion: augur.dev/v1
kind: QueryTemplates
metadata: {name: demo}
spec:
  variables:
    - {name: namespace, required: true}
    - {name: interval, default: 1m}
  queries:
    success_rate: 'up{namespace="{{namespace}}",pod="{{side}}"}'
)";

TEST(QueryTemplateParse, MinimalFile) {
  auto t = ParseQueryTemplates(kMinimal, "demo.yaml");
  ASSERT_TRUE(t.has_value()) << t.error().message;
  EXPECT_EQ(t->provider, "demo");
  ASSERT_EQ(t->variables.size(), 2u);
  EXPECT_TRUE(t->variables[0].required);
  EXPECT_TRUE(t->variables[1].has_default);
  EXPECT_EQ(t->variables[1].default_value, "1m");
  EXPECT_EQ(t->queries.at("success_rate"), "up{namespace=\"{{namespace}}\",pod=\"{{side}}\"}");
}

void ExpectParseError(const std::string& from, const std::string& to, const std::string& message) {
  std::string doc = kMinimal;
  const size_t at = doc.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  doc.replace(at, from.size(), to);
  auto t = ParseQueryTemplates(doc, "demo.yaml");
  ASSERT_FALSE(t.has_value()) << doc;
  EXPECT_EQ(t.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(t.error().message.substr(0, message.size()), message) << t.error().message;
}

TEST(QueryTemplateParse, StrictErrorsNameFileAndPath) {
  ExpectParseError("    success_rate: 'up{namespace=\"{{namespace}}\",pod=\"{{side}}\"}'",
                   "    success_rate: [a, b]",
                   "demo.yaml: spec.queries.success_rate: must be a string");
  ExpectParseError("  queries:", "  extra: 1\n  queries:", "demo.yaml: spec.extra: unknown key");
  ExpectParseError("{name: interval, default: 1m}", "{name: interval, default: 1m, secret: 2}",
                   "demo.yaml: spec.variables[1].secret: unknown key");
  ExpectParseError("{name: interval, default: 1m}", "{name: interval, default: 1x}",
                   "demo.yaml: spec.variables[1].default: '1x' is not a Prometheus duration");
  ExpectParseError("{name: namespace, required: true}", "{name: namespace, required: maybe}",
                   "demo.yaml: spec.variables[0].required: must be true or false");
  ExpectParseError("{name: interval, default: 1m}", "{name: namespace}",
                   "demo.yaml: spec.variables[1].name: duplicate variable 'namespace'");
  ExpectParseError("{name: interval, default: 1m}", "{name: side}",
                   "demo.yaml: spec.variables[1].name: 'side' is set by the renderer");
  ExpectParseError("{{namespace}}", "{{nmspace}}",
                   "demo.yaml: spec.queries.success_rate: unknown variable 'nmspace'");
  ExpectParseError("pod=\"{{side}}\"", "pod={{side}}",
                   "demo.yaml: spec.queries.success_rate: placeholder '{{side}}' must be inside a "
                   "double-quoted string");
  ExpectParseError("kind: QueryTemplates", "kind: AnalysisModel",
                   "demo.yaml: kind: 'AnalysisModel' is not QueryTemplates");
  ExpectParseError("apiVersion: augur.dev/v1", "apiVersion: augur.dev/v2",
                   "demo.yaml: apiVersion:");
  ExpectParseError("metadata: {name: demo}", "metadata: {}", "demo.yaml: metadata.name: required");
  ExpectParseError("  queries:\n", "  approximations: {latency: x}\n  queries:\n",
                   "demo.yaml: spec.approximations.latency: no query named 'latency'");
  ExpectParseError("spec:", "spec: [", "demo.yaml: invalid YAML");
}

TEST(QueryTemplateParse, MissingFileIsNotFound) {
  auto t = LoadQueryTemplates(kQueriesDir + "/no-such-provider.yaml");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, ErrorCode::kNotFound);
  EXPECT_NE(t.error().message.find("no-such-provider.yaml"), std::string::npos);
}

TEST(QueryTemplateKayenta, MetricNameWithLabelBindingsAndFilter) {
  KayentaQueryConfig c;
  c.metric_name = "integration_test_cpu";
  c.custom_inline_template = "namespace='${namespace}', scope='${scope}'";
  c.label_bindings = {"instance=~'${scope}-.{4}'", "zone!=\"us\""};
  c.group_by_fields = {"pod", "zone"};
  auto r = RenderKayentaQuery(c, {{"namespace", "shop"}, {"scope", "web.v2\"x"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r,
            "avg(integration_test_cpu{namespace=\"shop\",scope=\"web.v2\\\"x\","
            "instance=~\"web\\\\.v2\\\"x-.{4}\",zone!=\"us\"}) by (pod, zone)");
  EXPECT_TRUE(Balanced(*r));
}

// A metric name alone would read the same series for both scopes, so the canary would be
// judged against itself and pass: rejected, as Kayenta rejects it (it needs a filter or one of
// two resource types). A label binding that selects the scope is enough.
TEST(QueryTemplateKayenta, MetricNameAloneIsRejected) {
  KayentaQueryConfig c;
  c.metric_name = "up";
  auto r = RenderKayentaQuery(c, {{"scope", "web"}});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("same series for the control and the experiment"),
            std::string::npos)
      << r.error().message;
  c.resource_type = "k8s_pod";
  EXPECT_FALSE(RenderKayentaQuery(c, {{"scope", "web"}}).has_value());
  c.resource_type.clear();
  c.label_bindings = {"app='${scope}'"};
  r = RenderKayentaQuery(c, {{"scope", "web"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "avg(up{app=\"web\"})");
}

// Kayenta's fixed scope matchers for its two resource types, values escaped.
TEST(QueryTemplateKayenta, ResourceTypesSelectTheScope) {
  KayentaQueryConfig c;
  c.metric_name = "cpu";
  c.resource_type = "aws_ec2_instance";
  auto r = RenderKayentaQuery(c, {{"scope", "web-v2"}, {"location", "us-east-1"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "avg(cpu{asg_groupName=\"web-v2\",zone=~\"us-east-1.{1}\"})");
  c.resource_type = "gce_instance";
  r = RenderKayentaQuery(c, {{"scope", "web.v2"}, {"location", "us-central1"}, {"project", "p"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r,
            "avg(cpu{instance=~\"web\\\\.v2-.{4}\","
            "zone=~\".+/projects/p/zones/us-central1-.{1}\"})");
  EXPECT_TRUE(Balanced(*r));
}

TEST(QueryTemplateKayenta, PromQLPrefixIsVerbatim) {
  KayentaQueryConfig c;
  c.custom_inline_template = "PromQL:sum(rate(http_requests_total{job=\"api\"}[5m])) by (code)";
  auto r = RenderKayentaQuery(c, {});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "sum(rate(http_requests_total{job=\"api\"}[5m])) by (code)");

  c.custom_inline_template = "PromQL:sum(up{app=\"${scope}\",pod=~\"${scope}-.*\"})";
  r = RenderKayentaQuery(c, {{"scope", "a.b\"}"}});
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, "sum(up{app=\"a.b\\\"}\",pod=~\"a\\\\.b\\\"\\\\}-.*\"})");
}

TEST(QueryTemplateKayenta, Errors) {
  KayentaQueryConfig c;
  auto no_metric = RenderKayentaQuery(c, {});
  ASSERT_FALSE(no_metric.has_value());
  EXPECT_NE(no_metric.error().message.find("metricName"), std::string::npos);

  c.metric_name = "up";
  c.custom_inline_template = "env='prod'";
  c.label_bindings = {"job='${job}'"};
  auto missing = RenderKayentaQuery(c, {});
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message.find("missing variable: job"), std::string::npos)
      << missing.error().message;

  c.label_bindings = {"job"};
  EXPECT_FALSE(RenderKayentaQuery(c, {}).has_value());
  c.label_bindings = {};
  c.group_by_fields = {"a b"};
  EXPECT_FALSE(RenderKayentaQuery(c, {}).has_value());
  c.metric_name = "up}) or vector(1";
  c.group_by_fields = {};
  EXPECT_FALSE(RenderKayentaQuery(c, {}).has_value());
  c.custom_inline_template = "PromQL:up{a=\"${nope}\"}";
  EXPECT_FALSE(RenderKayentaQuery(c, {}).has_value());
}

}  // namespace
}  // namespace augur::sources
