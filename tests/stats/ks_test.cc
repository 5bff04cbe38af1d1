// Tests for augur::stats::KolmogorovSmirnov against R 4.2.2 and independent references.
//
// Reference values were computed once with the tools below and pasted as literals:
//   R      Rscript (R 4.2.2 Patched r83330): sprintf("%.17g", ks.test(x, y, alternative = a,
//          exact = e)$statistic / $p.value), with the data written exactly as in the R call
//          named next to each case (the C++ generators below reproduce R's arithmetic bit for
//          bit: integer mod, one division, then one addition).
//   exact  The same tie-aware lattice walk as R's psmirnov `pfun`, run in Python with exact
//          integers (fractions.Fraction, math.comb): the true permutation p-value. Small
//          fractions are written out.
//   scipy  scipy 1.10.1: scipy.special.kolmogorov(sqrt(en) * D) with en = nx*ny/(nx+ny),
//          the upper tail of the Kolmogorov limit law computed directly (= kstwobign.sf).
//          NOT scipy.stats.ks_2samp(method = "asymp"): its two-sided branch is
//          kstwo.sf(D, round(en)), the finite-n one-sample law (6.249e-89 instead of
//          3.610e-66 in the far-tail case below), and its one-sided branch is Hodges'
//          corrected exp(), so neither is R's (or Augur's) limit law.
//   exp    Python math.exp(-2 * en * D * D): R's one-sided asymptotic p, without R's
//          1 - (1 - p) round trip.
//
// Tolerances. R forms the exact p-value as 1 - count / exp(lgamma(N+1) - ...) and the
// asymptotic one as 1 - cdf, so R itself carries an absolute error of up to ~1e-12 (exact,
// verified against the exact column) and ~1e-16 (asymptotic). Augur computes the upper tail
// directly, so it is held to 1e-12 relative against `exact` and 1e-9 relative against
// `scipy`/`exp`, and to 1e-9 relative plus R's own absolute error against R.
#include "augur/stats/ks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace augur::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// R: ((1:n * mult) %% mod + offset) / mod + add
std::vector<double> ModSeq(int n, int mult, int mod, int offset = 0, double add = 0.0) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) {
    v.push_back(static_cast<double>((i * mult) % mod + offset) / mod + add);
  }
  return v;
}
// R: (0:(n-1) + 0.5) / n
std::vector<double> MidGrid(int n) {
  std::vector<double> v;
  for (int j = 0; j < n; ++j) v.push_back((j + 0.5) / n);
  return v;
}
// R: (1:n) / (n + 1) * 0.9 + 0.1
std::vector<double> ScaledGrid(int n) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) v.push_back(static_cast<double>(i) / (n + 1) * 0.9 + 0.1);
  return v;
}
// R: start + 0:(n-1)
std::vector<double> Seq(int n, double start) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i);
  return v;
}

const std::vector<double> kAx = {0.61, -1.73, 0.29, 2.36, -0.4, 1.05, 0.06, 0.77};
const std::vector<double> kAy = {1.31, 2.1, -0.56, 1.64, 0.93, 2.8, 1.77, 0.44, 3.05, 1.2};
const std::vector<double> kTiesX = {1, 2, 2, 3, 3};
const std::vector<double> kTiesY = {1, 2, 3, 3, 4, 4, 4};

constexpr auto kTwo = Alternative::kTwoSided;
constexpr auto kLess = Alternative::kLess;
constexpr auto kGreater = Alternative::kGreater;

struct KsCase {
  std::string name;
  std::vector<double> x, y;
  Alternative alternative;
  KsMethod method;
  bool want_exact;
  double d;        // the statistic (R's value, up to R's ~1e-16 cumsum noise)
  double r_p;      // R 4.2.2 ks.test()$p.value
  double ref_p;    // exact / scipy / exp reference; NaN when R's value is the only one
  double ref_rel;  // relative tolerance against ref_p
};

