#include "augur/stats/descriptive.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>

namespace augur::stats {

namespace {

// For each of N samples, the long double sum of term(k, value) in index order; the N sums run
// interleaved, where one alone waits on the x87 add latency at every value. Each sample's sum
// is the same sequence of operations whatever N, so the results do not depend on it.
template <size_t N, typename Term>
std::array<long double, N> SumsInLockstep(const std::array<std::span<const double>, N>& xs,
                                          Term term) {
  std::array<long double, N> s{};
  size_t common = xs[0].size();
  for (const auto& x : xs) common = std::min(common, x.size());
  for (size_t i = 0; i < common; ++i) {
    for (size_t k = 0; k < N; ++k) s[k] += term(k, xs[k][i]);
  }
  for (size_t k = 0; k < N; ++k) {
    for (size_t i = common; i < xs[k].size(); ++i) s[k] += term(k, xs[k][i]);
  }
  return s;
}

// R's mean(): the sum over n, plus the mean residual once more (which recovers digits lost to
// rounding).
template <size_t N>
std::array<double, N> Means(const std::array<std::span<const double>, N>& xs) {
  std::array<long double, N> mean =
      SumsInLockstep(xs, [](size_t, double v) -> long double { return v; });
  for (size_t k = 0; k < N; ++k) mean[k] /= static_cast<long double>(xs[k].size());
  const auto residual =
      SumsInLockstep(xs, [&](size_t k, double v) -> long double { return v - mean[k]; });
  std::array<double, N> out;
  for (size_t k = 0; k < N; ++k) {
    out[k] = static_cast<double>(mean[k] + residual[k] / static_cast<long double>(xs[k].size()));
  }
  return out;
}

template <size_t N>
std::array<double, N> Variances(const std::array<std::span<const double>, N>& xs,
                                const std::array<double, N>& means) {
  const auto squares = SumsInLockstep(xs, [&](size_t k, double v) -> long double {
    const long double d = v - means[k];
    return d * d;
  });
  std::array<double, N> out;
  for (size_t k = 0; k < N; ++k) {
    out[k] = static_cast<double>(squares[k] / static_cast<long double>(xs[k].size() - 1));
  }
  return out;
}

}  // namespace

double Mean(std::span<const double> x) { return Means<1>({x})[0]; }

double Variance(std::span<const double> x, double mean) { return Variances<1>({x}, {mean})[0]; }

std::array<double, 2> MeansOfTwo(std::span<const double> a, std::span<const double> b) {
  return Means<2>({a, b});
}

std::array<double, 2> VariancesOfTwo(std::span<const double> a, double mean_a,
                                     std::span<const double> b, double mean_b) {
  return Variances<2>({a, b}, {mean_a, mean_b});
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
