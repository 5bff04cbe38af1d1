#include "augur/stats/anomaly.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "augur/stats/descriptive.h"
#include "augur/stats/sample.h"

namespace augur::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMadToSd = 1.4826;  // 1 / Phi^-1(3/4), as R's mad()
// sqrt(pi / 2): the mean absolute deviation of a normal is sd sqrt(2 / pi).
constexpr double kMeanAdToSd = 1.2533141373155003;
constexpr double kRelativeScaleFloor = 1e-12;

std::string Num(double v) {
  // What an ostream with precision(3) prints (%.3g; to_chars with a precision is defined as
  // printf's), without a stream (reasons are built for every metric of every judgement) and
  // without stdio, which stats/ does not use.
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 3);
  return std::string(buf, r.ptr);
}

Status ValidateOptions(const AnomalyOptions& o) {
  if (!(o.mad_threshold > 0) || !std::isfinite(o.mad_threshold)) {
    return InvalidArgument("anomaly mad_threshold must be finite and > 0, got " +
                           Num(o.mad_threshold));
  }
  if (!(o.ewma_lambda > 0 && o.ewma_lambda <= 1)) {
    return InvalidArgument("anomaly ewma_lambda must be in (0, 1], got " + Num(o.ewma_lambda));
  }
  if (!(o.ewma_L > 0)) {  // +inf is allowed: it switches the EWMA rule off
    return InvalidArgument("anomaly ewma_L must be > 0, got " + Num(o.ewma_L));
  }
  if (!(o.cusum_k >= 0) || !std::isfinite(o.cusum_k)) {
    return InvalidArgument("anomaly cusum_k must be finite and >= 0, got " + Num(o.cusum_k));
  }
  if (!(o.cusum_h > 0)) {
    return InvalidArgument("anomaly cusum_h must be > 0, got " + Num(o.cusum_h));
  }
  return {};
}

struct Reference {
  double center = 0;
  double scale = 0;
  ScaleSource source = ScaleSource::kMad;
};

// Median, and 1.4826 x the median of |x - median|, of an ascending non-empty sample, without
// copying: the deviations below and above the median are two ascending runs that start at the
// median, so their k-th smallest is a merge walk of n / 2 steps. The streaming scorer calls this
// once per point, so avoiding the copy and sort of every window matters.
Reference ReferenceFromSorted(std::span<const double> s) {
  const size_t n = s.size();
  Reference r;
  r.center = PercentileSorted(s, 0.5);
  const double m = r.center;
  size_t right = static_cast<size_t>(std::lower_bound(s.begin(), s.end(), m) - s.begin());
  size_t left = right;        // s[left - 1] is the next candidate below the median
  const size_t k_hi = n / 2;  // the median deviation is rank k_hi (n odd) or mean of k_hi-1, k_hi
  double prev = 0, cur = 0;
  // Branch-free: which run advances is a coin flip for symmetric data, and a branch on it
  // mispredicted half the time (the reads are clamped in bounds, the selects use them only
  // when the run has values left).
  constexpr double kInf = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k <= k_hi; ++k) {
    prev = cur;
    const double below = s[left > 0 ? left - 1 : 0], above = s[right < n ? right : n - 1];
    const double down = left > 0 ? m - below : kInf;
    const double up = right < n ? above - m : kInf;
    const bool take_down = down <= up;
    cur = take_down ? down : up;
    left -= take_down;
    right += !take_down;
  }
  const double mad_raw = (n % 2 == 1) ? cur : 0.5 * (prev + cur);
  r.scale = kMadToSd * mad_raw;
  if (r.scale > 0) return r;
  // MAD = 0: over half the values equal the median. Iglewicz & Hoaglin's fallback, the mean
  // absolute deviation, still sees the minority that differs.
  long double sum = 0;
  for (double v : s) sum += std::fabs(v - m);
  r.scale = kMeanAdToSd * static_cast<double>(sum / static_cast<long double>(n));
  r.source = ScaleSource::kMeanAbsoluteDeviation;
  if (r.scale > 0) return r;
  // All values equal: no spread to measure. A tiny floor keeps z finite (so EWMA and CUSUM stay
  // numbers) while any real departure still alarms; a point equal to the center has z = 0.
  r.scale = kRelativeScaleFloor * std::max(1.0, std::fabs(m));
  r.source = ScaleSource::kFloor;
  return r;
}

