// Anomaly scores over time: how unusual each point of a metric is, for the canary against its
// baseline (ScoreCanaryAnomaly) and for one stream on its own (ScoreSeriesAnomaly).
//
// The two-sample tests (mann_whitney.h, kayenta_mann_whitney.h) answer "is the canary worse over
// the whole run?". This answers "when did it start to look wrong, and how wrong?", which is what
// an operator needs to read a failed canary and what a streaming judge needs to abort early.
//
// Method (shared/reference/stats.md §3.2, "simple robust methods"). Every valid point t gets:
//   robust z      z_t = (x_t - center) / scale, with center = median and scale = 1.4826 MAD of a
//                 reference sample. 1.4826 MAD estimates the sd of normal data, so z_t is the
//                 Iglewicz-Hoaglin modified z (0.6745 (x - med) / MAD_raw), and |z_t| > 3.5 is
//                 their outlier rule (kPoint).
//   clipped z     c_t = clamp(z_t, -T, T), T = mad_threshold: what EWMA and CUSUM see (a
//                 Huber-type robust chart). A single outlier is the point rule's business;
//                 unclipped, z = 30 would hold the CUSUM beyond h for ~60 points.
//   EWMA of c     e_t = lambda c_t + (1 - lambda) e_{t-1}, e_0 = 0; alarm when
//                 |e_t| > L sigma_t, sigma_t = sqrt(lambda / (2 - lambda) (1 - (1 - lambda)^(2t)))
//                 (the exact EWMA limits for unit-variance input, slightly conservative after
//                 clipping; kEwma). Catches a sustained shift of ~1 sd that no point reveals.
//   CUSUM of c    C+_t = max(0, C+_{t-1} + c_t - k), C-_t = max(0, C-_{t-1} - c_t - k);
//                 alarm when max(C+, C-) > h (two-sided Page CUSUM in sd units; kCusum).
//                 Fastest of the three to find a small persistent shift (k = half the shift).
//   severity      s_t = max(|z_t|, T |e_t| / (L sigma_t), T max(C+_t, C-_t) / h): every
//                 statistic rescaled so that its own alarm limit maps to T.
//                 So s_t > T exactly when some rule alarms, and one number ranks the points.
//   score         1 - P(|N(0,1)| > s_t) = erf(s_t / sqrt 2), in [0, 1]. score > erf(T / sqrt 2)
//                 (0.99953 at T = 3.5) iff the point alarms. In doubles the score reaches 1.0 at
//                 s ~ 8.3: rank by `severity` where very large deviations must stay distinct.
//                 The normal tail is a scale, not a calibrated p-value: real metrics are
//                 heavier-tailed and serially correlated.
// ScoreCanaryAnomaly never resets the statistics after an alarm: a sustained shift keeps every
// later point beyond the limits, which is what "points beyond limits" should count for a canary.
//
// ScoreSeriesAnomaly (one stream, no baseline) differs in three ways, all because nothing
// removes the stream's own routine variation:
//   - the reference of point t is the median and MAD of the trailing `window` valid points
//     before t (causal: score[t] uses series[0..t] only);
//   - the CUSUM restarts at 0 after it signals (Page's restart; otherwise a trend that the
//     trailing median lags behind feeds it forever; NAB: ~21 without the restart, 39-45 with);
//   - a novelty discount: with m_t the largest raw severity of the previous `novelty_window`
//     scored points, the reported severity is s*_t = s_t T / max(T, m_t). So s*_t > T (an alarm)
//     iff s_t > T and s_t > m_t: a deviation counts only if it beats every deviation of the
//     recent past. Daily cycles against a trailing median, bursty counters and quantised values
//     with MAD = 0 give large z routinely; without the discount they swamp the real anomalies
//     (NAB standard profile: 1.5 without it, 38-45 with it; bench/nab/nab_eval.cc).
//
// Scale when MAD = 0 (more than half the reference values are equal, common for error counts
// and quantised latencies): fall back to 1.2533 x the mean absolute deviation around the median
// (Iglewicz & Hoaglin's rule; 1.2533 = sqrt(pi/2) makes it an sd estimate under normality). If
// that is 0 too (all reference values equal), the scale is floored at 1e-12 max(1, |center|):
// any departure from a perfectly constant reference is then an alarm, and a point equal to it
// has z = 0. `scale_source` says which case applied.
//
// Missing points: NaN or +-Inf in either input is a missing point. It is skipped (the EWMA and
// CUSUM carry over unchanged, as if it had not been sampled), counted in missing_count, and its
// per-point outputs are NaN.
//
// Thread-safety: pure functions of their arguments; they keep no state between calls.
// Cost: ScoreCanaryAnomaly O(n log n) time (one sort of the reference), O(n) memory.
// ScoreSeriesAnomaly O(n window): per point a binary-search insert/erase (memmove) in a sorted
// copy of the window and an O(window / 2) walk for the MAD; ~0.5-2 us per point for windows of
// 250-4000 (NAB's 365,558 points take 0.2-0.8 s). Memory O(n + window + novelty_window).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "augur/core/result.h"

