#include "augur/stats/hodges_lehmann.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "augur/stats/mann_whitney.h"
#include "stats/rank_kernel.h"

namespace augur::stats {
namespace {

// Oracle: materialise and sort all differences (what R's exact branch does).
std::vector<double> AllDifferences(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<double> d;
  for (double a : x)
    for (double b : y) d.push_back(a - b);
  std::sort(d.begin(), d.end());
  return d;
}

// Sorts x and y, checks BoundsAndMedian(n/2 - s, n/2 + s) for every spread s against all
// differences sorted (n of them, an even count here) and returns those for further checks.
std::vector<double> ExpectIntervalsMatchBruteForce(std::vector<double>& x, std::vector<double>& y,
                                                   const std::vector<uint64_t>& spreads,
                                                   const std::string& what) {
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  std::vector<double> all = AllDifferences(x, y);
  const PairwiseDifferences pd(x, y);
  const uint64_t half = pd.size() / 2;
  const double median =
      static_cast<double>((static_cast<long double>(all[half - 1]) + all[half]) / 2);
  for (uint64_t spread : spreads) {
    const auto got = pd.BoundsAndMedian(half - spread, half + spread);
    EXPECT_EQ(got[0], all[half - spread - 1]) << what << " spread " << spread;
    EXPECT_EQ(got[1], all[half + spread - 1]) << what << " spread " << spread;
    EXPECT_EQ(got[2], median) << what;
  }
  return all;
}

TEST(PairwiseDifferences, EveryOrderStatisticMatchesBruteForce) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 40; ++trial) {
    const int m = 1 + rng() % 60, n = 1 + rng() % 70;
    std::vector<double> x(m), y(n);
    // Alternate continuous data and heavily tied integer data.
    std::normal_distribution<double> norm(0, 1);
    for (auto& v : x) v = trial % 2 ? std::round(norm(rng) * 2) : norm(rng) + 0.3;
    for (auto& v : y) v = trial % 2 ? std::round(norm(rng) * 2) : norm(rng);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const auto all = AllDifferences(x, y);
    const PairwiseDifferences pd(x, y);
    for (uint64_t k = 1; k <= pd.size(); k += 1 + pd.size() / 50) {
      EXPECT_EQ(pd.OrderStatistic(k), all[k - 1]) << "trial " << trial << " k " << k;
    }
    EXPECT_EQ(pd.OrderStatistic(pd.size()), all.back());
  }
}

// Counting passes compare fl(x - y) with a threshold t by way of y against fl(x - t), then
// check each row's boundary with the exact comparison. Where the roundings disagree (ulp 2
// near 1e16) only that check keeps the counts exact. Big enough for counting passes; every
// 37th order statistic is checked.
TEST(PairwiseDifferences, CountsFollowTheRoundedDifferences) {
  std::mt19937_64 rng(99);
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<double> x(150 + trial * 40), y(170);
    // Trials 0-1: y small, the rounded differences tie with thresholds. Trials 2-3: x and y
    // both near 1e16, so their differences are exact small even numbers but x - t is rounded
    // to the grid of 2: y <= fl(x - t) then miscounts a difference just below t.
    const bool both_large = trial >= 2;
    for (auto& v : x) v = 1e16 + 2.0 * static_cast<double>(rng() % (both_large ? 5000 : 50));
    for (auto& v : y) {
      v = both_large ? 1e16 + 2.0 * static_cast<double>(rng() % 5000)
                     : 0.25 * static_cast<double>(rng() % 40);
    }
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const auto all = AllDifferences(x, y);
    const PairwiseDifferences pd(x, y);
    for (uint64_t k = 1; k <= pd.size(); k += 37) {
      ASSERT_EQ(pd.OrderStatistic(k), all[k - 1]) << "trial " << trial << " k " << k;
    }
    // The counts themselves, at every distinct difference and just beside it (thresholds
    // that are not differences are where fl(x - t) rounds across a y).
    for (size_t r = 0; r < all.size(); r += 53) {
      for (double t : {all[r], all[r] - 0.8, all[r] + 0.8, all[r] + 1.2}) {
        const auto below =
            static_cast<uint64_t>(std::lower_bound(all.begin(), all.end(), t) - all.begin());
        const auto at_most =
            static_cast<uint64_t>(std::upper_bound(all.begin(), all.end(), t) - all.begin());
        ASSERT_EQ(pd.CountBelow(t), below) << "trial " << trial << " t " << t;
        ASSERT_EQ(pd.CountAtMost(t), at_most) << "trial " << trial << " t " << t;
      }
    }
    const auto b = pd.BoundsAndMedian(pd.size() / 3, pd.size() - pd.size() / 3);
    EXPECT_EQ(b[0], all[pd.size() / 3 - 1]);
    EXPECT_EQ(b[1], all[pd.size() - pd.size() / 3 - 1]);
  }
}