// std::max(0.0, v), branch-free: GCC compiled std::max to a compare and a jump here, and
// whether a CUSUM touches zero is a coin flip for in-control data, so the jump mispredicted
// about every other point. MAXSD returns its second operand unless v > 0: the same result
// for every v (NaN and -0 give +0).
inline double AtLeastZero(double v) {
#if defined(__SSE2__)
  return _mm_cvtsd_f64(_mm_max_sd(_mm_set_sd(v), _mm_setzero_pd()));
#else
  return std::max(0.0, v);
#endif
}

// The largest of v[0, n), or of |v[0, n)|; n > 0 and no NaN. Through MAXPD lanes: GCC
// vectorises no floating-point max reduction without -ffast-math, and the scalar loop (with
// the argmax and alarm count in it) was a quarter of the paired chart.
double MaxOf(const double* v, size_t n, bool absolute) {
  size_t i = 0;
  double best = -std::numeric_limits<double>::infinity();
#if defined(__SSE2__)
  const __m128d mask = absolute ? _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL))
                                : _mm_castsi128_pd(_mm_set1_epi64x(-1));
  __m128d a = _mm_set1_pd(best), b = a;
  for (; i + 4 <= n; i += 4) {
    a = _mm_max_pd(a, _mm_and_pd(_mm_loadu_pd(v + i), mask));
    b = _mm_max_pd(b, _mm_and_pd(_mm_loadu_pd(v + i + 2), mask));
  }
  double lanes[2];
  _mm_storeu_pd(lanes, _mm_max_pd(a, b));
  best = std::max(lanes[0], lanes[1]);
#endif
  for (; i < n; ++i) best = std::max(best, absolute ? std::fabs(v[i]) : v[i]);
  return best;
}

// EWMA and CUSUM of z plus the severity rescaling: the part both scorers share.
class Chart {
 public:
  // The statistics after one z, each rule's statistic rescaled so that its limit maps to T.
  struct Step {
    double z = 0, sigma = 0;
    double r_point = 0, r_ewma = 0, r_cusum = 0;
    // Nested, not std::max({...}): the initializer-list form is a loop with a branch per
    // element (the same left-to-right result).
    double raw_severity() const { return std::max(std::max(r_point, r_ewma), r_cusum); }
  };

  // The limits Rescale needs, by value (a loop over them then keeps them in registers).
  struct Limits {
    double t, ewma_l, cusum_h;  // T; the EWMA's L and the CUSUM's h, +inf for a rule off
  };

  // A point's rules rescaled so that each limit maps to T; a rule switched off with an
  // infinite limit contributes 0. The one definition the streaming and the paired charts use.
  static Step Rescale(const Limits& lim, double z, double sigma, double ewma, double up,
                      double down) {
    Step s;
    s.z = z;
    s.sigma = sigma;
    s.r_point = std::fabs(z);
    s.r_ewma = std::isinf(lim.ewma_l) ? 0 : lim.t * std::fabs(ewma) / (lim.ewma_l * sigma);
    s.r_cusum = std::isinf(lim.cusum_h) ? 0 : lim.t * std::max(up, down) / lim.cusum_h;
    return s;
  }

  Chart(const AnomalyOptions& o, AnomalyResult* out) : o_(o), out_(out) {
    decay_sq_ = (1 - o.ewma_lambda) * (1 - o.ewma_lambda);
    asymptotic_var_ = o.ewma_lambda / (2 - o.ewma_lambda);
  }

  Step Update(double z) {
    ++t_;
    // The drift rules see z clipped to +-T: one outlier is the point rule's business, and
    // unclipped it would hold the EWMA and CUSUM beyond their limits for ~|z| / k points.
    const double zc = std::clamp(z, -o_.mad_threshold, o_.mad_threshold);
    ewma_ = o_.ewma_lambda * zc + (1 - o_.ewma_lambda) * ewma_;
    decay_pow_ *= decay_sq_;  // (1 - lambda)^(2t)
    // zc - k and zc + k stay off the chain from point to point (RecordAll's loop waits on it).
    up_ = AtLeastZero(up_ + (zc - o_.cusum_k));
    down_ = AtLeastZero(down_ - (zc + o_.cusum_k));
    const double sigma = std::sqrt(asymptotic_var_ * (1 - decay_pow_));  // > 0 since t_ >= 1
    return Rescale(limits(), z, sigma, ewma_, up_, down_);
  }