namespace augur::stats {

// What ScoreCanaryAnomaly scores.
//   kDifference (default): d_t = canary_t - baseline_t. Defined for zeros and negative values,
//     which error counts and deltas produce; additive, in the metric's own unit.
//   kLogRatio: d_t = log(canary_t / baseline_t), only where both are > 0 (other points are
//     counted in undefined_count and skipped like missing ones). Scale-free, so +20% latency
//     weighs the same at 10 ms and at 1 s; use it for strictly positive metrics that vary a lot.
enum class PairedTransform { kDifference, kLogRatio };

// The rule that raised an alarm; when several fire on the same point, the first in this order.
enum class AnomalyRule { kNone, kPoint, kEwma, kCusum };
const char* AnomalyRuleName(AnomalyRule rule);  // "none", "point", "ewma", "cusum"

// Where the scale came from (see the header comment).
enum class ScaleSource { kMad, kMeanAbsoluteDeviation, kFloor };
const char* ScaleSourceName(ScaleSource source);  // "mad", "mean_absolute_deviation", "floor"

struct AnomalyOptions {
  // T: the |robust z| beyond which a single point alarms (Iglewicz-Hoaglin recommend 3.5).
  // Must be finite and > 0.
  double mad_threshold = 3.5;
  // EWMA weight of the newest (clipped) z, in (0, 1]; Montgomery's usual range is 0.1-0.25.
  double ewma_lambda = 0.2;
  // EWMA limit in asymptotic sds of the EWMA, > 0. +infinity removes the EWMA rule.
  double ewma_L = 3.0;  // NOLINT: the textbook name
  // CUSUM slack and decision interval, in sd units (z units): k >= 0 finite, h > 0.
  // k = 0.5 tunes it to a 1 sd shift; with h = 5 a normal in-control stream alarms on average
  // once per ~470 points (Siegmund's approximation: ~940 per side). +infinity for h removes the
  // CUSUM rule.
  double cusum_k = 0.5;
  double cusum_h = 5.0;
  // The points that only teach the scorer what normal looks like.
  //   ScoreCanaryAnomaly: the reference is the first `warmup` valid points of d (a pre-promotion
  //     or A/A period, or the start of the run); 0 means every valid point. Why a prefix: a
  //     canary that degrades half way through must not drag the center with it. If fewer valid
  //     points exist, all are used (reference_count says how many). Every valid point is scored,
  //     those in the reference too.
  //   ScoreSeriesAnomaly: the history (valid points in the trailing window) needed before the
  //     first score; earlier points get score 0 and no alarm. Must be >= 2 and <= window.
  size_t warmup = 30;
  // ScoreSeriesAnomaly only: the trailing window (in valid points, the current one excluded)
  // whose median and MAD are the reference for the next point. Must be >= 2.
  size_t window = 1000;
  // ScoreSeriesAnomaly only: how many scored points back a deviation counts as "recent" for the
  // novelty discount (see above). 0 switches the discount off.
  size_t novelty_window = 1000;
  // ScoreCanaryAnomaly only.
  PairedTransform transform = PairedTransform::kDifference;
  // false: only the summary is filled (max_score and its index, alarms, the first alarm, the
  // reference, reason); the per-index vectors stay empty. For callers that only need the
  // verdict (the judge): the per-point erf and seven vectors were a tenth of a judgement.
  bool per_point = true;
};

struct AnomalyResult {
  // Per input index (same length as the inputs). NaN where the point is missing (or, for the
  // series, before warmup ends, except `score` and `severity`, which are 0 there).
  std::vector<double> score;         // in [0, 1]; see the header comment
  std::vector<double> severity;      // >= 0; the unbounded quantity behind `score` (s or s*)
  std::vector<double> z;             // robust z
  std::vector<double> ewma;          // e_t
  std::vector<double> cusum_upper;   // C+_t (evidence the value went up)
  std::vector<double> cusum_lower;   // C-_t (evidence it went down)
  std::vector<unsigned char> alarm;  // 1 where some rule fires (severity > mad_threshold)

  // The reference: ScoreCanaryAnomaly's fixed one; for ScoreSeriesAnomaly the trailing window
  // as it was for the last scored point (0, 0, 0 when nothing was scored).
  double center = 0;
  double scale = 0;
  ScaleSource scale_source = ScaleSource::kMad;
  size_t reference_count = 0;

  size_t valid_count = 0;      // points scored or used (not missing)
  size_t missing_count = 0;    // NaN/Inf in an input
  size_t undefined_count = 0;  // kLogRatio: a value <= 0

  double max_score = 0;                   // over valid points; 0 when none was scored
  std::optional<size_t> max_score_index;  // the first index reaching max severity
  size_t alarm_count = 0;                 // points beyond limits
  std::optional<size_t> first_alarm_index;
  double first_alarm_z = 0;  // robust z at first_alarm_index (its sign: the direction)
  AnomalyRule first_alarm_rule = AnomalyRule::kNone;
  // One or two sentences for people, e.g. "alarm: first at index 57 (point rule: robust z =
  // 8.21, limit +-3.5); 43 of 100 scored points beyond limits; max score 1 at index 57".
  std::string reason;
};

// Scores the paired series (canary_t, baseline_t), sampled at the same instants.
// Errors (kInvalidArgument): different lengths; no valid point; invalid options (thresholds not
// > 0, lambda outside (0, 1], k < 0 or not finite).
Result<AnomalyResult> ScoreCanaryAnomaly(std::span<const double> canary,
                                         std::span<const double> baseline,
                                         const AnomalyOptions& options = {});

// Scores one stream causally: the reference of point t is the median and scale of the last
// `options.window` valid points before t, so score[t] depends only on series[0..t] and equals
// what a streaming scorer would emit at t. The EWMA and CUSUM start when warmup ends. This is
// what the NAB benchmark evaluates (bench/nab/nab_eval.cc); NAB has no baseline stream.
// Errors (kInvalidArgument): invalid options, window < 2, warmup < 2 or warmup > window.
// An empty or all-missing series is not an error (nothing is scored).
Result<AnomalyResult> ScoreSeriesAnomaly(std::span<const double> series,
                                         const AnomalyOptions& options = {});

}  // namespace augur::stats
