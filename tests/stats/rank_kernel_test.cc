// The rank kernel (stats/rank_kernel.h) on every instruction set this CPU has, against
// std::lower_bound / upper_bound; and Kayenta's root finder on every instruction set against
// the literal Kayenta port (the Hodges-Lehmann selection's test of every instruction set is in
// hodges_lehmann_test.cc, beside its brute-force oracle).
#include "stats/rank_kernel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "augur/stats/kayenta_mann_whitney.h"

namespace augur::stats::internal {
namespace {

const char* Name(RankIsa isa) {
  return isa == RankIsa::kScalar ? "scalar" : isa == RankIsa::kAvx2 ? "avx2" : "avx512";
}

// Restores the best instruction set when a test ends, whatever happened.
struct IsaGuard {
  ~IsaGuard() { ForceRankIsa(BestRankIsa()); }
};

TEST(RankKernel, MatchesBinarySearchOnEveryInstructionSet) {
  IsaGuard guard;
  std::mt19937_64 rng(7);
  for (int it = 0; it < 3000; ++it) {
    size_t m = rng() % 300, n = 1 + rng() % 300;
    if (it % 7 == 0) {  // many v per y: the windows cover everything
      m = rng() % 3000;
      n = 1 + rng() % 50;
    }
    if (it % 11 == 0) {  // many y per v: the single-value path
      m = rng() % 40;
      n = 1 + rng() % 3000;
    }
    const int grid = static_cast<int>(rng() % 4);  // 0: continuous, else few distinct values
    auto draw = [&] {
      return grid ? static_cast<double>(rng() % (grid * 5))
                  : std::ldexp(static_cast<double>(rng() % 100000), -10) - 30;
    };
    std::vector<double> v(m), y(n);
    for (auto& e : v) e = draw();
    for (auto& e : y) e = draw();
    if (it % 13 == 0 && m > 1) {  // overflowed shifts reach the kernel as infinities
      v.front() = -INFINITY;
      v.back() = INFINITY;
    }
    std::sort(v.begin(), v.end());
    std::sort(y.begin(), y.end());
    std::vector<double> y_padded = y;
    y_padded.resize(n + kRankPad, NAN);
    std::vector<int64_t> vk(m), yk(n);
    for (size_t i = 0; i < m; ++i)
      vk[i] = std::isfinite(v[i]) ? static_cast<int64_t>(v[i] * 1024) : 0;
    for (size_t i = 0; i < n; ++i) yk[i] = static_cast<int64_t>(y[i] * 1024);
    std::sort(vk.begin(), vk.end());
    std::vector<int64_t> yk_padded = yk;
    yk_padded.resize(n + kRankPad, INT64_MAX);
    for (RankIsa isa : AvailableRankIsas()) {
      ForceRankIsa(isa);
      ASSERT_EQ(ActiveRankIsa(), isa);
      std::vector<uint32_t> below(m), upto(m), keys(m);
      RankBelow(v.data(), m, y_padded.data(), n, below.data());
      RankAtMost(v.data(), m, y_padded.data(), n, upto.data());
      const uint64_t ties = RankBelow(vk.data(), m, yk_padded.data(), n, keys.data());
      uint64_t want_ties = 0;
      for (size_t i = 0; i < m; ++i) {
        const auto lo = std::lower_bound(y.begin(), y.end(), v[i]) - y.begin();
        const auto hi = std::upper_bound(y.begin(), y.end(), v[i]) - y.begin();
        const auto kpos = std::lower_bound(yk.begin(), yk.end(), vk[i]) - yk.begin();
        want_ties += static_cast<size_t>(kpos) < n && yk[kpos] == vk[i];
        ASSERT_EQ(below[i], lo) << Name(isa) << " case " << it << " row " << i;
        ASSERT_EQ(upto[i], hi) << Name(isa) << " case " << it << " row " << i;
        ASSERT_EQ(keys[i], kpos) << Name(isa) << " case " << it << " row " << i;
      }
      ASSERT_EQ(ties, want_ties) << Name(isa) << " case " << it;
    }
  }
}

// CheckRoundedRanks against the predicate evaluated row by row, on every instruction set:
// ascending ranks, some off by one (as rounding of x - t leaves them), with 8-row blocks whose
// ranks span a few values of y (the AVX-512 path's window of 16) and many (its gathers), and
// ranks at both ends of y (the -inf / +inf pads).
TEST(RankKernel, RoundingCheckCountsEveryWrongRowOnEveryInstructionSet) {
  IsaGuard guard;
  std::mt19937_64 rng(99);
  for (int it = 0; it < 2000; ++it) {
    const size_t m = rng() % 200, n = 1 + rng() % (it % 3 == 0 ? 20 : 400);
    std::vector<double> x(m), y(n);
    for (auto& e : x) e = std::ldexp(static_cast<double>(rng() % 4096), -6);
    for (auto& e : y) e = std::ldexp(static_cast<double>(rng() % 4096), -6);
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    const double t = std::ldexp(static_cast<double>(rng() % 2048), -6) - 16;
    const bool strict = rng() % 2;
    // yp[-1] = -inf, then y, then kRankPad values of +inf.
    std::vector<double> padded(n + 1 + kRankPad, INFINITY);
    padded[0] = -INFINITY;
    std::copy(y.begin(), y.end(), padded.begin() + 1);
    const double* yp = padded.data() + 1;
    // True ranks of x - t in y (#{y <= x - t} for strict, #{y < x - t} otherwise), then some
    // moved by one, kept ascending.
    std::vector<uint32_t> ranks(m);
    for (size_t i = 0; i < m; ++i) {
      const double v = x[i] - t;
      ranks[i] = static_cast<uint32_t>(
          (strict ? std::upper_bound(y.begin(), y.end(), v) : std::lower_bound(y.begin(), y.end(), v)) -
          y.begin());
      if (rng() % 5 == 0) ranks[i] = ranks[i] + 1 <= n && rng() % 2 ? ranks[i] + 1 : ranks[i] ? ranks[i] - 1 : 0;
    }
    for (size_t i = 1; i < m; ++i) ranks[i] = std::max(ranks[i], ranks[i - 1]);
    size_t want_wrong = 0;
    uint64_t want_total = 0;
    for (size_t i = 0; i < m; ++i) {
      const double at = x[i] - yp[ranks[i]], before = x[i] - yp[static_cast<ptrdiff_t>(ranks[i]) - 1];
      const bool ok = strict ? (at < t && !(before < t)) : (at <= t && !(before <= t));
      want_wrong += !ok;
      want_total += n - ranks[i];
    }
    for (RankIsa isa : AvailableRankIsas()) {
      ForceRankIsa(isa);
      std::vector<uint64_t> out(m);
      uint64_t total = 0;
      const size_t wrong = CheckRoundedRanks(x.data(), ranks.data(), m, yp, n, t, strict,
                                             out.data(), &total);
      ASSERT_EQ(wrong, want_wrong) << Name(isa) << " case " << it;
      ASSERT_EQ(total, want_total) << Name(isa) << " case " << it;
      for (size_t i = 0; i < m; ++i) ASSERT_EQ(out[i], n - ranks[i]) << Name(isa) << " " << it;
    }
  }
}

TEST(RankKernel, ForcingAboveTheCpuKeepsTheBest) {
  IsaGuard guard;
  ForceRankIsa(RankIsa::kAvx512);
  EXPECT_EQ(ActiveRankIsa(), BestRankIsa());
  ForceRankIsa(RankIsa::kScalar);
  EXPECT_EQ(ActiveRankIsa(), RankIsa::kScalar);
}

TEST(RankKernel, KayentaRootsMatchTheLiteralPortOnEveryInstructionSet) {
  IsaGuard guard;
  std::mt19937_64 rng(13);
  for (int it = 0; it < 24; ++it) {
    const size_t m = 200 + rng() % 800, n = 200 + rng() % 800;
    std::vector<double> x(m), y(n);
    std::lognormal_distribution<double> d(3.0, 0.4);
    const bool grid = it % 3 == 0;  // ties within and across the samples
    for (auto& e : x) e = grid ? std::round(d(rng)) : d(rng) * (1 + 0.01 * (it % 5));
    for (auto& e : y) e = grid ? std::round(d(rng)) : d(rng);
    const auto want = stats::KayentaMannWhitneyReference(x, y, 0.98);
    ASSERT_TRUE(want.has_value());
    for (RankIsa isa : AvailableRankIsas()) {
      ForceRankIsa(isa);
      const auto got = stats::KayentaMannWhitney(x, y, 0.98);
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(got->ci_lower, want->ci_lower) << Name(isa) << " case " << it;
      EXPECT_EQ(got->ci_upper, want->ci_upper) << Name(isa) << " case " << it;
      EXPECT_EQ(got->estimate, want->estimate) << Name(isa) << " case " << it;
      EXPECT_EQ(got->evaluations, want->evaluations) << Name(isa) << " case " << it;
    }
  }
}

}  // namespace
}  // namespace augur::stats::internal