TEST(PairwiseDifferences, LargeSelectionMatchesBruteForce) {
  // Big enough that the sampling passes run (more candidates than the gather limit).
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> ln(3, 0.5);
  std::vector<double> x(3000), y(2500);
  for (auto& v : x) v = std::round(ln(rng) * 100) / 100;  // latency-like, with ties
  for (auto& v : y) v = std::round(ln(rng) * 100) / 100;
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  const auto all = AllDifferences(x, y);
  const PairwiseDifferences pd(x, y);
  for (uint64_t k : {uint64_t{1}, uint64_t{17}, pd.size() / 40, pd.size() / 2, pd.size() / 2 + 1,
                     pd.size() - 3, pd.size()}) {
    EXPECT_EQ(pd.OrderStatistic(k), all[k - 1]) << k;
  }
  EXPECT_EQ(pd.Median(), (all[pd.size() / 2 - 1] + all[pd.size() / 2]) / 2);
}

// BoundsAndMedian selects three order statistics through one shared band and then
// interpolates: every shape of data must still give the exact differences. Shapes: continuous,
// heavily tied, skewed with a far outlier (interpolation across a huge value range), values
// near the double limit (the range of differences overflows, so interpolation is skipped),
// a constant sample, and two where x - y rounds (magnitudes near 1e16, whose ulp is 2; and
// steps of one ulp of 1), so a count by the real-number comparison y > x - t would be off.
TEST(PairwiseDifferences, BoundsAndMedianMatchBruteForce) {
  std::mt19937_64 rng(2026);
  std::lognormal_distribution<double> ln(3, 0.4);
  std::normal_distribution<double> norm(0, 1);
  for (int shape = 0; shape < 7; ++shape) {
    const size_t m = 300 + rng() % 400, n = 250 + rng() % 450;
    std::vector<double> x(m), y(n);
    for (size_t i = 0; i < m; ++i) {
      switch (shape) {
        case 0:
          x[i] = ln(rng) * 1.02;
          break;
        case 1:
          x[i] = std::round(norm(rng) * 3);
          break;
        case 2:
          x[i] = i == 0 ? 1e12 : std::exp(norm(rng) * 2);
          break;
        case 3:
          x[i] = 1e307 * norm(rng);
          break;
        case 4:
          x[i] = 7;
          break;
        case 5:
          x[i] = 1e16 + 2.0 * static_cast<double>(rng() % 1000);
          break;
        default:
          x[i] = 1 + std::ldexp(static_cast<double>(rng() % 64), -52);
          break;
      }
    }
    for (size_t j = 0; j < n; ++j) {
      y[j] = shape == 0   ? ln(rng)
             : shape == 1 ? std::round(norm(rng) * 3)
             : shape == 2 ? std::exp(norm(rng) * 2)
             : shape == 3 ? -1e307 * norm(rng)
             : shape == 4 ? 5 + (j % 3)
             : shape == 5 ? 0.75 * static_cast<double>(rng() % 7)
                          : std::ldexp(static_cast<double>(rng() % 64), -53);
    }
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const auto all = AllDifferences(x, y);
    const PairwiseDifferences pd(x, y);
    const uint64_t total = pd.size();
    const double median =
        (total % 2 == 1) ? all[total / 2]
                         : static_cast<double>(
                               (static_cast<long double>(all[total / 2 - 1]) + all[total / 2]) / 2);
    // Interval-like pairs around the median, reversed and equal ranks, and the extremes.
    const std::vector<std::pair<uint64_t, uint64_t>> pairs = {
        {total / 2 - total / 40, total / 2 + total / 40},
        {total / 2 - total / 200, total / 2 + total / 150},
        {total / 2 + 3, total / 2 - 3},
        {total / 3, total / 3},
        {1, total},
        {total / 50, total - total / 50}};
    for (const auto& [lo, hi] : pairs) {
      const auto got = pd.BoundsAndMedian(lo, hi);
      EXPECT_EQ(got[0], all[lo - 1]) << "shape " << shape << " k " << lo;
      EXPECT_EQ(got[1], all[hi - 1]) << "shape " << shape << " k " << hi;
      EXPECT_EQ(got[2], median) << "shape " << shape;
      EXPECT_EQ(got[2], pd.Median()) << "shape " << shape;
    }
    for (uint64_t k : {uint64_t{1}, total / 7, total / 2, total - total / 9, total}) {
      EXPECT_EQ(pd.OrderStatistic(k), all[k - 1]) << "shape " << shape << " k " << k;
    }
  }
}

