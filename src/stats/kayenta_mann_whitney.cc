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
  const double dz = static_cast<double>(u2 - static_cast<int64_t>(nx) * static_cast<int64_t>(ny)) *
                    0.5;
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
// `f(mu, a, c)` is told the current bracket [a, c] (unordered), which contains mu and every
// later point unless an interpolation step of exactly 0 is pushed backwards by -tol_act.
// f returns NaN to abort.
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
    fb = f(b, a, c);
    if (std::isnan(fb)) return {b, iteration + 1, true};
    if ((fb > 0 && fc > 0) || (fb < 0 && fc < 0)) {  // keep the root between b and c
      c = a;
      fc = fa;
    }
  }
  return {b, kMaxIterations, false};
}

// Inputs as the fast statistic needs them: distinct x values with multiplicities, sorted y.
struct Prepared {
  std::vector<double> x_values;   // distinct (bitwise) x values, ascending in Java order
  std::vector<int64_t> x_counts;  // multiplicity of each
  std::vector<int64_t> y_keys;    // OrderKey of every y, ascending
  double nx = 0, ny = 0;
  double x_ties = 0, y_ties = 0;  // sum(t^3 - t) over the tie groups within x, within y
  // Smallest difference between adjacent distinct x values, and max |x|: when the gap is
  // well above the rounding error of x - mu, no two distinct x values can become equal after
  // the shift, so the tie groups of x - mu are those of x.
  double min_gap = std::numeric_limits<double>::infinity();
  double max_abs_x = 0;
};

// The statistic s(mu) = wilcoxonDiff(mu, 0, x, y), with Brent's shrinking bracket exploited:
// for mu in [lo, hi] each shifted value fl(x_k - mu) lies in [fl(x_k - hi), fl(x_k - lo)], so
// x groups whose window holds no y value contribute a constant; only the others ("active")
// are revisited, each within its window of y. Windows only shrink while the bracket does.
class FastStatistic {
 public:
  explicit FastStatistic(const Prepared& d) : d_(d) {}

  // Any mu, by a full merge that also merges x groups that the shift made equal.
  double Full(double mu) const {
    const auto& y = d_.y_keys;
    const size_t ny = y.size(), groups = d_.x_values.size();
    int64_t u2 = 0;
    double ties = d_.y_ties;
    size_t lo = 0, hi = 0;
    // Flushes a run of `a` shifted x values equal to `v`.
    auto flush = [&](int64_t v, int64_t a) {
      while (lo < ny && y[lo] < v) ++lo;
      if (hi < lo) hi = lo;
      while (hi < ny && y[hi] <= v) ++hi;
      u2 += a * static_cast<int64_t>(lo + hi);
      const double b = static_cast<double>(hi - lo), t = static_cast<double>(a) + b;
      ties += TieTerm(t) - TieTerm(b);
    };
    int64_t run_key = OrderKey(d_.x_values[0] - mu), run_count = d_.x_counts[0];
    for (size_t k = 1; k < groups; ++k) {
      const int64_t v = OrderKey(d_.x_values[k] - mu);
      if (v == run_key) {
        run_count += d_.x_counts[k];
      } else {
        flush(run_key, run_count);
        run_key = v;
        run_count = d_.x_counts[k];
      }
    }
    flush(run_key, run_count);
    return Score(u2, ties, d_.nx, d_.ny);
  }

  void BeginSearch() { has_bracket_ = false; }

  // s(mu) where [a, c] (either order) is Brent's current bracket.
  double InBracket(double mu, double a, double c) {
    int64_t ka = OrderKey(a), kc = OrderKey(c);
    if (ka > kc) {
      std::swap(a, c);
      std::swap(ka, kc);
    }
    if (!has_bracket_ || ka < key_lo_ || kc > key_hi_) {
      Rebuild(a, c, ka, kc);
    } else if (ka != key_lo_ || kc != key_hi_) {
      Narrow(a, c, ka, kc);
    }
    const int64_t km = OrderKey(mu);
    if (!collapse_free_ || km < key_lo_ || km > key_hi_) return Full(mu);

    const auto& y = d_.y_keys;
    int64_t u2 = base_u2_;
    double ties = d_.x_ties + d_.y_ties;
    uint32_t p = 0, r = 0;
    for (const Active& e : active_) {
      const int64_t v = OrderKey(d_.x_values[e.group] - mu);
      p = std::max(p, e.jlo);
      while (p < e.jhi && y[p] < v) ++p;
      r = std::max(r, p);
      while (r < e.jhi && y[r] <= v) ++r;
      const int64_t a_count = d_.x_counts[e.group];
      u2 += a_count * static_cast<int64_t>(p + r);
      if (r > p) {  // x group tied with r - p values of y: (a+b)^3-(a+b) - (a^3-a) - (b^3-b)
        const double av = static_cast<double>(a_count), b = static_cast<double>(r - p);
        ties += 3 * av * b * (av + b);
      }
    }
    return Score(u2, ties, d_.nx, d_.ny);
  }

