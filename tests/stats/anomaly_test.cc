#include "augur/stats/anomaly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "augur/stats/descriptive.h"
#include "testing/reference_data.h"

namespace augur::stats {
namespace {

using augur::testing::RelClose;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// N(0, 1) noise that is the same on every platform: std::mt19937's output sequence is fixed by
// the standard, std::normal_distribution's transform is not, so Box-Muller is done here.
std::vector<double> Noise(uint32_t seed, size_t n, double sd = 1.0) {
  std::mt19937 gen(seed);
  std::vector<double> out;
  while (out.size() < n) {
    const double u1 = (gen() + 0.5) / 4294967296.0, u2 = (gen() + 0.5) / 4294967296.0;
    const double r = std::sqrt(-2 * std::log(u1));
    out.push_back(sd * r * std::cos(2 * M_PI * u2));
    out.push_back(sd * r * std::sin(2 * M_PI * u2));
  }
  out.resize(n);
  return out;
}

AnomalyOptions WithWarmup(size_t warmup) {
  AnomalyOptions o;
  o.warmup = warmup;
  return o;
}

TEST(AnomalyCanary, StepChangeAlarmsAtTheStep) {
  // d = canary - baseline has sd sqrt(2) ~ 1.41 before the step. A +10 step (z ~ 7) must be
  // caught by the point rule on its first point; a +3 step (z ~ 2, below the point limit) by
  // the EWMA or CUSUM within a few points. The first 40 points are the reference.
  const std::vector<double> nb = Noise(7, 120), nc = Noise(8, 120);
  for (double step : {10.0, 3.0}) {
    std::vector<double> baseline(120), canary(120);
    for (size_t i = 0; i < 120; ++i) {
      baseline[i] = 100 + nb[i];
      canary[i] = 100 + nc[i] + (i >= 80 ? step : 0.0);
    }
    auto r = ScoreCanaryAnomaly(canary, baseline, WithWarmup(40));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_TRUE(r->first_alarm_index.has_value()) << r->reason;
    if (step == 10.0) {
      EXPECT_EQ(*r->first_alarm_index, 80u) << r->reason;
      EXPECT_EQ(r->first_alarm_rule, AnomalyRule::kPoint);
      // The words name the rule and the z of the first alarm (built after the scoring loop).
      const std::string z = "point rule: robust z = ";
      ASSERT_NE(r->reason.find(z), std::string::npos) << r->reason;
      const double printed = std::stod(r->reason.substr(r->reason.find(z) + z.size()));
      EXPECT_NEAR(printed, r->z[80], 5e-3 * std::fabs(r->z[80])) << r->reason;  // 3 digits
      EXPECT_GE(r->alarm_count, 40u);  // the statistics do not reset: the shift stays flagged
    } else {
      EXPECT_GE(*r->first_alarm_index, 80u) << r->reason;
      EXPECT_LE(*r->first_alarm_index, 84u) << r->reason;
      EXPECT_NE(r->first_alarm_rule, AnomalyRule::kPoint) << r->reason;
      EXPECT_TRUE(r->reason.find("ewma rule: EWMA of clipped z = ") != std::string::npos ||
                  r->reason.find("cusum rule: upper CUSUM = ") != std::string::npos)
          << r->reason;
    }
    EXPECT_EQ(r->reference_count, 40u);
    for (size_t i = 0; i < 80; ++i) EXPECT_EQ(r->alarm[i], 0) << "false alarm at " << i;
    EXPECT_NE(r->reason.find("alarm: first at index"), std::string::npos) << r->reason;
  }
}

TEST(AnomalyCanary, IdenticalSeriesDoNotAlarm) {
  std::vector<double> x = Noise(3, 200);
  for (double& v : x) v = 50 + 5 * v;
  auto r = ScoreCanaryAnomaly(x, x);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->first_alarm_index.has_value());
  EXPECT_EQ(r->alarm_count, 0u);
  EXPECT_EQ(r->scale_source, ScaleSource::kFloor);  // d == 0 everywhere: no spread at all
  EXPECT_EQ(r->max_score, 0.0);
  for (double z : r->z) EXPECT_EQ(z, 0.0);
  EXPECT_EQ(r->reason.rfind("no alarm", 0), 0u) << r->reason;
}

TEST(AnomalyCanary, SpikeRobustZMatchesScipy) {
  // Reference: numpy/scipy 1.10.1, d = c - b, med = np.median(d),
  // s = scipy.stats.median_abs_deviation(d, scale=1/1.4826), z = (d - med) / s.
  const std::vector<double> b = {10.2, 9.8, 10.5, 10.1, 9.9, 10.3, 10.0, 9.7, 10.4,
                                 10.2, 9.6, 10.1, 10.3, 9.9, 10.0, 10.2, 9.8, 10.1,
                                 10.4, 9.9, 10.0, 10.3, 9.7, 10.1, 10.2};
  const std::vector<double> c = {10.4, 9.9,  10.3, 10.0, 10.2, 10.1, 10.3, 9.8,  10.2,
                                 10.5, 9.9,  10.0, 10.1, 10.2, 9.8,  10.4, 10.1, 14.9,
                                 10.3, 10.0, 10.2, 10.1, 9.9,  10.3, 10.0};
  auto r = ScoreCanaryAnomaly(c, b, WithWarmup(0));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(RelClose(r->center, 0.10000000000000142, 1e-12));
  EXPECT_TRUE(RelClose(r->scale, 0.29651999999999895, 1e-12));
  EXPECT_EQ(r->scale_source, ScaleSource::kMad);
  EXPECT_TRUE(RelClose(r->z[17], 15.85053284770004, 1e-12)) << r->z[17];
  // Iglewicz-Hoaglin's 0.6745 (x - med) / MAD = 15.85075: the same rule up to 0.6745 vs 1/1.4826.
  EXPECT_NEAR(r->z[17], 15.85075, 1e-3);
  EXPECT_EQ(r->score[17], 1.0);  // 1 - 2 norm.sf(15.85) = 1.0 in doubles
  EXPECT_EQ(r->first_alarm_index, 17u);
  EXPECT_EQ(r->first_alarm_rule, AnomalyRule::kPoint);
  EXPECT_EQ(r->max_score_index, 17u);
}

// numpy on d below, reference = the first 9 points, lambda 0.2, L 3, k 0.5, h 5, T 3.5:
// c = clip(z, -T, T); e = lam c + (1 - lam) e; sigma = sqrt(lam / (2 - lam) (1 - (1 - lam)^(2t)));
// cp = max(0, cp + c - k); cm = max(0, cm - c - k);
// s = max(|z|, T |e| / (L sigma), T max(cp, cm) / h); score = scipy.special.erf(s / sqrt(2)).
const std::vector<double> kDrift = {0.3, -0.2, 0.5, 0.1, -0.4, 0.2, 0.0, -0.1,
                                    0.4, 1.5,  1.8, 1.2, 1.6,  1.4, 1.7};
const std::vector<double> kDriftZ = {
    0.6744907594765951, -1.011736139214893, 1.3489815189531904,  0.0,
    -1.686226898691488, 0.3372453797382976, -0.3372453797382976, -0.6744907594765952,
    1.011736139214893,  4.721435316336166,  5.733171455551059,   3.709699177121273,
    5.058680696074464,  4.384189936597868,  5.395926075812761};
const std::vector<double> kDriftEwma = {
    0.13489815189531904,    -0.09442870632672336, 0.19425333872925937,  0.15540267098340751,
    -0.21292324295157158,   -0.10288951841359777, -0.14976069067853776, -0.25470670443814925,
    -0.0014181357075408185, 0.6988654914339674,   1.259092393147174,    1.7072739145177391,
    2.0658191316141914,     2.3526553052913535,   2.582124244233083};
const std::vector<double> kDriftCusumUpper = {0.1744907594765951,
                                              0.0,
                                              0.8489815189531904,
                                              0.3489815189531904,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.5117361392148929,
                                              3.511736139214893,
                                              6.511736139214893,
                                              9.511736139214893,
                                              12.511736139214893,
                                              15.511736139214893,
                                              18.511736139214893};
const std::vector<double> kDriftCusumLower = {0.0,
                                              0.5117361392148929,
                                              0.0,
                                              0.0,
                                              1.186226898691488,
                                              0.3489815189531903,
                                              0.1862268986914879,
                                              0.3607176581680831,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.0,
                                              0.0};
const std::vector<double> kDriftSeverity = {
    0.7869058860560278, 1.011736139214893,   1.3489815189531904, 0.5962184393087527,
    1.686226898691488,  0.37316329455747294, 0.5360835679080463, 0.9042910706025391,
    1.011736139214893,  4.721435316336166,   5.733171455551059,  6.658215297450425,
    8.758215297450425,  10.858215297450425,  12.958215297450426};
const std::vector<double> kDriftScore = {0.5686630383757977,
                                         0.6883357688052474,
                                         0.8226570977261366,
                                         0.44897069112643406,
                                         0.9082478951737507,
                                         0.2909730870382508,
                                         0.4080992038523004,
                                         0.634158919623338,
                                         0.6883357688052474,
                                         0.9999976581388991,
                                         0.9999999901430099,
                                         0.9999999999722827,
                                         1.0,
                                         1.0,
                                         1.0};

void ExpectClose(const std::vector<double>& got, const std::vector<double>& want,
                 const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    // Absolute slack near 0 (CUSUM restarts, z of the median), relative elsewhere.
    EXPECT_TRUE(RelClose(got[i], want[i], 1e-12) || std::fabs(got[i] - want[i]) < 1e-14)
        << what << "[" << i << "] = " << got[i] << ", numpy " << want[i];
  }
}

