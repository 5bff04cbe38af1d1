#include "augur/stats/wilcoxon_distribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing/reference_data.h"

namespace augur::stats {
namespace {

using augur::testing::RelClose;

// Literals from R 4.2.2: dwilcox/pwilcox/qwilcox(..., 7, 9) and friends (options(digits=17)).
TEST(WilcoxonDistribution, MatchesR) {
  auto d = WilcoxonDistribution::Create(7, 9);
  ASSERT_TRUE(d.has_value());
  const std::vector<std::pair<int, double>> pmf = {{0, 8.7412587412587413e-05},
                                                   {5, 0.00061188811188811194},
                                                   {12, 0.0053321678321678325},
                                                   {30, 0.040559440559440559}};
  for (auto [q, p] : pmf) EXPECT_TRUE(RelClose(d->Pmf(q), p, 1e-14)) << q;
  const std::vector<std::pair<int, double>> cdf = {{0, 8.7412587412587413e-05},
                                                   {5, 0.0016608391608391609},
                                                   {12, 0.020891608391608394},
                                                   {30, 0.45909090909090911},
                                                   {62, 0.99991258741258737}};
  for (auto [q, p] : cdf) EXPECT_TRUE(RelClose(d->Cdf(q), p, 1e-14)) << q;
  const std::vector<std::pair<int, double>> sf = {
      {40, 0.17552447552447553}, {55, 0.0039335664335664339}, {62, 8.7412587412587413e-05}};
  for (auto [q, p] : sf) EXPECT_TRUE(RelClose(d->Sf(q), p, 1e-14)) << q;
  const std::vector<std::pair<double, int>> quant = {{0.005, 8}, {0.025, 13}, {0.05, 16},
                                                     {0.5, 31},  {0.95, 47},  {0.975, 50}};
  for (auto [p, q] : quant) EXPECT_EQ(d->Quantile(p), q) << p;
  EXPECT_EQ(d->Cdf(-1), 0.0L);
  EXPECT_EQ(d->Cdf(63), 1.0L);
  EXPECT_EQ(d->Sf(63), 0.0L);
}

TEST(WilcoxonDistribution, FarTailsAreExact) {
  // pwilcox(0, 49, 49) = 1/choose(98, 49) = 3.9250145964816453e-29 and
  // pwilcox(100, 49, 49) = 6.3872010903469475e-20 (R 4.2.2).
  auto d = WilcoxonDistribution::Create(49, 49);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(RelClose(d->Cdf(0), 3.9250145964816453e-29, 1e-14));
  EXPECT_TRUE(RelClose(d->Cdf(100), 6.3872010903469475e-20, 1e-13));
  EXPECT_TRUE(RelClose(d->Sf(49 * 49 - 1), 3.9250145964816453e-29, 1e-14));
  // Unbalanced: pwilcox(c(0, 10, 60), 3, 40).
  auto u = WilcoxonDistribution::Create(3, 40);
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(RelClose(u->Cdf(0), 8.1030710639332307e-05, 1e-14));
  EXPECT_TRUE(RelClose(u->Cdf(10), 0.0054290576128352653, 1e-14));
  EXPECT_TRUE(RelClose(u->Cdf(60), 0.50895389352564624, 1e-14));
}

TEST(WilcoxonDistribution, BeyondDoubleCountsStaysExact) {
  // P(U = 0) = 1/C(600, 300) ~ 7e-180 needs counts of ~600 bits: checked against lgamma.
  auto d = WilcoxonDistribution::Create(300, 300);
  ASSERT_TRUE(d.has_value());
  const double log_expected = -(std::lgamma(601.0) - 2 * std::lgamma(301.0));
  EXPECT_NEAR(std::log(static_cast<double>(d->Pmf(0))), log_expected, 1e-9);
  // P(U = 1) = P(U = 0) too (one arrangement each); P(U = 2) has two.
  EXPECT_TRUE(RelClose(d->Pmf(1), d->Pmf(0), 1e-15));
  EXPECT_TRUE(RelClose(d->Pmf(2), 2 * d->Pmf(0), 1e-15));
  // Symmetry and normalisation.
  EXPECT_TRUE(RelClose(d->Cdf(44999), 0.5L - d->Pmf(45000) / 2, 1e-15));
}

// An independent oracle: R's additive recursion (no subtractions), for small sizes.
std::vector<double> RecursionCounts(int m, int n) {
  // c[i][j][k]: arrangements of i x's and j y's with U = k.
  std::vector<std::vector<std::vector<double>>> c(m + 1, std::vector<std::vector<double>>(n + 1));
  for (int i = 0; i <= m; ++i)
    for (int j = 0; j <= n; ++j) {
      c[i][j].assign(i * j + 1, 0.0);
      if (i == 0 || j == 0) {
        c[i][j][0] = 1;
        continue;
      }
      for (int k = 0; k <= i * j; ++k) {
        double v = 0;
        if (k - j >= 0 && k - j <= (i - 1) * j) v += c[i - 1][j][k - j];
        if (k <= i * (j - 1)) v += c[i][j - 1][k];
        c[i][j][k] = v;
      }
    }
  return c[m][n];
}

TEST(WilcoxonDistribution, AgreesWithAdditiveRecursion) {
  for (auto [m, n] :
       std::vector<std::pair<int, int>>{{1, 1}, {1, 5}, {2, 3}, {5, 5}, {8, 13}, {17, 11}}) {
    auto d = WilcoxonDistribution::Create(m, n);
    ASSERT_TRUE(d.has_value());
    const auto counts = RecursionCounts(m, n);
    double total = 0;
    for (double v : counts) total += v;
    for (int k = 0; k <= m * n; ++k) {
      EXPECT_TRUE(RelClose(d->Pmf(k), counts[k] / total, 1e-14)) << m << "x" << n << " k=" << k;
    }
  }
}

TEST(WilcoxonDistribution, RefusesHugeSizes) {
  auto d = WilcoxonDistribution::Create(5000, 5000);
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(d.error().message.find("asymptotic"), std::string::npos);
  EXPECT_FALSE(WilcoxonDistribution::Create(0, 3).has_value());
}

}  // namespace
}  // namespace augur::stats
