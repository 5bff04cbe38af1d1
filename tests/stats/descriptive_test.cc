#include "augur/stats/descriptive.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "testing/reference_data.h"

namespace augur::stats {
namespace {

using augur::testing::RelClose;

const std::vector<double> kX = {3.1, 4.7, 1.2, 9.9, 5.5, 2.2, 7.3, 6.6, 8.1, 0.4, 11.5};

TEST(Descriptive, PercentilesMatchRType7) {
  // quantile(x, c(0, .01, .1, .25, .5, .75, .9, .99, 1), type = 7) in R 4.2.2.
  std::vector<double> s = kX;
  std::sort(s.begin(), s.end());
  const std::vector<std::pair<double, double>> ref = {{0, 0.40000000000000002},
                                                      {0.01, 0.48000000000000009},
                                                      {0.1, 1.2},
                                                      {0.25, 2.6500000000000004},
                                                      {0.5, 5.5},
                                                      {0.75, 7.6999999999999993},
                                                      {0.9, 9.9000000000000004},
                                                      {0.99, 11.340000000000002},
                                                      {1, 11.5}};
  for (auto [p, q] : ref) EXPECT_TRUE(RelClose(PercentileSorted(s, p), q, 1e-14)) << p;
}

TEST(Descriptive, SummaryMatchesR) {
  auto d = Describe(kX);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->count, 11u);
  EXPECT_TRUE(RelClose(d->mean, 5.5, 1e-15));
  EXPECT_TRUE(RelClose(d->sd, 3.582736384385544, 1e-13));    // sd(x)
  EXPECT_TRUE(RelClose(d->mad, 3.8547599999999993, 1e-13));  // mad(x)
  EXPECT_EQ(d->min, 0.4);
  EXPECT_EQ(d->max, 11.5);
  EXPECT_EQ(d->median, 5.5);
}

TEST(Descriptive, SingleValueAndErrors) {
  const std::vector<double> one = {4.2};
  auto d = Describe(one);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->sd, 0.0);
  EXPECT_EQ(d->p99, 4.2);
  EXPECT_FALSE(Describe({}).has_value());
  const std::vector<double> nan = {1, NAN};
  EXPECT_FALSE(Describe(nan).has_value());
  EXPECT_EQ(Describe(nan, NonFinitePolicy::kDrop)->count, 1u);
}

TEST(Descriptive, IqrFilterLikeKayenta) {
  std::vector<double> z = kX;
  z.push_back(30);
  // Q1 = 2.875, Q3 = 8.55 -> fences [-5.6375, 17.0625] at factor 1.5.
  auto kept = RemoveIqrOutliers(z, {1.5, false});
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(*kept, kX);  // only 30 is out, order preserved
  // With reduce_sensitivity the upper fence becomes max(P99, Q3 + f IQR): a value between
  // the IQR fence and P99 is kept.
  z.push_back(25);
  auto strict = RemoveIqrOutliers(z, {1.5, false});
  auto lenient = RemoveIqrOutliers(z, {1.5, true});
  ASSERT_TRUE(strict.has_value() && lenient.has_value());
  EXPECT_EQ(std::count(strict->begin(), strict->end(), 25.0), 0);
  EXPECT_EQ(std::count(lenient->begin(), lenient->end(), 25.0), 1);
  EXPECT_EQ(std::count(lenient->begin(), lenient->end(), 30.0), 0);
  EXPECT_FALSE(RemoveIqrOutliers(z, {0.0, false}).has_value());
  EXPECT_TRUE(RemoveIqrOutliers({}, {})->empty());
}

}  // namespace
}  // namespace augur::stats

// SortAscending against std::sort: the same multiset in the same order for every size class
// (insertion, byte-digit radix, 16-bit radix) and awkward contents. Equal values must come out
// bitwise equal too, which std::sort's result is compared against after mapping -0.0.
TEST(SortAscendingTest, MatchesStdSortOnAwkwardData) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(3.0, 0.4);
  std::uniform_int_distribution<int> small(-3, 3);
  std::normal_distribution<double> normal(0, 1e6);
  const double specials[] = {0.0, -0.0, INFINITY, -INFINITY, 1e-310, -1e-310, DBL_MAX, -DBL_MAX};
  for (size_t n : {0, 1, 2, 63, 64, 65, 1000, 5000, 16383, 16384, 40000}) {
    for (int shape = 0; shape < 6; ++shape) {
      std::vector<double> v(n);
      for (size_t i = 0; i < n; ++i) {
        switch (shape) {
          case 0:
            v[i] = latency(rng);
            break;
          case 1:
            v[i] = small(rng);
            break;  // heavy ties and negatives
          case 2:
            v[i] = normal(rng);
            break;
          case 3:
            v[i] = specials[rng() % 8];
            break;
          case 4:
            v[i] = static_cast<double>(n - i);
            break;  // descending
          case 5:  // finite specials: signed zeros and extremes without infinities (VQSort)
            v[i] = specials[4 + rng() % 4] * (rng() % 3 == 0 ? 0.0 : 1.0) * (rng() % 2 ? 1 : -1);
            break;
        }
      }
      std::vector<double> expected = v;
      std::sort(expected.begin(), expected.end());
      augur::stats::SortAscending(v);
      ASSERT_EQ(v.size(), expected.size());
      for (size_t i = 0; i < n; ++i) {
        ASSERT_EQ(v[i], expected[i]) << "n " << n << " shape " << shape << " at " << i;
        if (i > 0 && v[i] == 0 && v[i - 1] == 0) {
          ASSERT_FALSE(!std::signbit(v[i - 1]) && std::signbit(v[i])) << "+0 before -0 at " << i;
        }
      }
      augur::stats::SortAscending(v);  // sorted input stays as it is
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(v[i], expected[i]);
    }
  }
}

// The paired forms interleave two sums; each must still be the single call's result exactly.
TEST(DescriptiveTest, MeansAndVariancesOfTwoAreTheSingleCallsBitForBit) {
  std::mt19937_64 rng(21);
  std::lognormal_distribution<double> latency(3.0, 1.5);
  for (int it = 0; it < 200; ++it) {
    std::vector<double> a(2 + rng() % 700), b(2 + rng() % 700);
    for (auto& v : a) v = latency(rng) * (rng() % 5 == 0 ? 1e12 : 1.0);
    for (auto& v : b) v = -latency(rng);
    const auto means = augur::stats::MeansOfTwo(a, b);
    ASSERT_EQ(means[0], augur::stats::Mean(a)) << it;
    ASSERT_EQ(means[1], augur::stats::Mean(b)) << it;
    const auto vars = augur::stats::VariancesOfTwo(a, means[0], b, means[1]);
    ASSERT_EQ(vars[0], augur::stats::Variance(a, means[0])) << it;
    ASSERT_EQ(vars[1], augur::stats::Variance(b, means[1])) << it;
  }
}