// gtest prints a failing parameter with this instead of a byte dump.
void PrintTo(const KsCase& c, std::ostream* os) { *os << c.name; }

constexpr double kExactRel = 1e-12;
constexpr double kLimitRel = 1e-9;

// Aggregate initialisation in a helper keeps the table on one line per case.
KsCase C(std::string name, std::vector<double> x, std::vector<double> y, Alternative alt,
         KsMethod method, bool want_exact, double d, double r_p, double ref_p = kNaN,
         double ref_rel = kExactRel) {
  return KsCase{std::move(name), std::move(x), std::move(y), alt, method, want_exact, d, r_p,
                ref_p,           ref_rel};
}

std::vector<KsCase> Cases() {
  const auto kAuto = KsMethod::kAuto;
  const auto kExact = KsMethod::kExact;
  const auto kAsym = KsMethod::kAsymptotic;
  const std::vector<double> i_y = ModSeq(100, 53, 97, 0, 0.1);  // R: ((1:100*53) %% 97)/97 + 0.1
  return {
      // No ties, 8 x 10, exact by default. R: ks.test(Ax, Ay, alternative = a).
      C("NoTiesTwoSided", kAx, kAy, kTwo, kAuto, true, 0.575, 0.07043283513871379, 1541.0 / 21879),
      C("NoTiesLess", kAx, kAy, kLess, kAuto, true, 0.0, 1.0, 1.0),
      C("NoTiesGreater", kAx, kAy, kGreater, kAuto, true, 0.575, 0.035216417569354896,
        1541.0 / 43758),
      // R: ks.test(Ay, Ax, alternative = "less")
      C("NoTiesSwappedLess", kAy, kAx, kLess, kAuto, true, 0.575, 0.035216417569351566,
        1541.0 / 43758),
      // Same data, asymptotic forced. R: ks.test(Ax, Ay, alternative = a, exact = FALSE).
      // lambda = sqrt(80/18) * 0.575 = 1.21: the direct alternating series.
      C("NoTiesAsymptoticTwoSided", kAx, kAy, kTwo, kAsym, false, 0.575, 0.10583331093738657,
        0.10583331093738671, kLimitRel),
      C("NoTiesAsymptoticGreater", kAx, kAy, kGreater, kAsym, false, 0.575, 0.052924501082204145,
        0.05292450108220417, kLimitRel),
      C("NoTiesAsymptoticLess", kAx, kAy, kLess, kAsym, false, 0.0, 1.0, 1.0),

      // Ties inside and across the samples: the boundary is checked only at the ends of tie
      // blocks. R: ks.test(c(1,2,2,3,3), c(1,2,3,3,4,4,4), alternative = a) (exact).
      C("TiesTwoSided", kTiesX, kTiesY, kTwo, kAuto, true, 3.0 / 7, 0.24242424242424188, 8.0 / 33),
      C("TiesGreater", kTiesX, kTiesY, kGreater, kAuto, true, 3.0 / 7, 0.17803030303030243,
        47.0 / 264),
      C("TiesLess", kTiesX, kTiesY, kLess, kAuto, true, 0.0, 1.0, 1.0),
      // The samples swapped. R: ks.test(c(1,2,3,3,4,4,4), c(1,2,2,3,3), alternative = a).
      C("TiesSwappedTwoSided", kTiesY, kTiesX, kTwo, kAuto, true, 3.0 / 7, 0.24242424242424121,
        8.0 / 33),
      C("TiesSwappedGreater", kTiesY, kTiesX, kGreater, kAuto, true, 0.0, 1.0, 1.0),
      // DELIBERATE DIFFERENCE FROM R 4.2.2: its ks.test gives 0.064393939393937893 here,
      // because it scores D^- against the law of D^+, which differs under ties. The true
      // permutation p-value (exact enumeration of all choose(12, 7) labellings: 47/264) is
      // what R's own psmirnov gives with the labels swapped:
      //   psmirnov(3/7, sizes = c(5, 7), z = c(y, x), two.sided = FALSE, lower.tail = FALSE)
      C("TiesSwappedLess", kTiesY, kTiesX, kLess, kAuto, true, 3.0 / 7, 0.17803030303030243,
        47.0 / 264),

      // One observation each. R: ks.test(1, 2, alternative = a).
      C("OneVsOneTwoSided", {1.0}, {2.0}, kTwo, kAuto, true, 1.0, 1.0, 1.0),
      C("OneVsOneLess", {1.0}, {2.0}, kLess, kAuto, true, 0.0, 1.0, 1.0),
      C("OneVsOneGreater", {1.0}, {2.0}, kGreater, kAuto, true, 1.0, 0.5, 0.5),

      // Every value tied: D = 0 and p = 1 by both methods. R: ks.test(c(5,5,5), c(5,5), ...)
      // (R reports D = +-5.55e-17 from its floating cumsum; Augur's D is exactly 0).
      C("AllTiedExactTwoSided", {5, 5, 5}, {5, 5}, kTwo, kAuto, true, 0.0, 1.0, 1.0),
      C("AllTiedExactGreater", {5, 5, 5}, {5, 5}, kGreater, kAuto, true, 0.0, 1.0, 1.0),
      C("AllTiedAsymptoticTwoSided", {5, 5, 5}, {5, 5}, kTwo, kAsym, false, 0.0, 1.0, 1.0),
      C("AllTiedAsymptoticLess", {5, 5, 5}, {5, 5}, kLess, kAsym, false, 0.0, 1.0, 1.0),

      // 5 x 500 = 2500 < 10000: exact by default. R: ks.test(c(0.402, 0.731, 0.844, 0.915,
      // 0.978), (0:499 + 0.5)/500, alternative = a).
      C("Unequal5x500TwoSided", {0.402, 0.731, 0.844, 0.915, 0.978}, MidGrid(500), kTwo, kAuto,
        true, 0.53, 0.080726619639492569, 0.0807266196394483),
      C("Unequal5x500Less", {0.402, 0.731, 0.844, 0.915, 0.978}, MidGrid(500), kLess, kAuto, true,
        0.53, 0.040363309819770321, 0.04036330981972415),
      C("Unequal5x500Greater", {0.402, 0.731, 0.844, 0.915, 0.978}, MidGrid(500), kGreater, kAuto,
        true, 0.022, 0.97624697003334782, 0.9762469700333467),
      // 19 x 526 = 9994 < 10000: still exact. R: ks.test((1:19)/20*0.9 + 0.1, (0:525 + 0.5)/526).
      C("Unequal19x526TwoSided", ScaledGrid(19), MidGrid(526), kTwo, kAuto, true,
        0.14448669201520911, 0.7856606904455864, 0.7856606904456718),
      C("Unequal19x526Less", ScaledGrid(19), MidGrid(526), kLess, kAuto, true, 0.14448669201520911,
        0.42337109117432126, 0.4233710911745516),
      C("Unequal19x526Greater", ScaledGrid(19), MidGrid(526), kGreater, kAuto, true,
        0.045627376425855466, 0.90027866635867548, 0.9002786663587153),
      // 20 x 500 = 10000, not < 10000: asymptotic. lambda = 0.62 < 1 takes pkstwo's
      // one-term theta series. R: ks.test((1:20)/21*0.9 + 0.1, (0:499 + 0.5)/500).
      C("Unequal20x500TwoSided", ScaledGrid(20), MidGrid(500), kTwo, kAuto, false, 0.142,
        0.83285973125548873),
      C("Unequal20x500Less", ScaledGrid(20), MidGrid(500), kLess, kAuto, false, 0.142,
        0.46045577650870584),
      C("Unequal20x500Greater", ScaledGrid(20), MidGrid(500), kGreater, kAuto, false, 0.042,
        0.93440421701466769),

      // 120 x 100 = 12000: asymptotic by default, exact when forced.
      // R: ks.test(((1:120*37) %% 101)/101, ((1:100*53) %% 97)/97 + 0.1, alternative = a,
      //            exact = NULL / TRUE)
      C("Large120x100TwoSided", ModSeq(120, 37, 101), i_y, kTwo, kAuto, false, 0.11833333333333333,
        0.42968625512319736),
      C("Large120x100Greater", ModSeq(120, 37, 101), i_y, kGreater, kAuto, false,
        0.11833333333333333, 0.21706123906634667),
      C("Large120x100Less", ModSeq(120, 37, 101), i_y, kLess, kAuto, false, 0.0, 1.0, 1.0),
      C("Large120x100ExactTwoSided", ModSeq(120, 37, 101), i_y, kTwo, kExact, true,
        0.11833333333333333, 0.39321157331750378, 0.3932115733175782),
      C("Large120x100ExactGreater", ModSeq(120, 37, 101), i_y, kGreater, kExact, true,
        0.11833333333333333, 0.19827184810532028, 0.19827184810541837),
      // Shifted x, R: x = ((1:120*37) %% 101 + k)/101, same y, asymptotic by default.
      // k = -1: lambda = 0.948, just below pkstwo's switch at 1.
      C("ShiftLambda0p95TwoSided", ModSeq(120, 37, 101, -1), i_y, kTwo, kAuto, false,
        0.12833333333333333, 0.33019992174440449),
      C("ShiftLambda0p95Greater", ModSeq(120, 37, 101, -1), i_y, kGreater, kAuto, false,
        0.12833333333333333, 0.16585080386402962),
      // k = -2: lambda = 1.009, just above.
      C("ShiftLambda1p01TwoSided", ModSeq(120, 37, 101, -2), i_y, kTwo, kAuto, false,
        0.13666666666666666, 0.26011135474701663, 0.26011135474700275, kLimitRel),
      C("ShiftLambda1p01Greater", ModSeq(120, 37, 101, -2), i_y, kGreater, kAuto, false,
        0.13666666666666666, 0.13034431439085348, 0.1303443143908535, kLimitRel),
      // k = -20: p ~ 5e-5.
      C("ShiftSmallPTwoSided", ModSeq(120, 37, 101, -20), i_y, kTwo, kAuto, false,
        0.31166666666666665, 4.9998403346962483e-05, 4.9998403346963236e-05, kLimitRel),
      C("ShiftSmallPGreater", ModSeq(120, 37, 101, -20), i_y, kGreater, kAuto, false,
        0.31166666666666665, 2.4999201673536753e-05, 2.4999201673481967e-05, kLimitRel),
      // k = -36: p ~ 4e-11, where R's 1 - cdf already carries ~5e-7 relative error.
      C("ShiftTinyPTwoSided", ModSeq(120, 37, 101, -36), i_y, kTwo, kAuto, false, 0.475,
        4.0875525186834238e-11, 4.087554378968621e-11, kLimitRel),
      C("ShiftTinyPGreater", ModSeq(120, 37, 101, -36), i_y, kGreater, kAuto, false, 0.475,
        2.0437762593417119e-11, 2.0437771894843032e-11, kLimitRel),
      // k = 30: x shifted the other way, so "less" carries the evidence.
      C("ShiftLessTwoSided", ModSeq(120, 37, 101, 30), i_y, kTwo, kAuto, false, 0.22166666666666668,
        0.0093989626372842361, 0.0093989626372843, kLimitRel),
      C("ShiftLessLess", ModSeq(120, 37, 101, 30), i_y, kLess, kAuto, false, 0.22166666666666668,
        0.0046994818063951227, 0.0046994818063950845, kLimitRel),

      // Far tail, 200 x 200, D = 0.87 (the D of x = rnorm(200), y = rnorm(200, 3) under
      // set.seed(1)): R's 1 - cdf rounds to 0. R: ks.test(0:199, 173.5 + 0:199, alternative = a)
      // gives p = 0; reference scipy.special.kolmogorov(10 * 0.87) and exp(-200 * 0.87^2).
      C("FarTailTwoSided", Seq(200, 0), Seq(200, 173.5), kTwo, kAuto, false, 0.87, 0.0,
        3.6102005259872946e-66, kLimitRel),
      C("FarTailGreater", Seq(200, 0), Seq(200, 173.5), kGreater, kAuto, false, 0.87, 0.0,
        1.8051002629935962e-66, kLimitRel),

      // Completely separated samples: p = 2/choose(20, 10) and 1/choose(20, 10).
      // R: ks.test(1:10, 11:20, alternative = a).
      C("SeparatedTwoSided", Seq(10, 1), Seq(10, 11), kTwo, kAuto, true, 1.0,
        1.0825088214372336e-05, 1.0 / 92378),
      C("SeparatedGreater", Seq(10, 1), Seq(10, 11), kGreater, kAuto, true, 1.0,
        5.4125441021346532e-06, 1.0 / 184756),
      // Exact p ~ 1e-8: R's value is off by 3e-7 relative; the exact column is the truth.
      // R: ks.test(1:50, 31:80, alternative = a).
      C("Overlap50x50TwoSided", Seq(50, 1), Seq(50, 31), kTwo, kAuto, true, 0.6,
        1.0624965463001956e-08, 1.062496238538581e-08),
      C("Overlap50x50Greater", Seq(50, 1), Seq(50, 31), kGreater, kAuto, true, 0.6,
        5.3124843413243639e-09, 5.312481192692905e-09),
      // 500 x 500 with ties, exact forced: N = 1000 is about where R's path counts (up to
      // choose(1000, 500) = 2.7e299) still fit a double. R: ks.test(((1:500*37) %% 251)/251,
      // ((1:500*41) %% 263)/263 + (-0.12), alternative = a, exact = TRUE).
      C("Ties500x500ExactTwoSided", ModSeq(500, 37, 251), ModSeq(500, 41, 263, 0, -0.12), kTwo,
        kExact, true, 0.124, 0.00085092060079661191, 0.000850920600084993),
      C("Ties500x500ExactLess", ModSeq(500, 37, 251), ModSeq(500, 41, 263, 0, -0.12), kLess, kExact,
        true, 0.124, 0.00042546030077994512, 0.0004254603000684765),
  };
}

