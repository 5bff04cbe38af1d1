#include "augur/stats/rate_test.h"

#include <boost/math/special_functions/beta.hpp>
#include <cmath>
#include <string>

#include "stats/boost_policy.h"

namespace augur::stats {

Result<RateTestResult> PoissonRateTest(double events_x, double exposure_x, double events_y,
                                       double exposure_y) {
  for (double v : {events_x, events_y}) {
    if (!std::isfinite(v) || v < 0) return InvalidArgument("event counts must be finite and >= 0");
  }
  if (!(exposure_x > 0) || !(exposure_y > 0) || !std::isfinite(exposure_x) ||
      !std::isfinite(exposure_y)) {
    return InvalidArgument("exposures must be finite and > 0");
  }
  RateTestResult r;
  const double k = std::round(events_x), total = k + std::round(events_y);
  r.rate_x = events_x / exposure_x;
  r.rate_y = events_y / exposure_y;
  const double rho0 = exposure_x / (exposure_x + exposure_y);
  if (total > 0) {
    // Binomial tails as incomplete beta functions: exact, and accurate far out in the tail.
    r.p_greater = k > 0 ? boost::math::ibeta(k, total - k + 1, rho0, internal::BoostPolicy()) : 1.0;
    r.p_less =
        k < total ? boost::math::ibetac(k + 1, total - k, rho0, internal::BoostPolicy()) : 1.0;
  }
  return r;
}

}  // namespace augur::stats
