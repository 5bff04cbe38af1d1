// Welch's unequal-variance two-sample t-test, matching R's t.test(x, y) (var.equal = FALSE).
//
// t = (mean(x) - mean(y)) / sqrt(s_x^2/nx + s_y^2/ny), Welch-Satterthwaite degrees of
// freedom, Student-t tails as complementary CDFs (p-values far below 1e-100 stay accurate),
// and the interval mean(x) - mean(y) +- qt(1 - alpha/2, df) * stderr (one-sided: one bound
// infinite). Matches R to 1e-9 relative (tests/stats/welch_t_test.cc).
// Defined answers where R stops with an error:
//   - both samples constant and equal: t = 0, p = 1, interval [0, 0] (no evidence of a shift);
//   - stderr essentially 0 otherwise (R's "data are essentially constant"): kInvalidArgument.
// Errors: fewer than 2 values in a sample (a variance needs two), non-finite under kReject.
// Pure and thread-safe.
#pragma once

#include <cstddef>
#include <span>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

struct WelchOptions {
  Alternative alternative = Alternative::kTwoSided;
  double conf_level = 0.95;
  NonFinitePolicy non_finite = NonFinitePolicy::kReject;
};

struct WelchResult {
  double statistic = 0;  // t
  double df = 0;         // Welch-Satterthwaite degrees of freedom
  double p_value = 1;
  double estimate = 0;  // mean(x) - mean(y)
  double mean_x = 0, mean_y = 0;
  double stderr_diff = 0;
  double conf_low = 0, conf_high = 0;
  double conf_level = 0;
  size_t n_x = 0, n_y = 0;
};

Result<WelchResult> WelchT(std::span<const double> x, std::span<const double> y,
                           const WelchOptions& options = {});

}  // namespace augur::stats
