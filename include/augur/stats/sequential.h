// Sequential (anytime-valid) two-sample tests for a canary that is judged again at every
// interval. Re-running a fixed-sample test (Mann-Whitney, Welch) on all data so far at every
// check and failing at the first p < alpha inflates false failures ("peeking"): with 20
// checks the false-fail rate is several times alpha (bench/stats/sequential_simulation.cc).
// The tests here keep a small running state between checks and control the false-fail rate
// at alpha over ALL checks together, however many there are and whenever the caller stops.
//
// Both tests are test martingales: nonnegative, start at 1 and have expectation <= 1 under
// the null at every check. By Ville's inequality P_H0(sup_n Lambda_n >= 1/alpha) <= alpha,
// so "fail at the first check with Lambda >= 1/alpha" is valid under optional stopping and
// p_n = min(1, 1/max_{k<=n} Lambda_k) is an always-valid p-value: P_H0(exists n: p_n <= a) <= a
// (Johari, Koomen, Pekelis & Walsh, "Peeking at A/B Tests", KDD 2017; Johari, Pekelis &
// Walsh, "Always Valid Inference", Operations Research 70(3):1806-1821, 2022).
//
// 1. MsprtUpdate: mixture SPRT for a shift in means (latency; run it on log-latency to test a
//    ratio, as bench/stats/sequential_simulation.cc does). Canary x (nx values so far), baseline
//    y (ny), estimate d = mean(x) - mean(y) of theta, V = sigma^2 (1/nx + 1/ny) its variance,
//    mixing distribution H = N(theta0, tau^2) over theta:
//      Lambda = sqrt(V / (V + tau^2)) * exp( tau^2 (d - theta0)^2 / (2 V (V + tau^2)) ).
//    With paired arrivals (nx = ny = n, V = 2 sigma^2 / n) this is exactly Johari et al.'s
//      sqrt(2s^2/(2s^2 + n tau^2)) exp(n^2 tau^2 (d - theta0)^2 / (4 s^2 (2s^2 + n tau^2))).
//    Unequal arrivals per arm: with cumulative (nested) samples Cov(d_j, d_k) = Var(d_k) for
//    checks j <= k, so S_k = (d_k - theta0) / V_k is a Brownian motion in information time
//    I_k = 1/V_k (Jennison & Turnbull, "Group Sequential Methods", 2000, ch. 3) and the
//    formula above is its N(theta0, tau^2) mixture likelihood ratio: an exact martingale for
//    normal data with known sigma, with any per-check counts per arm, as long as the counts
//    do not depend on the values. It depends only on (n, mean, sum of squared deviations) per
//    arm, so one update with all the data equals many small updates.
//    One-sided (kGreater: canary mean larger; a half-normal mixture on theta > theta0):
//      Lambda+ = 2 Phi(s) Lambda, s = (d - theta0) tau / sqrt(V (V + tau^2));
//    kLess uses Phi(-s). Each component is a supermartingale for every theta <= theta0, so the
//    one-sided test is valid for the composite null "canary not larger".
//    Always-valid CI for theta (two-sided whatever the alternative), from Lambda < 1/alpha:
//      d +- sqrt( V (V + tau^2) / tau^2 * log((V + tau^2) / (V alpha^2)) ),
//    intersected over all checks (kept in the state). For paired n this is the stats.md §2.2
//    form; sigma = 1, tau = 0.1: n = 1000 gives half-width 0.137, n = 10000 gives 0.045.
//    What is estimated: sigma^2, unless given, is the pooled within-arm variance
//    (SSx + SSy) / (nx + ny - 2), re-estimated at every check. Plugging it in is only
//    asymptotically valid (Johari et al. 2022, §4): the guarantee is exact for known sigma and
//    holds as the sample grows; early checks with a handful of values are the weak spot.
//    tau: options.tau > 0 is used as given (units of the data). tau = 0 picks it by the
//    mixtureSPRT package's calcTau rule (Johari et al. 2017), tau^2 = sigma^2 Phi(-b) /
//    (phi(b)/b - Phi(-b)), b = 2 log(1/alpha) / sqrt(M sigma^2), M = options.truncation,
//    evaluated at sigma = 1 and scaled by the current sigma estimate, i.e. the mixture is put
//    on the standardized effect theta/sigma. Why not the literal rule with the data's sigma:
//    b then has units of 1/sigma, so the verdict would change when latency is recorded in
//    seconds instead of milliseconds. The two agree for sigma = 1.
//
// 2. CountTestUpdate: error counts (Lindon & Malek, "Anytime-Valid Inference for Multinomial
//    Count Data", NeurIPS 2022, arXiv 2011.03567; Netflix's canary count test). If events in
//    each arm are Poisson with rate proportional to exposure, then given the total N = c + b
//    of canary (c) and baseline (b) events, c ~ Binomial(N, rho), and under "same rate per
//    unit exposure" rho = rho0 = Ec / (Ec + Eb), the canary's share of exposure. With a
//    Beta(a, b0) mixture over rho (log space, boost::math lbeta):
//      BF = [B(a + c, b0 + b) / B(a, b0)] / [rho0^c (1 - rho0)^b]          (two-sided)
//    kGreater (canary rate higher: the canary default) restricts the prior to rho > rho0:
//      BF+ = BF * Q(a + c, b0 + b; rho0) / Q(a, b0; rho0),  Q = regularized upper incomplete
//    beta = P(Beta > rho0). Every component rho1 > rho0 is a likelihood-ratio martingale under
//    rho0 and a supermartingale under any rho <= rho0 (canary no worse), so BF+ is a test
//    supermartingale for the one-sided null. kLess mirrors it. Reject when BF >= 1/alpha.
//    Default prior: centred at rho0 with concentration k = a + b0 = 2 (uniform for an even
//    split), fixed at the first update that has exposure in both arms and kept in the state,
//    since a mixture that changed between checks would not be a martingale.
//    Assumption: rho0 is the cumulative exposure share. The test is exact when the canary's
//    share of exposure is the same at every check (a fixed traffic split); when the split is
//    ramped the null mean stays right and the binomial over-states the variance, which errs
//    on the safe side: 1.4% false fails at alpha 5% over 20 checks with the share ramped
//    10% -> 50% (bench/stats/sequential_simulation.cc, 10,000 canaries).
//
// Units: the mSPRT works in the data's units (tau, theta0, the CI too); exposures are any
// consistent unit (requests, seconds, instance-minutes) and only their ratio matters.
// Errors are values: kInvalidArgument for bad options, a check with no data at all,
// non-finite values under NonFinitePolicy::kReject, negative or non-finite exposure, events
// without exposure. On error the state is left unchanged.
// Thread-safety: pure functions of (state, new data, options); the state is a plain value
// owned by the caller, one per (canary, metric). Concurrent updates of one state need the
// caller's lock; distinct states may be updated from distinct threads.
// REQUIRES of every update: the same options as the previous updates of the same state
// (alpha, tau, theta0 and the prior are part of the running test).
#pragma once

