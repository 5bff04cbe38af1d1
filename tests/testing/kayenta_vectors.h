// Builds the Kayenta canary config and metricSetPairList that drive one
// "mann_whitney_classifier" case of shared/reference/kayenta/judge_vectors.json through the
// public path (library or HTTP): one metric in group "g" weighted 100, with the case's
// classifier parameters in analysisConfigurations.canary.
#pragma once

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

namespace augur::testing {

inline std::string LowerCase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

inline nlohmann::json KayentaVectorConfig(const nlohmann::json& c) {
  const nlohmann::json& p = c.at("params");
  const std::string name = c.at("input").at("experiment_metric").at("name");
  nlohmann::json canary = {
      {"direction", LowerCase(p.at("direction"))},
      {"nanStrategy", LowerCase(p.at("nanStrategy"))},
      {"critical", p.at("isCriticalMetric")},
      {"mustHaveData", p.at("isDataRequired")},
      {"tolerance", p.at("tolerance")},
      {"confLevel", p.at("confLevel")},
      {"effectSize",
       {{"measure", p.at("effectSizeMeasure")},
        {"allowedIncrease", p.at("effectSizeThresholds").at("allowedIncrease")},
        {"allowedDecrease", p.at("effectSizeThresholds").at("allowedDecrease")},
        {"criticalIncrease", p.at("criticalThresholds").at("criticalIncrease")},
        {"criticalDecrease", p.at("criticalThresholds").at("criticalDecrease")}}}};
  return {{"name", "vector"},
          {"metrics",
           {{{"name", name},
             {"query", {{"type", "prometheus"}, {"metricName", "m"}}},
             {"groups", {"g"}},
             {"analysisConfigurations", {{"canary", canary}}}}}},
          {"classifier", {{"groupWeights", {{"g", 100}}}}}};
}

inline nlohmann::json KayentaVectorPairs(const nlohmann::json& c) {
  return {{{"name", c.at("input").at("experiment_metric").at("name")},
           {"tags", nlohmann::json::object()},
           {"values",
            {{"control", c.at("input").at("control")},
             {"experiment", c.at("input").at("experiment")}}}}};
}

}  // namespace augur::testing
