// Augur mode: evidence-based verdicts with effect floors, count tests and Inconclusive.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include "augur/contracts/kayenta.h"
#include "augur/judge/judge.h"

namespace augur::judge {
namespace {

std::vector<double> Lognormal(size_t n, double median_ms, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(median_ms), 0.3);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

Model OneMetric(MetricConfig m) {
  Model model;
  model.metrics.push_back(std::move(m));
  return model;
}

MetricConfig Latency() {
  MetricConfig m;
  m.name = "latency";
  m.groups = {"latency"};
  m.direction = Direction::kIncrease;
  m.conf_level = 0.95;
  m.min_samples = 10;
  return m;
}

TEST(AugurMode, RealRegressionFailsWithNumbers) {
  const auto base = Lognormal(300, 100, 1), canary = Lognormal(300, 130, 2);
  auto j = Judge(OneMetric(Latency()), std::vector<MetricPair>{{"latency", {}, base, canary}});
  ASSERT_TRUE(j.has_value()) << j.error().message;
  const auto& r = j->results[0];
  EXPECT_EQ(r.classification, Classification::kHigh);
  EXPECT_GT(r.ci_lower, 0);
  EXPECT_LT(r.p_value, 1e-6);
  EXPECT_NEAR(r.estimate, 30, 12);  // true median shift is 30 ms
  EXPECT_NE(r.reason.find("latency increased"), std::string::npos) << r.reason;
  EXPECT_EQ(j->outcome, Outcome::kFail);
  EXPECT_EQ(r.experiment.count, 300u);
  EXPECT_GT(r.experiment.p99, r.experiment.p90);
}

TEST(AugurMode, EffectFloorKeepsATinyShiftFromFailing) {
  // +4 ms on a 5 ms baseline is +80%, but the floor says shifts under 5 ms do not matter.
  std::vector<double> base(200), canary(200);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 0.3);
  for (size_t i = 0; i < 200; ++i) {
    base[i] = 5 + noise(rng);
    canary[i] = 9 + noise(rng);
  }
  MetricConfig m = Latency();
  auto strict = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  EXPECT_EQ(strict->results[0].classification, Classification::kHigh);
  m.abs_floor = 5;
  auto floored = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  ASSERT_TRUE(floored.has_value());
  EXPECT_EQ(floored->results[0].classification, Classification::kPass);
  EXPECT_NE(floored->results[0].reason.find("within the effect floor"), std::string::npos);
  EXPECT_EQ(floored->outcome, Outcome::kPass);
}

TEST(AugurMode, MissingDataIsNeverASilentPass) {
  MetricConfig m = Latency();
  const std::vector<double> nans(50, NAN), base = Lognormal(50, 100, 4);
  auto j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, nans}});
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->results[0].classification, Classification::kInconclusive);
  EXPECT_EQ(j->outcome, Outcome::kInconclusive);
  m.no_data = NoDataPolicy::kFail;
  j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, nans}});
  EXPECT_EQ(j->outcome, Outcome::kFail);
  // A metric of the model with no series at all is judged as having no data.
  j = Judge(OneMetric(Latency()), std::vector<MetricPair>{});
  EXPECT_EQ(j->outcome, Outcome::kInconclusive);
}

TEST(AugurMode, TooFewSamplesIsInconclusive) {
  const std::vector<double> base = {100, 101, 99}, canary = {300, 310, 305};
  auto j = Judge(OneMetric(Latency()), std::vector<MetricPair>{{"latency", {}, base, canary}});
  EXPECT_EQ(j->results[0].classification, Classification::kInconclusive);
  EXPECT_NE(j->results[0].reason.find("too few samples"), std::string::npos);
}

