// Two-sample Kolmogorov-Smirnov test, matching R 4.2.2 `ks.test(x, y)`.
//
// Statistic: two-sided D = sup|F_x - F_y|; "greater" D+ = sup(F_x - F_y); "less"
// D- = sup(F_y - F_x) (R's naming: "greater" means the CDF of x lies above that of y).
// p-value:
//   exact      R's psmirnov exact path, which in R 4.2 is exact also in the presence of ties
//              (it walks the lattice only through the tie-block boundaries). R picks it when
//              nx*ny < 10000 (kAuto does the same).
//   asymptotic the Kolmogorov limit distribution for two-sided, exp(-2 n D^2) one-sided,
//              with n = nx*ny/(nx+ny). Computed as an upper-tail series so that p-values far
//              below 1e-16 stay accurate, where R's 1 - cdf rounds to 0.
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
  KsMethod method = KsMethod::kAuto;                  // exact iff nx*ny < 10000, as R
  NonFinitePolicy non_finite = NonFinitePolicy::kReject;
};

struct KsResult {
  double statistic = 0;  // D, D+ or D- per the alternative
  double p_value = 1;
  bool exact = false;    // which method produced p_value
  size_t n_x = 0, n_y = 0;
};

// Errors: kInvalidArgument for an empty sample or non-finite values under kReject.
Result<KsResult> KolmogorovSmirnov(std::span<const double> x, std::span<const double> y,
                                   const KsOptions& options = {});

}  // namespace augur::stats
