// The synthetic release generator: determinism per seed, labels, and the statistical
// properties it promises (error fraction, zero inflation, diurnal traffic, AR(1) noise,
// low-traffic windows, and each regression visible after its start and not before).
#include "augur/replay/generator.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "augur/config/model_file.h"
#include "augur/sources/archive.h"
#include "testing/process.h"

namespace augur::replay {
namespace {

using sources::ArchivedMetric;
using sources::Release;

const ArchivedMetric& Metric(const Release& r, const std::string& name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) return m;
  }
  ADD_FAILURE() << "no metric " << name << " in " << r.name;
  return r.metrics.front();
}

double Median(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return std::nan("");
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}
double Mean(const std::vector<double>& v) {
  double s = 0;
  int n = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      s += x;
      ++n;
    }
  }
  return n ? s / n : std::nan("");
}
std::vector<double> Slice(const std::vector<double>& v, size_t from, size_t to) {
  return {v.begin() + static_cast<long>(from),
          v.begin() + static_cast<long>(std::min(to, v.size()))};
}
size_t Slot(const Release& r, int64_t t) {
  return static_cast<size_t>((t - r.start_ms) / r.step_ms);
}

GeneratorOptions Busy() {
  GeneratorOptions o;
  o.min_rps = 50;
  o.max_rps = 200;
  o.low_traffic_probability = 0;
  return o;
}

TEST(Generator, DeterministicPerSeed) {
  GeneratorOptions o;
  o.count = 6;
  auto a = GenerateReleases(o);
  auto b = GenerateReleases(o);
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  ASSERT_EQ(a->size(), 6u);
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(sources::EncodeArchive((*a)[i]), sources::EncodeArchive((*b)[i]));
    // One release alone is the same as within the set.
    auto one = GenerateRelease(o, static_cast<int>(i));
    ASSERT_TRUE(one);
    EXPECT_EQ(sources::EncodeArchive(*one), sources::EncodeArchive((*a)[i]));
  }
  o.seed = 2;
  auto c = GenerateReleases(o);
  ASSERT_TRUE(c);
  int differing = 0;
  for (size_t i = 0; i < c->size(); ++i) {
    differing += Metric((*a)[i], "latency-p50").primary != Metric((*c)[i], "latency-p50").primary;
  }
  EXPECT_EQ(differing, 6);
}

TEST(Generator, LabelsAreConsistent) {
  GeneratorOptions o;
  o.count = 40;
  o.bad_fraction = 0.4;
  auto rs = GenerateReleases(o);
  ASSERT_TRUE(rs) << rs.error().message;
  int bad = 0;
  std::map<std::string, int> kinds;
  std::set<std::string> names;
  const size_t n = static_cast<size_t>(o.duration_ms / o.step_ms + 1);
  for (const auto& r : *rs) {
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_EQ(r.model, "http-golden-signals");
    EXPECT_EQ(r.end_ms - r.start_ms, o.duration_ms);
    EXPECT_EQ(r.start_ms % o.step_ms, 0);
    ASSERT_EQ(r.metrics.size(), 5u);
    for (const auto& m : r.metrics) {
      EXPECT_EQ(m.primary.size(), n);
      EXPECT_EQ(m.canary.size(), n);
    }
    if (r.label.truth == "bad") {
      ++bad;
      ++kinds[r.label.regression];
      ASSERT_TRUE(r.label.regression_start_ms.has_value());
      const int64_t at = *r.label.regression_start_ms - r.start_ms;
      EXPECT_EQ(at % o.step_ms, 0);
      EXPECT_GE(at, o.duration_ms / 20 - o.step_ms);
      EXPECT_LE(at, o.duration_ms * 3 / 10 + o.step_ms);
      EXPECT_TRUE(ParseRegression(r.label.regression).has_value()) << r.label.regression;
      EXPECT_NE(r.label.regression, "none");
    } else {
      EXPECT_EQ(r.label.truth, "good");
      EXPECT_EQ(r.label.regression, "none");
      EXPECT_FALSE(r.label.regression_start_ms.has_value());
    }
    // The archive format accepts what the generator writes (grid and values checked).
    auto back = sources::ParseArchive(sources::EncodeArchive(r), r.name);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->label.truth, r.label.truth);
  }
  EXPECT_EQ(bad, 16);
  // 16 bad releases over 5 kinds: every kind appears, 3 or 4 times.
  ASSERT_EQ(kinds.size(), 5u);
  for (const auto& [k, c] : kinds) {
    EXPECT_GE(c, 3) << k;
    EXPECT_LE(c, 4) << k;
  }
}