TEST(AnomalyCanary, EwmaAndCusumMatchNumpy) {
  const std::vector<double> zeros(kDrift.size(), 0.0);
  auto r = ScoreCanaryAnomaly(kDrift, zeros, WithWarmup(9));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(RelClose(r->center, 0.1, 1e-15));
  EXPECT_TRUE(RelClose(r->scale, 0.29652, 1e-12));
  ExpectClose(r->z, kDriftZ, "z");
  ExpectClose(r->ewma, kDriftEwma, "ewma");
  ExpectClose(r->cusum_upper, kDriftCusumUpper, "cusum_upper");
  ExpectClose(r->cusum_lower, kDriftCusumLower, "cusum_lower");
  ExpectClose(r->severity, kDriftSeverity, "severity");
  ExpectClose(r->score, kDriftScore, "score");
  EXPECT_EQ(r->first_alarm_index, 9u);  // numpy: alarms at 9..14
  EXPECT_EQ(r->alarm_count, 6u);
  EXPECT_EQ(r->first_alarm_rule, AnomalyRule::kPoint);  // z = 4.72 > 3.5 on the first point
}

TEST(AnomalyCanary, CusumAloneFindsTheDriftLater) {
  // The same drift with the point and EWMA rules out of reach (T = 100, so nothing is clipped):
  // only the CUSUM can fire. numpy: C+ = 4.73 at index 9, 9.97 > h = 9 at index 10.
  AnomalyOptions o = WithWarmup(9);
  o.mad_threshold = 100;
  o.ewma_L = kInf;
  o.cusum_h = 9.0;
  const std::vector<double> zeros(kDrift.size(), 0.0);
  auto r = ScoreCanaryAnomaly(kDrift, zeros, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->first_alarm_index, 10u);
  EXPECT_EQ(r->first_alarm_rule, AnomalyRule::kCusum);
  EXPECT_NE(r->reason.find("upper CUSUM"), std::string::npos) << r->reason;
}

