// Sequential (anytime-valid) tests: the mSPRT against the worked examples of
// shared/reference/stats.md §2.2 and direct numerical integration, the Lindon-Malek count test
// against scipy, state carried across checks, and input errors.
//
// Reference literals were computed with /usr/bin/python3.11 (numpy 1.24.2, scipy 1.10.1):
//   mSPRT Lambda: the closed form of stats.md §2.2 for paired n, and for everything else
//     scipy.integrate.quad of the mixture  int N(d; th, V) / N(d; theta0, V) dH(th)  with
//     H = N(theta0, tau^2) (two-sided) or the half-normal 2 N(theta0, tau^2) on one side
//     (epsrel 1e-12), i.e. without the closed forms used in sequential.cc;
//   calcTau: sigma^2 * norm.cdf(-b) / (norm.pdf(b)/b - norm.cdf(-b)), b = 2 log(1/a)/sqrt(M s^2);
//   Bayes factors: exp(betaln(a+c, b0+b) - betaln(a, b0) - c log rho0 - b log1p(-rho0)) times,
//     one-sided, betainc(b0+b, a+c, 1-rho0) / betainc(b0, a, 1-rho0) (upper tail by symmetry).
#include "augur/stats/sequential.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace augur::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

void ExpectRel(double actual, double expected, double tol) {
  EXPECT_NEAR(actual, expected, tol * std::fabs(expected)) << "expected " << expected;
}

// n values per arm whose means differ by exactly `diff` (the spread is irrelevant with
// sigma given).
MsprtResult PairedWithKnownSigma(int n, double diff) {
  MsprtState state;
  MsprtOptions o;
  o.sigma = 1;
  o.tau = 0.1;
  const std::vector<double> canary(n, diff), baseline(n, 0.0);
  auto r = MsprtUpdate(state, canary, baseline, o);
  EXPECT_TRUE(r.has_value());
  return *r;
}

// ---------------------------------------------------------------------------------------
// mSPRT

TEST(Msprt, WorkedExampleN1000DoesNotReject) {
  // stats.md §2.2: sigma 1, tau 0.1, n 1000, diff 0.1 -> Lambda 3.28, AVCI half-width 0.137.
  const MsprtResult r = PairedWithKnownSigma(1000, 0.1);
  ASSERT_TRUE(r.testable);
  ExpectRel(r.lambda, 3.278721627526389, 1e-12);
  ExpectRel(r.conf_high - r.estimate, 0.1366738367033226, 1e-12);
  ExpectRel(r.estimate - r.conf_low, 0.1366738367033226, 1e-12);
  ExpectRel(r.p_value, 1 / 3.278721627526389, 1e-12);
  EXPECT_FALSE(r.reject);
  EXPECT_DOUBLE_EQ(r.conf_level, 0.95);
}

TEST(Msprt, WorkedExampleN10000Rejects) {
  // stats.md §2.2: n 10000, diff 0.05 -> Lambda 64.2 >= 1/0.05, half-width 0.045.
  const MsprtResult r = PairedWithKnownSigma(10000, 0.05);
  ExpectRel(r.lambda, 64.17015094518752, 1e-12);
  ExpectRel(r.conf_high - r.estimate, 0.044992790496765044, 1e-12);
  EXPECT_TRUE(r.reject);
  EXPECT_LT(r.p_value, 0.05);
  // The always-valid interval excludes 0 exactly when the test rejects theta0 = 0.
  EXPECT_GT(r.conf_low, 0);
}

TEST(Msprt, CalcTauMatchesTheRRuleUnrounded) {
  ExpectRel(CalcTauSquared(0.05, 1, 1000), 0.2585450295129987, 1e-12);
  ExpectRel(CalcTauSquared(0.05, 2, 1000), 0.4957122192017205, 1e-12);
  ExpectRel(CalcTauSquared(0.01, 1, 50), 2.771929944953919, 1e-12);
  // Tiny horizons take the asymptotic branch (b > 30): tau^2 ~ sigma^2 (b^2 + 2).
  const double b = 2 * std::log(20.0) / std::sqrt(0.01);
  ExpectRel(CalcTauSquared(0.05, 1, 0.01), b * b + 2, 1e-3);
}

// Unequal arms: nx 300, ny 700, sigma 2, tau 0.5, diff 0.4. Arm values are constant so the
// means are exact; sigma is given.
MsprtResult Unequal(Alternative alt, double theta0 = 0) {
  MsprtState state;
  MsprtOptions o;
  o.sigma = 2;
  o.tau = 0.5;
  o.alternative = alt;
  o.theta0 = theta0;
  const std::vector<double> canary(300, 5.4), baseline(700, 5.0);
  auto r = MsprtUpdate(state, canary, baseline, o);
  EXPECT_TRUE(r.has_value());
  return *r;
}