  // Writes the outputs of input index i. `factor` (<= 1) deflates every rule alike: 1 for the
  // paired scorer, T / max(T, recent max severity) for the series (see ScoreSeriesAnomaly).
  void Record(size_t i, const Step& s, double factor) {
    const double t = o_.mad_threshold;
    const double severity = factor * s.raw_severity();
    if (o_.per_point) {
      out_->z[i] = s.z;
      out_->ewma[i] = ewma_;
      out_->cusum_upper[i] = up_;
      out_->cusum_lower[i] = down_;
      out_->severity[i] = severity;
      out_->score[i] = Score(severity);
    }
    if (severity > max_severity_) {
      max_severity_ = severity;
      out_->max_score_index = i;
    }
    if (severity > t) {
      if (o_.per_point) out_->alarm[i] = 1;
      ++out_->alarm_count;
      if (!out_->first_alarm_index) {
        out_->first_alarm_index = i;
        out_->first_alarm_z = s.z;
        out_->first_alarm_rule = factor * s.r_point > t  ? AnomalyRule::kPoint
                                 : factor * s.r_ewma > t ? AnomalyRule::kEwma
                                                         : AnomalyRule::kCusum;
        // The words are built after the loop (first_alarm_detail): a string built here kept
        // the chart's state in memory for the whole loop (a call on one path).
        first_alarm_ = Alarm{s, ewma_, up_, down_, factor};
      }
    }
    max_abs_z_ = std::max(max_abs_z_, s.r_point);
  }

  // Update and Record (factor 1) for every z in order: the paired scorer, whose z are all known
  // up front. The same arithmetic as point by point, so the results are bit-identical, but in
  // passes: only the three recursions (EWMA, upper and lower CUSUM) are serial, and they run
  // with their state in registers; the rescaled rules, severities and alarms are data-parallel.
  // Point by point, the state lived in memory (the output writes may alias it) and each point
  // waited on a square root and a division: a sixth of a judgement. `index[t]` is the input
  // index of z[t]; empty means t itself.
  void RecordAll(std::span<const double> z, std::span<const size_t> index) {
    const size_t m = z.size();
    if (m == 0) return;
    const double t = o_.mad_threshold, lambda = o_.ewma_lambda, keep = 1 - lambda;
    const double k = o_.cusum_k;
    const auto buf = std::make_unique_for_overwrite<double[]>(5 * m);
    double* const ewma = buf.get();
    double* const up = ewma + m;
    double* const down = up + m;
    double* const sigma = down + m;
    double* const severity = sigma + m;
    {
      double e = ewma_;
#if defined(__SSE2__)
      // Both CUSUMs in one register: one ADDPD and one MAXPD per point on the chain (the
      // scalar form moved each value through a lane-clearing MOVQ as well).
      __m128d ud = _mm_set_pd(down_, up_);
      const __m128d zero = _mm_setzero_pd();
      for (size_t i = 0; i < m; ++i) {
        const double zc = std::clamp(z[i], -t, t);
        e = lambda * zc + keep * e;
        ud = _mm_max_pd(_mm_add_pd(ud, _mm_set_pd(-(zc + k), zc - k)), zero);
        ewma[i] = e;
        _mm_storel_pd(up + i, ud);
        _mm_storeh_pd(down + i, ud);
      }
      up_ = up[m - 1], down_ = down[m - 1];
#else
      double u = up_, d = down_;
      for (size_t i = 0; i < m; ++i) {
        const double zc = std::clamp(z[i], -t, t);
        e = lambda * zc + keep * e;
        u = AtLeastZero(u + (zc - k));
        d = AtLeastZero(d - (zc + k));
        ewma[i] = e;
        up[i] = u;
        down[i] = d;
      }
      up_ = u, down_ = d;
#endif
      ewma_ = e;
    }
    // sigma_t stops changing once (1 - lambda)^(2t) is below half an ulp of 1.
    size_t i = 0;
    for (; i < m && 1 - decay_pow_ * decay_sq_ != 1; ++i) {
      decay_pow_ *= decay_sq_;
      sigma[i] = std::sqrt(asymptotic_var_ * (1 - decay_pow_));
    }
    std::fill(sigma + i, sigma + m, std::sqrt(asymptotic_var_));
    const Limits lim = limits();
    auto step = [&](size_t j) { return Rescale(lim, z[j], sigma[j], ewma[j], up[j], down[j]); };
    for (size_t j = 0; j < m; ++j) severity[j] = step(j).raw_severity();
    auto at = [&](size_t j) { return index.empty() ? j : index[j]; };
    // The summary: first index of the largest severity, alarms, the first alarm, max |z|.
    const double max_sev = MaxOf(severity, m, false);
    const size_t argmax = static_cast<size_t>(std::find(severity, severity + m, max_sev) - severity);
    size_t alarms = 0;
    for (size_t j = 0; j < m; ++j) alarms += severity[j] > t;
    t_ += m;
    max_abs_z_ = std::max(max_abs_z_, MaxOf(z.data(), m, true));
    if (max_sev > max_severity_) {
      max_severity_ = max_sev;
      out_->max_score_index = at(argmax);
    }
    out_->alarm_count += alarms;
    if (alarms > 0 && !out_->first_alarm_index) {
      const size_t j = static_cast<size_t>(
          std::find_if(severity, severity + m, [t](double v) { return v > t; }) - severity);
      const Step s = step(j);
      out_->first_alarm_index = at(j);
      out_->first_alarm_z = s.z;
      out_->first_alarm_rule = s.r_point > t   ? AnomalyRule::kPoint
                               : s.r_ewma > t ? AnomalyRule::kEwma
                                              : AnomalyRule::kCusum;
      first_alarm_ = Alarm{s, ewma[j], up[j], down[j], 1.0};
    }
    if (o_.per_point) {
      for (size_t j = 0; j < m; ++j) {
        const size_t p = at(j);
        out_->z[p] = z[j];
        out_->ewma[p] = ewma[j];
        out_->cusum_upper[p] = up[j];
        out_->cusum_lower[p] = down[j];
        out_->severity[p] = severity[j];
        out_->score[p] = Score(severity[j]);
        out_->alarm[p] = severity[j] > t;
      }
    }
  }