TEST(Generator, MeanErrorFractionMatchesConfiguredRate) {
  GeneratorOptions o;
  o.count = 400;
  o.bad_fraction = 0;
  o.error_rate = 0.004;
  auto rs = GenerateReleases(o);
  ASSERT_TRUE(rs);
  std::vector<double> fractions;
  for (const auto& r : *rs) {
    const auto& err = Metric(r, "errors");
    const auto& req = Metric(r, "requests");
    const auto& ok = Metric(r, "success-rate");
    for (int side = 0; side < 2; ++side) {
      const auto& e = side ? err.canary : err.primary;
      const auto& q = side ? req.canary : req.primary;
      const auto& s = side ? ok.canary : ok.primary;
      double errors = 0, requests = 0;
      for (size_t t = 0; t < e.size(); ++t) {
        const double n = q[t] * 60;  // requests/s x step
        errors += e[t];
        requests += n;
        // Success rate is 1 - errors/requests of the same step (to the archive's 6 digits).
        if (n > 0.5) {
          EXPECT_NEAR(s[t], 1 - e[t] / n, 2e-5) << r.name << " slot " << t;
        } else {
          EXPECT_TRUE(std::isnan(s[t]));
        }
        EXPECT_LE(e[t], n + 1e-9);
      }
      fractions.push_back(errors / requests);
    }
  }
  // The per-service fraction is a mean-one lognormal (sd ~0.53) around the rate: the mean of
  // 800 sides has a standard error of ~2%, so 10% is a wide margin.
  EXPECT_NEAR(Mean(fractions) / o.error_rate, 1.0, 0.10);
  // ...and services really differ (not one constant rate).
  const auto [lo, hi] = std::minmax_element(fractions.begin(), fractions.end());
  EXPECT_GT(*hi / *lo, 3.0);
}

double ZeroFraction(const GeneratorOptions& o) {
  auto rs = GenerateReleases(o);
  EXPECT_TRUE(rs);
  double zeros = 0, steps = 0;
  for (const auto& r : *rs) {
    const auto& e = Metric(r, "errors");
    for (const auto* v : {&e.primary, &e.canary}) {
      for (double x : *v) {
        zeros += x == 0;
        ++steps;
      }
    }
  }
  return zeros / steps;
}

TEST(Generator, ZeroInflationFraction) {
  // Enough traffic and errors that a Poisson zero is negligible (mean > 100 errors per step):
  // the zeros are the structural ones.
  GeneratorOptions o = Busy();
  o.count = 50;
  o.bad_fraction = 0;
  o.min_rps = o.max_rps = 500;
  o.error_rate = 0.05;
  o.zero_inflation = 0.3;
  EXPECT_NEAR(ZeroFraction(o), 0.3, 0.03);  // 6100 steps: standard error 0.006
  o.zero_inflation = 0.6;
  EXPECT_NEAR(ZeroFraction(o), 0.6, 0.03);
  o.zero_inflation = 0;
  EXPECT_LT(ZeroFraction(o), 0.005);
}

TEST(Generator, DiurnalTrafficFollowsTheHourOfDay) {
  GeneratorOptions o = Busy();
  o.count = 60;
  o.bad_fraction = 0;
  o.min_rps = o.max_rps = 100;
  o.diurnal_amplitude = 0.6;
  auto rs = GenerateReleases(o);
  ASSERT_TRUE(rs);
  std::vector<double> observed, expected;
  for (const auto& r : *rs) {
    observed.push_back(Mean(Metric(r, "requests").primary));
    const double mid_h = std::fmod((r.start_ms + o.duration_ms / 2) / 3.6e6, 24.0);
    expected.push_back(100 * (1 + 0.6 * std::sin(2 * M_PI * (mid_h - o.peak_hour + 6) / 24)));
  }
  // Correlation of the release's mean rate with the sinusoid at its mid-hour.
  const double mo = Mean(observed), me = Mean(expected);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    sxy += (observed[i] - mo) * (expected[i] - me);
    sxx += (observed[i] - mo) * (observed[i] - mo);
    syy += (expected[i] - me) * (expected[i] - me);
  }
  EXPECT_GT(sxy / std::sqrt(sxx * syy), 0.95);
  for (size_t i = 0; i < observed.size(); ++i) {
    EXPECT_NEAR(observed[i] / expected[i], 1.0, 0.15) << (*rs)[i].name;
  }
}

