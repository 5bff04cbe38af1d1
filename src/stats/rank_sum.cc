#include "stats/rank_sum.h"

namespace augur::stats::internal {

RankSum ComputeRankSum(std::span<const double> x, std::span<const double> y) {
  RankSum out;
  const size_t m = x.size(), n = y.size();
  size_t i = 0, j = 0;
  int64_t before = 0;  // values ranked so far
  while (i < m || j < n) {
    const double v = (j >= n || (i < m && x[i] <= y[j])) ? x[i] : y[j];
    size_t cx = 0, cy = 0;
    while (i < m && x[i] == v) ++i, ++cx;
    while (j < n && y[j] == v) ++j, ++cy;
    const int64_t t = static_cast<int64_t>(cx + cy);
    // Ranks before+1 .. before+t share the average rank before + (t+1)/2.
    out.twice_rank_sum_x += static_cast<int64_t>(cx) * (2 * before + t + 1);
    if (t > 1) {
      const double td = static_cast<double>(t);
      out.tie_term += td * td * td - td;
      out.ties = true;
    }
    for (size_t c : {cx, cy}) {
      if (c > 1) {
        const double cd = static_cast<double>(c);
        out.within_tie_term += cd * cd * cd - cd;
      }
    }
    before += t;
  }
  return out;
}

}  // namespace augur::stats::internal