  // Page's restart after a signal, for streams. Without it a trend that the trailing median
  // lags behind feeds the CUSUM forever, its severity grows without bound and (through the
  // novelty discount) hides everything else: NAB fell from 39-45 to 20-22.
  void RestartCusumIfSignalled() {
    if (std::max(up_, down_) > o_.cusum_h) up_ = down_ = 0;
  }

  // 1 - P(|N(0,1)| > severity).
  static double Score(double severity) { return std::erf(severity / std::sqrt(2.0)); }

  // The largest score, computed once (score is increasing in severity).
  void Finish() {
    if (out_->max_score_index) out_->max_score = Score(max_severity_);
  }

  Limits limits() const { return {o_.mad_threshold, o_.ewma_L, o_.cusum_h}; }
  size_t count() const { return t_; }
  double max_abs_z() const { return max_abs_z_; }
  // What made the first alarm, in words; empty without one.
  std::string first_alarm_detail() const {
    if (!first_alarm_) return "";
    const Alarm& a = *first_alarm_;
    std::string d;
    switch (out_->first_alarm_rule) {
      case AnomalyRule::kPoint:
        d = "point rule: robust z = " + Num(a.step.z) + ", limit +-" + Num(o_.mad_threshold);
        break;
      case AnomalyRule::kEwma:
        d = "ewma rule: EWMA of clipped z = " + Num(a.ewma) + ", limit +-" +
            Num(o_.ewma_L * a.step.sigma);
        break;
      case AnomalyRule::kCusum:
        d = std::string("cusum rule: ") + (a.up >= a.down ? "upper" : "lower") +
            " CUSUM = " + Num(std::max(a.up, a.down)) + " > h = " + Num(o_.cusum_h);
        break;
      case AnomalyRule::kNone:
        break;
    }
    if (a.factor < 1) {
      d += ", and " + Num(a.step.raw_severity() * a.factor / o_.mad_threshold) +
           " x the largest recent severity";
    }
    return d;
  }

 private:
  // The chart at the first alarm.
  struct Alarm {
    Step step;
    double ewma, up, down, factor;
  };

  const AnomalyOptions& o_;
  AnomalyResult* out_;
  double decay_sq_ = 1, asymptotic_var_ = 0, decay_pow_ = 1;
  double ewma_ = 0, up_ = 0, down_ = 0;
  size_t t_ = 0;
  double max_severity_ = -1;
  double max_abs_z_ = 0;
  std::optional<Alarm> first_alarm_;
};

// The maximum of the last `capacity` values pushed (a monotonic deque: O(1) amortised).
class TrailingMax {
 public:
  explicit TrailingMax(size_t capacity) : capacity_(capacity) {}
  // Max of the last `capacity` values; 0 before any.
  double Max() const { return q_.empty() ? 0 : q_.front().second; }
  void Push(double v) {
    while (!q_.empty() && q_.back().second <= v) q_.pop_back();
    q_.emplace_back(n_, v);
    ++n_;
    while (!q_.empty() && q_.front().first + capacity_ < n_) q_.pop_front();
  }

