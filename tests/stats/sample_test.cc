#include "augur/stats/sample.h"

#include <gtest/gtest.h>

#include <cfloat>
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

TEST(Sample, AllFiniteFindsOneBadValueAnywhere) {
  EXPECT_TRUE(AllFinite({}));
  std::vector<double> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? -1.0 : 1.0) * static_cast<double>(i);
  v[3] = DBL_MAX;
  v[5] = -DBL_MAX;
  v[7] = 4.9e-324;  // denormal
  v[9] = -0.0;
  EXPECT_TRUE(AllFinite(v));
  for (double bad : {NAN, -NAN, INFINITY, -INFINITY}) {
    for (size_t at : {size_t{0}, size_t{13}, size_t{998}, size_t{999}}) {  // vector body and tail
      std::vector<double> w = v;
      w[at] = bad;
      EXPECT_FALSE(AllFinite(w)) << bad << " at " << at;
      EXPECT_FALSE(AllFinite(std::span<const double>(w).subspan(at, 1)));
    }
  }
}

TEST(Sample, ConfLevelBounds) {
  EXPECT_TRUE(CheckConfLevel(0.95).has_value());
  EXPECT_FALSE(CheckConfLevel(1.0).has_value());
  EXPECT_FALSE(CheckConfLevel(0.0).has_value());
  EXPECT_FALSE(CheckConfLevel(NAN).has_value());
}

}  // namespace
}  // namespace augur::stats