 private:
  struct Active {
    uint32_t group;
    uint32_t jlo, jhi;  // y[jlo, jhi) may still tie with or cross fl(x_group - mu)
  };

  void SetBracket(double lo, double hi, int64_t klo, int64_t khi) {
    has_bracket_ = true;
    key_lo_ = klo;
    key_hi_ = khi;
    const double scale = d_.max_abs_x + std::max(std::fabs(lo), std::fabs(hi));
    collapse_free_ = d_.min_gap > 4 * kEps * scale + 2 * std::numeric_limits<double>::denorm_min();
  }

  // Windows of all groups for the bracket [lo, hi]: y values in [fl(x - hi), fl(x - lo)].
  void Rebuild(double lo, double hi, int64_t klo, int64_t khi) {
    SetBracket(lo, hi, klo, khi);
    active_.clear();
    base_u2_ = 0;
    const auto& y = d_.y_keys;
    const uint32_t ny = static_cast<uint32_t>(y.size());
    uint32_t p = 0, r = 0;
    for (uint32_t k = 0; k < d_.x_values.size(); ++k) {
      const int64_t v_hi = OrderKey(d_.x_values[k] - hi), v_lo = OrderKey(d_.x_values[k] - lo);
      while (p < ny && y[p] < v_hi) ++p;
      r = std::max(r, p);
      while (r < ny && y[r] <= v_lo) ++r;
      if (p == r) {
        Retire(k, p);
      } else {
        active_.push_back({k, p, r});
      }
    }
  }

  // Same for a bracket nested in the current one: every window shrinks, so each search starts
  // from the old window and the pointers only move forward across groups.
  void Narrow(double lo, double hi, int64_t klo, int64_t khi) {
    SetBracket(lo, hi, klo, khi);
    const auto& y = d_.y_keys;
    size_t kept = 0;  // compacts active_ in place
    uint32_t p = 0, r = 0;
    for (const Active& e : active_) {
      const double x = d_.x_values[e.group];
      const int64_t v_hi = OrderKey(x - hi), v_lo = OrderKey(x - lo);
      p = std::max(p, e.jlo);
      while (p < e.jhi && y[p] < v_hi) ++p;
      r = std::max(r, p);
      while (r < e.jhi && y[r] <= v_lo) ++r;
      if (p == r) {
        Retire(e.group, p);
      } else {
        active_[kept++] = {e.group, p, r};
      }
    }
    active_.resize(kept);
  }

  // A group whose window holds no y value: exactly `below` values of y lie under it and none
  // ties with it for every mu in the bracket.
  void Retire(uint32_t group, uint32_t below) {
    base_u2_ += d_.x_counts[group] * 2 * static_cast<int64_t>(below);
  }

  const Prepared& d_;
  bool has_bracket_ = false;
  bool collapse_free_ = false;
  int64_t key_lo_ = 0, key_hi_ = 0;
  int64_t base_u2_ = 0;
  std::vector<Active> active_;
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
  double Full(double mu) const { return LiteralScore(mu, x_, y_); }
  void BeginSearch() {}
  double InBracket(double mu, double, double) { return Full(mu); }

 private:
  std::span<const double> x_, y_;
};

Status CheckFiniteSample(std::span<const double> values, const char* name) {
  if (values.empty()) return InvalidArgument(std::string(name) + " sample is empty");
  if (values.size() >= (size_t{1} << 31)) {
    return InvalidArgument(std::string(name) + " sample is too large");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return InvalidArgument(std::string(name) + " sample: value at index " + std::to_string(i) +
                             " is not finite");
    }
  }
  return {};
}

