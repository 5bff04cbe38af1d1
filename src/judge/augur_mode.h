// Augur mode classifier and roll-up (private to judge/).
#pragma once

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

// Group scores and the Pass / Fail / Inconclusive verdict.
void ScoreAugur(const Model& model, Judgement* judgement);

}  // namespace augur::judge::internal
