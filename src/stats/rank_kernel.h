// Ranks of one sorted sample in another, with SIMD where the CPU has it (private to stats/).
//
// pos[k] = #{q : y[q] < v[k]} (RankBelow) or #{q : y[q] <= v[k]} (RankAtMost), for ascending
// v[0, m) and y[0, n). This is the inner loop of every count of pairwise differences (the
// Hodges-Lehmann selection, Kayenta's root finder) and of the Mann-Whitney rank sum.
//
// The SIMD kernels rank v in groups of 8 (AVX-512) or 4 (AVX2) values at once, all within a
// window of twice as many y values from the previous group's last rank; a value the window
// does not cover is ranked alone by blocks of y. Four cursors over quarters of v interleave
// (see rank_kernel.cc). The instruction set is chosen at run time (cpuid), so one binary runs
// everywhere; without AVX2, a scalar four-cursor merge. 1,000 + 1,000 order keys on the
// README's VM, one run: 5.3 us scalar, 1.9 us AVX2, 1.4 us AVX-512.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace augur::stats::internal {

// y must be readable up to y[n + kRankPad - 1], and the pad must never count as below (or
// at most) any v: NaN for doubles, INT64_MAX for order keys (no v may be INT64_MAX).
inline constexpr size_t kRankPad = 16;

void RankBelow(const double* v, size_t m, const double* y, size_t n, uint32_t* pos);
void RankAtMost(const double* v, size_t m, const double* y, size_t n, uint32_t* pos);
// For order keys also returns #{k : y[pos[k]] == v[k]} (the v that tie with a y, when y holds
// distinct keys), which the SIMD kernels get with one gather per group.
uint64_t RankBelow(const int64_t* v, size_t m, const int64_t* y, size_t n, uint32_t* pos);

// The Hodges-Lehmann count's check of a row (stats/hodges_lehmann.cc): with q_i = ranks[i]
// the rank of fl(x[i] - t) in y, writes out[i] = n - q_i and their sum to *total, and returns
// how many rows fail
// below(fl(x[i] - yp[q_i])) && !below(fl(x[i] - yp[q_i - 1])), where below(d) is d < t
// (strict) or d <= t; those rows' out[i] are then wrong. yp[-1] through yp[n + kRankPad - 1]
// must be readable (the AVX-512 path loads 16 values from yp[q_i - 1] for blocks of 8 rows).
// `ranks` ascend (x ascends).
size_t CheckRoundedRanks(const double* x, const uint32_t* ranks, size_t m, const double* yp,
                         size_t n, double t, bool strict, uint64_t* out, uint64_t* total);

enum class RankIsa { kScalar, kAvx2, kAvx512 };
// The instruction set in use: the best the CPU has, unless a test forced a lower one.
RankIsa ActiveRankIsa();
RankIsa BestRankIsa();
// Every instruction set this CPU can run, scalar first (for tests that try each).
std::vector<RankIsa> AvailableRankIsas();
// For tests: run every path on the same data. Not thread-safe; call before concurrent use.
void ForceRankIsa(RankIsa isa);

}  // namespace augur::stats::internal