double Lag1Autocorrelation(const std::vector<double>& v) {
  const double m = Mean(v);
  double num = 0, den = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    den += (v[i] - m) * (v[i] - m);
    if (i > 0) num += (v[i] - m) * (v[i - 1] - m);
  }
  return num / den;
}

TEST(Generator, NoiseIsAutocorrelated) {
  GeneratorOptions o = Busy();
  o.count = 30;
  o.bad_fraction = 0;
  o.min_rps = o.max_rps = 500;  // Poisson noise << the AR(1) noise
  o.diurnal_amplitude = 0;      // no trend to fake a correlation
  std::vector<double> with, without;
  for (double phi : {0.8, 0.0}) {
    o.ar_phi = phi;
    auto rs = GenerateReleases(o);
    ASSERT_TRUE(rs);
    for (const auto& r : *rs) {
      std::vector<double> logs;
      for (double x : Metric(r, "requests").primary) logs.push_back(std::log(x));
      (phi > 0 ? with : without).push_back(Lag1Autocorrelation(logs));
    }
  }
  EXPECT_GT(Mean(with), 0.55);
  EXPECT_LT(std::fabs(Mean(without)), 0.1);
}

TEST(Generator, LowTrafficWindows) {
  GeneratorOptions o = Busy();
  o.count = 40;
  o.bad_fraction = 0;
  o.diurnal_amplitude = 0.2;
  for (double p : {1.0, 0.0}) {
    o.low_traffic_probability = p;
    auto rs = GenerateReleases(o);
    ASSERT_TRUE(rs);
    int dips = 0;
    for (const auto& r : *rs) {
      const auto& q = Metric(r, "requests");
      const double med = Median(q.primary);
      const double lo = std::min(*std::min_element(q.primary.begin(), q.primary.end()),
                                 *std::min_element(q.canary.begin(), q.canary.end()));
      dips += lo < 0.3 * med;
    }
    if (p == 1.0) {
      EXPECT_EQ(dips, o.count);
    } else {
      EXPECT_EQ(dips, 0);
    }
  }
}

struct BeforeAfter {
  double before, after;  // mean over releases of log(canary/primary) of per-window medians
};

BeforeAfter LogRatio(const std::vector<Release>& rs, const std::string& metric) {
  std::vector<double> before, after;
  for (const auto& r : rs) {
    const auto& m = Metric(r, metric);
    const size_t at = Slot(r, *r.label.regression_start_ms);
    before.push_back(std::log(Median(Slice(m.canary, 0, at)) / Median(Slice(m.primary, 0, at))));
    after.push_back(std::log(Median(Slice(m.canary, at, m.canary.size())) /
                             Median(Slice(m.primary, at, m.primary.size()))));
  }
  return {Mean(before), Mean(after)};
}

std::vector<Release> BadOnly(Regression kind, int count = 40) {
  GeneratorOptions o = Busy();
  o.count = count;
  o.bad_fraction = 1;
  o.kinds = {kind};
  auto rs = GenerateReleases(o);
  EXPECT_TRUE(rs) << rs.error().message;
  for (const auto& r : *rs) EXPECT_EQ(r.label.regression, RegressionName(kind));
  return *rs;
}

TEST(Generator, LatencyShiftVisibleAfterStartOnly) {
  const auto rs = BadOnly(Regression::kLatencyShift);
  for (const char* metric : {"latency-p50", "latency-p99"}) {
    const auto lr = LogRatio(rs, metric);
    EXPECT_LT(std::fabs(lr.before), 0.04) << metric;
    // Shifts are drawn in [1.15, 1.5]: mean log ~0.28.
    EXPECT_GT(lr.after, std::log(1.15) - 0.03) << metric;
    EXPECT_LT(lr.after, std::log(1.5) + 0.03) << metric;
  }
  // Per release, the p50 is higher after the start in nearly all of them.
  int higher = 0;
  for (const auto& r : rs) {
    const auto& m = Metric(r, "latency-p50");
    const size_t at = Slot(r, *r.label.regression_start_ms);
    higher += Median(Slice(m.canary, at, m.canary.size())) >
              1.08 * Median(Slice(m.primary, at, m.primary.size()));
  }
  EXPECT_GE(higher, 38);
  // Traffic and errors are untouched.
  EXPECT_LT(std::fabs(LogRatio(rs, "requests").after), 0.05);
}