TEST(HodgesLehmann, EstimateHandlesEdgeCases) {
  const std::vector<double> one = {5}, two = {1, 3};
  EXPECT_EQ(*HodgesLehmannEstimate(one, two), 3.0);  // differences {4, 2}: median 3
  const std::vector<double> nan = {1, NAN};
  EXPECT_FALSE(HodgesLehmannEstimate(nan, two).has_value());
  EXPECT_EQ(*HodgesLehmannEstimate(nan, two, NonFinitePolicy::kDrop), -1.0);
  EXPECT_FALSE(HodgesLehmannEstimate({}, two).has_value());
}

// 1e7 values per side with a closed-form answer: x_i = i + 0.5, y_j = j (i, j < n).
// Differences i - j + 0.5 are symmetric about 0.5, so the HL estimate is 0.5; U counts
// pairs with i >= j: n(n+1)/2. Memory stays O(n): the 1e14 differences are never stored.
TEST(HodgesLehmann, TenMillionPerSide) {
  const size_t n = 10'000'000;
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[n - 1 - i] = static_cast<double>(i) + 0.5;  // unsorted input on purpose
    y[i] = static_cast<double>(i);
  }
  MannWhitneyOptions o;
  o.conf_level = 0.95;
  auto r = MannWhitney(x, y, o);
  ASSERT_TRUE(r.has_value());
  const double nd = static_cast<double>(n);
  EXPECT_EQ(r->statistic, nd * (nd + 1) / 2);
  EXPECT_EQ(r->estimate, 0.5);
  EXPECT_FALSE(r->exact);
  // z = (n/2 - 1/2) / sqrt(n^2 (2n + 1) / 12), continuity corrected; p = erfc(|z|/sqrt2).
  const double z = (nd / 2 - 0.5) / std::sqrt(nd * nd * (2 * nd + 1) / 12);
  EXPECT_NEAR(r->p_value, std::erfc(z / std::sqrt(2.0)), 1e-12);
  // The interval is symmetric about 0.5 and its ends are differences (integers + 0.5).
  EXPECT_EQ(r->conf_low + r->conf_high, 1.0);
  EXPECT_EQ(r->conf_high - std::floor(r->conf_high), 0.5);
  // Width ~ 2 * 1.96 * sigma_U / n: the difference i - j has density ~1/n near 0.
  const double half_width_expected =
      1.959963984540054 * std::sqrt(nd * nd * (2 * nd + 1) / 12) / nd;
  EXPECT_NEAR(r->conf_high - 0.5, half_width_expected, 2.0);
}

