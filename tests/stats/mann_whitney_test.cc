// Edge cases and policies of MannWhitney; numerical agreement with R and scipy is in
// reference_cases_test.cc.
#include "augur/stats/mann_whitney.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "testing/reference_data.h"

namespace augur::stats {
namespace {

using augur::testing::RelClose;

TEST(MannWhitney, OneValuePerSide) {
  const std::vector<double> x = {2}, y = {1};
  auto r = MannWhitney(x, y);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->exact);
  EXPECT_EQ(r->statistic, 1.0);
  EXPECT_EQ(r->p_value, 1.0);  // R: wilcox.test(2, 1)$p.value == 1
  EXPECT_EQ(r->estimate, 1.0);
}

TEST(MannWhitney, AllTiedIsNoEvidenceNotNaN) {
  const std::vector<double> x(30, 7.0), y(40, 7.0);
  for (auto alt : {Alternative::kTwoSided, Alternative::kLess, Alternative::kGreater}) {
    MannWhitneyOptions o;
    o.alternative = alt;
    auto r = MannWhitney(x, y, o);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->p_value, 1.0);
    EXPECT_EQ(r->statistic, 600.0);
    EXPECT_EQ(r->estimate, 0.0);
    EXPECT_TRUE(r->ties);
  }
}

TEST(MannWhitney, NonFiniteRejectedOrDroppedLikeR) {
  const std::vector<double> x = {1.5, NAN, 3.2, 4.4, INFINITY}, y = {0.1, 2.2, 0.7};
  auto rejected = MannWhitney(x, y);
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(rejected.error().message.find("index 1 is NaN"), std::string::npos);
  MannWhitneyOptions o;
  o.non_finite = NonFinitePolicy::kDrop;
  auto dropped = MannWhitney(x, y, o);
  ASSERT_TRUE(dropped.has_value());
  // R drops NaN but keeps Inf (W = 11 there); Augur's kDrop drops every non-finite value,
  // since differences of infinities are undefined: R's wilcox.test(c(1.5, 3.2, 4.4),
  // c(0.1, 2.2, 0.7)) gives W = 8, p = 0.2.
  EXPECT_EQ(dropped->statistic, 8.0);
  EXPECT_TRUE(RelClose(dropped->p_value, 0.2, 1e-12));
  EXPECT_EQ(dropped->n_x, 3u);
}

TEST(MannWhitney, EmptySampleIsAnError) {
  const std::vector<double> y = {1, 2};
  auto r = MannWhitney({}, y);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("sample x is empty"), std::string::npos);
}

TEST(MannWhitney, ExactWithTiesFallsBackWithWarning) {
  const std::vector<double> x = {1, 2, 2, 3}, y = {2, 4, 5};
  MannWhitneyOptions o;
  o.method = MannWhitneyMethod::kExact;
  auto r = MannWhitney(x, y, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->exact);
  ASSERT_FALSE(r->warnings.empty());
  EXPECT_NE(r->warnings[0].find("ties"), std::string::npos);
}

TEST(MannWhitney, SignedZerosAreOneTie) {
  const std::vector<double> x = {-0.0, 1}, y = {0.0, 2};
  auto r = MannWhitney(x, y);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->ties);
  EXPECT_EQ(r->statistic, 1.5);
}

TEST(MannWhitney, FarTailStaysAccurate) {
  // Complete separation of 1000 vs 1000: z ~ 38.7, two-sided p ~ 1e-327 underflows; with
  // 200 vs 200 the normal tail is ~1e-64. Compare with the complementary error function.
  std::vector<double> x(200), y(200);
  for (int i = 0; i < 200; ++i) {
    x[i] = 1000 + i;
    y[i] = i;
  }
  auto r = MannWhitney(x, y);
  ASSERT_TRUE(r.has_value());
  const double sigma = std::sqrt(200.0 * 200 * 401 / 12);
  const double z = (200.0 * 200 / 2 - 0.5) / sigma;
  EXPECT_TRUE(RelClose(r->p_value, std::erfc(z / std::sqrt(2.0)), 1e-10)) << r->p_value;
  EXPECT_LT(r->p_value, 1e-60);
  EXPECT_GT(r->p_value, 0.0);
}

TEST(MannWhitney, InvalidOptions) {
  const std::vector<double> x = {1, 2}, y = {3, 4};
  MannWhitneyOptions o;
  o.conf_level = 1.5;
  EXPECT_FALSE(MannWhitney(x, y, o).has_value());
  EXPECT_FALSE(ParseMannWhitneyMethod("exactly").has_value());
  std::vector<double> big(2000, 0), big2(2000, 0);
  for (int i = 0; i < 2000; ++i) big[i] = i, big2[i] = i + 0.5;
  o.conf_level = 0.95;
  o.method = MannWhitneyMethod::kExact;
  auto r = MannWhitney(big, big2, o);
  ASSERT_FALSE(r.has_value());  // an exact distribution of 2000 x 2000 is refused, not slow
  EXPECT_NE(r.error().message.find("asymptotic"), std::string::npos);
}

}  // namespace
}  // namespace augur::stats
