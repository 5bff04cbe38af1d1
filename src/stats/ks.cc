#include "augur/stats/ks.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "stats/sort.h"

namespace augur::stats {
namespace {

// R's ks.test: `exact <- (n.x * n.y < 10000)` when `exact = NULL`.
constexpr double kAutoExactLimit = 10000.0;
// The exact lattice walk costs nx*ny cell updates; past this an explicit kExact request is
// refused instead of silently running for seconds.
constexpr double kMaxExactCells = 1e8;
// Rmath's M_1_SQRT_2PI, spelled as R spells it so pkstwo's division rounds the same way.
constexpr double kOneOverSqrt2Pi = 0.398942280401432677939946059934;

// The two-sample statistic on the integer lattice. The ECDF difference F_x - F_y at a point
// where i values of x and j values of y are <= t equals (i*ny - j*nx) / (nx*ny), so working
// with that integer numerator keeps D exact; R's cumsum of 1/nx and -1/ny only gets close.
struct Lattice {
  size_t nx = 0, ny = 0;
  int64_t max_diff = 0;       // D * nx * ny for the requested alternative
  std::vector<char> checked;  // checked[k]: the pooled order statistic k (1-based) ends a tie block
};

// Merges the sorted samples one tie block at a time. R evaluates the ECDF difference only
// at the last element of each block of equal pooled values (`z[c(which(diff(sort(w)) != 0),
// n.x + n.y)]`), which is also where the walk in ExactUpperTail must check the boundary.
// REQUIRES: x and y sorted ascending.
Lattice BuildLattice(const std::vector<double>& x, const std::vector<double>& y,
                     Alternative alternative) {
  Lattice lat;
  lat.nx = x.size();
  lat.ny = y.size();
  lat.checked.assign(lat.nx + lat.ny + 1, 0);
  const auto nx = static_cast<int64_t>(lat.nx);
  const auto ny = static_cast<int64_t>(lat.ny);
  int64_t max_pos = 0, max_neg = 0;  // sup(F_x - F_y) and sup(F_y - F_x), both >= 0 (end is 0)
  size_t i = 0, j = 0;
  while (i < lat.nx || j < lat.ny) {
    double v;
    if (j == lat.ny || (i < lat.nx && x[i] <= y[j])) {
      v = x[i];
    } else {
      v = y[j];
    }
    while (i < lat.nx && x[i] == v) ++i;
    while (j < lat.ny && y[j] == v) ++j;
    lat.checked[i + j] = 1;
    const int64_t diff = static_cast<int64_t>(i) * ny - static_cast<int64_t>(j) * nx;
    max_pos = std::max(max_pos, diff);
    max_neg = std::max(max_neg, -diff);
  }
  switch (alternative) {
    case Alternative::kTwoSided:
      lat.max_diff = std::max(max_pos, max_neg);
      break;
    case Alternative::kGreater:
      lat.max_diff = max_pos;
      break;
    case Alternative::kLess:
      lat.max_diff = max_neg;
      break;
  }
  return lat;
}

// P(D >= observed) under the permutation null, conditional on the pooled tie pattern.
//
// Same lattice as R 4.2's psmirnov(exact = TRUE, z = w) `pfun`: a path from (0, 0) to
// (nx, ny) steps right for an x and up for a y in pooled sorted order, and is "extreme" once
// it reaches a checked point (end of a tie block) with a difference >= the observed one.
// pfun counts the paths that never get there in doubles (1e58 for nx = ny = 100, Inf past
// N ~ 1030, where R falls back to Monte Carlo) and returns 1 - count / choose(N, nx), which
// cannot resolve p below ~1e-15. Here the walk carries probabilities instead of counts (each
// step weighted by its chance under random labelling, so nothing exceeds 1) and adds up the
// mass absorbed at the first extreme point it hits: a sum of positive terms, so the upper
// tail keeps full relative precision however small it is. The fuzzed threshold R builds,
// (0.5 + floor(q*m*n - 1e-7)) / (m*n), is exactly ">= observed numerator" in integers.
//
// Time O(nx*ny); memory O(min(nx, ny)) for the row plus O(nx + ny) for the tie marks.
double ExactUpperTail(const Lattice& lat, Alternative alternative) {
  if (lat.max_diff == 0) return 1.0;  // every labelling has D >= 0
  // Walk rows over the larger sample so the row vector is the smaller one.
  const bool x_outer = lat.nx >= lat.ny;
  const size_t a = x_outer ? lat.nx : lat.ny;  // outer (row) count
  const size_t b = x_outer ? lat.ny : lat.nx;  // inner (column) count
  const size_t n_total = a + b;
  // diff(i outer, j inner) = i*coef_i - j*coef_j with the sign of F_x - F_y.
  const int64_t scale_x = static_cast<int64_t>(lat.ny);  // weight of one x
  const int64_t scale_y = static_cast<int64_t>(lat.nx);  // weight of one y
  const int64_t coef_i = x_outer ? scale_x : -scale_y;
  const int64_t coef_j = x_outer ? scale_y : -scale_x;
  const int64_t threshold = lat.max_diff;
  auto extreme = [&](size_t i, size_t j) {
    const int64_t diff = static_cast<int64_t>(i) * coef_i - static_cast<int64_t>(j) * coef_j;
    switch (alternative) {
      case Alternative::kTwoSided:
        return std::llabs(diff) >= threshold;
      case Alternative::kGreater:
        return diff >= threshold;
      // D- = sup(F_y - F_x). R 4.2.2 scores the "less" statistic against the D+ walk
      // (`d <- u/n.x - v/n.y` for both one-sided alternatives), which is the right law
      // only without ties; see the note in ks.h.
      case Alternative::kLess:
        return -diff >= threshold;
    }
    return false;
  };

  std::vector<double> inv(n_total + 1, 0.0);  // inv[r] = 1/r: r elements remain to be drawn
  for (size_t r = 1; r <= n_total; ++r) inv[r] = 1.0 / static_cast<double>(r);

  // row[j] = P(the walk is at (i, j) and has not yet hit an extreme point).
  std::vector<double> row(b + 1, 0.0);
  double upper = 0.0;
  auto absorb = [&](size_t i, size_t j, double* cell) {
    if (lat.checked[i + j] && extreme(i, j)) {
      upper += *cell;
      *cell = 0.0;
    }
  };
  row[0] = 1.0;  // the origin is never checked, as in pfun (k starts at 1)
  for (size_t j = 1; j <= b; ++j) {
    row[j] = row[j - 1] * static_cast<double>(b - j + 1) * inv[n_total - j + 1];
    absorb(0, j, &row[j]);
  }
  for (size_t i = 1; i <= a; ++i) {
    const double outer_left = static_cast<double>(a - i + 1);  // outer draws still available
    row[0] = row[0] * outer_left * inv[n_total - i + 1];
    absorb(i, 0, &row[0]);
    for (size_t j = 1; j <= b; ++j) {
      const size_t remaining = n_total - (i + j) + 1;  // elements left before this step
      row[j] = (row[j] * outer_left + row[j - 1] * static_cast<double>(b - j + 1)) * inv[remaining];
      absorb(i, j, &row[j]);
    }
  }
  return upper;
}

// Upper tail of the Kolmogorov limit law, P(K >= lambda), for R's
// `1 - .Call(C_pKS2, sqrt(n) * q, tol = 1e-6)` (pkstwo in R 4.2's ks.c).
double KolmogorovUpperTail(double lambda) {
  if (lambda < 1.0) {
    // pkstwo's small-x branch, kept term for term so Augur reproduces R here: the theta
    // series sqrt(2 pi)/x * sum_{k odd} exp(-k^2 pi^2 / (8 x^2)) summed for k < k_max with
    // k_max = (int) sqrt(2 - log(tol)) = 3, i.e. only k = 1. That truncation is R's (it is
    // off by up to ~4e-5 just below lambda = 1), and p >= 0.26 here so no tail precision
    // is at stake.
    const int k_max = static_cast<int>(std::sqrt(2.0 - std::log(1e-6)));
    const double z = -(M_PI_2 * M_PI_4) / (lambda * lambda);
    const double w = std::log(lambda);
    double s = 0.0;
    for (int k = 1; k < k_max; k += 2) s += std::exp(k * k * z - w);
    return 1.0 - s / kOneOverSqrt2Pi;
  }
  // pkstwo's large-x branch returns the CDF 1 - 2 sum (-1)^(k-1) exp(-2 k^2 x^2) and R
  // subtracts it from 1, which rounds every p below ~1e-16 to 0. Summing the alternating
  // tail series itself keeps relative precision down to the underflow of exp (lambda ~ 19).
  // The terms shrink by at least exp(-6) per step, so stopping at negligible terms (instead
  // of R's absolute tol = 1e-6) changes R's value by < 1e-13 relative.
  const double z = -2.0 * lambda * lambda;
  double sum = 0.0;
  double sign = 1.0;
  for (int k = 1; k < 100; ++k) {
    const double term = 2.0 * std::exp(z * k * k);
    sum += sign * term;
    if (term <= sum * DBL_EPSILON * 0.25) break;
    sign = -sign;
  }
  return sum;
}

}  // namespace

Result<KsResult> KolmogorovSmirnov(std::span<const double> x, std::span<const double> y,
                                   const KsOptions& options) {
  // Sorted copies: the caller's spans are never modified.
  auto x_clean = internal::SortedSample(x, "x", options.non_finite);
  if (!x_clean) return x_clean.error();
  auto y_clean = internal::SortedSample(y, "y", options.non_finite);
  if (!y_clean) return y_clean.error();

  const size_t nx = x_clean->size();
  const size_t ny = y_clean->size();
  // The lattice numerators reach nx*ny; no sample that fits in memory gets near this.
  if (nx > static_cast<size_t>(std::numeric_limits<int64_t>::max()) / ny) {
    return InvalidArgument("ks: samples too large (nx * ny overflows 64 bits)");
  }
  const double cells = static_cast<double>(nx) * static_cast<double>(ny);
  bool exact = false;
  switch (options.method) {
    case KsMethod::kAuto:
      exact = cells < kAutoExactLimit;
      break;
    case KsMethod::kExact:
      exact = true;
      break;
    case KsMethod::kAsymptotic:
      exact = false;
      break;
  }
  if (exact && cells > kMaxExactCells) {
    return InvalidArgument("ks: exact p-value requested for nx * ny = " + std::to_string(nx) +
                           " * " + std::to_string(ny) +
                           ", above the 1e8 limit of the exact method; use the asymptotic "
                           "method (the default picks it above nx * ny = 10000)");
  }

  const Lattice lat = BuildLattice(*x_clean, *y_clean, options.alternative);
  KsResult result;
  result.n_x = nx;
  result.n_y = ny;
  result.exact = exact;
  result.statistic = static_cast<double>(lat.max_diff) / cells;

  double p;
  if (exact) {
    p = ExactUpperTail(lat, options.alternative);
  } else {
    // psmirnov(exact = FALSE): the limit law of sqrt(n) * D with n = nx*ny/(nx+ny).
    const double dx = static_cast<double>(nx), dy = static_cast<double>(ny);
    const double n = dx * dy / (dx + dy);
    const double d = result.statistic;
    if (options.alternative == Alternative::kTwoSided) {
      // R sets the CDF to 0 for q < DBL_EPSILON (`ret[q < .Machine$double.eps] <- 0`).
      p = d < DBL_EPSILON ? 1.0 : KolmogorovUpperTail(std::sqrt(n) * d);
    } else {
      // R: 1 - (1 - exp(-2 n q^2)); taken directly so tiny p do not round to 0.
      p = std::exp(-2.0 * n * d * d);
    }
  }
  result.p_value = std::clamp(p, 0.0, 1.0);  // R: PVAL <- min(1, max(0, PVAL))
  return result;
}

}  // namespace augur::stats
