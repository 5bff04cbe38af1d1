// Counting one sorted sample against another by a merge (private to stats/).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace augur::stats::internal {

// c[i] = #{q : y[q] <= v[i]} (kUpper) or #{q : y[q] < v[i]}, for ascending v[0, m) and
// y[0, n), as one merge of the two, cut into four equal parts along the merge path so that
// four branch-free cursors run in lockstep: a single cursor is a chain of load, compare and
// add per element, four overlap it. REQUIRES: v[m] and y[n] readable (+inf pads); c has m + 1
// slots (c[m] is scratch).
template <bool kUpper>
inline void RankInSorted(const double* v, size_t m, const double* y, size_t n, uint32_t* c) {
  // y[q] goes before v[i] in the merge when it counts for v[i].
  auto y_first = [](double yq, double vi) { return kUpper ? yq <= vi : yq < vi; };
  const size_t total = m + n;
  constexpr int kStreams = 4;
  struct Cursor {
    size_t i, q;
  };
  Cursor cur[kStreams];
  size_t ends[kStreams];
  for (int s = 0; s < kStreams; ++s) {
    const size_t d = total * s / kStreams;
    // The first i whose v does not go before y[d - i - 1].
    size_t lo = d > n ? d - n : 0, hi = std::min(d, m);
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (!y_first(y[d - mid - 1], v[mid])) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    cur[s] = {lo, d - lo};
    ends[s] = total * (s + 1) / kStreams - d;
  }
  // One step passes y[q] or v[i]; when v[i] passes, q is its count. The count is written at
  // every step (it is final once v[i] passes), which keeps the step free of branches.
  auto step = [&](Cursor& e) {
    const size_t yq_first = (e.q < n) & y_first(y[e.q], v[e.i]);
    c[e.i] = static_cast<uint32_t>(e.q);
    e.q += yq_first;
    e.i += 1 - yq_first;
  };
  const size_t common = total / kStreams;  // <= every part's length
  for (size_t t = 0; t < common; ++t) {
    step(cur[0]);
    step(cur[1]);
    step(cur[2]);
    step(cur[3]);
  }
  for (int s = 0; s < kStreams; ++s) {
    if (ends[s] > common) step(cur[s]);
  }
  // A part that ends with y steps wrote a stale count for the first v of the next part,
  // possibly after that part had written the right one: redo those few.
  for (int s = 0; s + 1 < kStreams; ++s) {
    const size_t i = cur[s].i;
    if (i >= m) continue;
    size_t lo = 0, hi = n;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (y_first(y[mid], v[i])) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    c[i] = static_cast<uint32_t>(lo);
  }
}

}  // namespace augur::stats::internal