// Scala's Array.min / Array.max (reduceLeft keeping the first of equals under IEEE <=, >=), so
// that a -0.0 / +0.0 choice is made as Kayenta makes it.
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

// The driver of MannWhitney.calculateConfidenceInterval, for either statistic.
template <typename Statistic>
Result<KayentaMannWhitneyResult> Solve(Statistic& stat, std::span<const double> x,
                                       std::span<const double> y, double conf_level) {
  KayentaMannWhitneyResult r;
  r.mu_min = ScalaMin(x) - ScalaMax(y);
  r.mu_max = ScalaMax(x) - ScalaMin(y);
  if (!std::isfinite(r.mu_min) || !std::isfinite(r.mu_max)) {
    return InvalidArgument("the range of experiment - control overflows a double");
  }
  const double alpha = 1.0 - conf_level;
  r.z = internal::NormalQuantile(alpha / 2);

  // f(muMin, q) and f(muMax, q) differ only by q: evaluate the statistic once per endpoint.
  const double s_min = stat.Full(r.mu_min), s_max = stat.Full(r.mu_max);
  r.evaluations = 2;
  if (std::isnan(s_min) || std::isnan(s_max)) return InvalidArgument(kAllTied);

  bool failed = false;
  // Kayenta's findRoot (with_shortcut) and its estimate search (without).
  auto search = [&](double q, bool with_shortcut, int* iterations) {
    const double f_lo = s_min - q, f_hi = s_max - q;
    *iterations = 0;
    if (with_shortcut) {
      if (f_lo <= 0) return r.mu_min;
      if (f_hi >= 0) return r.mu_max;
    }
    stat.BeginSearch();
    const Root root = Zeroin(r.mu_min, r.mu_max, f_lo, f_hi, [&](double mu, double a, double c) {
      return stat.InBracket(mu, a, c) - q;
    });
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

}  // namespace

Result<KayentaMannWhitneyResult> KayentaMannWhitney(std::span<const double> experiment,
                                                    std::span<const double> control,
                                                    double conf_level) {
  if (Status s = CheckInputs(experiment, control, conf_level); !s) return s.error();

  Prepared d;
  d.nx = static_cast<double>(experiment.size());
  d.ny = static_cast<double>(control.size());
  std::vector<int64_t> x_keys(experiment.size());
  for (size_t i = 0; i < experiment.size(); ++i) x_keys[i] = OrderKey(experiment[i]);
  std::sort(x_keys.begin(), x_keys.end());
  d.y_keys.resize(control.size());
  for (size_t i = 0; i < control.size(); ++i) d.y_keys[i] = OrderKey(control[i]);
  std::sort(d.y_keys.begin(), d.y_keys.end());

  for (size_t i = 0; i < x_keys.size();) {
    size_t j = i + 1;
    while (j < x_keys.size() && x_keys[j] == x_keys[i]) ++j;
    const double value = FromOrderKey(x_keys[i]);
    if (!d.x_values.empty()) d.min_gap = std::min(d.min_gap, value - d.x_values.back());
    d.x_values.push_back(value);
    d.x_counts.push_back(static_cast<int64_t>(j - i));
    d.x_ties += TieTerm(static_cast<double>(j - i));
    i = j;
  }
  d.max_abs_x = std::max(std::fabs(d.x_values.front()), std::fabs(d.x_values.back()));
  for (size_t i = 0; i < d.y_keys.size();) {
    size_t j = i + 1;
    while (j < d.y_keys.size() && d.y_keys[j] == d.y_keys[i]) ++j;
    d.y_ties += TieTerm(static_cast<double>(j - i));
    i = j;
  }

  FastStatistic stat(d);
  return Solve(stat, experiment, control, conf_level);
}

Result<KayentaMannWhitneyResult> KayentaMannWhitneyReference(std::span<const double> experiment,
                                                             std::span<const double> control,
                                                             double conf_level) {
  if (Status s = CheckInputs(experiment, control, conf_level); !s) return s.error();
  LiteralStatistic stat(experiment, control);
  return Solve(stat, experiment, control, conf_level);
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
