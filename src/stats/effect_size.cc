#include "augur/stats/effect_size.h"

#include <vector>

#include "augur/stats/descriptive.h"
#include "stats/rank_sum.h"
#include "stats/sort.h"

namespace augur::stats {

Result<double> CommonLanguageEffectSize(std::span<const double> x_in, std::span<const double> y_in,
                                        NonFinitePolicy non_finite) {
  auto x = internal::SortedSample(x_in, "x", non_finite);
  if (!x) return x.error();
  auto y = internal::SortedSample(y_in, "y", non_finite);
  if (!y) return y.error();
  const auto rs = internal::ComputeRankSum(*x, *y);
  const double m = static_cast<double>(x->size()), n = static_cast<double>(y->size());
  return (static_cast<double>(rs.twice_rank_sum_x) - m * (m + 1)) / (2 * m * n);
}

Result<MeanRatioResult> MeanRatio(std::span<const double> x_in, std::span<const double> y_in,
                                  NonFinitePolicy non_finite) {
  std::vector<double> xb, yb;
  auto x = CheckSample(x_in, "x", non_finite, &xb);
  if (!x) return x.error();
  auto y = CheckSample(y_in, "y", non_finite, &yb);
  if (!y) return y.error();
  MeanRatioResult r;
  r.mean_x = Mean(*x);
  r.mean_y = Mean(*y);
  r.defined = r.mean_x != 0 && r.mean_y != 0;
  if (r.defined) r.ratio = r.mean_x / r.mean_y;
  return r;
}

}  // namespace augur::stats