TEST(Msprt, UnequalArmsMatchNumericalMixture) {
  ExpectRel(Unequal(Alternative::kTwoSided).lambda, 13.179752213927431, 1e-9);
  ExpectRel(Unequal(Alternative::kGreater).lambda, 26.290847228643813, 1e-9);
  ExpectRel(Unequal(Alternative::kLess).lambda, 0.06865719921105018, 1e-9);
  ExpectRel(Unequal(Alternative::kTwoSided, 0.1).lambda, 2.3899446921494887, 1e-9);
}

TEST(Msprt, EstimatedSigmaAndAutoTau) {
  const std::vector<double> x = {12.1, 9.8, 11.4, 13.0, 10.7, 12.9, 11.8, 10.2, 12.5, 11.1};
  const std::vector<double> y = {10.3, 9.9,  11.0, 10.6, 9.4,  10.8,
                                 11.5, 10.1, 9.7,  10.9, 10.4, 11.2};
  MsprtState state;
  auto r = MsprtUpdate(state, x, y);  // defaults: alpha 0.05, truncation 1000, tau auto
  ASSERT_TRUE(r.has_value());
  // Pooled within-arm sd; tau = sd * sqrt(calcTau(0.05, 1, 1000)).
  ExpectRel(r->sigma, 0.8786827262062987, 1e-12);
  ExpectRel(r->tau, 0.446786647297299, 1e-12);
  ExpectRel(r->estimate, 1.0666666666666647, 1e-12);
  ExpectRel(r->lambda, 6.764521385788202, 1e-9);
  ExpectRel(r->conf_high - r->estimate, 1.2892945830114735, 1e-9);
}

TEST(Msprt, AutoTauIsScaleEquivariant) {
  // Milliseconds vs seconds must give the same verdict.
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  std::vector<double> x(80), y(90), x_ms(80), y_ms(90);
  for (size_t i = 0; i < x.size(); ++i) x_ms[i] = 1000 * (x[i] = 0.3 + noise(rng));
  for (size_t i = 0; i < y.size(); ++i) y_ms[i] = 1000 * (y[i] = noise(rng));
  MsprtState s1, s2;
  auto a = MsprtUpdate(s1, x, y);
  auto b = MsprtUpdate(s2, x_ms, y_ms);
  ASSERT_TRUE(a.has_value() && b.has_value());
  ExpectRel(b->lambda, a->lambda, 1e-9);
  ExpectRel(b->conf_high, 1000 * a->conf_high, 1e-9);
}

TEST(Msprt, OneBatchEqualsManySmallBatches) {
  std::mt19937_64 rng(11);
  std::lognormal_distribution<double> latency(4.6, 0.5);
  std::vector<double> x(600), y(900);
  for (double& v : x) v = latency(rng);
  for (double& v : y) v = 1.05 * latency(rng);
  MsprtState all, parts;
  auto one = MsprtUpdate(all, x, y);
  ASSERT_TRUE(one.has_value());
  // 20 checks with uneven arrivals, one of them canary-only.
  Result<MsprtResult> last = InvalidArgument("no update yet");
  size_t ix = 0, iy = 0;
  for (int check = 0; check < 20; ++check) {
    const size_t nx = check == 19 ? x.size() - ix : (check % 3 == 0 ? 13 : 37);
    const size_t ny = check == 19 ? y.size() - iy : (check == 5 ? 0 : 45);
    last = MsprtUpdate(parts, std::span(x).subspan(ix, nx), std::span(y).subspan(iy, ny));
    ASSERT_TRUE(last.has_value()) << last.error().message;
    ix += nx;
    iy += ny;
  }
  EXPECT_EQ(parts.checks, 20u);
  EXPECT_EQ(last->n_canary, 600u);
  EXPECT_EQ(last->n_baseline, 900u);
  // Welford per value: bit-identical summaries, hence Lambda.
  EXPECT_EQ(last->lambda, one->lambda);
  EXPECT_EQ(last->estimate, one->estimate);
  // The running p-value and interval depend on the path: never worse than one look.
  EXPECT_LE(last->p_value, one->p_value);
  EXPECT_GE(last->conf_low, one->conf_low);
  EXPECT_LE(last->conf_high, one->conf_high);
}

