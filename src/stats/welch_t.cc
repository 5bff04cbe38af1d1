#include "augur/stats/welch_t.h"

#include <cfloat>
#include <cmath>
#include <string>
#include <vector>

#include "augur/stats/descriptive.h"
#include "stats/distributions.h"

namespace augur::stats {

Result<WelchResult> WelchT(std::span<const double> x_in, std::span<const double> y_in,
                           const WelchOptions& opt) {
  if (auto st = CheckConfLevel(opt.conf_level); !st) return st.error();
  std::vector<double> xbuf, ybuf;
  auto x = CheckSample(x_in, "x", opt.non_finite, &xbuf);
  if (!x) return x.error();
  auto y = CheckSample(y_in, "y", opt.non_finite, &ybuf);
  if (!y) return y.error();
  if (x->size() < 2 || y->size() < 2) {
    return InvalidArgument(std::string("not enough observations in sample ") +
                           (x->size() < 2 ? "x" : "y") +
                           " for Welch's t-test (needs at least 2 to estimate a variance)");
  }
  WelchResult r;
  r.n_x = x->size();
  r.n_y = y->size();
  r.conf_level = opt.conf_level;
  const double nx = static_cast<double>(r.n_x), ny = static_cast<double>(r.n_y);
  r.mean_x = Mean(*x);
  r.mean_y = Mean(*y);
  const double vx = Variance(*x, r.mean_x), vy = Variance(*y, r.mean_y);
  r.estimate = r.mean_x - r.mean_y;
  const double sx2 = vx / nx, sy2 = vy / ny;
  r.stderr_diff = std::sqrt(sx2 + sy2);
  if (vx == 0 && vy == 0 && r.mean_x == r.mean_y) {
    r.statistic = 0;
    r.df = nx + ny - 2;
    r.p_value = 1;
    r.conf_low = r.conf_high = 0;
    if (opt.alternative == Alternative::kLess) r.conf_low = -INFINITY;
    if (opt.alternative == Alternative::kGreater) r.conf_high = INFINITY;
    return r;
  }
  // R's t.test refuses the same case with the same threshold.
  if (r.stderr_diff < 10 * DBL_EPSILON * std::max(std::fabs(r.mean_x), std::fabs(r.mean_y))) {
    return InvalidArgument("data are essentially constant: Welch's t-test is undefined");
  }
  r.df = (sx2 + sy2) * (sx2 + sy2) / (sx2 * sx2 / (nx - 1) + sy2 * sy2 / (ny - 1));
  r.statistic = r.estimate / r.stderr_diff;
  const double alpha = 1 - opt.conf_level;
  switch (opt.alternative) {
    case Alternative::kLess:
      r.p_value = internal::StudentTCdf(r.statistic, r.df);
      r.conf_low = -INFINITY;
      r.conf_high =
          (r.statistic + internal::StudentTQuantile(opt.conf_level, r.df)) * r.stderr_diff;
      break;
    case Alternative::kGreater:
      r.p_value = internal::StudentTSf(r.statistic, r.df);
      r.conf_low = (r.statistic - internal::StudentTQuantile(opt.conf_level, r.df)) * r.stderr_diff;
      r.conf_high = INFINITY;
      break;
    case Alternative::kTwoSided: {
      r.p_value = 2 * internal::StudentTCdf(-std::fabs(r.statistic), r.df);
      const double q = internal::StudentTQuantile(1 - alpha / 2, r.df);
      r.conf_low = (r.statistic - q) * r.stderr_diff;
      r.conf_high = (r.statistic + q) * r.stderr_diff;
      break;
    }
  }
  return r;
}

}  // namespace augur::stats
