// Fast ascending sort of doubles for large samples (private to stats/).
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "augur/core/result.h"
#include "augur/stats/sample.h"

namespace augur::stats::internal {

// Returns the values sorted ascending, with -0.0 normalised to +0.0 so that equal values are
// equal bit patterns. REQUIRES: all values finite.
// From 16,384 values on this is an LSD radix sort on the IEEE bit pattern, several
// times faster than std::sort, which otherwise dominates a rank test on 1e6 values. Its key
// buffers are kept per thread between calls (up to 64 MiB): on VMs, first-touch page faults
// of fresh buffers cost as much as the sort itself.
std::vector<double> SortedCopy(std::span<const double> values);

// Sorts two samples; above ~200,000 values in all, the second is sorted on a helper thread
// while the first is sorted on the caller's (rank tests on 1e6 values per side are sort-bound,
// and this halves their wall time on two cores). Each thread uses its own scratch buffers.
void SortPair(std::span<const double> x, std::span<const double> y, std::vector<double>* x_out,
              std::vector<double>* y_out);

// CheckSample (the non-finite policy, emptiness) on both samples, then both sorted as
// SortPair sorts them. A sample that is already ascending and holds no -0.0 (the judge sorts
// before it tests) is used where it lies: *x_out views it and *x_buf stays empty. Otherwise
// the sorted copy goes to *x_buf and *x_out views that. Likewise for y.
Status SortedSamples(std::span<const double> x, std::span<const double> y, NonFinitePolicy policy,
                     std::vector<double>* x_buf, std::vector<double>* y_buf,
                     std::span<const double>* x_out, std::span<const double>* y_out);

// CheckSample (the non-finite policy, emptiness) followed by SortedCopy, copying once.
Result<std::vector<double>> SortedSample(std::span<const double> values, std::string_view name,
                                         NonFinitePolicy policy);

}  // namespace augur::stats::internal
