#include "stats/sort.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace augur::stats::internal {
namespace {

// Maps a double to an unsigned key with the same order: flip all bits of negatives, only
// the sign bit of non-negatives.
inline uint64_t ToKey(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return (b >> 63) ? ~b : (b | (uint64_t{1} << 63));
}
inline double FromKey(uint64_t k) {
  uint64_t b = (k >> 63) ? (k & ~(uint64_t{1} << 63)) : ~k;
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

}  // namespace

void SortFinite(std::vector<double>& values) {
  for (double& v : values) v += 0.0;  // -0.0 + 0.0 == +0.0
  const size_t n = values.size();
  if (n < 4096) {
    std::sort(values.begin(), values.end());
    return;
  }
  constexpr int kDigits = 4;
  std::vector<uint64_t> a(n), b(n);
  std::vector<std::array<uint32_t, 65536>> hist(kDigits);
  for (auto& h : hist) h.fill(0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = ToKey(values[i]);
    a[i] = k;
    for (int d = 0; d < kDigits; ++d) ++hist[d][(k >> (16 * d)) & 0xFFFF];
  }
  for (int d = 0; d < kDigits; ++d) {
    auto& h = hist[d];
    // A digit shared by every key does not reorder anything: skip the pass.
    if (h[(a[0] >> (16 * d)) & 0xFFFF] == n) continue;
    uint32_t sum = 0;
    for (auto& c : h) {
      const uint32_t cnt = c;
      c = sum;
      sum += cnt;
    }
    for (size_t i = 0; i < n; ++i) b[h[(a[i] >> (16 * d)) & 0xFFFF]++] = a[i];
    a.swap(b);
  }
  for (size_t i = 0; i < n; ++i) values[i] = FromKey(a[i]);
}

}  // namespace augur::stats::internal