TEST(Msprt, PValueRunsDownAndIntervalsNest) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> x_dist(0.2, 1), y_dist(0, 1);
  MsprtState state;
  double prev_p = 1, prev_low = -kInf, prev_high = kInf;
  bool rejected = false;
  for (int check = 0; check < 30; ++check) {
    std::vector<double> x(40), y(40);
    for (double& v : x) v = x_dist(rng);
    for (double& v : y) v = y_dist(rng);
    auto r = MsprtUpdate(state, x, y);
    ASSERT_TRUE(r.has_value());
    EXPECT_LE(r->p_value, prev_p);
    EXPECT_LE(r->p_value, std::min(1.0, 1 / r->lambda) * (1 + 1e-12));
    EXPECT_GE(r->conf_low, prev_low);
    EXPECT_LE(r->conf_high, prev_high);
    if (rejected) {
      EXPECT_TRUE(r->reject) << "a rejection is final";
    }
    rejected = r->reject;
    prev_p = r->p_value;
    prev_low = r->conf_low;
    prev_high = r->conf_high;
  }
  EXPECT_TRUE(rejected) << "a 0.2 sd shift over 1200 values per arm";
}

TEST(Msprt, OneSidedIgnoresTheOtherDirection) {
  // Canary much faster than baseline: two-sided rejects, kGreater ("canary worse") does not.
  const std::vector<double> x = {1.0, 1.2, 0.9, 1.1, 1.0, 0.8, 1.05, 0.95, 1.15, 0.9};
  const std::vector<double> y = {5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.05, 4.95, 5.15, 4.9};
  MsprtState two, greater;
  MsprtOptions o;
  auto r2 = MsprtUpdate(two, x, y, o);
  o.alternative = Alternative::kGreater;
  auto rg = MsprtUpdate(greater, x, y, o);
  ASSERT_TRUE(r2.has_value() && rg.has_value());
  EXPECT_TRUE(r2->reject);
  EXPECT_FALSE(rg->reject);
  EXPECT_EQ(rg->p_value, 1.0);
  // Phi(s) underflows here (s ~ -51) but Lambda+ does not: scipy.integrate.quad of the
  // half-normal mixture over theta > 0 gives 0.009685681565464451.
  ExpectRel(rg->lambda, 0.009685681565464451, 1e-8);
}

TEST(Msprt, UntestableUntilBothArmsHaveSpread) {
  MsprtState state;
  const std::vector<double> some = {1, 2, 3}, one = {2};
  auto r = MsprtUpdate(state, some, {});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->testable);
  EXPECT_EQ(r->lambda, 1.0);
  EXPECT_EQ(r->conf_low, -kInf);
  r = MsprtUpdate(state, {}, one);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->testable);
  EXPECT_EQ(r->n_canary, 3u);
  EXPECT_EQ(r->n_baseline, 1u);
  // All values equal: no spread, no test (as Kayenta passes identical data).
  MsprtState flat;
  const std::vector<double> same(10, 4.0);
  r = MsprtUpdate(flat, same, same);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->testable);
  EXPECT_FALSE(r->reject);
}

TEST(Msprt, ErrorsLeaveStateUnchanged) {
  MsprtState state;
  const std::vector<double> x = {1, 2, 3}, y = {2, 3, 4}, bad = {1, kNaN, 3}, inf = {kInf};
  ASSERT_TRUE(MsprtUpdate(state, x, y).has_value());
  const MsprtState before = state;

  auto r = MsprtUpdate(state, {}, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  r = MsprtUpdate(state, bad, y);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("canary: value at index 1 is NaN"), std::string::npos);
  r = MsprtUpdate(state, x, inf);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("baseline"), std::string::npos);
  for (double alpha : {0.0, 1.0, kNaN}) {
    MsprtOptions o;
    o.alpha = alpha;
    EXPECT_FALSE(MsprtUpdate(state, x, y, o).has_value()) << alpha;
  }
  MsprtOptions o;
  o.tau = -1;
  EXPECT_FALSE(MsprtUpdate(state, x, y, o).has_value());
  o = {};
  o.truncation = 0;
  EXPECT_FALSE(MsprtUpdate(state, x, y, o).has_value());
  o = {};
  o.sigma = kNaN;
  EXPECT_FALSE(MsprtUpdate(state, x, y, o).has_value());

  EXPECT_EQ(state.canary.n, before.canary.n);
  EXPECT_EQ(state.baseline.mean, before.baseline.mean);
  EXPECT_EQ(state.checks, before.checks);
  EXPECT_EQ(state.max_log_lambda, before.max_log_lambda);

  // kDrop removes non-finite values; a check whose values are all dropped has no data.
  o = {};
  o.non_finite = NonFinitePolicy::kDrop;
  r = MsprtUpdate(state, bad, y, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->n_canary, 5u);
  const std::vector<double> all_nan = {kNaN, kNaN};
  EXPECT_FALSE(MsprtUpdate(state, all_nan, {}, o).has_value());
}