TEST(AnomalyCanary, MissingPointsAreSkippedAndCounted) {
  // NaN in the canary at 3 and +Inf in the baseline at 11: those outputs are NaN, and every
  // other point sees the statistics of the sequence with the two points removed.
  std::vector<double> canary = kDrift, baseline(kDrift.size(), 0.0);
  canary.insert(canary.begin() + 3, kNaN);
  baseline.insert(baseline.begin() + 3, 1.0);
  canary.insert(canary.begin() + 11, 2.0);
  baseline.insert(baseline.begin() + 11, kInf);
  auto with_gaps = ScoreCanaryAnomaly(canary, baseline, WithWarmup(9));
  const std::vector<double> zeros(kDrift.size(), 0.0);
  auto clean = ScoreCanaryAnomaly(kDrift, zeros, WithWarmup(9));
  ASSERT_TRUE(with_gaps.has_value() && clean.has_value());
  EXPECT_EQ(with_gaps->missing_count, 2u);
  EXPECT_EQ(with_gaps->valid_count, kDrift.size());
  EXPECT_TRUE(std::isnan(with_gaps->score[3]) && std::isnan(with_gaps->z[11]));
  EXPECT_EQ(with_gaps->alarm[3], 0);
  size_t j = 0;
  for (size_t i = 0; i < canary.size(); ++i) {
    if (i == 3 || i == 11) continue;
    EXPECT_EQ(with_gaps->ewma[i], clean->ewma[j]) << i;
    EXPECT_EQ(with_gaps->cusum_upper[i], clean->cusum_upper[j]) << i;
    EXPECT_EQ(with_gaps->score[i], clean->score[j]) << i;
    ++j;
  }
  EXPECT_EQ(with_gaps->first_alarm_index, 10u);  // clean index 9, shifted by the gap at 3
  EXPECT_NE(with_gaps->reason.find("2 missing points skipped"), std::string::npos);
}

