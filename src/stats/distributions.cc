#include "stats/distributions.h"

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>

#include "stats/boost_policy.h"

namespace augur::stats::internal {
namespace {

namespace bm = boost::math;
using Policy = BoostPolicy;
using Normal = bm::normal_distribution<double, Policy>;
using StudentT = bm::students_t_distribution<double, Policy>;

}  // namespace

double NormalCdf(double z) {
  if (std::isinf(z)) return z > 0 ? 1.0 : 0.0;
  return bm::cdf(Normal(), z);
}
double NormalSf(double z) {
  if (std::isinf(z)) return z > 0 ? 0.0 : 1.0;
  return bm::cdf(bm::complement(Normal(), z));
}
double NormalQuantile(double p) {
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  // The complement form keeps precision for p close to 1.
  return p > 0.5 ? bm::quantile(bm::complement(Normal(), 1.0 - p)) : bm::quantile(Normal(), p);
}
double NormalUpperQuantile(double q) {
  if (q <= 0) return INFINITY;
  if (q >= 1) return -INFINITY;
  return bm::quantile(bm::complement(Normal(), q));
}
double StudentTCdf(double t, double df) {
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  return bm::cdf(StudentT(df), t);
}
double StudentTSf(double t, double df) {
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  return bm::cdf(bm::complement(StudentT(df), t));
}
double StudentTQuantile(double p, double df) { return bm::quantile(StudentT(df), p); }

}  // namespace augur::stats::internal