TEST(Msprt, FalseFailRateUnderRepeatedChecksStaysBelowAlpha) {
  // 2000 null canaries, 20 checks of 30 values per arm, known sigma: Ville's bound says at
  // most 5% ever reject; with only 20 looks the real rate is far lower.
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> dist(0, 1);
  MsprtOptions o;
  o.sigma = 1;
  o.truncation = 600;
  int fails = 0;
  std::vector<double> x(30), y(30);
  for (int canary = 0; canary < 2000; ++canary) {
    MsprtState state;
    for (int check = 0; check < 20; ++check) {
      for (double& v : x) v = dist(rng);
      for (double& v : y) v = dist(rng);
      auto r = MsprtUpdate(state, x, y, o);
      ASSERT_TRUE(r.has_value());
      if (r->reject) {
        ++fails;
        break;
      }
    }
  }
  EXPECT_LE(fails, 100);  // 5% of 2000
}

// ---------------------------------------------------------------------------------------
// Count test

struct BfCase {
  uint64_t c;
  double ec;
  uint64_t b;
  double eb;
  double two_sided, greater, less;  // scipy, default prior (concentration 2 centred at rho0)
};

TEST(CountTest, BayesFactorMatchesScipy) {
  const BfCase cases[] = {
      {8, 1e4, 0, 1e4, 28.444444444444432, 56.77777777777774, 0.11111111111111109},
      {5, 1e4, 0, 1e4, 5.333333333333334, 10.499999999999998, 0.16666666666666674},
      {45, 1e4, 30, 1e4, 0.6357645299930282, 1.2177140766634362, 0.05381498332262032},
      {120, 5e3, 900, 4.5e4, 0.15901641949891474, 0.5637228838696636, 0.007749773413065777},
      {5200, 1e6, 5000, 1e6, 0.08815700083589743, 0.17211103077060863, 0.0042029709011862535},
      {3, 2e3, 40, 2e3, 16198947.009981528, 0.026215276498884003, 32397893.993747722},
  };
  for (const BfCase& k : cases) {
    const double expected[] = {k.two_sided, k.greater, k.less};
    const Alternative alts[] = {Alternative::kTwoSided, Alternative::kGreater, Alternative::kLess};
    for (int i = 0; i < 3; ++i) {
      CountTestState state;
      CountTestOptions o;
      o.alternative = alts[i];
      auto r = CountTestUpdate(state, k.c, k.ec, k.b, k.eb, o);
      ASSERT_TRUE(r.has_value()) << r.error().message;
      SCOPED_TRACE(testing::Message() << k.c << "/" << k.ec << " vs " << k.b << "/" << k.eb << " "
                                      << AlternativeName(alts[i]));
      ExpectRel(r->bayes_factor, expected[i], 1e-9);
      EXPECT_EQ(r->reject, expected[i] >= 20);
    }
  }
}

TEST(CountTest, ExplicitPriorMatchesScipy) {
  CountTestState state;
  CountTestOptions o;
  o.prior_a = 3;
  o.prior_b = 7;
  auto r = CountTestUpdate(state, 45, 1e4, 30, 1e4, o);
  ASSERT_TRUE(r.has_value());
  ExpectRel(r->bayes_factor, 2.7224355775799887, 1e-9);
  EXPECT_EQ(r->prior_a, 3);
  o.alternative = Alternative::kTwoSided;
  CountTestState state2;
  r = CountTestUpdate(state2, 45, 1e4, 30, 1e4, o);
  ExpectRel(r->bayes_factor, 0.2763560287541603, 1e-9);
}

