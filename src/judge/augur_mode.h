// Augur mode classifier and roll-up (private to judge/).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "augur/judge/model.h"
#include "augur/judge/verdict.h"

namespace augur::judge::internal {

// The request counts that a count metric's events are divided by.
struct ExposurePair {
  std::span<const double> control, experiment;
};

MetricResult ClassifyAugur(const MetricConfig& metric, std::span<const double> control,
                           std::span<const double> experiment, const ExposurePair* exposure);

// Fills r's anomaly fields for aligned series; returns the direction of an alarm that should
// fail the metric (true = up) when the metric uses the anomaly criterion.
std::optional<bool> ScoreAnomaly(const MetricConfig& metric, std::span<const double> control,
                                 std::span<const double> experiment, MetricResult* r);

// Group scores and the Pass / Fail / Inconclusive verdict.
void ScoreAugur(const Model& model, Judgement* judgement);

}  // namespace augur::judge::internal
