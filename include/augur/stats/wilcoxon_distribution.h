// Exact null distribution of the Mann-Whitney U (Wilcoxon rank-sum W) statistic for two
// samples of sizes m and n without ties: R's dwilcox/pwilcox/qwilcox.
//
// Counts come from the generating function, the Gaussian binomial coefficient
//   [m+n choose m]_q = prod_{i=1..s} (1 - q^(t+i)) / (1 - q^i),   s = min(m,n), t = max(m,n),
// applied factor by factor in O(s * m*n/2) time and O(m*n/2) memory (R's recursion is
// O(m^2 n^2)). The subtractions cancel catastrophically in floating point, so the counts are
// computed exactly in wrap-around multi-word integer arithmetic (the final counts are below
// C(m+n, m), so arithmetic modulo 2^(64L) gives them exactly). Probabilities are then ratios
// of exact integers in long double: tails far below 1e-60 are exact to ~1e-18 relative.
//
// Immutable after Create; safe to share between threads.
#pragma once

#include <cstdint>
#include <vector>

#include "augur/core/result.h"

namespace augur::stats {

class WilcoxonDistribution {
 public:
  // Work is bounded: kInvalidArgument when s * (m*n/2) * words exceeds ~2e9 elementary
  // operations (about m = n = 600), where the normal approximation is the right tool anyway.
  // REQUIRES: m >= 1, n >= 1.
  static Result<WilcoxonDistribution> Create(uint64_t m, uint64_t n);

  uint64_t m() const { return m_; }
  uint64_t n() const { return n_; }

  // P(U <= q), as R's pwilcox(q, m, n). q outside [0, mn] gives 0 or 1.
  long double Cdf(int64_t q) const;
  // P(U > q), as pwilcox(q, m, n, lower.tail = FALSE); computed without 1 - Cdf when that
  // tail is the small one.
  long double Sf(int64_t q) const;
  // P(U = q), as dwilcox(q, m, n).
  long double Pmf(int64_t q) const;
  // Smallest q with P(U <= q) >= p, reproducing R's qwilcox including its 10*DBL_EPSILON
  // slack. REQUIRES: 0 <= p <= 1.
  int64_t Quantile(double p) const;

 private:
  WilcoxonDistribution(uint64_t m, uint64_t n, std::vector<long double> pmf,
                       std::vector<long double> cdf)
      : m_(m), n_(n), pmf_(std::move(pmf)), cdf_(std::move(cdf)) {}

  // Probabilities for k = 0..floor(mn/2); the rest follows from symmetry about mn/2.
  long double LowerCdf(int64_t q) const;  // REQUIRES: q <= mn/2

  uint64_t m_, n_;
  std::vector<long double> pmf_;
  std::vector<long double> cdf_;
};

}  // namespace augur::stats
