// The JSON shape of a rollout's status, shared by the daemon's /v1/rollouts API and
// `augur rollout status --json` (so scripts read the same document either way).
//
//   {"key": "shop/web", "name", "namespace", "strategy": "canary", "phase": "Progressing",
//    "canaryWeight": 20, "failedChecks": 0, "iterations": 0, "threshold": 2, "maxWeight": 50,
//    "stepWeight": 10, "intervalMs": 10000, "model": "", "paused": false, "run": 1,
//    "message": "...", "nextTickMs": ..., "lastError": "",
//    "lastCheck": {"verdict": "pass", "reason": "...", "timeMs": ..., "metrics": [
//        {"name": "request-success-rate", "verdict": "pass", "detail": "99.9 >= 99"}]},
//    "events": ["2026-12-03T05:00:00.000Z Progressing weight 10 failedChecks 0: ..."]}
#pragma once

#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/rollout/manager.h"

namespace augur::contracts {

std::string RolloutStatusJson(const rollout::RolloutStatus& s);
std::string RolloutListJson(const std::vector<rollout::RolloutStatus>& list);
// The inverse, for clients of the API. Errors: kBadData naming the missing field.
Result<rollout::RolloutStatus> ParseRolloutStatus(std::string_view json);
Result<std::vector<rollout::RolloutStatus>> ParseRolloutList(std::string_view json);

}  // namespace augur::contracts