TEST(AugurMode, ZeroInflatedErrorsAreJudgedAsCounts) {
  // Kayenta issue #426: mostly-zero error series pass a rank test. 60 steps of 100 requests;
  // the baseline has no errors, the canary 12 errors spread over six steps.
  std::vector<double> req(60, 100), base_err(60, 0), canary_err(60, 0);
  for (int i : {5, 17, 29, 41, 53}) canary_err[i] = i % 2 ? 2 : 1;
  canary_err[10] = 2;
  Model model;
  MetricConfig requests;
  requests.name = "requests";
  requests.groups = {"traffic"};
  requests.muted = true;
  MetricConfig errors;
  errors.name = "errors";
  errors.groups = {"errors"};
  errors.kind = MetricKind::kCount;
  errors.exposure_metric = "requests";
  errors.direction = Direction::kIncrease;
  errors.conf_level = 0.95;
  model.metrics = {requests, errors};
  auto j = Judge(model, std::vector<MetricPair>{{"requests", {}, req, req},
                                                {"errors", {}, base_err, canary_err}});
  ASSERT_TRUE(j.has_value()) << j.error().message;
  const auto& r = j->results[1];
  EXPECT_EQ(r.classification, Classification::kHigh) << r.reason;
  // Exact one-sided binomial: all 12 events on the canary with rho0 = 0.5 -> p = 0.5^12.
  EXPECT_NEAR(r.p_value, std::pow(0.5, 12), 1e-15);
}

TEST(AugurMode, ThresholdRangeAndCriteria) {
  MetricConfig m = Latency();
  m.threshold_max = 90;
  m.aggregate = "p99";
  const auto base = Lognormal(200, 50, 5), canary = Lognormal(200, 50, 6);
  auto j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  EXPECT_EQ(j->results[0].classification,
            Classification::kHigh);  // p99 of lognormal(median 50, sd .3) ~ 100
  EXPECT_EQ(j->results[0].criterion, "thresholdRange.max");
  m.threshold_max.reset();
  m.criteria.push_back({Criterion::Op::kLessEqual, true, 10, "<=+10%"});
  m.aggregate = "mean";
  auto slower = Lognormal(200, 60, 7);
  j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, slower}});
  EXPECT_EQ(j->results[0].classification, Classification::kHigh);
  EXPECT_NE(j->results[0].reason.find("<=+10%"), std::string::npos);
}

TEST(AugurMode, UnknownSeriesIsAnError) {
  auto j = Judge(OneMetric(Latency()), std::vector<MetricPair>{{"cpu", {}, {1}, {1}}});
  ASSERT_FALSE(j.has_value());
  EXPECT_NE(j.error().message.find("no metric named 'cpu'"), std::string::npos);
}

}  // namespace
}  // namespace augur::judge

namespace augur::judge {
namespace {

TEST(SequentialMode, StateCarriesAcrossChecksAndDetectsARegression) {
  Model model;
  model.mode = Mode::kSequential;
  MetricConfig m = Latency();
  m.conf_level = 0.95;
  model.metrics.push_back(m);
  SequentialState state;
  int failed_at = -1;
  for (int check = 0; check < 20 && failed_at < 0; ++check) {
    // 20% slower canary, 30 new points per side per check.
    auto base = Lognormal(30, 100, 100 + check), canary = Lognormal(30, 120, 200 + check);
    auto j = JudgeSequential(model, std::vector<MetricPair>{{"latency", {}, base, canary}}, &state);
    ASSERT_TRUE(j.has_value()) << j.error().message;
    if (j->outcome == Outcome::kFail) {
      failed_at = check;
      EXPECT_NE(j->results[0].reason.find("anytime-valid"), std::string::npos)
          << j->results[0].reason;
      EXPECT_GT(j->results[0].estimate, 0);
    }
  }
  EXPECT_GE(failed_at, 0) << "a 20% regression must be caught within 20 checks";
  EXPECT_EQ(state.values.size(), 1u);
  EXPECT_GE(state.values.begin()->second.checks, static_cast<uint64_t>(failed_at + 1));
}

TEST(SequentialMode, NullCanaryPassesEveryCheck) {
  Model model;
  model.mode = Mode::kSequential;
  model.metrics.push_back(Latency());
  SequentialState state;
  for (int check = 0; check < 20; ++check) {
    auto base = Lognormal(30, 100, 300 + check), canary = Lognormal(30, 100, 400 + check);
    auto j = JudgeSequential(model, std::vector<MetricPair>{{"latency", {}, base, canary}}, &state);
    ASSERT_TRUE(j.has_value());
    EXPECT_NE(j->outcome, Outcome::kFail) << "check " << check << ": " << j->results[0].reason;
  }
}

}  // namespace
}  // namespace augur::judge