TEST(Generator, TailOnlyMovesP99MuchMoreThanP50) {
  const auto rs = BadOnly(Regression::kTailOnly);
  const auto p50 = LogRatio(rs, "latency-p50");
  const auto p99 = LogRatio(rs, "latency-p99");
  EXPECT_LT(std::fabs(p99.before), 0.06);
  EXPECT_GT(p99.after, std::log(1.3));
  EXPECT_LT(p50.after, 0.12);
  EXPECT_LT(p50.after, 0.3 * p99.after);
}

TEST(Generator, VarianceIncreaseRaisesStepToStepSpread) {
  const auto rs = BadOnly(Regression::kVarianceIncrease);
  std::vector<double> ratio_before, ratio_after;
  auto spread = [](const std::vector<double>& v) {
    std::vector<double> logs;
    for (double x : v) logs.push_back(std::log(x));
    const double m = Mean(logs);
    double s = 0;
    for (double x : logs) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(logs.size() - 1));
  };
  for (const auto& r : rs) {
    const auto& m = Metric(r, "latency-p50");
    const size_t at = Slot(r, *r.label.regression_start_ms);
    ratio_before.push_back(spread(Slice(m.canary, 0, at)) / spread(Slice(m.primary, 0, at)));
    ratio_after.push_back(spread(Slice(m.canary, at, m.canary.size())) /
                          spread(Slice(m.primary, at, m.primary.size())));
  }
  EXPECT_LT(Median(ratio_before), 1.5);
  EXPECT_GT(Median(ratio_after), 2.0);
}

TEST(Generator, ErrorBurstRaisesCanaryErrors) {
  const auto rs = BadOnly(Regression::kErrorBurst);
  std::vector<double> before, during;
  for (const auto& r : rs) {
    const auto& e = Metric(r, "errors");
    const auto& q = Metric(r, "requests");
    const size_t at = Slot(r, *r.label.regression_start_ms);
    const size_t end = std::min(e.canary.size(), at + 5);  // every burst lasts >= 5 min
    auto fraction = [&](const std::vector<double>& err, const std::vector<double>& req, size_t from,
                        size_t to) {
      double a = 0, b = 0;
      for (size_t t = from; t < to; ++t) {
        a += err[t];
        b += req[t] * 60;
      }
      return (a + 0.5) / b;
    };
    before.push_back(fraction(e.canary, q.canary, 0, at) / fraction(e.primary, q.primary, 0, at));
    during.push_back(fraction(e.canary, q.canary, at, end) /
                     fraction(e.primary, q.primary, at, end));
  }
  EXPECT_LT(Median(before), 1.6);
  EXPECT_GT(Median(during), 4.0);
}

TEST(Generator, GradualLeakGrowsOverTime) {
  const auto rs = BadOnly(Regression::kLeak);
  int grows = 0;
  for (const auto& r : rs) {
    const auto& m = Metric(r, "latency-p50");
    const size_t at = Slot(r, *r.label.regression_start_ms);
    const size_t n = m.canary.size();
    const double early = Median(Slice(m.canary, at, at + 5)) / Median(Slice(m.primary, at, at + 5));
    const double late = Median(Slice(m.canary, n - 5, n)) / Median(Slice(m.primary, n - 5, n));
    grows += late > early * 1.15;
  }
  EXPECT_GE(grows, 36);
  EXPECT_LT(std::fabs(LogRatio(rs, "latency-p50").before), 0.04);
}

TEST(Generator, MixtureQuantileInvertsCdf) {
  LognormalMixture m;
  m.fast_median = 0.04;
  m.slow_median = 0.3;
  m.slow_weight = 0.05;
  for (double p : {0.01, 0.5, 0.9, 0.95, 0.99, 0.999}) {
    EXPECT_NEAR(m.Cdf(m.Quantile(p)), p, 1e-9) << p;
  }
  // The median sits near the fast component's, the p99 in the slow one.
  EXPECT_NEAR(m.Quantile(0.5) / m.fast_median, 1.0, 0.05);
  EXPECT_GT(m.Quantile(0.99), m.slow_median * 0.9);
  // Mean against a Monte Carlo estimate.
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> fast(std::log(m.fast_median), m.fast_sigma),
      slow(std::log(m.slow_median), m.slow_sigma);
  std::bernoulli_distribution pick_slow(m.slow_weight);
  double s = 0;
  const int kDraws = 400000;
  for (int i = 0; i < kDraws; ++i) s += pick_slow(rng) ? slow(rng) : fast(rng);
  EXPECT_NEAR(s / kDraws / m.Mean(), 1.0, 0.01);
}