class KsReferenceTest : public ::testing::TestWithParam<KsCase> {};

TEST_P(KsReferenceTest, MatchesReferences) {
  const KsCase& c = GetParam();
  KsOptions options;
  options.alternative = c.alternative;
  options.method = c.method;
  auto r = KolmogorovSmirnov(c.x, c.y, options);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->exact, c.want_exact);
  EXPECT_EQ(r->n_x, c.x.size());
  EXPECT_EQ(r->n_y, c.y.size());
  EXPECT_NEAR(r->statistic, c.d, 1e-12);
  EXPECT_GE(r->statistic, 0.0);
  // Against R: 1e-9 relative plus R's own rounding (see the file comment).
  const double r_abs = c.want_exact ? 1e-12 : 1e-15;
  EXPECT_NEAR(r->p_value, c.r_p, 1e-9 * c.r_p + r_abs) << "R 4.2.2 value " << c.r_p;
  if (!std::isnan(c.ref_p)) {
    EXPECT_NEAR(r->p_value, c.ref_p, c.ref_rel * c.ref_p) << "reference value " << c.ref_p;
  }
}

INSTANTIATE_TEST_SUITE_P(RAndExact, KsReferenceTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<KsCase>& info) {
                           return info.param.name;
                         });

// Relabelling: D^+ of (x, y) is D^- of (y, x), and under the permutation null both have the
// same law, ties or not. R 4.2.2 breaks this with ties (TiesSwappedLess above).
TEST(KsTest, SwappingSamplesSwapsGreaterAndLess) {
  const std::vector<std::pair<std::vector<double>, std::vector<double>>> data = {
      {kTiesX, kTiesY},
      {{1, 1, 1, 2, 5}, {2, 3, 4, 4, 4, 4, 6}},
      {kAx, kAy},
      {ModSeq(40, 7, 13), ModSeq(30, 5, 11, 1)},
  };
  for (const auto& [x, y] : data) {
    for (KsMethod method : {KsMethod::kExact, KsMethod::kAsymptotic}) {
      KsOptions greater{Alternative::kGreater, method, NonFinitePolicy::kReject};
      KsOptions less{Alternative::kLess, method, NonFinitePolicy::kReject};
      auto a = KolmogorovSmirnov(x, y, greater);
      auto b = KolmogorovSmirnov(y, x, less);
      ASSERT_TRUE(a.has_value() && b.has_value());
      EXPECT_EQ(a->statistic, b->statistic);
      EXPECT_NEAR(a->p_value, b->p_value, 1e-14 * a->p_value);
    }
  }
}

