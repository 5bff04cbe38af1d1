// Per-side summary statistics reported with every metric result (private to judge/).
#pragma once

#include <span>

#include "augur/judge/verdict.h"

namespace augur::judge::internal {

// count, mean, sample sd, min, max and R-7 p50/p90/p99; all zero for an empty side
// (Kayenta's DescriptiveStatistics.summary convention). REQUIRES: finite values.
SideStats Summarize(std::span<const double> values);

}  // namespace augur::judge::internal