#include <cstdint>
#include <limits>
#include <span>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

// ---------------------------------------------------------------------------------------
// mSPRT for a shift in means.

// Running summary of one arm: count, mean and sum of squared deviations from the mean
// (Welford/Chan form, so that 1e6 ms +- 1 ms keeps its precision where raw sums of squares
// would cancel).
struct ArmSummary {
  uint64_t n = 0;
  double mean = 0;
  double m2 = 0;  // sum of (x - mean)^2
};

struct MsprtState {
  ArmSummary canary, baseline;
  uint64_t checks = 0;        // successful updates so far
  double max_log_lambda = 0;  // log of the largest Lambda so far (Lambda_0 = 1)
  // Running intersection of the always-valid intervals; (-inf, +inf) before the first test.
  double conf_low = -std::numeric_limits<double>::infinity();
  double conf_high = std::numeric_limits<double>::infinity();
};

struct MsprtOptions {
  double alpha = 0.05;  // level of the whole sequence of checks; in (0, 1)
  // kTwoSided: any shift; kGreater: canary mean larger (worse, for latency); kLess: smaller.
  Alternative alternative = Alternative::kTwoSided;
  double theta0 = 0;         // null shift canary - baseline, data units
  double tau = 0;            // mixture sd, data units; 0 = calcTau rule on the standardized scale
  double truncation = 1000;  // calcTau's M: planned values per arm at the last check
                             // (harmonic mean of the two arms' counts if unequal); > 0
  double sigma = 0;          // known per-value sd; 0 = estimate (pooled within-arm)
  NonFinitePolicy non_finite = NonFinitePolicy::kReject;
};

