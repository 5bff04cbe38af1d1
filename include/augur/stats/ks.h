// Two-sample Kolmogorov-Smirnov test, matching R 4.2.2 `ks.test(x, y)`.
//
// Statistic: two-sided D = sup|F_x - F_y|; "greater" D+ = sup(F_x - F_y); "less"
// D- = sup(F_y - F_x) (R's naming: "greater" means the CDF of x lies above that of y).
// With ties the ECDFs are compared only at the end of each block of equal pooled values, as
// R does. D is computed exactly (R's floating cumsum can report e.g. D- = -1.1e-16 where
// Augur reports 0).
// p-value:
//   exact      P(D >= d) under random relabelling of the pooled sample, conditional on its
//              ties: R 4.2's psmirnov(exact = TRUE, z = pooled) lattice walk, which checks the
//              boundary only at tie-block ends. kAuto picks it iff nx*ny < 10000 (as R);
//              kExact with nx*ny > 1e8 is kInvalidArgument (O(nx*ny) time).
//              The upper tail is summed directly in probabilities, so it is accurate to
//              ~1e-15 relative however small; R's 1 - count/choose(nx+ny, nx) is off by up to
//              ~1e-12 absolute, and past nx+ny ~ 1030 R's counts overflow and it falls back
//              to Monte Carlo.
//              Deliberately NOT R 4.2.2 for alternative "less" with ties: R scores D- against
//              the law of D+, which differs under ties (ks.test(c(1,2,3,3,4,4,4), c(1,2,2,3,3),
//              alternative = "less") gives 0.0644; the permutation p-value is 47/264 = 0.178).
//              Augur uses the law of D-, i.e. R's psmirnov with the sample sizes swapped.
//              Without ties the two agree.
//   asymptotic the Kolmogorov limit distribution of sqrt(n) D for two-sided, exp(-2 n D^2)
//              one-sided, with n = nx*ny/(nx+ny). Computed as an upper-tail series so that
//              p-values far below 1e-16 stay accurate, where R's 1 - cdf rounds to 0. For
//              sqrt(n) D < 1 it keeps R's one-term theta series (pkstwo with tol 1e-6) so
//              p-values there equal R's.
// Non-finite values follow sample.h: kDrop removes NaN and +-Inf (R's ks.test removes only
// NA/NaN and keeps +-Inf).
// Pure and thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

enum class KsMethod { kAuto, kExact, kAsymptotic };

struct KsOptions {
  Alternative alternative = Alternative::kTwoSided;  // R default
  KsMethod method = KsMethod::kAuto;                 // exact iff nx*ny < 10000, as R
  NonFinitePolicy non_finite = NonFinitePolicy::kReject;
};

struct KsResult {
  double statistic = 0;  // D, D+ or D- per the alternative
  double p_value = 1;
  bool exact = false;  // which method produced p_value
  size_t n_x = 0, n_y = 0;
};

// Errors: kInvalidArgument for an empty sample or non-finite values under kReject.
Result<KsResult> KolmogorovSmirnov(std::span<const double> x, std::span<const double> y,
                                   const KsOptions& options = {});

}  // namespace augur::stats