 private:
  size_t capacity_;
  size_t n_ = 0;
  std::deque<std::pair<size_t, double>> q_;
};

void InitOutputs(size_t n, AnomalyResult* r) {
  r->score.assign(n, kNaN);
  r->severity.assign(n, kNaN);
  r->z.assign(n, kNaN);
  r->ewma.assign(n, kNaN);
  r->cusum_upper.assign(n, kNaN);
  r->cusum_lower.assign(n, kNaN);
  r->alarm.assign(n, 0);
}

void WriteReason(const Chart& chart, const AnomalyOptions& o, AnomalyResult* r) {
  std::string s;
  if (chart.count() == 0) {
    s = "nothing scored: " + std::to_string(r->valid_count) + " valid points, warmup needs " +
        std::to_string(o.warmup);
  } else if (r->first_alarm_index) {
    s = "alarm: first at index " + std::to_string(*r->first_alarm_index) + " (" +
        chart.first_alarm_detail() + "); " + std::to_string(r->alarm_count) + " of " +
        std::to_string(chart.count()) + " scored points beyond limits";
  } else {
    s = "no alarm: max |robust z| " + Num(chart.max_abs_z()) + " (limit " + Num(o.mad_threshold) +
        "), EWMA and CUSUM within limits over " + std::to_string(chart.count()) + " scored points";
  }
  if (r->max_score_index) {
    s += "; max score " + Num(r->max_score) + " at index " + std::to_string(*r->max_score_index);
  }
  if (r->missing_count > 0) {
    s += "; " + std::to_string(r->missing_count) + " missing points skipped";
  }
  if (r->undefined_count > 0) {
    s +=
        "; " + std::to_string(r->undefined_count) + " points with a value <= 0 skipped (log ratio)";
  }
  if (r->scale_source == ScaleSource::kMeanAbsoluteDeviation) {
    s += "; MAD = 0, scale from the mean absolute deviation";
  } else if (r->scale_source == ScaleSource::kFloor) {
    s += "; the reference has no spread, so any departure from " + Num(r->center) + " alarms";
  }
  r->reason = std::move(s);
}

}  // namespace

const char* AnomalyRuleName(AnomalyRule rule) {
  switch (rule) {
    case AnomalyRule::kPoint:
      return "point";
    case AnomalyRule::kEwma:
      return "ewma";
    case AnomalyRule::kCusum:
      return "cusum";
    case AnomalyRule::kNone:
      break;
  }
  return "none";
}

const char* ScaleSourceName(ScaleSource source) {
  switch (source) {
    case ScaleSource::kMeanAbsoluteDeviation:
      return "mean_absolute_deviation";
    case ScaleSource::kFloor:
      return "floor";
    case ScaleSource::kMad:
      break;
  }
  return "mad";
}

