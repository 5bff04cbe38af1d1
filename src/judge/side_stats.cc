#include "judge/side_stats.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "augur/stats/descriptive.h"

namespace augur::judge::internal {

SideStats Summarize(std::span<const double> values) {
  SideStats s;
  s.count = values.size();
  if (values.empty()) return s;
  std::vector<double> sorted(values.begin(), values.end());
  std::sort(sorted.begin(), sorted.end());
  s.mean = stats::Mean(sorted);
  s.sd = sorted.size() > 1 ? std::sqrt(stats::Variance(sorted, s.mean)) : 0.0;
  s.min = sorted.front();
  s.max = sorted.back();
  s.p50 = stats::PercentileSorted(sorted, 0.5);
  s.p90 = stats::PercentileSorted(sorted, 0.9);
  s.p99 = stats::PercentileSorted(sorted, 0.99);
  return s;
}

}  // namespace augur::judge::internal
