// Kayenta's Mann-Whitney interval (kayenta-mannwhitney: MannWhitney.scala and
// KayentaBrentSolver.java), reimplemented so that every floating-point operation that decides
// Brent's iterates happens in the same order as in Kayenta.
//
// Exactness argument for the fast statistic. Kayenta ranks concat(x - mu, y) with average
// ranks and Java's Double.compare order. The rank sum of x equals nx(nx+1)/2 + U with
// U = #{(i, j): x_i - mu > y_j} + #{x_i - mu == y_j} / 2, and all of these numbers are exact
// half-integers in double, so dz = U - nx*ny/2 is bit-identical however it is summed. The tie
// term sum(t^3 - t) is a sum of exact integers (exact below 2^53, i.e. for any realistic n).
// Hence f(mu) only depends on the integers 2U and sum(t^3 - t), and those can be counted by a
// merge of sorted x - mu (shifting keeps x sorted: rounding is monotone) with sorted y, using
// the very same doubles fl(x_i - mu) that Kayenta compares. Nothing here approximates.
#include "augur/stats/kayenta_mann_whitney.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "augur/stats/sample.h"
#include "stats/distributions.h"
#include "stats/rank_kernel.h"

namespace augur::stats {
namespace {

// KayentaBrentSolver's constants (R's zeroin uses DBL_EPSILON and the caller's tol).
constexpr double kEps = 2.220446049250313e-16;
constexpr double kTol = 1e-4;
// Kayenta sets maxit = 1000 + 1 and loops `while (maxit-- > 0)`: 1001 evaluations at most.
constexpr int kMaxIterations = 1001;
constexpr char kAllTied[] = "cannot compute confidence interval when all observations are tied";

// A signed integer whose order is java.lang.Double.compare's order on non-NaN doubles
// (-0.0 below +0.0), which is how commons-math's NaturalRanking sorts and detects ties.
inline int64_t OrderKey(double v) {
  const int64_t bits = std::bit_cast<int64_t>(v);
  return bits ^ ((bits >> 63) & std::numeric_limits<int64_t>::max());
}
inline double FromOrderKey(int64_t key) {  // OrderKey is an involution on the bit pattern
  return std::bit_cast<double>(key ^ ((key >> 63) & std::numeric_limits<int64_t>::max()));
}

inline double TieTerm(double t) { return t * t * t - t; }

// Kayenta's wilcoxonDiff without the "- quantile", from the doubled Mann-Whitney count
// u2 = 2U and the tie sum. Returns NaN when sigma == 0 (all observations tied). The
// expressions keep Kayenta's evaluation order so that the result is bit-identical.
double Score(int64_t u2, double tie_sum, double nx, double ny) {
  const double dz =
      static_cast<double>(u2 - static_cast<int64_t>(nx) * static_cast<int64_t>(ny)) * 0.5;
  const double correction = (dz > 0 ? 1.0 : dz < 0 ? -1.0 : 0.0) * 0.5;
  const double sigma =
      std::sqrt((nx * ny / 12) * ((nx + ny + 1) - tie_sum / ((nx + ny) * (nx + ny - 1))));
  if (sigma == 0) return std::numeric_limits<double>::quiet_NaN();
  return (dz - correction) / sigma;
}

// commons-math Precision.equals(fb, 0.0) with its default of 1 ulp.
inline bool WithinOneUlpOfZero(double v) {
  return std::fabs(v) <= std::numeric_limits<double>::denorm_min();
}

struct Root {
  double value = 0;
  int iterations = 0;
  bool failed = false;  // the statistic reported "all tied" during the search
};

// KayentaBrentSolver.brentDirect, itself R's R_zeroin2 (Brent 1973, the Forsythe-Malcolm-
// Moler zeroin): start from [ax, bx] with known fa, fb; return an endpoint whose f is exactly
// 0; otherwise iterate: keep b the best point and c the other side, try linear (two distinct
// points) or inverse quadratic interpolation, accept it only if it lands well inside [b, c]
// and shrinks faster than bisection would, else bisect; never step less than tol_act. Stops
// when half of |c - b| is within tol_act or f(b) is 0 (to 1 ulp), or after 1001 evaluations.
// f returns NaN to abort (all observations tied).
template <typename F>
Root Zeroin(double ax, double bx, double fa, double fb, F&& f) {
  if (fa == 0.0) return {ax, 0, false};
  if (fb == 0.0) return {bx, 0, false};
  double a = ax, b = bx, c = a, fc = fa;
  for (int iteration = 0; iteration < kMaxIterations; ++iteration) {
    const double prev_step = b - a;
    if (std::fabs(fc) < std::fabs(fb)) {  // make b the best approximation so far
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const double tol_act = 2 * kEps * std::fabs(b) + kTol / 2;
    double new_step = (c - b) / 2;
    if (std::fabs(new_step) <= tol_act || WithinOneUlpOfZero(fb)) return {b, iteration, false};

    if (std::fabs(prev_step) >= tol_act && std::fabs(fa) > std::fabs(fb)) {
      const double cb = c - b;
      double p, q;
      if (a == c) {  // only two distinct points: secant
        const double t1 = fb / fa;
        p = cb * t1;
        q = 1.0 - t1;
      } else {  // inverse quadratic interpolation through a, b, c
        const double qa = fa / fc, t1 = fb / fc, t2 = fb / fa;
        p = t2 * (cb * qa * (qa - t1) - (b - a) * (t1 - 1.0));
        q = (qa - 1.0) * (t1 - 1.0) * (t2 - 1.0);
      }
      if (p > 0.0) {
        q = -q;
      } else {
        p = -p;
      }
      if (p < (0.75 * cb * q - std::fabs(tol_act * q) / 2) && p < std::fabs(prev_step * q / 2)) {
        new_step = p / q;
      }
    }
    if (std::fabs(new_step) < tol_act) new_step = new_step > 0.0 ? tol_act : -tol_act;

    a = b;
    fa = fb;
    b += new_step;
    fb = f(b);
    if (std::isnan(fb)) return {b, iteration + 1, true};
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {  // keep the root between b and c
      c = a;
      fc = fa;
    }
  }
  return {b, kMaxIterations, false};
}

// Inputs as the fast statistic needs them: both samples reduced to their distinct values.
struct Prepared {
  std::vector<double> x_values;   // distinct (bitwise) x values, ascending in Java's order
  std::vector<int64_t> x_counts;  // multiplicity of each
  // The my distinct y values as OrderKeys, ascending, then kRankPad sentinels above every key
  // of a number: the pad the rank kernel reads (stats/rank_kernel.h), and where the merge and
  // the binary searches stop.
  std::vector<int64_t> y_keys;
  size_t my = 0;
  // y_below[j] = #y with key below y_keys[j]; y_below[j + 1] - y_below[j] is the multiplicity
  // of y_keys[j]. Two trailing entries equal to ny cover the sentinel.
  std::vector<int64_t> y_below;
  double nx = 0, ny = 0;
  double x_ties = 0, y_ties = 0;  // sum(t^3 - t) over the tie groups within x, within y
  bool small = false;             // nx + ny < 2^20: tie sums (at most (nx+ny)^3) fit an int64
  bool no_ties = false;           // neither sample has two equal values
  // Smallest difference between adjacent distinct x values, and max |x| (see operator()).
  double min_gap = std::numeric_limits<double>::infinity();
  double max_abs_x = 0;
};

// Java's Double.compare order lies strictly below this for every non-NaN double.
constexpr int64_t kSentinelKey = std::numeric_limits<int64_t>::max();

// #(keys[0..n) < v) for sorted keys, without data-dependent branches. REQUIRES n >= 1.
inline uint32_t LowerBound(const int64_t* keys, size_t n, int64_t v) {
  const int64_t* base = keys;
  while (n > 1) {
    const size_t half = n / 2;
    base = base[half] < v ? base + half : base;
    n -= half;
  }
  return static_cast<uint32_t>(base - keys) + (*base < v);
}

// The loops around the rank kernel, compiled for AVX-512, AVX2 and baseline x86-64 and picked
// at load time (GCC's target_clones): at baseline width the shift and the sums took as long
// as the ranking itself.
#define AUGUR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

// out[k] = OrderKey(x[k] - mu).
AUGUR_CLONES void ShiftedKeys(const double* x, size_t m, double mu, int64_t* out) {
  for (size_t k = 0; k < m; ++k) out[k] = OrderKey(x[k] - mu);
}

AUGUR_CLONES int64_t Sum(const uint32_t* pos, size_t m) {
  int64_t sum = 0;
  for (size_t k = 0; k < m; ++k) sum += pos[k];
  return sum;
}

#undef AUGUR_CLONES

// The statistic s(mu) = wilcoxonDiff(mu, 0, x, y), computed exactly from counts (see the top
// of the file). Each evaluation shifts the distinct x values and finds, for each, how many
// distinct y values lie below it and whether one equals it: by the rank kernel
// (stats/rank_kernel.h) over the part where the shifted x and y overlap, or by binary
// searches when x has few distinct values. Cost on the 2 GHz VM of the README, 1000 + 1000
// distinct values: ~2-3 us per evaluation with AVX-512 (the literal rank-and-sort evaluation
// takes ~70 us).
class FastStatistic {
 public:
  explicit FastStatistic(const Prepared& d)
      : d_(d), shifted_(d.x_values.size() + 1), position_(d.x_values.size() + 1) {
    shifted_.back() = kSentinelKey;
    const size_t m = d.x_values.size(), my = d.my;
    size_t log2_my = 1;
    while ((size_t{1} << log2_my) < my + 1) ++log2_my;
    use_binary_search_ = 2 * m * log2_my < m + my;
  }

  double operator()(double mu) {
    const size_t m = d_.x_values.size();
    ShiftedKeys(d_.x_values.data(), m, mu, shifted_.data());
    // Shifting may make two distinct x values equal (x_i - mu rounds the same); then the tie
    // groups differ from x's and the general merge handles it. Impossible when the smallest
    // gap between x values exceeds twice the rounding error of the shift (eps/2 relative per
    // value, with margin); otherwise checked exactly.
    if (!(d_.min_gap > 4 * kEps * (d_.max_abs_x + std::fabs(mu)) +
                           2 * std::numeric_limits<double>::denorm_min())) {
      for (size_t k = 1; k < m; ++k) {
        if (shifted_[k] <= shifted_[k - 1]) return General(mu);
      }
    }
    if (!d_.small) return General(mu);

    // Integer sums: exact, and chains of 1-cycle adds rather than 4-cycle double adds.
    int64_t u2 = 0, cross = 0;
    if (d_.no_ties) {  // every count is 1: U2 = sum(2 * #y below + tied), cross = 2 * #tied
      const Sums sums = Count<false>();
      u2 = 2 * sums.below + sums.tied;
      cross = 2 * sums.tied;
    } else {
      Count<true>();
      const int64_t* y = d_.y_keys.data();
      const int64_t* below = d_.y_below.data();
      const int64_t* counts = d_.x_counts.data();
      for (size_t k = 0; k < m; ++k) {
        const uint32_t j = position_[k];
        const int64_t lo = below[j];
        const int64_t hi = below[j + (y[j] == shifted_[k])];
        const int64_t a = counts[k], b = hi - lo;
        u2 += a * (lo + hi);
        // A group of a x values tied with b y values adds (a+b)^3-(a+b) - (a^3-a) - (b^3-b).
        cross += a * b * (a + b);
      }
    }
    return Score(u2, d_.x_ties + d_.y_ties + 3 * static_cast<double>(cross), d_.nx, d_.ny);
  }

 private:
  struct Sums {
    int64_t below = 0;  // sum over x groups of #(distinct y keys below)
    int64_t tied = 0;   // x groups equal to some y key
  };

  // For each shifted x, j = #(distinct y keys below it) and whether y_keys[j] equals it. With
  // kStore, j goes to position_ (Sums unused); otherwise only the sums are kept.
  template <bool kStore>
  Sums Count() {
    const size_t m = d_.x_values.size(), my = d_.my;
    const int64_t* y = d_.y_keys.data();
    const int64_t* v = shifted_.data();
    uint32_t* pos = position_.data();
    Sums sums;
    if (use_binary_search_) {
      for (size_t k = 0; k < m; ++k) {
        const uint32_t j = LowerBound(y, my + 1, v[k]);
        if constexpr (kStore) {
          pos[k] = j;
        } else {
          sums.below += j;
          sums.tied += y[j] == v[k];
        }
      }
      return sums;
    }
    // Shifted x values at or below the smallest y have no y below them, those above the
    // largest y have all: only the overlap is ranked (all of it near the roots, little of it
    // at the ends of the range and in Brent's first steps).
    const size_t first = LowerBound(v, m, y[0] + 1);      // #(v <= y[0])
    const size_t last = LowerBound(v, m, y[my - 1] + 1);  // #(v <= y[my - 1])
    int64_t tied = 0;
    if (first < last) {
      tied = static_cast<int64_t>(internal::RankBelow(v + first, last - first, y, my, pos + first));
    }
    if constexpr (kStore) {
      std::fill(pos, pos + first, 0u);
      std::fill(pos + last, pos + m, static_cast<uint32_t>(my));
    } else {
      const int64_t below = Sum(pos + first, last - first);
      sums.below = below + static_cast<int64_t>(my * (m - last));
      sums.tied = tied + (first > 0 && v[first - 1] == y[0]);  // keys are distinct: the last only
    }
    return sums;
  }

  // Any mu: a merge over runs of equal shifted x values, tie sums in double.
  double General(double mu) const {
    const int64_t* y = d_.y_keys.data();
    const int64_t* below = d_.y_below.data();
    int64_t u2 = 0;
    double ties = d_.y_ties;
    size_t j = 0;
    // Adds a run of `a` shifted x values equal to `v`.
    auto add_run = [&](int64_t v, double a) {
      while (y[j] < v) ++j;
      const int64_t lo = below[j], hi = below[j + (y[j] == v)];
      u2 += static_cast<int64_t>(a) * (lo + hi);
      const double b = static_cast<double>(hi - lo);
      ties += TieTerm(a + b) - TieTerm(b);
    };
    int64_t run_key = OrderKey(d_.x_values[0] - mu);
    double run_count = static_cast<double>(d_.x_counts[0]);
    for (size_t k = 1; k < d_.x_values.size(); ++k) {
      const int64_t v = OrderKey(d_.x_values[k] - mu);
      if (v == run_key) {
        run_count += static_cast<double>(d_.x_counts[k]);
      } else {
        add_run(run_key, run_count);
        run_key = v;
        run_count = static_cast<double>(d_.x_counts[k]);
      }
    }
    add_run(run_key, run_count);
    return Score(u2, ties, d_.nx, d_.ny);
  }

  const Prepared& d_;
  std::vector<int64_t> shifted_;    // OrderKey(x_values[k] - mu), then a sentinel
  std::vector<uint32_t> position_;  // #(distinct y keys < shifted_[k]), then scratch
  bool use_binary_search_ = false;
};

// Kayenta's wilcoxonDiff done literally: rank concat(x - mu, y), average ranks over ties.
double LiteralScore(double mu, std::span<const double> x, std::span<const double> y) {
  std::vector<std::pair<int64_t, bool>> pooled;  // (OrderKey, belongs to x)
  pooled.reserve(x.size() + y.size());
  for (double v : x) {
    const double shifted = v - mu;
    if (std::isnan(shifted)) return std::numeric_limits<double>::quiet_NaN();
    pooled.emplace_back(OrderKey(shifted), true);
  }
  for (double v : y) pooled.emplace_back(OrderKey(v), false);
  std::sort(pooled.begin(), pooled.end());
  double rank_sum_x = 0, ties = 0;
  for (size_t i = 0; i < pooled.size();) {
    size_t j = i + 1;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double average_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (size_t k = i; k < j; ++k) {
      if (pooled[k].second) rank_sum_x += average_rank;
    }
    ties += TieTerm(static_cast<double>(j - i));
    i = j;
  }
  const double nx = static_cast<double>(x.size()), ny = static_cast<double>(y.size());
  const double dz = rank_sum_x - nx * (nx + 1) / 2 - nx * ny / 2;
  const double correction = (dz > 0 ? 1.0 : dz < 0 ? -1.0 : 0.0) * 0.5;
  const double sigma =
      std::sqrt((nx * ny / 12) * ((nx + ny + 1) - ties / ((nx + ny) * (nx + ny - 1))));
  if (sigma == 0) return std::numeric_limits<double>::quiet_NaN();
  return (dz - correction) / sigma;
}

class LiteralStatistic {
 public:
  LiteralStatistic(std::span<const double> x, std::span<const double> y) : x_(x), y_(y) {}
  double operator()(double mu) const { return LiteralScore(mu, x_, y_); }

 private:
  std::span<const double> x_, y_;
};

Status CheckFiniteSample(std::span<const double> values, const char* name) {
  if (values.empty()) return InvalidArgument(std::string(name) + " sample is empty");
  if (values.size() >= (size_t{1} << 31)) {
    return InvalidArgument(std::string(name) + " sample is too large");
  }
  if (AllFinite(values)) return {};
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return InvalidArgument(std::string(name) + " sample: value at index " + std::to_string(i) +
                             " is not finite");
    }
  }
  return {};
}

// Extremes as Scala's Array.min / Array.max find them: reduceLeft keeping the first of values
// equal under IEEE <= / >=, so that a -0.0 / +0.0 choice is made as Kayenta makes it.
struct Extremes {
  double x_min, x_max, y_min, y_max;
};
double ScalaMin(std::span<const double> v) {
  double m = v[0];
  for (double e : v.subspan(1)) m = m <= e ? m : e;
  return m;
}
double ScalaMax(std::span<const double> v) {
  double m = v[0];
  for (double e : v.subspan(1)) m = m >= e ? m : e;
  return m;
}
// The same from the smallest or largest value in Java's order: they differ only when that is
// a zero, where Scala returns the first zero of the input, whatever its sign.
double ScalaExtreme(double extreme, std::span<const double> values) {
  if (extreme != 0) return extreme;
  for (double v : values) {
    if (v == 0) return v;
  }
  return extreme;
}

// The driver of MannWhitney.calculateConfidenceInterval, for either statistic.
template <typename Statistic>
Result<KayentaMannWhitneyResult> Solve(Statistic& stat, const Extremes& e, double conf_level) {
  KayentaMannWhitneyResult r;
  r.mu_min = e.x_min - e.y_max;
  r.mu_max = e.x_max - e.y_min;
  if (!std::isfinite(r.mu_min) || !std::isfinite(r.mu_max)) {
    return InvalidArgument("the range of experiment - control overflows a double");
  }
  const double alpha = 1.0 - conf_level;
  r.z = internal::NormalQuantile(alpha / 2);

  // f(muMin, q) and f(muMax, q) differ only by q: evaluate the statistic once per endpoint.
  const double s_min = stat(r.mu_min), s_max = stat(r.mu_max);
  r.evaluations = 2;
  if (std::isnan(s_min) || std::isnan(s_max)) return InvalidArgument(kAllTied);

  bool failed = false;  // Kayenta throws at the first "all tied" evaluation
  // Kayenta's findRoot (with_shortcut) and its estimate search (without).
  auto search = [&](double q, bool with_shortcut, int* iterations) {
    const double f_lo = s_min - q, f_hi = s_max - q;
    *iterations = 0;
    if (failed) return 0.0;
    if (with_shortcut) {
      if (f_lo <= 0) return r.mu_min;
      if (f_hi >= 0) return r.mu_max;
    }
    const Root root =
        Zeroin(r.mu_min, r.mu_max, f_lo, f_hi, [&](double mu) { return stat(mu) - q; });
    *iterations = root.iterations;
    r.evaluations += root.iterations;
    failed = failed || root.failed;
    return root.value;
  };
  r.ci_lower = search(-r.z, true, &r.iterations_lower);
  r.ci_upper = search(r.z, true, &r.iterations_upper);
  r.estimate = search(0, false, &r.iterations_estimate);
  if (failed) return InvalidArgument(kAllTied);
  return r;
}

Status CheckInputs(std::span<const double> experiment, std::span<const double> control,
                   double conf_level) {
  if (Status s = CheckFiniteSample(experiment, "experiment"); !s) return s;
  if (Status s = CheckFiniteSample(control, "control"); !s) return s;
  return CheckConfLevel(conf_level);
}

// Calls run(i, distinct, count) for each run of `count` equal sorted keys starting at keys[i],
// the `distinct`-th run; returns the number of runs and adds their tie terms to *ties. All-
// distinct keys (continuous data) skip the run loop. Callers write by index (a push_back is a
// call on some path, around which running sums were kept in memory).
template <typename Run>
size_t ForEachRun(const std::vector<int64_t>& keys, double* ties, Run&& run) {
  const size_t n = keys.size();
  bool equal = false;
  for (size_t i = 1; i < n; ++i) equal |= keys[i] == keys[i - 1];
  if (!equal) {
    for (size_t i = 0; i < n; ++i) run(i, i, size_t{1});
    return n;
  }
  size_t distinct = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && keys[j] == keys[i]) ++j;
    run(i, distinct++, j - i);
    if (j - i > 1) *ties += TieTerm(static_cast<double>(j - i));
    i = j;
  }
  return distinct;
}