TEST(Generator, MetricsForModels) {
  auto golden =
      config::LoadModelFile(std::string(AUGUR_SOURCE_DIR) + "/models/http-golden-signals.yaml");
  ASSERT_TRUE(golden) << golden.error().message;
  auto g = MetricsForModel(*golden);
  ASSERT_TRUE(g) << g.error().message;
  const auto expect = GoldenSignalMetrics();
  ASSERT_EQ(g->size(), expect.size());
  for (size_t i = 0; i < expect.size(); ++i) {
    EXPECT_EQ((*g)[i].name, expect[i].name);
    EXPECT_EQ((*g)[i].signal, expect[i].signal) << expect[i].name;
    EXPECT_EQ((*g)[i].quantile, expect[i].quantile) << expect[i].name;
  }
  auto kayenta =
      config::LoadModelFile(std::string(AUGUR_SOURCE_DIR) + "/models/kayenta-default.json");
  ASSERT_TRUE(kayenta) << kayenta.error().message;
  auto k = MetricsForModel(*kayenta);
  ASSERT_TRUE(k) << k.error().message;
  ASSERT_EQ(k->size(), 3u);
  EXPECT_EQ((*k)[0].signal, Signal::kErrorRate);
  EXPECT_EQ((*k)[1].signal, Signal::kLatencyQuantile);
  EXPECT_DOUBLE_EQ((*k)[1].quantile, 0.99);
  EXPECT_EQ((*k)[2].signal, Signal::kGauge);

  judge::Model odd;
  odd.name = "odd";
  judge::MetricConfig mc;
  mc.name = "queue-depth";
  mc.query = "kafka_lag";
  odd.metrics.push_back(mc);
  auto bad = MetricsForModel(odd);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("queue-depth"), std::string::npos);
}

TEST(Generator, OptionsAreValidated) {
  auto check = [](auto edit, const std::string& expect) {
    GeneratorOptions o;
    edit(o);
    auto r = GenerateReleases(o);
    ASSERT_FALSE(r) << expect;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(expect), std::string::npos) << r.error().message;
  };
  check([](GeneratorOptions& o) { o.bad_fraction = 1.5; }, "bad fraction");
  check([](GeneratorOptions& o) { o.duration_ms = 150000; }, "multiple of the step");
  check([](GeneratorOptions& o) { o.count = 0; }, "count");
  check([](GeneratorOptions& o) { o.kinds = {Regression::kNone}; }, "'none'");
  check([](GeneratorOptions& o) { o.metrics.push_back(o.metrics[0]); }, "listed twice");
  auto r = GenerateRelease(GeneratorOptions{}, 24);
  ASSERT_FALSE(r);
}

TEST(GenerateCli, WritesTheSameReleasesAsTheLibrary) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("augur-generate-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  augur::testing::ProcessOptions p;
  p.argv = {AUGUR_BINARY, "generate", "--out",  dir.string(), "--count",    "5",  "--seed",
            "11",         "--gzip",   "--step", "30s",        "--duration", "20m"};
  auto proc = augur::testing::Process::Start(p);
  ASSERT_TRUE(proc) << proc.error().message;
  auto st = (*proc)->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(st) << st.error().message;
  (*proc)->Stop();
  ASSERT_EQ(*st, 0) << (*proc)->Stderr();

  GeneratorOptions o;
  o.count = 5;
  o.seed = 11;
  o.step_ms = 30000;
  o.duration_ms = 20 * 60000;
  auto expected = GenerateReleases(o);
  ASSERT_TRUE(expected);
  const auto bad = std::count_if(expected->begin(), expected->end(),
                                 [](const Release& r) { return r.label.truth == "bad"; });
  EXPECT_EQ(bad, 3);  // round(5 x 0.5), half away from zero
  EXPECT_NE((*proc)->Stdout().find("wrote 5 releases (" + std::to_string(bad) + " bad)"),
            std::string::npos)
      << (*proc)->Stdout();
  const auto files = sources::ReadArchiveDir(dir.string());
  ASSERT_EQ(files.size(), 5u);
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(fs::path(files[i].first).filename().string(), (*expected)[i].name + ".json.gz");
    ASSERT_TRUE(files[i].second) << files[i].second.error().message;
    Release got = *files[i].second;
    got.origin.clear();
    EXPECT_EQ(sources::EncodeArchive(got), sources::EncodeArchive((*expected)[i]));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace augur::replay