// Latency-like data rounded to a resolution: at 1 and 0.1 thousands of differences share each
// value (or, through the rounding of x - y, a handful of doubles a few ulps apart), so probes
// aimed by value land in gaps between them and must step past the gaps (PastGap); finer
// resolutions are close to continuous. Each case against all differences sorted, with the
// centre probe above and below the targets (a shifted canary) and unequal sizes.
TEST(PairwiseDifferences, RoundedDataMatchBruteForce) {
  std::mt19937_64 rng(404);
  for (double resolution : {1.0, 0.1, 0.01, 0.5}) {
    for (int shape = 0; shape < 3; ++shape) {
      const size_t m = shape == 2 ? 400 : 1000, n = shape == 2 ? 1500 : 1000;
      std::lognormal_distribution<double> canary(3.0 + (shape == 1 ? 0.05 : 0.0), 0.4),
          base(3.0, 0.4);
      std::vector<double> x(m), y(n);
      for (auto& v : x) v = std::round(canary(rng) / resolution) * resolution;
      for (auto& v : y) v = std::round(base(rng) / resolution) * resolution;
      const uint64_t total = static_cast<uint64_t>(m) * n, half = total / 2;
      const std::string what = std::to_string(resolution) + " shape " + std::to_string(shape);
      const std::vector<double> all =
          ExpectIntervalsMatchBruteForce(x, y, {25300, total / 5, 3}, what);
      const PairwiseDifferences pd(x, y);
      for (uint64_t k : {uint64_t{1}, total / 3, half + 1, total - 7}) {
        EXPECT_EQ(pd.OrderStatistic(k), all[k - 1]) << resolution << " shape " << shape << " " << k;
      }
    }
  }
}

// Most differences exactly equal (a metric that is flat with occasional noise): the targets
// sit inside one huge block of ties at a probe's own value, which the selection reaches by
// counting that probe the other way; also two blocks, and a block with a shifted canary.
TEST(PairwiseDifferences, NearConstantDataMatchBruteForce) {
  std::mt19937_64 rng(5150);
  std::normal_distribution<double> norm(0, 1);
  for (int shape = 0; shape < 3; ++shape) {
    std::vector<double> x(1000), y(900);
    for (auto& v : x) {
      v = shape == 0   ? (rng() % 10 ? 5.0 : 5.0 + norm(rng))
          : shape == 1 ? (rng() % 2 ? 3.0 : 7.0) + (rng() % 20 ? 0.0 : norm(rng))
                       : (rng() % 20 ? 5.5 : 5.0 + norm(rng));
    }
    for (auto& v : y) v = rng() % 5 ? 5.0 : 5.0 + norm(rng);
    const uint64_t total = uint64_t{1000} * 900, half = total / 2;
    const std::vector<double> all = ExpectIntervalsMatchBruteForce(
        x, y, {24000, total / 4, total / 2 - 1}, "shape " + std::to_string(shape));
    const PairwiseDifferences pd(x, y);
    // Ranks at the edges of a big block of ties (1-based): the last difference before it, its
    // first and last, and the first after it. The block holds the median, or for the two
    // blocks (x - y = -2 and +2) the first quartile.
    const double tied = all[shape == 1 ? total / 4 : half];
    const auto block_lo = static_cast<uint64_t>(
        std::lower_bound(all.begin(), all.end(), tied) - all.begin());
    const auto block_hi = static_cast<uint64_t>(
        std::upper_bound(all.begin(), all.end(), tied) - all.begin());
    ASSERT_GT(block_hi - block_lo, total / 10) << "shape " << shape << ": not a big tie block";
    for (const auto& [a, b] : std::vector<std::pair<uint64_t, uint64_t>>{
             {block_lo, block_hi + 1}, {block_lo + 1, block_hi}}) {
      if (a < 1 || b > total) continue;
      const auto got = pd.BoundsAndMedian(a, b);
      EXPECT_EQ(got[0], all[a - 1]) << "shape " << shape << " k " << a;
      EXPECT_EQ(got[1], all[b - 1]) << "shape " << shape << " k " << b;
    }
  }
}