// x's distinct values, their multiplicities and tie sum, the smallest gap and max |x|, from the
// sorted keys.
void DistinctX(const std::vector<int64_t>& keys, Prepared* d) {
  d->x_values.resize(keys.size());
  d->x_counts.resize(keys.size());
  d->x_ties = 0;
  const size_t distinct = ForEachRun(keys, &d->x_ties, [&](size_t i, size_t r, size_t count) {
    d->x_values[r] = FromOrderKey(keys[i]);
    d->x_counts[r] = static_cast<int64_t>(count);
  });
  d->x_values.resize(distinct);
  d->x_counts.resize(distinct);
  // The smallest gap in four running minima: one was a chain of compare latencies.
  const std::vector<double>& x = d->x_values;
  double lo[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
  size_t k = 1;
  for (; k + 4 <= distinct; k += 4) {
    for (int s = 0; s < 4; ++s) {
      const double gap = x[k + s] - x[k + s - 1];
      lo[s] = gap < lo[s] ? gap : lo[s];
    }
  }
  for (; k < distinct; ++k) lo[0] = std::min(lo[0], x[k] - x[k - 1]);
  d->min_gap = std::min(std::min(lo[0], lo[1]), std::min(lo[2], lo[3]));
  d->max_abs_x = std::max(std::fabs(x.front()), std::fabs(x.back()));
}

// y's distinct keys (then the sentinels), the count below each (then two of ny for the first
// sentinel) and y's tie sum, from the sorted keys.
void DistinctY(const std::vector<int64_t>& keys, Prepared* d) {
  const size_t n = keys.size();
  d->y_keys.resize(n + internal::kRankPad);
  d->y_below.resize(n + 2);
  d->y_ties = 0;
  d->my = ForEachRun(keys, &d->y_ties, [&](size_t i, size_t r, size_t) {
    d->y_keys[r] = keys[i];
    d->y_below[r] = static_cast<int64_t>(i);
  });
  d->y_keys.resize(d->my + internal::kRankPad);
  std::fill(d->y_keys.begin() + static_cast<ptrdiff_t>(d->my), d->y_keys.end(), kSentinelKey);
  d->y_below.resize(d->my + 2);
  d->y_below[d->my] = d->y_below[d->my + 1] = static_cast<int64_t>(n);
}

}  // namespace

