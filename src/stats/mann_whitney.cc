#include "augur/stats/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "augur/stats/hodges_lehmann.h"
#include "augur/stats/wilcoxon_distribution.h"
#include "stats/distributions.h"
#include "stats/rank_sum.h"
#include "stats/sort.h"

namespace augur::stats {
namespace {

using internal::NormalCdf;
using internal::NormalSf;
using internal::NormalUpperQuantile;

// R's continuity correction for a centred statistic dz.
double Correction(double dz, Alternative alt, bool correct) {
  if (!correct) return 0.0;
  switch (alt) {
    case Alternative::kTwoSided:
      return dz > 0 ? 0.5 : (dz < 0 ? -0.5 : 0.0);
    case Alternative::kGreater:
      return 0.5;
    case Alternative::kLess:
      return -0.5;
  }
  return 0.0;
}

double Sigma(double m, double n, double tie_term) {
  const double big_n = m + n;
  const double var = (m * n / 12.0) * ((big_n + 1) - tie_term / (big_n * (big_n - 1)));
  return var > 0 ? std::sqrt(var) : 0.0;
}

// R's asymptotic interval bound is the root of W(d) = zq found by uniroot, where W(d) is the
// corrected z statistic of (x - d, y). W is a step function of d that jumps only at the
// pairwise differences, so the root sits exactly on one of them: for d strictly between
// D(r) and D(r+1) (1-based, ascending) the centred statistic is dz = mn/2 - r, and the
// variance carries only the ties inside x and inside y. The bound is D(r*) for the smallest
// r* whose interval has W <= zq, clamped to [D(1), D(mn)] as R clamps to [mumin, mumax].
uint64_t AsymptoticBoundRank(uint64_t mn, double sigma, double zq, Alternative alt, bool correct) {
  auto at_or_below = [&](uint64_t r) {
    const double dz = static_cast<double>(mn) / 2.0 - static_cast<double>(r);
    return (dz - Correction(dz, alt, correct)) / sigma - zq <= 0;
  };
  uint64_t lo = 0, hi = mn + 1;  // answer in [0, mn + 1]; mn + 1 means "never"
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    if (at_or_below(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return std::clamp<uint64_t>(lo, 1, mn);
}

}  // namespace

Result<MannWhitneyMethod> ParseMannWhitneyMethod(std::string_view text) {
  if (text == "auto") return MannWhitneyMethod::kAuto;
  if (text == "exact") return MannWhitneyMethod::kExact;
  if (text == "asymptotic") return MannWhitneyMethod::kAsymptotic;
  return InvalidArgument("unknown method '" + std::string(text) +
                         "' (expected auto, exact or asymptotic)");
}

Result<MannWhitneyResult> MannWhitney(std::span<const double> x_in, std::span<const double> y_in,
                                      const MannWhitneyOptions& opt) {
  if (opt.conf_int) {
    if (auto st = CheckConfLevel(opt.conf_level); !st) return st.error();
  }
  std::vector<double> x_buf, y_buf;
  std::span<const double> x, y;
  if (auto st = internal::SortedSamples(x_in, y_in, opt.non_finite, &x_buf, &y_buf, &x, &y); !st) {
    return st.error();
  }

  MannWhitneyResult res;
  const uint64_t m = x.size(), n = y.size(), mn = m * n;
  const double md = static_cast<double>(m), nd = static_cast<double>(n);
  res.n_x = m;
  res.n_y = n;
  const internal::RankSum rs = internal::ComputeRankSum(x, y);
  res.ties = rs.ties;
  res.statistic = (static_cast<double>(rs.twice_rank_sum_x) - md * (md + 1)) / 2.0;

  const bool want_exact = opt.method == MannWhitneyMethod::kExact ||
                          (opt.method == MannWhitneyMethod::kAuto && m < 50 && n < 50);
  res.exact = want_exact && !rs.ties;
  if (want_exact && rs.ties && opt.method == MannWhitneyMethod::kExact) {
    res.warnings.push_back("cannot compute exact p-value with ties; used the normal approximation");
    if (opt.conf_int) res.warnings.push_back("cannot compute exact confidence interval with ties");
  }

  const PairwiseDifferences diffs(x, y);
  uint64_t k_low = 0, k_high = 0;  // 1-based ranks of the interval's bounds; 0: unbounded side
  const double alpha = 1.0 - opt.conf_level;
  if (res.exact) {
    auto dist = WilcoxonDistribution::Create(m, n);
    if (!dist) return dist.error();
    const auto w = static_cast<int64_t>(res.statistic);
    switch (opt.alternative) {
      case Alternative::kTwoSided: {
        const long double p = 2 * w > static_cast<int64_t>(mn) ? dist->Sf(w - 1) : dist->Cdf(w);
        res.p_value = static_cast<double>(std::min(1.0L, 2 * p));
        break;
      }
      case Alternative::kGreater:
        res.p_value = static_cast<double>(dist->Sf(w - 1));
        break;
      case Alternative::kLess:
        res.p_value = static_cast<double>(dist->Cdf(w));
        break;
    }
    if (opt.conf_int) {
      // Bauer (1972) via R: order statistics at exact Wilcoxon critical values.
      const bool two = opt.alternative == Alternative::kTwoSided;
      int64_t qu = dist->Quantile(two ? alpha / 2 : alpha);
      if (qu == 0) qu = 1;
      const int64_t ql = static_cast<int64_t>(mn) - qu;
      double achieved_alpha = static_cast<double>(dist->Cdf(qu - 1));
      if (two) achieved_alpha *= 2;
      if (opt.alternative != Alternative::kLess) k_low = static_cast<uint64_t>(qu);
      if (opt.alternative != Alternative::kGreater) k_high = static_cast<uint64_t>(ql + 1);
      res.conf_level = opt.conf_level;
      if (achieved_alpha - alpha > alpha / 2) {
        res.warnings.push_back("requested conf_level not achievable with these sample sizes");
        res.conf_level = 1 - achieved_alpha;
      }
    }
  } else {
    const double sigma = Sigma(md, nd, rs.tie_term);
    const double dz = res.statistic - md * nd / 2;
    if (sigma == 0) {
      // Every value is the same: no evidence of any shift. R returns NA here.
      res.z = 0;
      res.p_value = 1;
    } else {
      res.z = (dz - Correction(dz, opt.alternative, opt.correct)) / sigma;
      switch (opt.alternative) {
        case Alternative::kLess:
          res.p_value = NormalCdf(res.z);
          break;
        case Alternative::kGreater:
          res.p_value = NormalSf(res.z);
          break;
        case Alternative::kTwoSided:
          res.p_value = std::min(1.0, 2 * std::min(NormalCdf(res.z), NormalSf(res.z)));
          break;
      }
    }
    if (opt.conf_int) {
      const double sigma_ci = Sigma(md, nd, rs.within_tie_term);
      const bool two = opt.alternative == Alternative::kTwoSided;
      const double q = two ? alpha / 2 : alpha;
      if (opt.alternative != Alternative::kLess) {
        k_low =
            AsymptoticBoundRank(mn, sigma_ci, NormalUpperQuantile(q), opt.alternative, opt.correct);
      }
      if (opt.alternative != Alternative::kGreater) {
        k_high = AsymptoticBoundRank(mn, sigma_ci, -NormalUpperQuantile(q), opt.alternative,
                                     opt.correct);
      }
      res.conf_level = opt.conf_level;
    }
  }
  if (opt.conf_int) {
    // The bounds and the estimate are order statistics close in rank: selected together.
    const auto [low, high, median] = diffs.BoundsAndMedian(k_low    ? k_low
                                                           : k_high ? k_high
                                                                    : 1,
                                                           k_high  ? k_high
                                                           : k_low ? k_low
                                                                   : 1);
    res.conf_low = k_low ? low : -INFINITY;
    res.conf_high = k_high ? high : INFINITY;
    res.estimate = median;
  }
  return res;
}

}  // namespace augur::stats