// Every rank at the edge of a block of tied differences (the last before it, its first and
// last, the first after it), on many small data sets of whole numbers: the steps past gaps
// and the side counted the other way must stop exactly at a block's end.
TEST(PairwiseDifferences, RanksAtTieBlockEdgesMatchBruteForce) {
  std::mt19937_64 rng(77);
  for (int it = 0; it < 60; ++it) {
    const size_t m = 60 + rng() % 200, n = 60 + rng() % 200;
    const uint64_t levels = 3 + rng() % 12;
    std::vector<double> x(m), y(n);
    for (auto& v : x) v = static_cast<double>(rng() % levels);
    for (auto& v : y) v = static_cast<double>(rng() % levels) + (it % 3 == 0 ? 0.5 : 0.0);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const std::vector<double> all = AllDifferences(x, y);
    const PairwiseDifferences pd(x, y);
    const uint64_t total = pd.size();
    for (size_t start = 0; start < all.size();) {
      const auto end = static_cast<size_t>(
          std::upper_bound(all.begin(), all.end(), all[start]) - all.begin());
      for (uint64_t k : {uint64_t{start}, uint64_t{start} + 1, uint64_t{end}, uint64_t{end} + 1}) {
        if (k < 1 || k > total) continue;
        ASSERT_EQ(pd.OrderStatistic(k), all[k - 1]) << "case " << it << " k " << k;
      }
      start = end;
    }
  }
}

// The selection on every instruction set of the rank kernel (stats/rank_kernel.h) the CPU has.
TEST(PairwiseDifferences, ExactOnEveryInstructionSetOfTheRankKernel) {
  using internal::RankIsa;
  struct Restore {
    ~Restore() { internal::ForceRankIsa(internal::BestRankIsa()); }
  } restore;
  std::mt19937_64 rng(11);
  for (int it = 0; it < 40; ++it) {
    const size_t m = 40 + rng() % 90, n = 40 + rng() % 90;
    std::vector<double> x(m), y(n);
    const double base = it % 4 == 0 ? 1e16 : 0.0;  // rounding moves boundaries near 1e16
    std::lognormal_distribution<double> d(3.0, 0.5);
    for (auto& e : x) e = base + (it % 3 == 0 ? std::round(d(rng)) : d(rng));
    for (auto& e : y) e = base + (it % 3 == 0 ? std::round(d(rng)) : d(rng)) - 0.5;
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const std::vector<double> all = AllDifferences(x, y);
    const uint64_t k_low = 1 + rng() % all.size(), k_high = 1 + rng() % all.size();
    const size_t mid = all.size() / 2;
    const double median = all.size() % 2 ? all[mid] : (all[mid - 1] + all[mid]) / 2;
    for (RankIsa isa : internal::AvailableRankIsas()) {
      internal::ForceRankIsa(isa);
      const PairwiseDifferences diffs(x, y);
      const auto got = diffs.BoundsAndMedian(k_low, k_high);
      EXPECT_EQ(got[0], all[k_low - 1]) << static_cast<int>(isa) << " case " << it;
      EXPECT_EQ(got[1], all[k_high - 1]) << static_cast<int>(isa) << " case " << it;
      EXPECT_EQ(got[2], median) << static_cast<int>(isa) << " case " << it;
      const double t = all[rng() % all.size()];
      EXPECT_EQ(diffs.CountBelow(t),
                static_cast<uint64_t>(std::lower_bound(all.begin(), all.end(), t) - all.begin()))
          << static_cast<int>(isa) << " case " << it;
      EXPECT_EQ(diffs.CountAtMost(t),
                static_cast<uint64_t>(std::upper_bound(all.begin(), all.end(), t) - all.begin()))
          << static_cast<int>(isa) << " case " << it;
    }
  }
}

}  // namespace
}  // namespace augur::stats
