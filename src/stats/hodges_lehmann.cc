#include "augur/stats/hodges_lehmann.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "stats/sort.h"

namespace augur::stats {
namespace {

// splitmix64: a tiny deterministic generator, so a selection is reproducible run to run.
struct SplitMix {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }
};

// The matrix M[i][j] = x[i] - yd[j] with yd = y descending has ascending rows and columns.
// Values are always computed as x[i] - y[...] so that comparisons see exactly the doubles
// R's outer(x, y, "-") holds (rounding is monotone, which keeps rows and columns sorted).
class Matrix {
 public:
  Matrix(std::span<const double> x, std::span<const double> y) : x_(x), y_(y) {}
  size_t rows() const { return x_.size(); }
  size_t cols() const { return y_.size(); }
  double At(size_t i, size_t j) const { return x_[i] - y_[y_.size() - 1 - j]; }

  // For every row, the number of entries < t (strict) or <= t, written to out[i].
  // Row counts are non-increasing in i, so one two-pointer sweep is O(rows + cols).
  template <bool kStrict>
  void CountBelow(double t, std::vector<uint64_t>* out) const {
    size_t p = cols();
    for (size_t i = 0; i < rows(); ++i) {
      while (p > 0 && !(kStrict ? At(i, p - 1) < t : At(i, p - 1) <= t)) --p;
      (*out)[i] = p;
    }
  }

  // Both counts of one pass in a single sweep: below[i] = #{< a}, upto[i] = #{<= b}, a <= b.
  void CountBracket(double a, double b, std::vector<uint64_t>* below,
                    std::vector<uint64_t>* upto) const {
    size_t p = cols(), q = cols();
    for (size_t i = 0; i < rows(); ++i) {
      while (p > 0 && !(At(i, p - 1) < a)) --p;
      while (q > 0 && !(At(i, q - 1) <= b)) --q;
      (*below)[i] = p;
      (*upto)[i] = q;
    }
  }

 private:
  std::span<const double> x_, y_;
};

// k is 0-based here.
double Select(const Matrix& mat, uint64_t k) {
  const size_t m = mat.rows(), n = mat.cols();
  std::vector<uint64_t> lo(m, 0), hi(m, n), below(m), upto(m), prefix(m + 1);
  uint64_t excluded_below = 0;
  // Gathering the last candidates costs O(candidates); a pass costs O(m + n). Stopping at
  // (m + n) / 4 candidates balances the two.
  const uint64_t gather_limit = std::max<uint64_t>(8192, static_cast<uint64_t>(m + n) / 4);
  SplitMix rng{0x5EED0000ULL ^ k ^ (static_cast<uint64_t>(m) << 32) ^ n};
  std::vector<double> sample;
  for (int pass = 0;; ++pass) {
    prefix[0] = 0;
    for (size_t i = 0; i < m; ++i) prefix[i + 1] = prefix[i] + (hi[i] - lo[i]);
    const uint64_t candidates = prefix[m];
    const uint64_t rank = k - excluded_below;  // rank of the target among the candidates
    if (candidates <= gather_limit || pass > 200) {
      std::vector<double> pool;
      pool.reserve(candidates);
      for (size_t i = 0; i < m; ++i)
        for (uint64_t j = lo[i]; j < hi[i]; ++j) pool.push_back(mat.At(i, j));
      std::nth_element(pool.begin(), pool.begin() + rank, pool.end());
      return pool[rank];
    }
    // Sample the candidates and take two sample order statistics that bracket the target's
    // relative position with high probability (Floyd & Rivest 1975). The sample is
    // systematic (every step-th candidate in row order from a random offset): one O(m + s)
    // walk instead of s binary searches, and stratified, which only tightens the bracket.
    // A +-3 sqrt(s) bracket keeps ~6/sqrt(s) of the candidates; s grows with m + n so that a
    // pass stays O(m + n).
    const size_t s = static_cast<size_t>(
        std::min<uint64_t>(std::clamp<uint64_t>((m + n) / 2, 256, 65536), candidates));
    const uint64_t step = candidates / s;
    uint64_t idx = rng.Below(step);
    sample.clear();
    for (size_t i = 0; i < m && sample.size() < s; ++i) {
      for (; idx < prefix[i + 1] && sample.size() < s; idx += step) {
        sample.push_back(mat.At(i, lo[i] + (idx - prefix[i])));
      }
    }
    const double pos = static_cast<double>(rank) / candidates * s;
    const double spread = 3.0 * std::sqrt(static_cast<double>(s));
    const long a_idx = static_cast<long>(std::floor(pos - spread));
    const long b_idx = static_cast<long>(std::ceil(pos + spread));
    double a = -INFINITY, b = INFINITY;
    if (a_idx >= 0) {
      std::nth_element(sample.begin(), sample.begin() + a_idx, sample.end());
      a = sample[a_idx];
    }
    if (b_idx < static_cast<long>(s)) {
      const auto first = sample.begin() + std::max<long>(a_idx, 0);
      std::nth_element(first, sample.begin() + b_idx, sample.end());
      b = sample[b_idx];
    }
    mat.CountBracket(a, b, &below, &upto);
    uint64_t n_below = 0, n_upto = 0;
    for (size_t i = 0; i < m; ++i) {
      n_below += below[i];
      n_upto += upto[i];
    }
    if (k < n_below) {  // target < a
      for (size_t i = 0; i < m; ++i) hi[i] = std::min(hi[i], below[i]);
    } else if (k >= n_upto) {  // target > b
      for (size_t i = 0; i < m; ++i) lo[i] = std::max(lo[i], upto[i]);
    } else {  // a <= target <= b
      if (a == b) return a;
      for (size_t i = 0; i < m; ++i) {
        lo[i] = std::max(lo[i], below[i]);
        hi[i] = std::min(hi[i], upto[i]);
      }
    }
    excluded_below = 0;
    for (size_t i = 0; i < m; ++i) excluded_below += lo[i];
  }
}

}  // namespace

double PairwiseDifferences::OrderStatistic(uint64_t k) const {
  return Select(Matrix(x_, y_), k - 1);
}

double PairwiseDifferences::Median() const {
  const uint64_t total = size();
  if (total % 2 == 1) return OrderStatistic(total / 2 + 1);
  const uint64_t k = total / 2;
  const double a = OrderStatistic(k);
  // The (k+1)-th difference is a again if more than k differences are <= a, else the
  // smallest difference above a: one O(m + n) sweep instead of a second selection.
  const Matrix mat(x_, y_);
  std::vector<uint64_t> upto(mat.rows());
  mat.CountBelow<false>(a, &upto);
  uint64_t n_upto = 0;
  double b = INFINITY;
  for (size_t i = 0; i < mat.rows(); ++i) {
    n_upto += upto[i];
    if (upto[i] < mat.cols()) b = std::min(b, mat.At(i, upto[i]));
  }
  if (n_upto > k) b = a;
  return static_cast<double>((static_cast<long double>(a) + b) / 2);  // as R's mean()
}

Result<double> HodgesLehmannEstimate(std::span<const double> x, std::span<const double> y,
                                     NonFinitePolicy non_finite) {
  auto xs = internal::SortedSample(x, "x", non_finite);
  if (!xs) return xs.error();
  auto ys = internal::SortedSample(y, "y", non_finite);
  if (!ys) return ys.error();
  return PairwiseDifferences(*xs, *ys).Median();
}

}  // namespace augur::stats