namespace augur::judge {
namespace {

TEST(AnomalyCriterion, StepInTheCanaryFailsOnlyWhenAsked) {
  // Aligned per-step series: the canary tracks the baseline, then jumps 40% at step 60.
  std::vector<double> base(100), canary(100);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 1);
  for (size_t t = 0; t < 100; ++t) {
    base[t] = 100 + 10 * std::sin(t / 8.0) + noise(rng);
    canary[t] = base[t] + noise(rng) + (t >= 60 ? 40 : 0);
  }
  MetricConfig m = Latency();
  m.min_samples = 10;
  auto j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  ASSERT_TRUE(j.has_value());
  EXPECT_GT(j->results[0].anomaly_score, 0.999);
  EXPECT_GE(j->results[0].anomaly_alarms, 30u);
  m.anomaly_criterion = true;
  j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  EXPECT_EQ(j->results[0].classification, Classification::kHigh);
  EXPECT_NE(j->results[0].reason.find("anomaly over time"), std::string::npos)
      << j->results[0].reason;
  m.direction = Direction::kDecrease;  // a rise is not a regression for this metric
  j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
  EXPECT_NE(j->results[0].criterion, "anomaly score (robust z, EWMA, CUSUM of canary - baseline)");
}

// The numbers in a reason are printed as an ostream with precision 4 prints them (Num() builds
// them without a stream, for speed; this pins the format). Shifts from none to large, so that
// pass and fail reasons, tiny and large numbers and exponents all occur.
TEST(AugurMode, ReasonNumbersAreFourSignificantDigits) {
  auto fmt = [](double v) {
    std::ostringstream o;
    o.precision(4);
    o << v;
    return o.str();
  };
  for (int i = 0; i < 12; ++i) {
    MetricConfig m = Latency();
    m.anomaly_criterion = false;
    const double scale = std::pow(10.0, i - 6);
    auto base = Lognormal(200, 100, 10 + i), canary = Lognormal(200, 100 + 9 * i, 30 + i);
    for (auto& v : base) v *= scale;
    for (auto& v : canary) v *= scale;
    auto j = Judge(OneMetric(m), std::vector<MetricPair>{{"latency", {}, base, canary}});
    ASSERT_TRUE(j.has_value()) << j.error().message;
    const auto& r = j->results[0];
    const std::string numbers = "shift " + fmt(r.estimate) + " [" + fmt(r.ci_lower) + ", " +
                                fmt(r.ci_upper) + "], p = " + fmt(r.p_value);
    EXPECT_NE(r.reason.find(numbers), std::string::npos) << r.reason << " / " << numbers;
  }
}

}  // namespace
}  // namespace augur::judge

namespace augur::judge {
namespace {

// A bad value deep in a series is named by its index; NaN spellings still read as NaN.
TEST(JudgeData, BadValueIsNamedByItsIndex) {
  auto bad = contracts::ParseJudgeData(
      R"({"metrics":[{"name":"m","canary":[1,2],"baseline":[1,2,"x",4]}]})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("metrics[0].baseline[2]: must be a number"), std::string::npos)
      << bad.error().message;
  auto ok = contracts::ParseJudgeData(
      R"({"metrics":[{"name":"m","canary":[1,"NaN",null],"baseline":[0.5,2.5]}]})");
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].experiment.size(), 3u);
  EXPECT_TRUE(std::isnan((*ok)[0].experiment[1]));
  EXPECT_TRUE(std::isnan((*ok)[0].experiment[2]));
  EXPECT_EQ((*ok)[0].control[1], 2.5);
}

}  // namespace
}  // namespace augur::judge
