#include "augur/rollout/canary_spec.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace augur::rollout {
namespace {

std::string Data(const std::string& name) {
  return std::string(AUGUR_SOURCE_DIR) + "/tests/data/rollout/" + name;
}

TEST(CanarySpec, AllExamplesLoad) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(Data(""))) {
    if (e.path().extension() != ".yaml") continue;
    auto c = LoadCanaryFile(e.path().string());
    EXPECT_TRUE(c.has_value()) << e.path() << ": " << (c ? "" : c.error().message);
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(CanarySpec, IstioCanaryWithAugurBlock) {
  auto c = LoadCanaryFile(Data("podinfo-canary.yaml"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->name, "podinfo");
  EXPECT_EQ(c->namespace_, "test");
  EXPECT_EQ(c->target_ref.kind, "Deployment");
  EXPECT_EQ(c->target_ref.name, "podinfo");
  EXPECT_EQ(c->mesh_provider, "istio");
  EXPECT_EQ(c->progress_deadline_ms, 60000);
  EXPECT_EQ(c->service_port, 9898);
  EXPECT_EQ(c->autoscaler_ref.kind, "HorizontalPodAutoscaler");
  EXPECT_EQ(c->strategy, Strategy::kCanary);
  const AnalysisSpec& a = c->analysis;
  EXPECT_EQ(a.interval_ms, 60000);
  EXPECT_EQ(a.threshold, 5);
  EXPECT_EQ(a.max_weight, 50);
  EXPECT_EQ(a.step_weight, 10);
  EXPECT_EQ(a.step_weight_promotion, 25);
  ASSERT_EQ(a.metrics.size(), 2u);
  EXPECT_TRUE(a.metrics[0].builtin);
  EXPECT_EQ(a.metrics[0].min, 99.0);
  EXPECT_FALSE(a.metrics[0].max.has_value());
  EXPECT_EQ(a.metrics[1].max, 500.0);
  EXPECT_EQ(a.metrics[1].interval_ms, 30000);
  ASSERT_EQ(a.webhooks.size(), 4u);
  EXPECT_EQ(a.webhooks[0].type, HookType::kPreRollout);
  EXPECT_EQ(a.webhooks[0].timeout_ms, 30000);
  EXPECT_EQ(a.webhooks[0].metadata.at("type"), "bash");
  EXPECT_EQ(a.webhooks[1].type, HookType::kRollout);  // no type = rollout
  EXPECT_EQ(a.webhooks[1].timeout_ms, 5000);
  EXPECT_EQ(a.webhooks[2].type, HookType::kConfirmPromotion);
  EXPECT_EQ(a.webhooks[2].timeout_ms, 10000);  // Flagger's default
  EXPECT_EQ(a.webhooks[3].type, HookType::kRollback);
  EXPECT_EQ(c->augur.model, "http-golden-signals");
  EXPECT_EQ(c->augur.provider, "haproxy");
  ASSERT_TRUE(c->augur.router.has_value());
  EXPECT_EQ(c->augur.router->kind, "haproxy");
  EXPECT_EQ(c->augur.router->config.at("runtimeApi"), "127.0.0.1:9999");
  EXPECT_EQ(c->augur.router->config.at("servers.canary"), "podinfo-canary");
  ASSERT_EQ(c->augur.notifications.size(), 1u);
  EXPECT_EQ(c->augur.notifications[0].kind, "slack");
  EXPECT_EQ(c->augur.notifications[0].severity, "warn");
  EXPECT_EQ(c->augur.notifications[0].config.at("channel"), "deploys");
  EXPECT_EQ(c->checksum.size(), 8u);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(CanarySpec, ABTestingKeepsMatchRules) {
  auto c = LoadCanaryFile(Data("ab-testing.yaml"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->strategy, Strategy::kABTesting);
  EXPECT_EQ(c->analysis.iterations, 10);
  ASSERT_EQ(c->analysis.match.size(), 2u);
  EXPECT_EQ(c->analysis.match[0].headers.at("x-canary").op, "regex");
  EXPECT_EQ(c->analysis.match[0].headers.at("x-canary").value, ".*insider.*");
  EXPECT_EQ(c->analysis.match[1].headers.at("cookie").value, "^(.*?;)?(canary=always)(;.*)?$");
  // The deprecated scalar threshold is a ceiling for request-duration, as in Flagger.
  EXPECT_EQ(c->analysis.metrics[1].max, 500.0);
  EXPECT_FALSE(c->analysis.metrics[1].min.has_value());
}

TEST(CanarySpec, BlueGreenAndStepWeights) {
  auto bg = LoadCanaryFile(Data("blue-green.yaml"));
  ASSERT_TRUE(bg.has_value()) << bg.error().message;
  EXPECT_EQ(bg->strategy, Strategy::kBlueGreen);
  EXPECT_EQ(bg->analysis.interval_ms, 30000);
  EXPECT_EQ(bg->analysis.webhooks[3].retries, 2);
  EXPECT_TRUE(bg->analysis.webhooks[3].mute_alert);

  auto sw = LoadCanaryFile(Data("nginx-step-weights.yaml"));
  ASSERT_TRUE(sw.has_value()) << sw.error().message;
  EXPECT_EQ(sw->strategy, Strategy::kCanary);
  EXPECT_EQ(sw->analysis.step_weights, (std::vector<int>{5, 10, 15, 20, 25, 35, 45, 60, 75}));
  EXPECT_EQ(sw->analysis.max_weight, 75);  // the last rung, not 100
  EXPECT_EQ(sw->analysis.interval_ms, 10000);
  EXPECT_EQ(sw->ingress_ref.name, "podinfo");
  const MetricSpec& m = sw->analysis.metrics[0];
  EXPECT_FALSE(m.builtin);
  EXPECT_EQ(m.template_name, "not-found-percentage");
  EXPECT_EQ(m.template_namespace, "flagger");
  EXPECT_EQ(m.template_variables.at("status"), "404");
  EXPECT_EQ(sw->analysis.alerts[0].severity, "error");
}

TEST(CanarySpec, KubectlOutputAndDeprecatedAlias) {
  auto c = LoadCanaryFile(Data("kubectl-get.yaml"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_TRUE(c->skip_analysis);
  EXPECT_TRUE(c->revert_on_deletion);
  EXPECT_EQ(c->analysis.step_weight, 100);
  EXPECT_EQ(c->analysis.interval_ms, 10000);  // 5s raised to Flagger's 10s floor
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("spec.canaryAnalysis.interval"), std::string::npos);
}

TEST(CanarySpec, WarningsForQuirksAccepted) {
  auto c = ParseCanary(R"(apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: a}
spec:
  targetRef: {name: a}
  analysis: {interval: 1m, threshold: 1, stepWeights: [10, 40], maxWeight: 30}
)");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->namespace_, "default");
  EXPECT_EQ(c->analysis.max_weight, 40);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("spec.analysis.maxWeight: ignored"), std::string::npos);
}

const char* kHead =
    "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: p, namespace: t}\nspec:\n"
    "  targetRef: {apiVersion: apps/v1, kind: Deployment, name: p}\n";

TEST(CanarySpec, MistakesNameTheirPath) {
  const std::pair<std::string, const char*> cases[] = {
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10, stepWeights: [10, 20]}\n",
       "spec.analysis.stepWeights: set stepWeight or stepWeights, not both"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10, maxWeight: 150}\n",
       "spec.analysis.maxWeight: must be between 1 and 100, got 150"},
      {"  analysis: {interval: 1m, threshold: 0, stepWeight: 10}\n",
       "spec.analysis.threshold: must be between 1 and"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10, iterations: 5}\n",
       "spec.analysis.iterations: iterations (A/B testing, blue/green) cannot be combined with "
       "stepWeight"},
      {"  analysis: {interval: 1m, threshold: 1}\n", "spec.analysis: needs one of iterations"},
      {"  service: {port: 80}\n", "spec.analysis: is required"},
      {"  analysis: {interval: 1m, threshold: 1, stepWieght: 10}\n",
       "spec.analysis.stepWieght: unknown key"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10}\n  rollout: fast\n",
       "spec.rollout: unknown key"},
      {"  analysis: {threshold: 1, stepWeight: 10}\n", "spec.analysis.interval: is required"},
      {"  analysis: {interval: fast, threshold: 1, stepWeight: 10}\n",
       "spec.analysis.interval: invalid duration 'fast'"},
      {"  analysis: {interval: 1d, threshold: 1, stepWeight: 10}\n",
       "spec.analysis.interval: unknown unit 'd'"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeights: [10, 30, 20]}\n",
       "spec.analysis.stepWeights[2]: rungs must increase strictly"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10, model: golden}\n",
       "spec.analysis.model: Augur's own settings go under spec.augur"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    metrics:\n"
       "      - {name: error-rate, thresholdRange: {max: 1}}\n",
       "spec.analysis.metrics[0]: 'error-rate' is not a built-in metric"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    metrics:\n"
       "      - {name: request-success-rate, thresholdRange: {min: 99, max: 90}}\n",
       "spec.analysis.metrics[0].thresholdRange: min is greater than max"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    metrics:\n"
       "      - {name: request-success-rate}\n",
       "spec.analysis.metrics[0].thresholdRange: is required"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    webhooks:\n"
       "      - {name: w, type: pre, url: 'http://x/'}\n",
       "spec.analysis.webhooks[0].type: 'pre' is not one of"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    webhooks:\n"
       "      - {name: w, url: 'http://x/', timeout: 10}\n",
       "spec.analysis.webhooks[0].timeout: missing unit"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    webhooks:\n"
       "      - {name: w, url: 'http://x/'}\n      - {name: w, url: 'http://y/'}\n",
       "spec.analysis.webhooks[1].name: duplicate webhook 'w'"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    stepWeight: 10\n    webhooks:\n"
       "      - {name: w, url: 'x'}\n",
       "spec.analysis.webhooks[0].url: must be an http:// or https:// URL"},
      {"  analysis:\n    interval: 1m\n    threshold: 1\n    iterations: 2\n    match:\n"
       "      - headers: {x-canary: {exact: a, regex: b}}\n",
       "spec.analysis.match[0].headers.x-canary: needs exactly one"},
      {"  analysis: {interval: 1m, threshold: 1, iterations: 2, sessionAffinity: {cookieName: a, "
       "primaryCookieName: a}}\n",
       "spec.analysis.sessionAffinity.primaryCookieName: must differ"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10}\n  augur:\n"
       "    router: {kind: haproxy, nginx: {x: 1}}\n",
       "spec.augur.router.nginx: unknown key"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10}\n  augur:\n"
       "    notifications: [{kind: slack, severity: loud}]\n",
       "spec.augur.notifications[0].severity: 'loud' is not one of"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10}\n  progressDeadlineSeconds: -5\n",
       "spec.progressDeadlineSeconds: must be between 1"},
      {"  service: {port: 80, portt: 81}\n  analysis: {interval: 1m, threshold: 1, stepWeight: "
       "10}\n",
       "spec.service.portt: unknown key"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: ten}\n",
       "spec.analysis.stepWeight: must be a number, got 'ten'"},
      {"  analysis: {interval: 1m, threshold: 1.5, stepWeight: 10}\n",
       "spec.analysis.threshold: must be a whole number"},
      {"  analysis: [1, 2]\n", "spec.analysis: must be a mapping"},
      {"  analysis: {interval: 1m, threshold: 1, stepWeight: 10\n", "not valid YAML/JSON at line"},
  };
  for (const auto& [body, expected] : cases) {
    auto c = ParseCanary(std::string(kHead) + body, "c.yaml");
    ASSERT_FALSE(c.has_value()) << body;
    EXPECT_NE(c.error().message.find(expected), std::string::npos)
        << "got: " << c.error().message << "\nwanted: " << expected;
    EXPECT_EQ(c.error().message.rfind("c.yaml: ", 0), 0u) << c.error().message;
    EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(CanarySpec, DocumentLevelMistakes) {
  const std::string spec =
      "spec:\n  targetRef: {name: p}\n  analysis: {interval: 1m, threshold: 1, stepWeight: 5}\n";
  const std::pair<std::string, const char*> cases[] = {
      {"apiVersion: flagger.app/v1alpha3\nkind: Canary\nmetadata: {name: p}\n" + spec,
       "apiVersion: must be flagger.app/v1beta1, got 'flagger.app/v1alpha3'"},
      {"apiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata: {name: p}\n" + spec,
       "kind: must be Canary"},
      {"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {namespace: p}\n" + spec,
       "metadata.name: is required"},
      {"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: p, owner: me}\n" + spec,
       "metadata.owner: unknown key"},
      {"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: p}\nspec:\n"
       "  targetRef: {kind: StatefulSet, name: p}\n"
       "  analysis: {interval: 1m, threshold: 1, stepWeight: 5}\n",
       "spec.targetRef.kind: 'StatefulSet' is not one of DaemonSet, Deployment, Service"},
      {"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: p}\nspec:\n"
       "  analysis: {interval: 1m, threshold: 1, stepWeight: 5}\n",
       "spec.targetRef: is required"},
      {"apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: p}\n" + spec + "---\n" +
           "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: q}\n" + spec,
       "expected exactly one Canary document, found 2"},
      {"", "expected exactly one Canary document, found 0"},
      {"just a string", "document: must be a mapping"},
  };
  for (const auto& [text, expected] : cases) {
    auto c = ParseCanary(text, "c.yaml");
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_NE(c.error().message.find(expected), std::string::npos)
        << "got: " << c.error().message << "\nwanted: " << expected;
  }
  auto missing = LoadCanaryFile(Data("no-such-file.yaml"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(CanarySpec, ChecksumFollowsTheText) {
  const std::string base = std::string(kHead) + "  analysis: {interval: 1m, threshold: 1, ";
  auto a = ParseCanary(base + "stepWeight: 10}\n");
  auto b = ParseCanary(base + "stepWeight: 10}\n");
  auto c = ParseCanary(base + "stepWeight: 20}\n");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->checksum, b->checksum);
  EXPECT_NE(a->checksum, c->checksum);
}

TEST(GoDuration, ParsesLikeTimeParseDuration) {
  const std::pair<const char*, int64_t> good[] = {
      {"1m", 60000},  {"30s", 30000},  {"1m30s", 90000},    {"1.5h", 5400000},
      {"500ms", 500}, {"0", 0},        {"2h45m", 9900000},  {"1500us", 1},
      {"0.5s", 500},  {"+10s", 10000}, {"1h0m0s", 3600000}, {"90\xC2\xB5s", 0},
  };
  for (const auto& [text, ms] : good) {
    auto r = ParseGoDurationMs(text);
    ASSERT_TRUE(r.has_value()) << text << ": " << r.error().message;
    EXPECT_EQ(*r, ms) << text;
  }
  for (const char* bad : {"", "10", "1d", "-1s", "s", "1..5s", "1m 30s", "1e3s", ".s"}) {
    auto r = ParseGoDurationMs(bad);
    EXPECT_FALSE(r.has_value()) << "'" << bad << "' parsed as " << (r ? *r : 0);
  }
}

}  // namespace
}  // namespace augur::rollout