TEST(AnomalyCanary, ErrorsAreValues) {
  const std::vector<double> a = {1, 2, 3}, b = {1, 2};
  auto r = ScoreCanaryAnomaly(a, b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("3 points but baseline has 2"), std::string::npos);

  const std::vector<double> nans = {kNaN, kNaN};
  EXPECT_FALSE(ScoreCanaryAnomaly(nans, nans).has_value());
  EXPECT_FALSE(ScoreCanaryAnomaly({}, {}).has_value());

  auto bad = [&](auto mutate) {
    AnomalyOptions o;
    mutate(o);
    return !ScoreCanaryAnomaly(a, a, o).has_value() && !ScoreSeriesAnomaly(a, o).has_value();
  };
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.mad_threshold = 0; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.mad_threshold = kInf; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.ewma_lambda = 0; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.ewma_lambda = 1.5; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.ewma_L = -1; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.cusum_k = -0.1; }));
  EXPECT_TRUE(bad([](AnomalyOptions& o) { o.cusum_h = kNaN; }));
  AnomalyOptions series;
  series.warmup = 1;
  EXPECT_FALSE(ScoreSeriesAnomaly(a, series).has_value());
  series.warmup = 20;
  series.window = 10;
  EXPECT_FALSE(ScoreSeriesAnomaly(a, series).has_value());
}

TEST(AnomalyCanary, MadZeroFallsBackToMeanAbsoluteDeviation) {
  // Error counts: 8 of 12 differences are 0, so MAD = 0. numpy: median 0, scale =
  // sqrt(pi / 2) mean|d - 0| = 0.9399856029866251, z(5) = 5.319230405352436.
  const std::vector<double> d = {0, 0, 0, 0, 0, 0, 1, 2, 0, -1, 0, 5};
  const std::vector<double> zeros(d.size(), 0.0);
  auto r = ScoreCanaryAnomaly(d, zeros, WithWarmup(0));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->scale_source, ScaleSource::kMeanAbsoluteDeviation);
  EXPECT_TRUE(RelClose(r->scale, 0.9399856029866251, 1e-13));
  EXPECT_TRUE(RelClose(r->z[11], 5.319230405352436, 1e-13));
  EXPECT_EQ(r->alarm[11], 1);
  EXPECT_NE(r->reason.find("MAD = 0"), std::string::npos) << r->reason;

  // A reference with no spread at all: the first departure alarms, equal points score 0.
  const std::vector<double> flat = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0};
  auto f = ScoreCanaryAnomaly(flat, std::vector<double>(flat.size(), 0.0), WithWarmup(10));
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->scale_source, ScaleSource::kFloor);
  EXPECT_EQ(f->first_alarm_index, 10u);
  EXPECT_EQ(f->score[0], 0.0);
  EXPECT_TRUE(std::isfinite(f->z[10]));
}

