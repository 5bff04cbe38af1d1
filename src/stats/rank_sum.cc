#include "stats/rank_sum.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "stats/rank_kernel.h"

namespace augur::stats::internal {

namespace {

__attribute__((target_clones("avx512f", "avx2", "default"))) bool HasAdjacentEqual(
    std::span<const double> v) {
  uint64_t any = 0;  // an integer OR vectorises; a bool one was left scalar
  for (size_t i = 1; i < v.size(); ++i) any |= static_cast<uint64_t>(v[i] == v[i - 1]);
  return any != 0;
}

// Without ties the rank of x[i] in the pooled sample is i + #{y < x[i]} + 1, the counts from
// the rank kernel (stats/rank_kernel.h). Returns false when a cross-sample tie is met (the
// caller then runs the general tie-aware walk).
bool RankSumWithoutTies(std::span<const double> x, std::span<const double> y, int64_t* twice) {
  const size_t m = x.size(), n = y.size();
  std::vector<double> ys(n + kRankPad, std::numeric_limits<double>::quiet_NaN());
  std::copy(y.begin(), y.end(), ys.begin());
  std::vector<uint32_t> below(m);
  RankBelow(x.data(), m, ys.data(), n, below.data());
  uint64_t acc = static_cast<uint64_t>(m) * (m + 1) / 2;  // the sum of i + 1
  for (size_t i = 0; i < m; ++i) acc += below[i];
  uint64_t tie = 0;
  for (size_t i = 0; i < m; ++i) {
    // The first y not below x[i] equals it (the NaN pad never does).
    tie |= static_cast<uint64_t>(ys[below[i]] == x[i]);
  }
  *twice = static_cast<int64_t>(2 * acc);
  return tie == 0;
}

}  // namespace

RankSum ComputeRankSum(std::span<const double> x, std::span<const double> y) {
  RankSum out;
  if (!HasAdjacentEqual(x) && !HasAdjacentEqual(y) &&
      RankSumWithoutTies(x, y, &out.twice_rank_sum_x)) {
    return out;  // no ties anywhere: both tie terms are 0
  }
  out = RankSum{};
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
