// Kayenta's Mann-Whitney interval and shift estimate (the kayenta-mannwhitney module used by
// NetflixACAJudge), reproduced step for step so that Augur's Kayenta mode classifies exactly
// as Kayenta does. See shared/reference/kayenta.md §1.5.
//
// What Kayenta computes (MannWhitney.calculateConfidenceInterval, a port of the asymptotic
// conf.int branch of R's wilcox.test with correct = TRUE):
//   x = experiment (canary), y = control (baseline); the shift is x - y.
//   f(mu, q) = (dz - sign(dz)/2) / sigma - q, where dz = W(mu) - nx*ny/2 and W(mu) is the
//   Mann-Whitney statistic of x - mu against y (average ranks), sigma its tie-corrected
//   standard deviation (KayentaWilcoxonDiff below).
//   muMin = min(x) - max(y), muMax = max(x) - min(y), z = Phi^-1((1 - conf_level) / 2) < 0.
//   ci_lower = root of f(., -z), ci_upper = root of f(., z), where a root search returns
//   muMin when f(muMin) <= 0 and muMax when f(muMax) >= 0 without searching.
//   estimate = root of f(., 0) on [muMin, muMax], always searched (R < 4.0 semantics: the
//   continuity-corrected statistic; R >= 4.0 drops the correction for the estimate).
// Why a root finder and not exact order statistics of the pairwise differences (which is what
// augur/stats/mann_whitney.h does): compatibility. The roots are found by Kayenta's
// KayentaBrentSolver, a transcription of R's R_zeroin2 (Brent's method, absolute tolerance
// 1e-4, at most 1001 evaluations). f is a step function, so the answer is wherever Brent's
// iterates happen to stop: within 1e-4 of a jump, sometimes with ci_lower > ci_upper (see
// kayenta.md §1.5, "High Metric (Large Input)"). Only an iteration-for-iteration replica
// reproduces Kayenta's numbers and therefore its High/Low decisions. This one matches all 38
// deterministic upstream vectors (tests/stats/kayenta_mann_whitney_test.cc): estimates
// bit for bit, interval bounds to < 4e-15 relative, the only difference being Phi^-1, which
// Boost computes 1 ulp away from commons-math for some levels.
// Differences from Kayenta, all on inputs Kayenta's judge never passes: empty samples,
// non-finite values, conf_level outside (0, 1) and ranges overflowing to infinity are
// kInvalidArgument (Kayenta throws or returns NaN). "All observations tied" is
// kInvalidArgument with Kayenta's message (Kayenta throws and its judge reports the metric as
// Error). Signed zeros rank as in Java (-0.0 below +0.0); when both occur, the input order
// decides min/max as in Scala, so sorting the input beforehand can change a zero's sign.
// Cost: sorting both samples (skipped when already sorted), then 20-60 evaluations of f, each
// an exact count of O(nx + ny): the ranks of the shifted x in y (a SIMD kernel picked at run
// time, stats/rank_kernel.h), no allocation.
// Measured on a 2.6 GHz EPYC VM with 1000 + 1000 continuous values: ~65 us a call (~50 us
// with sorted input); tie-heavy data (few distinct values) ~15-35 us. The literal port
// (KayentaMannWhitneyReference) takes ~1.5 ms.
// Thread-safety: pure functions; safe to call concurrently.
#pragma once

#include <span>

#include "augur/core/result.h"

namespace augur::stats {

struct KayentaMannWhitneyResult {
  double ci_lower = 0;  // may exceed ci_upper, as in Kayenta
  double ci_upper = 0;
  double estimate = 0;  // Kayenta's continuity-corrected shift estimate
  // Intermediates, for tests and explanations.
  double mu_min = 0, mu_max = 0;  // search range: min(x) - max(y), max(x) - min(y)
  double z = 0;                   // Phi^-1((1 - conf_level) / 2), negative
  // Brent iterations of each root search (0 when an endpoint was returned without searching).
  int iterations_lower = 0, iterations_upper = 0, iterations_estimate = 0;
  int evaluations = 0;  // evaluations of the rank statistic in all
};

// Kayenta's MannWhitney.mannWhitneyUTest(x = experiment, y = control, conf_level) without the
// p-value. Errors (kInvalidArgument): an empty sample, a non-finite value, conf_level outside
// (0, 1), all observations tied.
Result<KayentaMannWhitneyResult> KayentaMannWhitney(std::span<const double> experiment,
                                                    std::span<const double> control,
                                                    double conf_level);

// The same computation with every evaluation of f done literally as Kayenta does (concatenate,
// sort, rank), O((nx + ny) log(nx + ny)) per evaluation. Exists to cross-check the fast path
// in tests; results are bit-identical.
Result<KayentaMannWhitneyResult> KayentaMannWhitneyReference(std::span<const double> experiment,
                                                             std::span<const double> control,
                                                             double conf_level);

// Kayenta's MannWhitney.wilcoxonDiff(mu, quantile, x, y): the continuity-corrected normal
// score of the rank-sum statistic of x - mu against y, minus `quantile`. Ranks are averages
// over ties under Java's Double.compare order (so -0.0 ranks below +0.0). Errors:
// kInvalidArgument for empty samples, NaN anywhere, or all observations tied.
Result<double> KayentaWilcoxonDiff(double mu, double quantile, std::span<const double> x,
                                   std::span<const double> y);

}  // namespace augur::stats