TEST(AnomalyCanary, LogRatioIsScaleFree) {
  // A canary 10% above the baseline at every level is "no change" on the log scale but a
  // level-dependent difference on the additive scale; a later jump to +50% alarms.
  std::vector<double> baseline, canary;
  for (int i = 0; i < 60; ++i) {
    const double level = 10.0 * std::pow(1.05, i);  // 10 .. 180
    baseline.push_back(level);
    canary.push_back(level * (i == 45 ? 1.5 : 1.1) * (1 + 0.01 * std::sin(i)));
  }
  canary[5] = 0;  // undefined under the log ratio
  AnomalyOptions o = WithWarmup(20);
  o.transform = PairedTransform::kLogRatio;
  auto r = ScoreCanaryAnomaly(canary, baseline, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->undefined_count, 1u);
  EXPECT_TRUE(std::isnan(r->score[5]));
  EXPECT_EQ(r->first_alarm_index, 45u) << r->reason;
  EXPECT_EQ(r->alarm_count, 1u) << r->reason;
  o.transform = PairedTransform::kDifference;
  auto diff = ScoreCanaryAnomaly(canary, baseline, o);
  ASSERT_TRUE(diff.has_value());
  EXPECT_GT(diff->alarm_count, 10u);  // the growing absolute gap looks like drift
}

TEST(AnomalySeries, RobustZMatchesABruteForceWindow) {
  // z_t against the median and 1.4826 MAD of the previous `window` values, recomputed from
  // scratch with descriptive.h (sort-based) for every t.
  std::vector<double> x = Noise(11, 400);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::round(4 * x[i]) / 4 + 0.01 * i;  // ties
  AnomalyOptions o;
  o.window = 37;
  o.warmup = 10;
  auto r = ScoreSeriesAnomaly(x, o);
  ASSERT_TRUE(r.has_value());
  for (size_t t = 0; t < x.size(); ++t) {
    if (t < o.warmup) {
      EXPECT_EQ(r->score[t], 0.0);
      EXPECT_TRUE(std::isnan(r->z[t]));
      continue;
    }
    const size_t from = t > o.window ? t - o.window : 0;
    std::vector<double> past(x.begin() + from, x.begin() + t);
    std::vector<double> sorted = past;
    std::sort(sorted.begin(), sorted.end());
    const double med = PercentileSorted(sorted, 0.5);
    const double scale = MedianAbsoluteDeviation(past);
    ASSERT_GT(scale, 0) << t;
    EXPECT_TRUE(RelClose(r->z[t], (x[t] - med) / scale, 1e-12)) << t;
  }
}

TEST(AnomalySeries, IsCausal) {
  std::vector<double> x = Noise(5, 600);
  x[450] += 12;
  AnomalyOptions o;
  o.window = 100;
  auto full = ScoreSeriesAnomaly(x, o);
  auto prefix = ScoreSeriesAnomaly(std::span<const double>(x).first(300), o);
  ASSERT_TRUE(full.has_value() && prefix.has_value());
  for (size_t t = 0; t < 300; ++t) {
    EXPECT_EQ(full->score[t], prefix->score[t]) << t;
    EXPECT_EQ(full->severity[t], prefix->severity[t]) << t;
  }
  EXPECT_EQ(full->alarm[450], 1);
  EXPECT_EQ(full->max_score_index, 450u);
}

