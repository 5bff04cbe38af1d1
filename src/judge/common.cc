#include "judge/common.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "augur/stats/descriptive.h"
#include "augur/stats/sample.h"

namespace augur::judge::internal {

SideStats Summarize(std::span<const double> values) {
  std::vector<double> sorted(values.begin(), values.end());
  stats::SortAscending(sorted);
  return SummarizeSorted(sorted);
}

namespace {
// Everything but the mean and sd.
SideStats OrderSummary(std::span<const double> sorted) {
  SideStats s;
  s.count = sorted.size();
  if (sorted.empty()) return s;
  s.min = sorted.front();
  s.max = sorted.back();
  s.p50 = stats::PercentileSorted(sorted, 0.5);
  s.p90 = stats::PercentileSorted(sorted, 0.9);
  s.p99 = stats::PercentileSorted(sorted, 0.99);
  return s;
}
}  // namespace

SideStats SummarizeSorted(std::span<const double> sorted) {
  SideStats s = OrderSummary(sorted);
  if (sorted.empty()) return s;
  s.mean = stats::Mean(sorted);
  s.sd = sorted.size() > 1 ? std::sqrt(stats::Variance(sorted, s.mean)) : 0.0;
  return s;
}

std::array<SideStats, 2> SummarizeSortedPair(std::span<const double> a, std::span<const double> b) {
  if (a.size() < 2 || b.size() < 2) return {SummarizeSorted(a), SummarizeSorted(b)};
  std::array<SideStats, 2> s = {OrderSummary(a), OrderSummary(b)};
  const auto means = stats::MeansOfTwo(a, b);
  const auto variances = stats::VariancesOfTwo(a, means[0], b, means[1]);
  for (int i = 0; i < 2; ++i) {
    s[i].mean = means[i];
    s[i].sd = std::sqrt(variances[i]);
  }
  return s;
}

std::vector<double> FiniteValues(std::span<const double> values) {
  if (stats::AllFinite(values)) return std::vector<double>(values.begin(), values.end());
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values)
    if (std::isfinite(v)) out.push_back(v);
  return out;
}

std::string Num(double v) {
  // What an ostream with precision(4) prints (the standard defines it as %.4g), without
  // constructing a stream: reasons are built for every metric of every judgement.
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.4g", v);
  return std::string(buf, static_cast<size_t>(n));
}

Result<PairIndex> IndexPairs(const Model& model, std::span<const MetricPair> pairs) {
  if (auto st = ValidateModel(model); !st) return st.error();
  PairIndex index;
  for (const auto& m : model.metrics) index.metrics[m.name] = &m;
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (!index.metrics.count(pairs[i].name)) {
      return InvalidArgument("metricSetPairList[" + std::to_string(i) + "]: no metric named '" +
                             pairs[i].name + "' in the model");
    }
    index.first_pair.emplace(pairs[i].name, &pairs[i]);
  }
  return index;
}

}  // namespace augur::judge::internal