struct MsprtResult {
  // False until both arms have data and a positive variance estimate (nx + ny >= 3 unless
  // sigma is given): Lambda is then 1 and the interval infinite. No rejection is possible.
  bool testable = false;
  uint64_t n_canary = 0, n_baseline = 0;
  double estimate = 0;  // mean(canary) - mean(baseline)
  double sigma = 0;     // the sd used (given or estimated)
  double tau = 0;       // the mixture sd used, data units
  double lambda = 1;    // this check's mixture likelihood ratio (may be +inf)
  double log_lambda = 0;
  double p_value = 1;                  // always-valid: min(1, 1 / max Lambda so far)
  double conf_low = 0, conf_high = 0;  // always-valid CI for the shift (running intersection;
                                       // empty, low > high, only if the model is wrong or
                                       // in an event of probability <= alpha)
  double conf_level = 0;               // 1 - alpha
  bool reject = false;                 // max Lambda so far >= 1/alpha; stays true once true
};

// Adds one check's new values of each arm to `state` and tests. Either span may be empty
// (an arm with no traffic this interval), not both. Cost O(new values), O(1) memory.
Result<MsprtResult> MsprtUpdate(MsprtState& state, std::span<const double> new_canary,
                                std::span<const double> new_baseline,
                                const MsprtOptions& options = {});

// calcTau's mixture variance tau^2 for per-value sd `sigma`, as in the mixtureSPRT R package
// but without its rounding to 2 decimals. REQUIRES: 0 < alpha < 1, sigma > 0, truncation > 0.
double CalcTauSquared(double alpha, double sigma, double truncation);

// ---------------------------------------------------------------------------------------
// Lindon-Malek Beta-mixture test on event counts.

struct CountTestState {
  uint64_t canary_events = 0, baseline_events = 0;
  double canary_exposure = 0, baseline_exposure = 0;
  double prior_a = 0, prior_b = 0;  // frozen at the first testable update (0 = not yet)
  uint64_t checks = 0;
  double max_log_bf = 0;  // log of the largest BF so far (BF_0 = 1)
};

struct CountTestOptions {
  double alpha = 0.05;  // in (0, 1)
  // kGreater (default): only a canary rate higher than the baseline's counts as a failure.
  Alternative alternative = Alternative::kGreater;
  // Beta prior on the canary's share of events. Both 0: centred at rho0 with concentration
  // prior_concentration (a = k rho0, b = k (1 - rho0)). Otherwise both must be > 0.
  double prior_a = 0, prior_b = 0;
  double prior_concentration = 2;  // > 0
};

struct CountTestResult {
  bool testable = false;  // both arms have exposure; else BF = 1 and no rejection
  uint64_t canary_events = 0, baseline_events = 0;    // cumulative
  double canary_exposure = 0, baseline_exposure = 0;  // cumulative
  double rho0 = 0;          // canary share of exposure (the null share of events)
  double canary_share = 0;  // observed c / (c + b); 0 with no events
  // (c / Ec) / (b / Eb): +inf when b = 0 < c, 1 when both counts are 0.
  double rate_ratio = 1;
  double bayes_factor = 1;  // this check's BF (may be +inf)
  double log_bayes_factor = 0;
  double p_value = 1;  // always-valid: min(1, 1 / max BF so far)
  double prior_a = 0, prior_b = 0;
  bool reject = false;  // max BF so far >= 1/alpha; stays true once true
};

// Adds one check's new events and exposures of each arm to `state` and tests. An arm may
// have zero new exposure (then zero events); both may not. Cost O(1).
Result<CountTestResult> CountTestUpdate(CountTestState& state, uint64_t canary_events,
                                        double canary_exposure, uint64_t baseline_events,
                                        double baseline_exposure,
                                        const CountTestOptions& options = {});

}  // namespace augur::stats