TEST(AnomalySeries, NoveltyDiscountsRoutineDeviations) {
  // A spike of the same size every 50 points. With the discount only the first is news; without
  // it every spike alarms again.
  std::vector<double> x = Noise(9, 600, 0.5);
  for (size_t i = 100; i < x.size(); i += 50) x[i] += 10;
  AnomalyOptions o;
  o.window = 200;
  o.novelty_window = 400;
  auto with = ScoreSeriesAnomaly(x, o);
  o.novelty_window = 0;
  auto without = ScoreSeriesAnomaly(x, o);
  ASSERT_TRUE(with.has_value() && without.has_value());
  EXPECT_EQ(with->first_alarm_index, 100u);
  EXPECT_EQ(with->alarm[100], 1);
  size_t later_with = 0, later_without = 0;
  for (size_t i = 150; i < x.size(); i += 50) {
    later_with += with->alarm[i];
    later_without += without->alarm[i];
  }
  EXPECT_EQ(later_without, 9u);
  EXPECT_LE(later_with, 2u);  // a spike only beats the recent max by noise
  // The discount only ever lowers severity.
  for (size_t i = 0; i < x.size(); ++i) EXPECT_LE(with->severity[i], without->severity[i]);
}

TEST(AnomalySeries, NoveltyMatchesABruteForceMax) {
  // The chart (z, EWMA, CUSUM and its restarts) does not depend on the discount, so the raw
  // severity is the series scored with novelty_window = 0, and
  // s*_t = s_t T / max(T, max of s over the previous M scored points).
  std::vector<double> x = Noise(21, 500);
  for (size_t i = 0; i < x.size(); ++i) x[i] += (i % 97 == 0 ? 8.0 : 0.0) + (i > 300 ? 1.5 : 0);
  AnomalyOptions o;
  o.window = 60;
  o.warmup = 20;
  o.novelty_window = 0;
  auto raw = ScoreSeriesAnomaly(x, o);
  o.novelty_window = 45;
  auto discounted = ScoreSeriesAnomaly(x, o);
  ASSERT_TRUE(raw.has_value() && discounted.has_value());
  const double t = o.mad_threshold;
  size_t changed = 0;
  for (size_t i = o.warmup; i < x.size(); ++i) {
    double recent_max = 0;
    for (size_t j = i > o.novelty_window ? i - o.novelty_window : 0; j < i; ++j) {
      if (j >= o.warmup) recent_max = std::max(recent_max, raw->severity[j]);
    }
    const double want = raw->severity[i] * t / std::max(t, recent_max);
    EXPECT_TRUE(RelClose(discounted->severity[i], want, 1e-15)) << i;
    EXPECT_EQ(discounted->alarm[i], want > t ? 1 : 0) << i;
    changed += discounted->severity[i] < raw->severity[i];
  }
  EXPECT_GT(changed, 50u);  // the discount was exercised
}

TEST(AnomalySeries, EmptyAndMissing) {
  auto empty = ScoreSeriesAnomaly({});
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->max_score_index.has_value());
  EXPECT_EQ(empty->reason.rfind("nothing scored", 0), 0u) << empty->reason;
  std::vector<double> x = Noise(2, 100);
  x[60] = kNaN;
  AnomalyOptions o;
  o.window = 50;
  auto r = ScoreSeriesAnomaly(x, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->missing_count, 1u);
  EXPECT_TRUE(std::isnan(r->score[60]));
}

