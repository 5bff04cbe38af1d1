#include "augur/stats/descriptive.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace augur::stats {

double Mean(std::span<const double> x) {
  long double s = 0;
  for (double v : x) s += v;
  s /= static_cast<long double>(x.size());
  // R's mean() adds the mean residual once more, which recovers digits lost to rounding.
  long double t = 0;
  for (double v : x) t += v - s;
  return static_cast<double>(s + t / static_cast<long double>(x.size()));
}

double Variance(std::span<const double> x, double mean) {
  long double s = 0;
  for (double v : x) {
    const long double d = v - mean;
    s += d * d;
  }
  return static_cast<double>(s / static_cast<long double>(x.size() - 1));
}

std::array<double, 2> MeansOfTwo(std::span<const double> a, std::span<const double> b) {
  const size_t common = std::min(a.size(), b.size());
  long double sa = 0, sb = 0;
  for (size_t i = 0; i < common; ++i) {
    sa += a[i];
    sb += b[i];
  }
  for (size_t i = common; i < a.size(); ++i) sa += a[i];
  for (size_t i = common; i < b.size(); ++i) sb += b[i];
  sa /= static_cast<long double>(a.size());
  sb /= static_cast<long double>(b.size());
  long double ta = 0, tb = 0;
  for (size_t i = 0; i < common; ++i) {
    ta += a[i] - sa;
    tb += b[i] - sb;
  }
  for (size_t i = common; i < a.size(); ++i) ta += a[i] - sa;
  for (size_t i = common; i < b.size(); ++i) tb += b[i] - sb;
  return {static_cast<double>(sa + ta / static_cast<long double>(a.size())),
          static_cast<double>(sb + tb / static_cast<long double>(b.size()))};
}

std::array<double, 2> VariancesOfTwo(std::span<const double> a, double mean_a,
                                     std::span<const double> b, double mean_b) {
  const size_t common = std::min(a.size(), b.size());
  long double sa = 0, sb = 0;
  for (size_t i = 0; i < common; ++i) {
    const long double da = a[i] - mean_a, db = b[i] - mean_b;
    sa += da * da;
    sb += db * db;
  }
  for (size_t i = common; i < a.size(); ++i) {
    const long double d = a[i] - mean_a;
    sa += d * d;
  }
  for (size_t i = common; i < b.size(); ++i) {
    const long double d = b[i] - mean_b;
    sb += d * d;
  }
  return {static_cast<double>(sa / static_cast<long double>(a.size() - 1)),
          static_cast<double>(sb / static_cast<long double>(b.size() - 1))};
}

double PercentileSorted(std::span<const double> sorted, double p) {
  const double h = (static_cast<double>(sorted.size()) - 1) * p;
  const size_t lo = static_cast<size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

namespace {
double MedianInPlace(std::vector<double>& v) {
  std::sort(v.begin(), v.end());
  return PercentileSorted(v, 0.5);
}
}  // namespace

double MedianAbsoluteDeviation(std::span<const double> x, double constant) {
  std::vector<double> v(x.begin(), x.end());
  const double med = MedianInPlace(v);
  for (double& d : v) d = std::fabs(d - med);
  return constant * MedianInPlace(v);
}

Result<Summary> Describe(std::span<const double> x_in, NonFinitePolicy non_finite) {
  auto x = CleanSample(x_in, "x", non_finite);
  if (!x) return x.error();
  Summary s;
  s.count = x->size();
  s.mean = Mean(*x);
  s.sd = s.count > 1 ? std::sqrt(Variance(*x, s.mean)) : 0.0;
  s.mad = MedianAbsoluteDeviation(*x);
  std::sort(x->begin(), x->end());
  s.min = x->front();
  s.max = x->back();
  s.median = PercentileSorted(*x, 0.5);
  s.p25 = PercentileSorted(*x, 0.25);
  s.p75 = PercentileSorted(*x, 0.75);
  s.p90 = PercentileSorted(*x, 0.90);
  s.p95 = PercentileSorted(*x, 0.95);
  s.p99 = PercentileSorted(*x, 0.99);
  return s;
}

IqrFences IqrFencesSorted(std::span<const double> sorted, const IqrFilterOptions& opt) {
  const double q1 = PercentileSorted(sorted, 0.25), q3 = PercentileSorted(sorted, 0.75);
  const double iqr = q3 - q1;
  IqrFences f{q1 - opt.factor * iqr, q3 + opt.factor * iqr};
  if (opt.reduce_sensitivity) {
    f.lower = std::min(PercentileSorted(sorted, 0.01), f.lower);
    f.upper = std::max(PercentileSorted(sorted, 0.99), f.upper);
  }
  return f;
}

Result<std::vector<double>> RemoveIqrOutliers(std::span<const double> x,
                                              const IqrFilterOptions& opt) {
  if (!(opt.factor > 0)) {
    return InvalidArgument("IQR outlier factor must be > 0, got " + std::to_string(opt.factor));
  }
  if (x.empty()) return std::vector<double>{};
  std::vector<double> sorted(x.begin(), x.end());
  for (double v : sorted) {
    if (!std::isfinite(v)) return InvalidArgument("IQR outlier filter: non-finite value in input");
  }
  std::sort(sorted.begin(), sorted.end());
  const auto [lower, upper] = IqrFencesSorted(sorted, opt);
  std::vector<double> kept;
  kept.reserve(x.size());
  for (double v : x) {
    if (!(v > upper || v < lower)) kept.push_back(v);
  }
  return kept;
}

}  // namespace augur::stats