Result<KayentaMannWhitneyResult> KayentaMannWhitney(std::span<const double> experiment,
                                                    std::span<const double> control,
                                                    double conf_level) {
  if (Status s = CheckInputs(experiment, control, conf_level); !s) return s.error();

  Prepared d;
  d.nx = static_cast<double>(experiment.size());
  d.ny = static_cast<double>(control.size());
  d.small = experiment.size() + control.size() < (size_t{1} << 20);
  // Sorting OrderKeys sorts in Java's order and makes bitwise-equal values adjacent; sorted
  // input (as a caller that sorted anyway may pass) skips the sort.
  std::vector<int64_t> keys(experiment.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = OrderKey(experiment[i]);
  if (!std::is_sorted(keys.begin(), keys.end())) std::sort(keys.begin(), keys.end());
  DistinctX(keys, &d);
  keys.resize(control.size());
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = OrderKey(control[i]);
  if (!std::is_sorted(keys.begin(), keys.end())) std::sort(keys.begin(), keys.end());
  DistinctY(keys, &d);
  d.no_ties = d.x_values.size() == experiment.size() && d.my == control.size();

  const Extremes extremes = {ScalaExtreme(d.x_values.front(), experiment),
                             ScalaExtreme(d.x_values.back(), experiment),
                             ScalaExtreme(FromOrderKey(d.y_keys.front()), control),
                             ScalaExtreme(FromOrderKey(d.y_keys[d.my - 1]), control)};
  FastStatistic stat(d);
  return Solve(stat, extremes, conf_level);
}

Result<KayentaMannWhitneyResult> KayentaMannWhitneyReference(std::span<const double> experiment,
                                                             std::span<const double> control,
                                                             double conf_level) {
  if (Status s = CheckInputs(experiment, control, conf_level); !s) return s.error();
  LiteralStatistic stat(experiment, control);
  const Extremes extremes = {ScalaMin(experiment), ScalaMax(experiment), ScalaMin(control),
                             ScalaMax(control)};
  return Solve(stat, extremes, conf_level);
}

Result<double> KayentaWilcoxonDiff(double mu, double quantile, std::span<const double> x,
                                   std::span<const double> y) {
  if (x.empty() || y.empty()) return InvalidArgument("wilcoxonDiff needs two non-empty samples");
  for (double v : y) {
    if (std::isnan(v)) return InvalidArgument("wilcoxonDiff: y contains NaN");
  }
  for (double v : x) {
    if (std::isnan(v - mu)) return InvalidArgument("wilcoxonDiff: x - mu contains NaN");
  }
  const double s = LiteralScore(mu, x, y);
  if (std::isnan(s)) return InvalidArgument(kAllTied);
  return s - quantile;
}

}  // namespace augur::stats