Result<AnomalyResult> ScoreCanaryAnomaly(std::span<const double> canary,
                                         std::span<const double> baseline,
                                         const AnomalyOptions& options) {
  if (canary.size() != baseline.size()) {
    return InvalidArgument("canary has " + std::to_string(canary.size()) +
                           " points but baseline has " + std::to_string(baseline.size()) +
                           "; the series must be aligned");
  }
  if (Status st = ValidateOptions(options); !st) return st.error();

  const size_t n = canary.size();
  AnomalyResult r;
  std::vector<double> d(n, kNaN);
  if (options.transform == PairedTransform::kLogRatio) {
    for (size_t i = 0; i < n; ++i) {
      const double c = canary[i], b = baseline[i];
      if (!std::isfinite(c) || !std::isfinite(b)) {
        ++r.missing_count;
      } else if (c > 0 && b > 0) {
        d[i] = std::log(c / b);
      } else {
        ++r.undefined_count;
      }
    }
  } else if (AllFinite(canary) && AllFinite(baseline)) {  // the usual case: one vector loop
    for (size_t i = 0; i < n; ++i) d[i] = canary[i] - baseline[i];
  } else {
    for (size_t i = 0; i < n; ++i) {
      const double c = canary[i], b = baseline[i];
      const bool ok = std::isfinite(c) & std::isfinite(b);
      d[i] = ok ? c - b : kNaN;
      r.missing_count += !ok;
    }
  }
  // Every other d is a number (c - b and log(c / b) of finite values may be infinite, not NaN).
  r.valid_count = n - r.missing_count - r.undefined_count;
  if (r.valid_count == 0) {
    return InvalidArgument("no valid paired point among " + std::to_string(n) + " (" +
                           std::to_string(r.missing_count) + " missing, " +
                           std::to_string(r.undefined_count) + " <= 0 under log ratio)");
  }
  const size_t reference_count =
      options.warmup > 0 ? std::min(options.warmup, r.valid_count) : r.valid_count;
  std::vector<double> reference;
  reference.reserve(reference_count);
  for (size_t i = 0; reference.size() < reference_count; ++i) {
    if (!std::isnan(d[i])) reference.push_back(d[i]);
  }
  SortAscending(reference);
  const Reference ref = ReferenceFromSorted(reference);
  r.center = ref.center;
  r.scale = ref.scale;
  r.scale_source = ref.source;
  r.reference_count = reference.size();

  if (options.per_point) InitOutputs(n, &r);
  Chart chart(options, &r);
  // The robust z of every point (NaN stays NaN), then the chart over the valid ones.
  for (double& v : d) v = (v - ref.center) / ref.scale;
  std::vector<size_t> index;
  // Only a missing point or an infinite difference can leave a NaN; AllFinite (vectorised)
  // rules both out for the usual data, and the per-point NaN test kept the loop above scalar.
  if (!AllFinite(d) && std::any_of(d.begin(), d.end(), [](double v) { return std::isnan(v); })) {
    size_t valid = 0;
    for (size_t i = 0; i < n; ++i) {
      if (std::isnan(d[i])) continue;
      d[valid++] = d[i];
      index.push_back(i);
    }
    d.resize(valid);
  }
  chart.RecordAll(d, index);
  chart.Finish();
  WriteReason(chart, options, &r);
  return r;
}

Result<AnomalyResult> ScoreSeriesAnomaly(std::span<const double> series,
                                         const AnomalyOptions& options) {
  if (Status st = ValidateOptions(options); !st) return st.error();
  if (options.window < 2) {
    return InvalidArgument("anomaly window must be >= 2, got " + std::to_string(options.window));
  }
  if (options.warmup < 2 || options.warmup > options.window) {
    return InvalidArgument(
        "anomaly warmup must be in [2, window = " + std::to_string(options.window) + "], got " +
        std::to_string(options.warmup));
  }
  const size_t n = series.size();
  const size_t w = options.window;
  AnomalyResult r;
  if (options.per_point) InitOutputs(n, &r);
  Chart chart(options, &r);
  TrailingMax recent(options.novelty_window);

  // The trailing window twice: in arrival order (a ring, to know what leaves) and sorted (for
  // the median and MAD). Sorted insert/erase is a memmove of at most `window` doubles, far
  // cheaper than re-sorting per point.
  std::vector<double> ring(w), sorted;
  sorted.reserve(w + 1);
  size_t head = 0;  // ring index of the oldest value once the ring is full
  Reference ref;
  for (size_t i = 0; i < n; ++i) {
    const double x = series[i];
    if (!std::isfinite(x)) {
      ++r.missing_count;
      continue;
    }
    ++r.valid_count;
    if (sorted.size() >= options.warmup) {
      ref = ReferenceFromSorted(sorted);
      const Chart::Step step = chart.Update((x - ref.center) / ref.scale);
      double factor = 1;
      if (options.novelty_window > 0) {
        factor = options.mad_threshold / std::max(options.mad_threshold, recent.Max());
        recent.Push(step.raw_severity());
      }
      chart.Record(i, step, factor);
      chart.RestartCusumIfSignalled();
      r.center = ref.center;
      r.scale = ref.scale;
      r.scale_source = ref.source;
      r.reference_count = sorted.size();
    } else {
      if (options.per_point) {
        r.score[i] = 0;  // not enough history: no evidence either way
        r.severity[i] = 0;
      }
    }
    // Slide the window only after scoring, so that x is judged against the past alone.
    if (sorted.size() == w) {
      const double oldest = ring[head];
      sorted.erase(std::lower_bound(sorted.begin(), sorted.end(), oldest));
      ring[head] = x;
      head = (head + 1) % w;
    } else {
      ring[sorted.size()] = x;
    }
    sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), x), x);
  }
  chart.Finish();
  WriteReason(chart, options, &r);
  return r;
}

}  // namespace augur::stats
