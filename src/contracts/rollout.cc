// JSON for rollout statuses; see include/augur/contracts/rollout.h.
#include "augur/contracts/rollout.h"

#include <nlohmann/json.hpp>

namespace augur::contracts {
namespace {

using Json = nlohmann::json;

Json ToJson(const rollout::RolloutStatus& s) {
  Json metrics = Json::array();
  for (const auto& m : s.last_check.metrics) {
    metrics.push_back({{"name", m.name}, {"verdict", m.verdict}, {"detail", m.detail}});
  }
  return {{"key", s.key},
          {"name", s.name},
          {"namespace", s.namespace_},
          {"strategy", rollout::StrategyName(s.strategy)},
          {"phase", rollout::PhaseName(s.state.phase)},
          {"canaryWeight", s.state.canary_weight},
          {"failedChecks", s.state.failed_checks},
          {"iterations", s.state.iterations},
          {"threshold", s.threshold},
          {"maxWeight", s.max_weight},
          {"stepWeight", s.step_weight},
          {"analysisIterations", s.iterations},
          {"intervalMs", s.interval_ms},
          {"model", s.model},
          {"paused", s.state.paused},
          {"promoted", s.state.promoted},
          {"run", s.state.run},
          {"message", s.state.message},
          {"nextTickMs", s.next_tick_ms},
          {"lastError", s.last_error},
          {"lastCheck",
           {{"verdict", rollout::CheckVerdictName(s.last_check.verdict)},
            {"reason", s.last_check.reason},
            {"timeMs", s.last_check_ms},
            {"metrics", metrics}}},
          {"events", s.events}};
}

rollout::Strategy StrategyOf(const std::string& s) {
  if (s == "ab-testing") return rollout::Strategy::kABTesting;
  if (s == "blue-green") return rollout::Strategy::kBlueGreen;
  return rollout::Strategy::kCanary;
}

rollout::CheckVerdict VerdictOf(const std::string& v) {
  if (v == "pass") return rollout::CheckVerdict::kPass;
  if (v == "fail") return rollout::CheckVerdict::kFail;
  return rollout::CheckVerdict::kInconclusive;
}

Result<rollout::RolloutStatus> FromJson(const Json& j) {
  try {
    rollout::RolloutStatus s;
    s.key = j.at("key").get<std::string>();
    s.name = j.at("name").get<std::string>();
    s.namespace_ = j.at("namespace").get<std::string>();
    s.strategy = StrategyOf(j.at("strategy").get<std::string>());
    auto phase = rollout::ParsePhase(j.at("phase").get<std::string>());
    if (!phase) return BadData("rollout status: " + phase.error().message);
    s.state.phase = *phase;
    s.state.canary_weight = j.at("canaryWeight").get<int>();
    s.state.failed_checks = j.at("failedChecks").get<int>();
    s.state.iterations = j.at("iterations").get<int>();
    s.threshold = j.at("threshold").get<int>();
    s.max_weight = j.at("maxWeight").get<int>();
    s.step_weight = j.at("stepWeight").get<int>();
    s.iterations = j.at("analysisIterations").get<int>();
    s.interval_ms = j.at("intervalMs").get<int64_t>();
    s.model = j.at("model").get<std::string>();
    s.state.paused = j.at("paused").get<bool>();
    s.state.promoted = j.at("promoted").get<bool>();
    s.state.run = j.at("run").get<int64_t>();
    s.state.message = j.at("message").get<std::string>();
    s.next_tick_ms = j.at("nextTickMs").get<int64_t>();
    s.last_error = j.at("lastError").get<std::string>();
    const Json& c = j.at("lastCheck");
    s.last_check.verdict = VerdictOf(c.at("verdict").get<std::string>());
    s.last_check.reason = c.at("reason").get<std::string>();
    s.last_check_ms = c.at("timeMs").get<int64_t>();
    for (const auto& m : c.at("metrics")) {
      s.last_check.metrics.push_back({m.at("name").get<std::string>(),
                                      m.at("verdict").get<std::string>(),
                                      m.at("detail").get<std::string>()});
    }
    s.events = j.at("events").get<std::vector<std::string>>();
    return s;
  } catch (const Json::exception& e) {
    return BadData(std::string("rollout status: ") + e.what());
  }
}

}  // namespace

std::string RolloutStatusJson(const rollout::RolloutStatus& s) {
  return ToJson(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string RolloutListJson(const std::vector<rollout::RolloutStatus>& list) {
  Json items = Json::array();
  for (const auto& s : list) items.push_back(ToJson(s));
  return Json({{"rollouts", items}}).dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<rollout::RolloutStatus> ParseRolloutStatus(std::string_view json) {
  const Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded()) return BadData("rollout status is not JSON");
  return FromJson(j);
}

Result<std::vector<rollout::RolloutStatus>> ParseRolloutList(std::string_view json) {
  const Json j = Json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.contains("rollouts")) return BadData("rollout list is not JSON");
  std::vector<rollout::RolloutStatus> out;
  for (const auto& item : j["rollouts"]) {
    auto s = FromJson(item);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace augur::contracts
