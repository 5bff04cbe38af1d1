// Descriptive statistics of one sample: mean, sample variance and sd, R-7 percentiles,
// median, MAD, and the IQR outlier filter used by Kayenta-style preprocessing.
//
// The plain functions (Mean, Variance, Percentile...) take already-validated finite data and
// have REQUIRES preconditions; Describe() validates and returns errors as values.
// Pure and thread-safe; nothing here reorders the caller's data except SortAscending.
#pragma once

#include <cstddef>
#include <array>
#include <span>
#include <vector>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

// Sorts ascending in place (IEEE order; -0.0 before +0.0, which compare equal, so any
// std::sort result is also this one up to the order of equal values). Finite data goes to
// Highway's VQSort (vectorised, dispatched to the CPU's widest instruction set; 1,000
// judge-sized values in ~6 us here, 2.3x faster than std::sort); data with infinities to a
// bucket or radix sort of the bit patterns. Sorted input costs one check. REQUIRES: no NaN.
void SortAscending(std::span<double> values);

// Arithmetic mean, accumulated in long double with R's second refinement pass (as mean()).
// REQUIRES: non-empty.
double Mean(std::span<const double> x);

// Sample variance with n - 1 in the denominator (R's var). REQUIRES: size >= 2.
double Variance(std::span<const double> x, double mean);

// Mean() and Variance() of two samples at once, bit-identical to the single calls: the two
// long double sums interleave, where each alone waits on the x87 add latency (a judged
// metric summarises its baseline and its canary).
std::array<double, 2> MeansOfTwo(std::span<const double> a, std::span<const double> b);
std::array<double, 2> VariancesOfTwo(std::span<const double> a, double mean_a,
                                     std::span<const double> b, double mean_b);

// Percentile by R's default type 7 (= numpy "linear", commons-math R_7):
// h = (n - 1) p, x[floor(h)] + (h - floor(h)) (x[floor(h)+1] - x[floor(h)]).
// REQUIRES: sorted ascending, non-empty, 0 <= p <= 1.
double PercentileSorted(std::span<const double> sorted, double p);

// Median absolute deviation times `constant` (R's mad(); 1.4826 makes it consistent for
// the normal sd). REQUIRES: non-empty.
double MedianAbsoluteDeviation(std::span<const double> x, double constant = 1.4826);

struct Summary {
  size_t count = 0;
  double mean = 0;
  double sd = 0;  // sample sd; 0 when count == 1 (no spread can be measured)
  double min = 0, max = 0;
  double median = 0;
  double p25 = 0, p75 = 0, p90 = 0, p95 = 0, p99 = 0;
  double mad = 0;                                      // scaled by 1.4826
};

// Errors: empty sample, non-finite values under kReject.
Result<Summary> Describe(std::span<const double> x,
                         NonFinitePolicy non_finite = NonFinitePolicy::kReject);

struct IqrFilterOptions {
  double factor = 1.5;              // fences at Q1 - f*IQR and Q3 + f*IQR; must be > 0
  bool reduce_sensitivity = false;  // Kayenta: widen fences to at least [P1, P99]
};

// Returns the values inside the fences (a value is an outlier iff strictly outside), in the
// input order. Matches Kayenta's IQRDetector (R-7 percentiles). An empty input gives an
// empty output. Errors: factor <= 0; non-finite values (filter them first).
// The fences of RemoveIqrOutliers for an already sorted, finite, non-empty sample: a value v
// is kept iff lower <= v <= upper, so on sorted data the kept values are one contiguous run.
struct IqrFences {
  double lower = 0, upper = 0;
};
IqrFences IqrFencesSorted(std::span<const double> sorted, const IqrFilterOptions& opt);

Result<std::vector<double>> RemoveIqrOutliers(std::span<const double> x,
                                              const IqrFilterOptions& options = {});

}  // namespace augur::stats
