// Kayenta's wire formats <-> Augur structs (shared/reference/kayenta.md §1.7, §2, §3.4):
//   - canary config JSON (metrics, groups, analysisConfigurations.canary, classifier),
//     plus two extension keys in analysisConfigurations.canary: tolerance (0.25), confLevel (0.98);
//   - metricSetPairList JSON ([{name, tags, values: {control: [...], experiment: [...]}}],
//     NaN as the string "NaN");
//   - the remote-judge request {canaryConfig, scoreThresholds, metricSetPairList};
//   - CanaryJudgeResult JSON, Kayenta's exact shape.
// Parsing is strict: an unknown key, a wrong type or an unknown enum value is
// kInvalidArgument naming its path (e.g. "metrics[1].analysisConfigurations.canary.direction"),
// where Kayenta would silently fall back to a default. Pure functions, thread-safe.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/judge.h"

namespace augur::contracts {

// The returned model is in Kayenta mode with Kayenta's default thresholds (pass 75,
// marginal 50) unless the config's classifier.scoreThresholds says otherwise.
Result<judge::Model> ParseKayentaCanaryConfig(std::string_view json);

Result<std::vector<judge::MetricPair>> ParseMetricSetPairList(std::string_view json);

// The data file of `augur judge --data`: a Kayenta metricSetPairList (a JSON array) or
// Augur's native series document {"metrics": [{"name", "tags"?, "canary": [...],
// "baseline": [...]}]}.
Result<std::vector<judge::MetricPair>> ParseJudgeData(std::string_view json);
// The same from a document already parsed: the daemon reads the data out of the request body
// it has parsed, instead of writing it out and parsing it again.
Result<std::vector<judge::MetricPair>> JudgeDataFromJson(const nlohmann::json& doc);

struct RemoteJudgeRequest {
  judge::Model model;
  std::vector<judge::MetricPair> pairs;
};
Result<RemoteJudgeRequest> ParseRemoteJudgeRequest(std::string_view json);

// Kayenta's CanaryJudgeResult {judgeName, results, groupScores, score}.
std::string CanaryJudgeResultJson(const judge::Judgement& judgement);

// Sequential mode's running state as JSON, so `augur judge --mode sequential --state FILE`
// can carry it between runs. Doubles are written with full precision; +-inf as null.
std::string SequentialStateJson(const judge::SequentialState& state);
Result<judge::SequentialState> ParseSequentialState(std::string_view json);

// Augur's own, richer shape: every number behind every metric's decision.
std::string JudgementJson(const judge::Judgement& judgement);

}  // namespace augur::contracts