// R: ks.test(c(1,1,1,2,5), c(2,3,4,4,4,4,6), alternative = "less") gives 0.76641414141414121;
// enumerating all choose(12, 5) labellings gives 0.85606060606060608 = 113/132.
TEST(KsTest, OneSidedLessWithTiesIsThePermutationPValue) {
  KsOptions less{Alternative::kLess, KsMethod::kAuto, NonFinitePolicy::kReject};
  auto r = KolmogorovSmirnov(std::vector<double>{1, 1, 1, 2, 5},
                             std::vector<double>{2, 3, 4, 4, 4, 4, 6}, less);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->exact);
  EXPECT_NEAR(r->statistic, 0.057142857142857051, 1e-12);
  EXPECT_NEAR(r->p_value, 113.0 / 132, 1e-12);
}

TEST(KsTest, ResultDoesNotDependOnInputOrderAndInputIsUntouched) {
  std::vector<double> x = kTiesY;
  std::vector<double> y = kTiesX;
  std::reverse(x.begin(), x.end());
  std::rotate(y.begin(), y.begin() + 2, y.end());
  const std::vector<double> x_before = x, y_before = y;
  auto shuffled = KolmogorovSmirnov(x, y);
  auto sorted = KolmogorovSmirnov(kTiesY, kTiesX);
  ASSERT_TRUE(shuffled.has_value() && sorted.has_value());
  EXPECT_EQ(shuffled->statistic, sorted->statistic);
  EXPECT_EQ(shuffled->p_value, sorted->p_value);
  EXPECT_EQ(x, x_before);
  EXPECT_EQ(y, y_before);
}

