#include "augur/stats/sample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace augur::stats {
namespace {

TEST(Sample, ParsesAlternatives) {
  EXPECT_EQ(*ParseAlternative("two-sided"), Alternative::kTwoSided);
  EXPECT_EQ(*ParseAlternative("two.sided"), Alternative::kTwoSided);
  EXPECT_EQ(*ParseAlternative("less"), Alternative::kLess);
  EXPECT_EQ(*ParseAlternative("greater"), Alternative::kGreater);
  auto bad = ParseAlternative("bigger");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("bigger"), std::string::npos);
}

TEST(Sample, RejectsNonFiniteNamingTheIndex) {
  const std::vector<double> v = {1, 2, NAN, 4};
  auto r = CleanSample(v, "x", NonFinitePolicy::kReject);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message.substr(0, 39), "sample x: value at index 2 is NaN (non-");
  const std::vector<double> inf = {INFINITY};
  EXPECT_NE(CleanSample(inf, "y", NonFinitePolicy::kReject).error().message.find("+Inf"),
            std::string::npos);
}

TEST(Sample, DropsNonFiniteOnRequest) {
  const std::vector<double> v = {1, -INFINITY, 2, NAN, 4};
  auto r = CleanSample(v, "x", NonFinitePolicy::kDrop);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, (std::vector<double>{1, 2, 4}));
}

TEST(Sample, EmptyIsAnErrorEvenAfterDropping) {
  EXPECT_FALSE(CleanSample({}, "x", NonFinitePolicy::kDrop).has_value());
  const std::vector<double> v = {NAN, NAN};
  auto r = CleanSample(v, "y", NonFinitePolicy::kDrop);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("empty after dropping"), std::string::npos);
}

TEST(Sample, ConfLevelBounds) {
  EXPECT_TRUE(CheckConfLevel(0.95).has_value());
  EXPECT_FALSE(CheckConfLevel(1.0).has_value());
  EXPECT_FALSE(CheckConfLevel(0.0).has_value());
  EXPECT_FALSE(CheckConfLevel(NAN).has_value());
}

}  // namespace
}  // namespace augur::stats
