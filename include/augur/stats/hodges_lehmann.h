// Hodges-Lehmann two-sample shift: order statistics of the nx*ny pairwise differences
// x_i - y_j, selected exactly without materialising them.
//
// R's wilcox.test(conf.int = TRUE) sorts outer(x, y, "-") in its exact branch (O(mn log mn)
// time and memory) and uses uniroot with tol 1e-4 in its asymptotic branch. Augur always
// returns exact order statistics of the differences: for the exact branch this is R's answer
// to the last bit; for the asymptotic branch the interval bounds are the order statistics at
// which R's root finder stops (R is within its 1e-4 tolerance of them), and the estimate is
// the exact median of the differences rather than R's root (they differ by at most half the
// gap between the two middle differences plus 1e-4; see README "Statistics").
//
// Selection works on the implicit sorted matrix. A count of the differences below a
// threshold t is the ranks of x - t in y (a SIMD kernel picked at run time) plus an
// exact per-row check of the rounded differences, O(nx + ny). The first probe is the
// difference of the medians; from a lone side, a Newton step with the count's slope estimated
// from the rows' boundaries; between two sides, linear interpolation of the rank, aimed a
// little past the target; a probe stuck in a gap between tied differences steps to the next
// entry past it; until a few hundred candidates remain to gather and nth_element. Probes are
// shared between targets; anything unusual (overflowing ranges, no progress) falls back to a
// general Floyd-Rivest-style selection. Results are exact either way. BoundsAndMedian (an
// interval's bounds and the median, plus the second middle value for an even count from the
// same gather): ~9 counting passes for 2 x 1,000 continuous values, ~10 when rounded to
// integers (the figures are in README "Judge speed").
// Thread-safety: PairwiseDifferences is immutable; concurrent calls are safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

class PairwiseDifferences {
 public:
  // REQUIRES: both spans sorted ascending, non-empty and finite; they must outlive this.
  PairwiseDifferences(std::span<const double> x_sorted, std::span<const double> y_sorted)
      : x_(x_sorted), y_(y_sorted) {}

  uint64_t size() const { return static_cast<uint64_t>(x_.size()) * y_.size(); }

  // The k-th smallest difference, 1-based like R's sort(outer(x, y, "-"))[k].
  // REQUIRES: 1 <= k <= size().
  double OrderStatistic(uint64_t k) const;

  // #{fl(x_i - y_j) < t} and #{fl(x_i - y_j) <= t}: one O(nx + ny) counting pass, exact for
  // the rounded differences whatever t. (CountBelow(0) is the Mann-Whitney count of x below y.)
  uint64_t CountBelow(double t) const;
  uint64_t CountAtMost(double t) const;
  // Median of the differences, averaging the two middle ones when size() is even (R's median).
  double Median() const;

  // {OrderStatistic(k_low), OrderStatistic(k_high), Median()} at once, bit-identical to the
  // three calls but cheaper: ranks close together (an interval's bounds around the median)
  // share their probes. REQUIRES: 1 <= k_low, k_high <= size().
  std::array<double, 3> BoundsAndMedian(uint64_t k_low, uint64_t k_high) const;

 private:
  std::span<const double> x_, y_;
};

// Exact Hodges-Lehmann estimate median{x_i - y_j}.
// Errors: kInvalidArgument for an empty sample, or non-finite values under kReject.
Result<double> HodgesLehmannEstimate(std::span<const double> x, std::span<const double> y,
                                     NonFinitePolicy non_finite = NonFinitePolicy::kReject);

}  // namespace augur::stats
