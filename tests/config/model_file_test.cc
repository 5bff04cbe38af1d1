#include "augur/config/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace augur::config {
namespace {

TEST(ModelFile, BundledModelsLoad) {
  int n = 0;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(AUGUR_SOURCE_DIR) + "/models")) {
    const auto ext = e.path().extension();
    if (ext != ".yaml" && ext != ".json") continue;
    auto m = LoadModelFile(e.path().string());
    EXPECT_TRUE(m.has_value()) << e.path() << ": " << (m ? "" : m.error().message);
    ++n;
  }
  EXPECT_GE(n, 2);
}

const char* kHeader = "apiVersion: augur.dev/v1\nkind: AnalysisModel\nmetadata: {name: t}\nspec:\n";

TEST(ModelFile, MistakesNameTheirPath) {
  const std::pair<const char*, const char*> cases[] = {
      {"  metrics:\n    - {name: a, query: q, direction: up}\n",
       "spec.metrics[0].direction: 'up' is not one of"},
      {"  metrics:\n    - {name: a, query: q, confidence: 0.9}\n",
       "spec.metrics[0].confidence: unknown key"},
      {"  metrics:\n    - {name: a}\n", "spec.metrics[0].query: is required"},
      {"  metrics:\n    - {name: a, query: q, minSamples: many}\n",
       "spec.metrics[0].minSamples: must be a number"},
      {"  metrics:\n    - {name: a, query: q, criteria: ['<=10%']}\n",
       "spec.metrics[0].criteria[0]"},
      {"  groupWeights: {a: 80, b: 40}\n  metrics:\n    - {name: a, query: q}\n",
       "weights sum to 120"},
      {"  metrics:\n    - {name: e, query: q, kind: count}\n", "spec.metrics[0].exposure"},
      {"  metrics: [\n", "not valid YAML/JSON at line"},
  };
  for (auto [body, expected] : cases) {
    auto m = ParseModel(std::string(kHeader) + body, "t.yaml");
    ASSERT_FALSE(m.has_value()) << body;
    EXPECT_NE(m.error().message.find(expected), std::string::npos) << m.error().message;
    EXPECT_EQ(m.error().message.rfind("t.yaml: ", 0), 0u) << m.error().message;
  }
}

TEST(ModelFile, KayentaConfigIsDetected) {
  auto m = ParseModel(
      R"({"name":"k","metrics":[{"name":"cpu","query":{"type":"prometheus","metricName":"cpu"},
    "groups":["system"],"analysisConfigurations":{"canary":{"direction":"sideways"}}}]})",
      "k.json");
  ASSERT_FALSE(m.has_value());
  EXPECT_NE(m.error().message.find("metrics[0].analysisConfigurations.canary.direction"),
            std::string::npos)
      << m.error().message;
}

TEST(ModelFile, Criteria) {
  auto c = ParseCriterion("<=+10%");
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->relative);
  EXPECT_EQ(c->value, 10);
  EXPECT_EQ(c->op, judge::Criterion::Op::kLessEqual);
  c = ParseCriterion("<600");
  ASSERT_TRUE(c.has_value());
  EXPECT_FALSE(c->relative);
  EXPECT_FALSE(ParseCriterion("=5").has_value());
}

}  // namespace
}  // namespace augur::config
