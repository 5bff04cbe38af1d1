// Synthetic releases with known truth, for replay tests, threshold tuning and benchmarks
// (augur generate). Each release is a primary and a canary of one service observed for a
// fixed window on a step grid, with the canary optionally regressing from a labelled moment.
//
// The model, per release (all draws from one std::mt19937_64 seeded from (seed, index)):
//   - traffic: requests/s = base * diurnal(t) * exp(AR(1)) per side, where base is log-uniform
//     in [min_rps, max_rps], diurnal is 1 + A sin(2 pi (hour - peak + 6) / 24) (peak at
//     `peak_hour` UTC), the AR(1) log-noise has a shared part (users) and a per-side part;
//     both sides get the same expected traffic (a Kayenta-style baseline and canary). With
//     probability low_traffic_probability a window of 10-25% of the release has 5-20% of the
//     traffic on both sides. Requests per step are Poisson.
//   - errors: zero-inflated counts. Per release an error fraction e0 = error_rate * LN(0, 0.5)
//     (mean-one lognormal), per step e0 * exp(AR(1)) (mean one; sd 0.3 shared by the sides, 0.1 per
//     side); a step is a structural zero with probability zero_inflation (the same steps for both
//     sides: errors come from shared causes), otherwise Poisson(requests * e / (1 -
//     zero_inflation)), so the expected error fraction is error_rate whatever the zero inflation.
//   - latency: a two-component lognormal mixture (fast: median U(20, 150) ms, sigma 0.35; slow:
//     weight U(2, 6)%, median 4-10x the fast one, sigma 0.5), scaled by a shared and a per-side
//     AR(1) log-noise. A quantile metric is the exact sample quantile of the step's requests:
//     the k-th order statistic of U(0,1) (a Beta draw) mapped through the mixture's inverse CDF,
//     so low-traffic steps are as noisy as they are in reality. A mean metric is the mixture
//     mean plus its sampling error.
//   - success rate = 1 - errors / requests; request rate = requests / step; error rate =
//     errors / requests; a generic gauge (CPU-like) = level * (0.3 + 0.7 traffic share) with
//     AR(1) noise. A side with no requests in a step has NaN for the ratios and quantiles.
// Bad releases regress on the canary from regression_start (drawn in 5-30% of the window):
//   latency-shift (both components' medians x U(1.15, 1.5)), tail-only (slow component only:
//   weight x U(2, 3.5) and median x U(1.4, 2.2)), variance-increase (the per-step log-noise
//   of latency x U(3, 5) and both sigmas x 1.3), error-burst (error fraction x U(6, 20) for
//   U(5, 20) minutes, no structural zeros), gradual-leak (latency and gauge x 1 + L * elapsed
//   fraction, L in U(0.3, 1.0)).
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/sources/archive.h"

namespace augur::replay {

// What a generated metric's series holds.
enum class Signal {
  kRequestRate,      // requests per second
  kErrorCount,       // 5xx per step (a count)
  kErrorRate,        // errors / requests (0..1)
  kSuccessRate,      // 1 - errors / requests (0..1)
  kLatencyQuantile,  // seconds, the step's sample quantile `quantile`
  kLatencyMean,      // seconds
  kGauge,            // a resource gauge that follows traffic (CPU seconds/s)
};
const char* SignalName(Signal s);

enum class Regression { kNone, kLatencyShift, kTailOnly, kVarianceIncrease, kErrorBurst, kLeak };
// "none", "latency-shift", "tail-only", "variance-increase", "error-burst", "gradual-leak":
// the label written into archives (ReleaseLabel::regression).
const char* RegressionName(Regression r);
Result<Regression> ParseRegression(std::string_view name);

struct GeneratedMetric {
  std::string name;  // equals the model metric's name, so replay judges it
  Signal signal = Signal::kGauge;
  double quantile = 0.5;  // kLatencyQuantile only, in (0, 1)
};

// The metrics of models/http-golden-signals.yaml: success-rate, errors, latency-p50,
// latency-p99, requests.
std::vector<GeneratedMetric> GoldenSignalMetrics();

// One generated metric per model metric, the signal told from its query name (else its metric
// name): success -> success rate; error + count kind or "count" -> error count; error + rate
// -> error rate; request/rps/throughput -> request rate; latency/duration/response_time with
// pNN -> that quantile, with mean/avg -> mean (default p50); cpu/memory/gauge -> gauge.
// A metric none of these fit is kInvalidArgument naming it.
Result<std::vector<GeneratedMetric>> MetricsForModel(const judge::Model& model);

struct GeneratorOptions {
  uint64_t seed = 1;
  int count = 24;
  double bad_fraction = 0.5;  // round(count * bad_fraction) releases are bad
  int64_t duration_ms = 60 * 60000;
  int64_t step_ms = 60000;
  // Release i starts on day i after `first_day_ms` at a random minute of the day (UTC).
  int64_t first_day_ms = 1767225600000;       // 2026-01-01T00:00:00Z
  std::string model = "http-golden-signals";  // written into each release
  std::string name_prefix = "gen";
  std::vector<GeneratedMetric> metrics = GoldenSignalMetrics();
  // Kinds the bad releases cycle through (in a seeded order, so each kind appears).
  std::vector<Regression> kinds = {Regression::kLatencyShift, Regression::kTailOnly,
                                   Regression::kVarianceIncrease, Regression::kErrorBurst,
                                   Regression::kLeak};

  // Service parameters.
  double min_rps = 5, max_rps = 200;
  double diurnal_amplitude = 0.6;  // in [0, 1)
  double peak_hour = 15;           // UTC
  double error_rate = 0.003;       // expected errors / requests of a healthy side
  double zero_inflation = 0.3;     // probability of a structural zero error step
  double low_traffic_probability = 0.25;
  // AR(1) coefficient and stationary standard deviation of the log-noises.
  double ar_phi = 0.8;
  double traffic_noise_sd = 0.08;
  double latency_noise_sd = 0.05;
};

Status ValidateGeneratorOptions(const GeneratorOptions& options);

// Release `index` of the set: the same (seed, index) gives the same release whatever `count`
// is, except for which indices are bad (a seeded choice of round(count * bad_fraction)).
Result<sources::Release> GenerateRelease(const GeneratorOptions& options, int index);
Result<std::vector<sources::Release>> GenerateReleases(const GeneratorOptions& options);

// The label plan of a set: per index, kNone (good) or the regression of a bad release. With
// the overload below, a large set is generated one release at a time without re-planning.
std::vector<Regression> PlanRegressions(const GeneratorOptions& options);
Result<sources::Release> GenerateRelease(const GeneratorOptions& options, int index,
                                         Regression kind);

// Mixture helpers, public for tests: the CDF and inverse CDF of the two-component lognormal.
struct LognormalMixture {
  double fast_median = 0.05, fast_sigma = 0.35;
  double slow_median = 0.3, slow_sigma = 0.5;
  double slow_weight = 0.04;
  double Cdf(double x) const;
  double Quantile(double p) const;  // p in (0, 1)
  double Mean() const;
};

}  // namespace augur::replay
