// Edge cases of WelchT; agreement with R's t.test is in reference_cases_test.cc.
#include "augur/stats/welch_t.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace augur::stats {
namespace {

TEST(WelchT, NeedsTwoValuesPerSample) {
  const std::vector<double> one = {1}, two = {1, 2};
  auto r = WelchT(one, two);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("sample x"), std::string::npos);
}

TEST(WelchT, EqualConstantsMeanNoDifference) {
  const std::vector<double> a(5, 3.0), b(8, 3.0);
  auto r = WelchT(a, b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->p_value, 1.0);
  EXPECT_EQ(r->statistic, 0.0);
}

TEST(WelchT, DifferentConstantsAreRefusedLikeR) {
  const std::vector<double> a(5, 3.0), b(8, 4.0);
  auto r = WelchT(a, b);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("essentially constant"), std::string::npos);
}

TEST(WelchT, OneSidedIntervalsAreOpen) {
  const std::vector<double> a = {1, 2, 3, 4}, b = {2, 3, 5, 8};
  WelchOptions o;
  o.alternative = Alternative::kLess;
  auto r = WelchT(a, b, o);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->conf_low, -INFINITY);
  EXPECT_TRUE(std::isfinite(r->conf_high));
  o.alternative = Alternative::kGreater;
  r = WelchT(a, b, o);
  EXPECT_EQ(r->conf_high, INFINITY);
}

}  // namespace
}  // namespace augur::stats
