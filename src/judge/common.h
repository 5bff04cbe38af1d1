// Small helpers shared by the judge's modes (private to judge/).
#pragma once

#include <array>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/judge.h"
#include "augur/judge/verdict.h"

namespace augur::judge::internal {

// count, mean, sample sd, min, max and R-7 p50/p90/p99; all zero for an empty side
// (Kayenta's DescriptiveStatistics.summary convention). REQUIRES: finite values.
SideStats Summarize(std::span<const double> values);
// The same for values already sorted ascending (no copy, no sort).
SideStats SummarizeSorted(std::span<const double> sorted);
// SummarizeSorted of a metric's two sides, the same results with the sums of both interleaved.
std::array<SideStats, 2> SummarizeSortedPair(std::span<const double> a, std::span<const double> b);

// The finite values of a series (NaN marks a missing point).
std::vector<double> FiniteValues(std::span<const double> values);

// A number for a human-readable reason: 4 significant digits.
std::string Num(double v);

// Validates the model and maps every pair to its metric: metric name -> config, and metric
// name -> its first pair (what count metrics find their exposure in). A pair naming no metric
// is kInvalidArgument with its index.
struct PairIndex {
  std::map<std::string, const MetricConfig*> metrics;
  std::map<std::string, const MetricPair*> first_pair;
};
Result<PairIndex> IndexPairs(const Model& model, std::span<const MetricPair> pairs);

}  // namespace augur::judge::internal
