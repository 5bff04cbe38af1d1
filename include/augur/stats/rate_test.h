// Exact conditional test comparing two Poisson event rates (errors per request), for count
// metrics whose series are mostly zeros, where rank tests and means say nothing useful.
//
// Given E = events_x + events_y, under H0 (equal rates) events_x ~ Binomial(E, rho0) with
// rho0 = exposure_x / (exposure_x + exposure_y); the p-values are exact binomial tails via the
// regularized incomplete beta (R: binom.test(events_x, E, rho0) / poisson.test). Pure and
// thread-safe.
#pragma once

#include "augur/core/result.h"

namespace augur::stats {

struct RateTestResult {
  double rate_x = 0, rate_y = 0;  // events / exposure
  double p_greater = 1;           // P(X >= events_x): evidence that x's rate is higher
  double p_less = 1;              // P(X <= events_x): evidence that x's rate is lower
};

// Errors: negative or non-finite counts, exposures that are not > 0. Event counts are
// rounded to integers.
Result<RateTestResult> PoissonRateTest(double events_x, double exposure_x, double events_y,
                                       double exposure_y);

}  // namespace augur::stats
