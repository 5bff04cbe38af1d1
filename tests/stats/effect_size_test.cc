#include "augur/stats/effect_size.h"

#include <gtest/gtest.h>

#include <vector>

#include "testing/reference_data.h"

namespace augur::stats {
namespace {

using augur::testing::RelClose;

const std::vector<double> kX = {3.1, 4.7, 1.2, 9.9, 5.5, 2.2, 7.3, 6.6, 8.1, 0.4, 11.5};
const std::vector<double> kY = {2, 2.5, 3.5, 1, 0.5, 4};

TEST(EffectSize, ClesIsWOverMn) {
  // R: wilcox.test(x, y)$statistic / (11 * 6) = 0.77272727272727271
  EXPECT_TRUE(RelClose(*CommonLanguageEffectSize(kX, kY), 0.77272727272727271, 1e-15));
  // Ties count one half: P(x > y) + P(x = y) / 2.
  const std::vector<double> a = {1, 2}, b = {2, 2};
  EXPECT_EQ(*CommonLanguageEffectSize(a, b), 0.25);
}

TEST(EffectSize, MeanRatioAndZeroMeans) {
  auto r = MeanRatio(kX, kY);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->defined);
  EXPECT_TRUE(RelClose(r->ratio, 2.4444444444444446, 1e-15));
  const std::vector<double> zeros = {0, 0, 0};
  auto z = MeanRatio(kX, zeros);
  ASSERT_TRUE(z.has_value());
  EXPECT_FALSE(z->defined);  // Kayenta issue #510: no ratio against a zero mean
  EXPECT_FALSE(MeanRatio({}, kY).has_value());
}

}  // namespace
}  // namespace augur::stats
