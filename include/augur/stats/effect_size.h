// Effect sizes that explain a verdict in words a colleague understands.
//
// CLES (common-language effect size, McGraw & Wong 1992): P(X > Y) + P(X = Y)/2 over all
// pairs, = W / (nx ny) with R's W; 0.5 means no shift, 1 means every x beats every y. Computed
// from ranks in O(n log n), equal to Kayenta's (2 R1 - m(m+1)) / (2 m n).
// Mean ratio: mean(x) / mean(y), Kayenta's "meanRatio" with x = canary (experiment) and
// y = baseline (control). Kayenta's rule (issue #510): undefined (NaN) when either mean is 0;
// Augur returns a MeanRatioResult whose `defined` is false instead of a bare NaN.
// Pure and thread-safe.
#pragma once

#include <span>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats {

// Errors: empty sample, non-finite values under kReject.
Result<double> CommonLanguageEffectSize(std::span<const double> x, std::span<const double> y,
                                        NonFinitePolicy non_finite = NonFinitePolicy::kReject);

struct MeanRatioResult {
  bool defined = false;  // false when either mean is exactly 0 (ratio meaningless)
  double ratio = 0;      // mean(x) / mean(y) when defined
  double mean_x = 0, mean_y = 0;
};

Result<MeanRatioResult> MeanRatio(std::span<const double> x, std::span<const double> y,
                                  NonFinitePolicy non_finite = NonFinitePolicy::kReject);

}  // namespace augur::stats