TEST(KsTest, EmptySampleIsAnError) {
  const std::vector<double> empty;
  auto rx = KolmogorovSmirnov(empty, kAy);
  ASSERT_FALSE(rx.has_value());
  EXPECT_EQ(rx.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(rx.error().message.find("sample x is empty"), std::string::npos) << rx.error().message;
  auto ry = KolmogorovSmirnov(kAx, empty);
  ASSERT_FALSE(ry.has_value());
  EXPECT_EQ(ry.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(ry.error().message.find("sample y is empty"), std::string::npos) << ry.error().message;
}

TEST(KsTest, NonFiniteRejectedByDefault) {
  const std::vector<double> x = {0.61, -1.73, kNaN, 2.36};
  auto r = KolmogorovSmirnov(x, kAy);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("sample x: value at index 2 is NaN"), std::string::npos)
      << r.error().message;

  const std::vector<double> y = {1.0, kInf};
  auto ry = KolmogorovSmirnov(kAx, y);
  ASSERT_FALSE(ry.has_value());
  EXPECT_NE(ry.error().message.find("sample y: value at index 1 is +Inf"), std::string::npos)
      << ry.error().message;
}

// R drops NA/NaN itself: ks.test(c(0.61, -1.73, NA, 2.36, -0.4, 1.05, 0.06, 0.77), Ay).
// Exact references 103/884 and 103/1768.
TEST(KsTest, NaNDroppedUnderDropPolicy) {
  const std::vector<double> x = {0.61, -1.73, kNaN, 2.36, -0.4, 1.05, 0.06, 0.77};
  KsOptions options;
  options.non_finite = NonFinitePolicy::kDrop;
  auto two = KolmogorovSmirnov(x, kAy, options);
  ASSERT_TRUE(two.has_value()) << two.error().message;
  EXPECT_EQ(two->n_x, 7u);
  EXPECT_TRUE(two->exact);
  EXPECT_NEAR(two->statistic, 0.55714285714285705, 1e-12);
  EXPECT_NEAR(two->p_value, 0.1165158371040701, 1e-9 * 0.1165158371040701);
  EXPECT_NEAR(two->p_value, 103.0 / 884, 1e-12 * 103.0 / 884);
  options.alternative = Alternative::kGreater;
  auto greater = KolmogorovSmirnov(x, kAy, options);
  ASSERT_TRUE(greater.has_value());
  EXPECT_NEAR(greater->p_value, 0.058257918552033772, 1e-9 * 0.058257918552033772);
  EXPECT_NEAR(greater->p_value, 103.0 / 1768, 1e-12 * 103.0 / 1768);
}

// Unlike R, which keeps +-Inf in ks.test, kDrop also drops infinities (sample.h's policy).
TEST(KsTest, InfinityDroppedUnderDropPolicy) {
  KsOptions options;
  options.non_finite = NonFinitePolicy::kDrop;
  std::vector<double> y = kAy;
  y.push_back(kInf);
  y.insert(y.begin(), -kInf);
  auto with_inf = KolmogorovSmirnov(kAx, y, options);
  auto without = KolmogorovSmirnov(kAx, kAy, options);
  ASSERT_TRUE(with_inf.has_value() && without.has_value());
  EXPECT_EQ(with_inf->n_y, kAy.size());
  EXPECT_EQ(with_inf->statistic, without->statistic);
  EXPECT_EQ(with_inf->p_value, without->p_value);
}

TEST(KsTest, SampleEmptyAfterDroppingIsAnError) {
  KsOptions options;
  options.non_finite = NonFinitePolicy::kDrop;
  auto r = KolmogorovSmirnov(kAx, std::vector<double>{kNaN, kInf}, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("sample y is empty after dropping"), std::string::npos)
      << r.error().message;
}

TEST(KsTest, ExactRefusedAboveOneHundredMillionCells) {
  const std::vector<double> x(10001, 1.0), y(10000, 2.0);
  KsOptions options;
  options.method = KsMethod::kExact;
  auto r = KolmogorovSmirnov(x, y, options);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("asymptotic"), std::string::npos) << r.error().message;
  // The default picks the asymptotic law for the same input.
  auto fallback = KolmogorovSmirnov(x, y);
  ASSERT_TRUE(fallback.has_value());
  EXPECT_FALSE(fallback->exact);
  EXPECT_EQ(fallback->statistic, 1.0);
  EXPECT_EQ(fallback->p_value, 0.0);  // lambda ~ 70: below the smallest double
}

// Past N ~ 1030 R's path counts overflow and R warns and returns a Monte Carlo estimate
// (ks.test(x, y, exact = TRUE) below: "computation of exact probability failed"). The
// probability-scaled walk keeps full precision. Exact reference: the lattice walk in Python
// integers for x = ((1:1500*37) %% 1499)/1499, y = ((1:1500*41) %% 1511)/1511 + 0.08.
TEST(KsTest, ExactStaysPreciseWhereRCountsOverflow) {
  const std::vector<double> x = ModSeq(1500, 37, 1499);
  const std::vector<double> y = ModSeq(1500, 41, 1511, 0, 0.08);
  KsOptions options;
  options.method = KsMethod::kExact;
  auto r = KolmogorovSmirnov(x, y, options);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->exact);
  EXPECT_NEAR(r->statistic, 0.08133333333333333, 1e-12);
  EXPECT_NEAR(r->p_value, 9.73526450171294e-05, kExactRel * 9.73526450171294e-05);
}

}  // namespace
}  // namespace augur::stats
