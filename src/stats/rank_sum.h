// Rank sums of two sorted samples (private to stats/).
#pragma once

#include <cstdint>
#include <span>

namespace augur::stats::internal {

struct RankSum {
  int64_t twice_rank_sum_x = 0;  // 2 * (sum of average ranks of x): an exact integer
  double tie_term = 0;           // sum over tie groups of the pooled sample of t^3 - t
  double within_tie_term = 0;    // the same over tie groups inside x and inside y separately
  bool ties = false;             // some value occurs more than once in the pooled sample
};

// One merge pass over two ascending samples: O(nx + ny).
RankSum ComputeRankSum(std::span<const double> x_sorted, std::span<const double> y_sorted);

}  // namespace augur::stats::internal