TEST(CountTest, ZeroInflatedBaselineDoesNotWaveThroughNewErrors) {
  // Baseline 0 errors in 10000 requests, canary 8 in 10000. A fixed-sample one-sided
  // conditional binomial test gives p = 0.5^8 = 0.0039. The sequential test pays for being
  // valid at every check but still fails the canary: BF+ = 56.8 >= 20 (scipy literal above).
  CountTestState state;
  auto r = CountTestUpdate(state, 8, 10000, 0, 10000);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->reject);
  ExpectRel(r->p_value, 1 / 56.77777777777774, 1e-9);
  EXPECT_EQ(r->rate_ratio, kInf);
  EXPECT_DOUBLE_EQ(r->rho0, 0.5);
  // ... and arriving one error per check (8 checks) ends in the same place.
  CountTestState drip;
  for (int i = 0; i < 8; ++i) r = CountTestUpdate(drip, 1, 1250, 0, 1250);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->reject);
  ExpectRel(r->bayes_factor, 56.77777777777774, 1e-9);
  // 5 errors against 0 is not yet enough (BF+ 10.5): the price of anytime validity.
  CountTestState five;
  r = CountTestUpdate(five, 5, 10000, 0, 10000);
  EXPECT_FALSE(r->reject);
}

TEST(CountTest, StateCarriesAcrossChecks) {
  CountTestState all, parts;
  auto one = CountTestUpdate(all, 130, 20000, 100, 20000);
  ASSERT_TRUE(one.has_value());
  Result<CountTestResult> r = InvalidArgument("no update yet");
  for (int i = 0; i < 10; ++i) {
    r = CountTestUpdate(parts, 13, 2000, 10, 2000);
    ASSERT_TRUE(r.has_value());
  }
  EXPECT_EQ(r->canary_events, 130u);
  EXPECT_EQ(r->baseline_exposure, 20000);
  ExpectRel(r->bayes_factor, one->bayes_factor, 1e-12);
  ExpectRel(r->rate_ratio, 1.3, 1e-12);
  EXPECT_LE(r->p_value, one->p_value);
  EXPECT_EQ(parts.checks, 10u);
}

TEST(CountTest, PriorIsFrozenAtTheFirstTestableCheck) {
  CountTestState state;
  auto r = CountTestUpdate(state, 0, 100, 0, 0);  // baseline not yet exposed
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->testable);
  EXPECT_EQ(state.prior_a, 0);
  r = CountTestUpdate(state, 1, 100, 2, 300);  // rho0 = 200/500 = 0.4
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->testable);
  EXPECT_DOUBLE_EQ(r->prior_a, 0.8);
  EXPECT_DOUBLE_EQ(r->prior_b, 1.2);
  r = CountTestUpdate(state, 1, 1000, 2, 100);  // rho0 moves; the mixture must not
  EXPECT_DOUBLE_EQ(r->prior_a, 0.8);
}

TEST(CountTest, CanaryBetterNeverFails) {
  CountTestState state;
  Result<CountTestResult> r = InvalidArgument("no update yet");
  for (int i = 0; i < 20; ++i) {
    r = CountTestUpdate(state, 0, 1000, 50, 1000);
    ASSERT_TRUE(r.has_value());
  }
  EXPECT_FALSE(r->reject);
  EXPECT_EQ(r->p_value, 1.0);
  EXPECT_EQ(r->rate_ratio, 0.0);
}

TEST(CountTest, ErrorsLeaveStateUnchanged) {
  CountTestState state;
  ASSERT_TRUE(CountTestUpdate(state, 1, 100, 1, 100).has_value());
  const CountTestState before = state;
  EXPECT_FALSE(CountTestUpdate(state, 0, 0, 0, 0).has_value());       // nothing observed
  EXPECT_FALSE(CountTestUpdate(state, 1, -5, 0, 100).has_value());    // negative exposure
  EXPECT_FALSE(CountTestUpdate(state, 1, kNaN, 0, 100).has_value());  // NaN exposure
  EXPECT_FALSE(CountTestUpdate(state, 0, 100, 1, kInf).has_value());
  auto r = CountTestUpdate(state, 3, 0, 0, 100);  // events, no exposure
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("zero exposure"), std::string::npos);
  CountTestOptions o;
  o.alpha = 1.5;
  EXPECT_FALSE(CountTestUpdate(state, 1, 100, 1, 100, o).has_value());
  o = {};
  o.prior_a = 1;  // prior_b left 0
  EXPECT_FALSE(CountTestUpdate(state, 1, 100, 1, 100, o).has_value());
  o = {};
  o.prior_concentration = 0;
  EXPECT_FALSE(CountTestUpdate(state, 1, 100, 1, 100, o).has_value());
  EXPECT_EQ(state.canary_events, before.canary_events);
  EXPECT_EQ(state.baseline_exposure, before.baseline_exposure);
  EXPECT_EQ(state.checks, before.checks);
}

}  // namespace
}  // namespace augur::stats