// One real NAB stream (shared/data/nab): a daily pattern with an upward level jump inside the
// labelled window. A clean case on purpose: the corpus-wide score is bench/nab/nab_eval.cc's job
// (the defaults score ~38 there, and miss e.g. art_daily_jumpsdown's window).
TEST(AnomalySeries, NabJumpsUpPeaksInsideTheLabelledWindow) {
  const std::string dir = std::string(AUGUR_SHARED_DIR) + "/data/nab/";
  std::ifstream csv(dir + "data/artificialWithAnomaly/art_daily_jumpsup.csv");
  std::ifstream labels(dir + "labels/combined_windows.json");
  if (!csv || !labels) GTEST_SKIP() << "NAB data not found under " << dir;
  std::vector<std::string> stamps;
  std::vector<double> values;
  std::string line;
  std::getline(csv, line);
  while (std::getline(csv, line)) {
    const size_t comma = line.find(',');
    stamps.push_back(line.substr(0, comma));
    values.push_back(std::stod(line.substr(comma + 1)));
  }
  const auto window =
      nlohmann::json::parse(labels).at("artificialWithAnomaly/art_daily_jumpsup.csv").at(0);
  auto index_of = [&](const std::string& s) {
    return static_cast<size_t>(std::find(stamps.begin(), stamps.end(), s.substr(0, 19)) -
                               stamps.begin());
  };
  const size_t lo = index_of(window.at(0)), hi = index_of(window.at(1));
  ASSERT_LT(hi, stamps.size());
  auto r = ScoreSeriesAnomaly(values);
  ASSERT_TRUE(r.has_value());
  const size_t probation = std::min<size_t>(values.size() * 15 / 100, 750);  // NAB's
  const auto peak = std::max_element(r->severity.begin() + probation, r->severity.end());
  const size_t at = static_cast<size_t>(peak - r->severity.begin());
  EXPECT_GE(at, lo);
  EXPECT_LE(at, hi);
  for (double s : r->score) EXPECT_TRUE(s >= 0 && s <= 1);
}

// The judge asks for the summary only: it must be the summary of the full run, bit for bit.
TEST(AnomalySummaryOnly, SameSummaryWithoutThePerPointVectors) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 1);
  for (int shape = 0; shape < 4; ++shape) {
    std::vector<double> canary(300), baseline(300);
    for (size_t t = 0; t < canary.size(); ++t) {
      baseline[t] = 100 + noise(rng);
      canary[t] =
          100 + noise(rng) + (shape == 1 && t > 150 ? 4 : 0) + (shape == 2 && t == 77 ? -30 : 0);
      if (shape == 3 && t % 13 == 0) canary[t] = std::numeric_limits<double>::quiet_NaN();
    }
    for (int rules = 0; rules < 3; ++rules) {  // all rules; the EWMA off; the CUSUM off
      AnomalyOptions full;
      if (rules == 1) full.ewma_L = INFINITY;
      if (rules == 2) full.cusum_h = INFINITY;
      AnomalyOptions summary = full;
      summary.per_point = false;
      auto a = ScoreCanaryAnomaly(canary, baseline, full);
      auto b = ScoreCanaryAnomaly(canary, baseline, summary);
      ASSERT_TRUE(a && b);
      EXPECT_EQ(a->max_score, b->max_score) << shape;
      EXPECT_EQ(a->max_score_index, b->max_score_index) << shape;
      EXPECT_EQ(a->alarm_count, b->alarm_count) << shape;
      EXPECT_EQ(a->first_alarm_index, b->first_alarm_index) << shape;
      EXPECT_EQ(a->first_alarm_rule, b->first_alarm_rule) << shape;
      EXPECT_EQ(a->reason, b->reason) << shape;
      if (shape == 1 || shape == 2) {
        ASSERT_TRUE(a->first_alarm_index) << "shape " << shape << " must alarm";
      }
      if (a->first_alarm_index) {
        EXPECT_EQ(b->first_alarm_z, a->z[*a->first_alarm_index]) << shape;
        EXPECT_EQ(a->first_alarm_z, b->first_alarm_z) << shape;
      }
      EXPECT_TRUE(b->score.empty() && b->z.empty() && b->alarm.empty()) << shape;
      EXPECT_EQ(a->score.size(), canary.size());
    }
  }
}

}  // namespace
}  // namespace augur::stats
