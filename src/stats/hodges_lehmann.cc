#include "augur/stats/hodges_lehmann.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "augur/stats/descriptive.h"
#include "stats/rank_kernel.h"
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

// The loops around the rank kernel, compiled for AVX-512, AVX2 and baseline x86-64 and picked
// at load time (GCC's target_clones): at baseline width they took as long as the ranking.
#define AUGUR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

AUGUR_CLONES void Shift(const double* x, size_t m, double t, double* out) {
  for (size_t i = 0; i < m; ++i) out[i] = x[i] - t;
}

// The density of y around every boundary q in [0, n] (Matrix::Slope's term of a row whose
// boundary is q): the values [q - w, q + w) clamped to y, over the span they cover; 0 when q
// is outside y (0 or n) or the span is 0. The interior is a loop over contiguous values.
// Computed per row instead, each slope was a gather and a division per row (~27,000
// instructions, callgrind); the table costs ~10,000 once per selection.
AUGUR_CLONES void Densities(const double* y, size_t n, size_t w, double* out) {
  auto at = [&](size_t q) {
    if (q == 0 || q == n) return 0.0;
    const size_t lo = q > w ? q - w : 0, hi = std::min(n - 1, q + w - 1);
    const double span = y[hi] - y[lo];
    return span > 0 ? static_cast<double>(hi - lo) / span : 0.0;
  };
  const size_t first = std::max<size_t>(w, 1), last = n - w;  // interior: [first, last]
  for (size_t q = 0; q < first && q <= n; ++q) out[q] = at(q);
  const double count = static_cast<double>(2 * w - 1);
  for (size_t q = first; q <= last; ++q) {
    const double span = y[q + w - 1] - y[q - w];
    out[q] = (span > 0 ? count : 0.0) / (span > 0 ? span : 1.0);
  }
  for (size_t q = std::max(first, last + 1); q <= n; ++q) out[q] = at(q);
}

// Sum of hi[i] - lo[i] over the rows; true when some lo[i] > hi[i].
AUGUR_CLONES bool BandTotal(const uint64_t* lo, const uint64_t* hi, size_t m, uint64_t* total) {
  uint64_t sum = 0, inverted = 0;
  for (size_t i = 0; i < m; ++i) {
    inverted |= lo[i] > hi[i];
    sum += hi[i] - lo[i];
  }
  *total = sum;
  return inverted != 0;
}

// Bit i - base set where row i holds candidates (hi[i] > lo[i]), rows [base, stop), at most 64.
AUGUR_CLONES uint64_t NonEmptyRows(const uint64_t* lo, const uint64_t* hi, size_t base,
                                   size_t stop) {
  uint64_t mask = 0;
  for (size_t i = base; i < stop; ++i) mask |= static_cast<uint64_t>(hi[i] > lo[i]) << (i - base);
  return mask;
}

#undef AUGUR_CLONES

// The matrix M[i][j] = x[i] - yd[j] with yd = y descending has ascending rows and columns.
// Values are always computed as x[i] - y[...] so that comparisons see exactly the doubles
// R's outer(x, y, "-") holds (rounding is monotone, which keeps rows and columns sorted).
class Matrix {
 public:
  Matrix(std::span<const double> x, std::span<const double> y)
      : x_(x),
        y_(y),
        y_padded_(y.size() + 1 + internal::kRankPad, INFINITY),
        y_ranked_(y.size() + internal::kRankPad, NAN),
        shifted_(x.size()),
        ranks_(x.size()) {
    y_padded_.front() = -INFINITY;
    std::copy(y.begin(), y.end(), y_padded_.begin() + 1);  // then +inf: the check's pad
    std::copy(y.begin(), y.end(), y_ranked_.begin());
  }
  size_t rows() const { return x_.size(); }
  size_t cols() const { return y_.size(); }
  double At(size_t i, size_t j) const { return x_[i] - y_[y_.size() - 1 - j]; }

  // For every row, the number of entries < t (kStrict) or <= t, written to out[i].
  //
  // Row i's entries fl(x[i] - y[q]) < t are those with q >= some q_i (rounding is monotone),
  // and in real numbers q_i = #{y[q] <= x[i] - t}. So the rows' counts are the ranks of
  // fl(x[i] - t) (ascending in i) in y (stats/rank_kernel.h), and each is then checked with
  // the exact predicate at q_i and q_i - 1, which is what decides it; only where rounding
  // moved the boundary (a difference within an ulp or so of t) does a row step to the exact
  // q_i. Exact whatever the rounding, and about 10x faster than walking the matrix's
  // staircase, whose every step waits on the previous compare.
  // Returns the sum over the rows (the rank kernel's check sums as it goes).
  template <bool kStrict>
  uint64_t CountBelow(double t, uint64_t* out) const {
    const size_t m = rows(), n = cols();
    if (std::isinf(t)) {  // the entries are finite
      std::fill(out, out + m, t > 0 ? static_cast<uint64_t>(n) : uint64_t{0});
      return t > 0 ? static_cast<uint64_t>(m) * n : 0;
    }
    Shift(x_.data(), m, t, shifted_.data());
    // In reals, x - y < t iff y > x - t, so q_i = #{y <= x - t}; for <= t, #{y < x - t}.
    if constexpr (kStrict) {
      internal::RankAtMost(shifted_.data(), m, y_ranked_.data(), n, ranks_.data());
    } else {
      internal::RankBelow(shifted_.data(), m, y_ranked_.data(), n, ranks_.data());
    }
    const double* yp = y_padded_.data() + 1;  // yp[-1] = -inf, yp[n...] = +inf
    // Right unless rounding moved a row's boundary (a difference within an ulp or so of t).
    uint64_t total = 0;
    if (internal::CheckRoundedRanks(x_.data(), ranks_.data(), m, yp, n, t, kStrict, out,
                                    &total) == 0) {
      return total;
    }
    auto below = [t](double d) { return kStrict ? d < t : d <= t; };
    total = 0;
    for (size_t i = 0; i < m; ++i) {
      const double xi = x_[i];
      size_t q = ranks_[i];
      while (q < n && !below(xi - yp[q])) ++q;
      while (q > 0 && below(xi - yp[q - 1])) --q;
      out[i] = n - q;
      total += out[i];
    }
    return total;
  }

  // d(count)/dt near a threshold t whose per-row counts are `counts` (CountBelow's out): row
  // i's count grows at the density of y around x[i] - t, estimated from the 2w values of y
  // around the row's boundary as count / span. Summed over the rows, the noise of single rows
  // averages out: a Newton step of 25,000 ranks (the distance from the middle to a 95% bound
  // for 1,000 x 1,000) then lands within ~1% of it (w = 16; 8 was noisier, 32 bent with the
  // density). Rows whose boundary is outside y add nothing; NaN when no row says anything.
  double Slope(const uint64_t* counts) const {
    const size_t m = rows(), n = cols();
    if (density_.empty()) {  // once per selection: y does not change
      density_.resize(n + 1);
      Densities(y_.data(), n, std::max<size_t>(1, std::min<size_t>(16, n / 2)), density_.data());
    }
    double sum[4] = {0, 0, 0, 0};  // four chains, not one add waiting on the last
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
      for (size_t l = 0; l < 4; ++l) sum[l] += density_[n - counts[i + l]];
    }
    for (; i < m; ++i) sum[0] += density_[n - counts[i]];
    const double slope = (sum[0] + sum[1]) + (sum[2] + sum[3]);
    return slope > 0 ? slope : NAN;
  }

  // For per-row counts of a threshold (CountBelow's out): the smallest entry not counted (+inf
  // when all are) and the largest entry counted (-inf when none is). Rows are ascending, so
  // each row offers one entry.
  double SmallestUncounted(const uint64_t* counts) const { return Extreme<true>(counts); }
  double LargestCounted(const uint64_t* counts) const { return Extreme<false>(counts); }

  // below[i] = #{< a}, upto[i] = #{<= b} in every row; returns the two totals.
  std::pair<uint64_t, uint64_t> CountBracket(double a, double b, uint64_t* below,
                                             uint64_t* upto) const {
    return {CountBelow<true>(a, below), CountBelow<false>(b, upto)};
  }

 private:
  // SmallestUncounted / LargestCounted: four running extremes without a branch per row (tied
  // data steps past gaps with these, and one dependent MINSD chain with a branch per row was
  // a tenth of such a judgement).
  template <bool kSmallest>
  double Extreme(const uint64_t* counts) const {
    const size_t m = rows(), n = cols();
    constexpr double kNone = kSmallest ? INFINITY : -INFINITY;
    double acc[4] = {kNone, kNone, kNone, kNone};
    auto entry = [&](size_t i) {
      const uint64_t c = counts[i];
      const bool has = kSmallest ? c < n : c > 0;
      const double v = At(i, has ? (kSmallest ? c : c - 1) : 0);
      return has ? v : kNone;
    };
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
      for (size_t l = 0; l < 4; ++l) {
        acc[l] = kSmallest ? std::min(acc[l], entry(i + l)) : std::max(acc[l], entry(i + l));
      }
    }
    for (; i < m; ++i) acc[0] = kSmallest ? std::min(acc[0], entry(i)) : std::max(acc[0], entry(i));
    return kSmallest ? std::min(std::min(acc[0], acc[1]), std::min(acc[2], acc[3]))
                     : std::max(std::max(acc[0], acc[1]), std::max(acc[2], acc[3]));
  }

  std::span<const double> x_, y_;
  std::vector<double> y_padded_;
  std::vector<double> y_ranked_;  // y, then the NaN pad the rank kernel reads
  // Scratch of the counts: a Matrix is local to one selection.
  mutable std::vector<double> shifted_;  // x - t
  mutable std::vector<uint32_t> ranks_;
  mutable std::vector<double> density_;  // Slope's table, built on first use
};

// Candidates few enough to copy out and nth_element. Gathering costs ~25 instructions per
// candidate, a pass ~30 per row and column (callgrind, 500-1000 values per side), so the
// break-even is near m + n candidates; (m + n) / 4 keeps the copy small for huge samples
// and costs little, as each pass shrinks the candidates 10-30x.
uint64_t GatherLimit(size_t m, size_t n) {
  return std::max<uint64_t>(2048, static_cast<uint64_t>(m + n) / 4);
}

// The k-th smallest (0-based) of a[0, n) into a[k], with a[0, k) <= a[k] <= a[k + 1, n) as
// std::nth_element leaves them: quickselect with a branch-free partition. nth_element's
// partition branched on every compare of candidates in random order, and mispredicted about
// 190 times per gather of ~130 (callgrind's branch model; 64 here). Quadratic only for
// adversarial orders, so large inputs keep nth_element.
void SelectInPlace(double* a, size_t n, size_t k) {
  if (n > 4096) {
    std::nth_element(a, a + k, a + n);
    return;
  }
  size_t lo = 0, hi = n;  // a[k]'s final value lies in [lo, hi); outside is partitioned
  while (hi - lo > 16) {
    const double p0 = a[lo], p1 = a[lo + (hi - lo) / 2], p2 = a[hi - 1];
    const double p = std::max(std::min(p0, p1), std::min(std::max(p0, p1), p2));  // median
    // Lomuto without a branch: every element is swapped to the front, and the front only
    // grows past the ones below the pivot.
    size_t i = lo;
    for (size_t j = lo; j < hi; ++j) {
      const double v = a[j];
      a[j] = a[i];
      a[i] = v;
      i += v < p;
    }
    if (k < i) {
      hi = i;
      continue;
    }
    if (i == lo) {  // nothing below the pivot: set its ties apart, so that every round shrinks
      for (size_t j = lo; j < hi; ++j) {
        const double v = a[j];
        a[j] = a[i];
        a[i] = v;
        i += v <= p;
      }
      if (k < i) return;  // a[lo, i) all equal p, and k is among them
    }
    lo = i;
  }
  for (size_t i = lo + 1; i < hi; ++i) {  // insertion sort of the last few
    const double v = a[i];
    size_t j = i;
    for (; j > lo && a[j - 1] > v; --j) a[j] = a[j - 1];
    a[j] = v;
  }
}

// Copies the candidates of every row, columns [lo[i], hi[i]), and returns the one of 0-based
// rank `rank` among them; with `next`, also the one after it (NaN when `rank` is the last).
// Nullopt when the rows do not hold exactly `candidates` entries (a side pair that does not
// bracket; callers whose bands are consistent by construction never see it).
std::optional<double> Gather(const Matrix& mat, const uint64_t* lo, const uint64_t* hi,
                             uint64_t candidates, uint64_t rank, double* next) {
  const size_t m = mat.rows();
  uint64_t total = 0;
  if (BandTotal(lo, hi, m, &total) || total != candidates || rank >= candidates) {
    return std::nullopt;
  }
  std::unique_ptr<double[]> pool(new double[candidates]);
  double* const begin = pool.get();
  double* end = begin;
  // Most rows hold none once the band is narrow, and a branch per row mispredicted on the few
  // that do: a bit mask per 64 rows (vectorised), then only its set bits are visited.
  for (size_t base = 0; base < m; base += 64) {
    for (uint64_t mask = NonEmptyRows(lo, hi, base, std::min(m, base + 64)); mask != 0;
         mask &= mask - 1) {
      const size_t i = base + static_cast<size_t>(__builtin_ctzll(mask));
      for (uint64_t j = lo[i]; j < hi[i]; ++j) *end++ = mat.At(i, j);
    }
  }
  SelectInPlace(begin, candidates, rank);
  if (next != nullptr)
    *next = rank + 1 < candidates ? *std::min_element(begin + rank + 1, end) : NAN;
  return begin[rank];
}

// Two order statistics of a sample that bracket the relative positions [lo_pos, hi_pos] (in
// sample ranks) with high probability: +-3 sqrt(s) ranks around them (Floyd & Rivest 1975).
// -inf / +inf for a side that falls outside the sample. Reorders the sample.
std::pair<double, double> SampleBracket(std::vector<double>* sample, double lo_pos, double hi_pos) {
  const long s = static_cast<long>(sample->size());
  const double spread = 3.0 * std::sqrt(static_cast<double>(s));
  const long a_idx = static_cast<long>(std::floor(lo_pos - spread));
  const long b_idx = static_cast<long>(std::ceil(hi_pos + spread));
  // One vectorised sort (SortAscending) rather than two nth_element: their partitions of
  // random differences mispredicted about every other compare (a tenth of augur mode).
  SortAscending(*sample);
  const double a = a_idx >= 0 ? (*sample)[a_idx] : -INFINITY;
  const double b = b_idx < s ? (*sample)[b_idx] : INFINITY;
  return {a, b};
}

// k is 0-based here.
// With `next`, also the (k+2)-th smallest (0-based k + 1) when the last pass's candidates hold
// it, else NaN: an even count's median needs both middle differences, and the gathered
// candidates usually contain the second one.
double Select(const Matrix& mat, uint64_t k, double* next = nullptr) {
  if (next != nullptr) *next = NAN;
  const size_t m = mat.rows(), n = mat.cols();
  // One uninitialised block for the per-row arrays: five zero-filled vectors cost as much as a
  // pass for small samples.
  std::unique_ptr<uint64_t[]> block(new uint64_t[5 * m + 1]);
  uint64_t* const lo = block.get();
  uint64_t* const hi = lo + m;
  uint64_t* const below_p = hi + m;
  uint64_t* const upto_p = below_p + m;
  uint64_t* const prefix = upto_p + m;
  std::fill(lo, lo + m, uint64_t{0});
  std::fill(hi, hi + m, static_cast<uint64_t>(n));
  uint64_t excluded_below = 0;
  const uint64_t gather_limit = GatherLimit(m, n);
  SplitMix rng{0x5EED0000ULL ^ k ^ (static_cast<uint64_t>(m) << 32) ^ n};
  std::vector<double> sample;
  // Every candidate lies in [v_lo, v_hi] (rounding is monotone, so the corners bound the
  // matrix).
  double v_lo = mat.At(0, 0), v_hi = mat.At(m - 1, n - 1);
  uint64_t previous_candidates = 0;  // before the last pass
  bool two_sided = false;            // the last pass bracketed the target (cut both sides)
  for (int pass = 0;; ++pass) {
    prefix[0] = 0;
    for (size_t i = 0; i < m; ++i) prefix[i + 1] = prefix[i] + (hi[i] - lo[i]);
    const uint64_t candidates = prefix[m];
    const uint64_t rank = k - excluded_below;  // rank of the target among the candidates
    if (candidates <= gather_limit || pass > 200) {
      return *Gather(mat, lo, hi, candidates, rank, next);  // the band is consistent
    }
    double a = -INFINITY, b = INFINITY;
    // Once a pass has cut the candidates to a value band around the target, their
    // values are close to uniform over [v_lo, v_hi]: linear interpolation of the target's
    // rank then lands within a few sqrt(candidates) ranks of it, and a bracket of +-3
    // sqrt(candidates) ranks keeps ~6 / sqrt(candidates) of them, far fewer than sampling
    // keeps. It needs no sample at all. Any bracket gives the exact answer (a miss only cuts
    // less); after a miss, or a pass that did not halve the candidates, the next samples.
    const double width = v_hi - v_lo;
    const bool interpolate =
        two_sided && candidates * 2 <= previous_candidates && std::isfinite(width);
    if (interpolate) {
      const double c = static_cast<double>(candidates);
      const double half = 3.0 * std::sqrt(c) + c / 64 + 16.0;
      const double target = static_cast<double>(rank) + 0.5;
      if (target - half > 0) a = v_lo + (target - half) / c * width;
      if (target + half < c) b = v_lo + (target + half) / c * width;
    } else {
      // Sample the candidates and take two sample order statistics that bracket the target's
      // relative position with high probability (Floyd & Rivest 1975). The sample is
      // stratified (one candidate at a random place in each run of `step` candidates in row
      // order): one O(m + s) walk instead of s binary searches. A fixed offset per run would
      // pick a single column whenever the row length divides the step (n x n samples), which
      // is far from representative and made the bracket miss.
      // A +-3 sqrt(s) bracket keeps ~6/sqrt(s) of the candidates; s grows with m + n so that
      // a pass stays O(m + n).
      const size_t s = static_cast<size_t>(
          std::min<uint64_t>(std::clamp<uint64_t>((m + n) / 2, 256, 65536), candidates));
      const uint64_t step = candidates / s;
      uint64_t stratum = 0, idx = rng.Below(step);
      sample.clear();
      for (size_t i = 0; i < m && sample.size() < s; ++i) {
        while (idx < prefix[i + 1] && sample.size() < s) {
          sample.push_back(mat.At(i, lo[i] + (idx - prefix[i])));
          stratum += step;
          idx = stratum + rng.Below(step);
        }
      }
      const double pos = static_cast<double>(rank) / candidates * s;
      std::tie(a, b) = SampleBracket(&sample, pos, pos);
    }
    previous_candidates = candidates;
    two_sided = false;
    const auto [n_below, n_upto] = mat.CountBracket(a, b, below_p, upto_p);
    if (k < n_below) {  // target < a
      for (size_t i = 0; i < m; ++i) hi[i] = std::min(hi[i], below_p[i]);
      v_hi = std::min(v_hi, a);
    } else if (k >= n_upto) {  // target > b
      for (size_t i = 0; i < m; ++i) lo[i] = std::max(lo[i], upto_p[i]);
      v_lo = std::max(v_lo, b);
    } else {  // a <= target <= b
      if (a == b) return a;
      for (size_t i = 0; i < m; ++i) {
        lo[i] = std::max(lo[i], below_p[i]);
        hi[i] = std::min(hi[i], upto_p[i]);
      }
      v_lo = std::max(v_lo, a);
      v_hi = std::min(v_hi, b);
      two_sided = true;
    }
    excluded_below = 0;
    for (size_t i = 0; i < m; ++i) excluded_below += lo[i];
  }
}

// A threshold whose per-row counts are known: count = #{< t} (strict) or #{<= t} summed over
// the rows. For a target of 0-based rank k it is a lower side (every counted entry ranks below
// the target) when count <= k, an upper side otherwise, whichever the strictness.
struct Probe {
  double t;
  uint64_t count;
  std::unique_ptr<uint64_t[]> rows;  // per-row counts (m words)
  bool strict = true;  // count = #{< t}; false: #{<= t}
  double slope = NAN;  // Matrix::Slope at t, computed when first needed

  // One counting pass at t.
  static Probe At(const Matrix& mat, double t, bool strict) {
    Probe p{t, 0, std::make_unique_for_overwrite<uint64_t[]>(mat.rows()), strict};
    p.count = strict ? mat.CountBelow<true>(t, p.rows.get()) : mat.CountBelow<false>(t, p.rows.get());
    return p;
  }

  double SlopeOf(const Matrix& mat) {
    if (std::isnan(slope)) slope = mat.Slope(rows.get());
    return slope;
  }
};

enum class Step { kFound, kMoved, kGiveUp };

// Tied data: a probe in a gap between distinct differences counts what the side it came from
// counted, and aiming by values could shrink such gaps for ever while the target is one value
// held by thousands of entries. So after such a probe (probes->back(), `low` when it is a lower
// side) the next goes to the nearest entry past the gap, v, counted so that v either is the
// target (kFound, in *out) or becomes a side past all of v's ties (kMoved).
// Lower: v is the smallest entry the gap probe did not count, so #{< v} <= k, and v is the
// target when #{<= v} > k. Upper: v is the largest entry it counted, the mirror image.
Step PastGap(const Matrix& mat, uint64_t k, bool low, std::vector<Probe>* probes, double* out) {
  const Probe& gap = probes->back();
  const double v =
      low ? mat.SmallestUncounted(gap.rows.get()) : mat.LargestCounted(gap.rows.get());
  if (!std::isfinite(v)) return Step::kGiveUp;
  Probe q = Probe::At(mat, v, /*strict=*/!low);
  const bool found = low ? q.count > k : q.count <= k;
  probes->push_back(std::move(q));  // found or not, a side for later targets
  if (found) {
    *out = v;
    return Step::kFound;
  }
  return Step::kMoved;
}

// The k-th smallest (0-based) from known probes, adding probes until a lower and an upper
// side hold few enough candidates between them to gather. Each probe is one counting pass
// aimed by interpolating the rank linearly between the tightest sides known: the first lands
// within ~1% of the band's width of the target (the count is smooth there); the next is aimed
// just past the target from the side that came close, so that it becomes the other side and
// the gather holds a few hundred more than that first miss. Probes are shared by all targets
// (`probes` grows), so a later target starts from the earlier ones' points. Returns false
// (out untouched) when it gives up (non-finite sides, no progress): Select then takes over.
// `next` as Select's.
bool SelectByProbes(const Matrix& mat, uint64_t k, std::vector<Probe>* probes, double* out,
                    double* next) {
  const size_t m = mat.rows();
  // Tighter than Select's: a probe (one count) costs about as much as nth_element over m + n
  // candidates, and each probe here cuts the candidates 5-10x.
  const uint64_t gather_limit = std::max<uint64_t>(256, (m + mat.cols()) / 8);
  uint64_t previous = 0;      // candidates before the last interpolated probe (0: none)
  bool crept_down = false;    // that probe became the upper side
  for (int attempt = 0; attempt < 12; ++attempt) {
    Probe* lo = nullptr;
    Probe* hi = nullptr;
    for (Probe& p : *probes) {
      if (p.count <= k) {
        if (lo == nullptr || p.count > lo->count || (p.count == lo->count && p.t > lo->t)) lo = &p;
      } else if (hi == nullptr || p.count < hi->count || (p.count == hi->count && p.t < hi->t)) {
        hi = &p;
      }
    }
    if ((lo == nullptr) != (hi == nullptr)) {
      // One side only (SelectMany's first probe is near the middle): a Newton step from it with
      // the local slope, aimed just past the target so that it becomes the other side. Its error
      // is ~1% of the distance on continuous data (2-3% on skewed), but a margin of that size
      // cost more passes than it saved (1,000 x 1,000, five shapes): a step that falls short
      // is a closer side of the same kind, and the next step starts there.
      Probe& side = lo != nullptr ? *lo : *hi;
      const double slope = side.SlopeOf(mat);
      if (!std::isfinite(side.t) || !(slope > 0) || !std::isfinite(slope)) return false;
      const double d = std::fabs(static_cast<double>(k) + 0.5 - static_cast<double>(side.count));
      const double step = (d + 2 * std::sqrt(d) + 16) / slope;
      const double t = lo != nullptr ? side.t + step : side.t - step;
      if (!std::isfinite(t) || t == side.t) return false;
      Probe p = Probe::At(mat, t, /*strict=*/lo == nullptr);
      const bool stuck = p.count == side.count;
      const bool low = lo != nullptr;
      previous = 0;
      probes->push_back(std::move(p));  // `side` may dangle from here
      if (stuck) {
        const Step step = PastGap(mat, k, low, probes, out);
        if (step == Step::kGiveUp) return false;
        if (step == Step::kFound) {
          if (next != nullptr) *next = NAN;
          return true;
        }
      }
      continue;
    }
    if (lo == nullptr || hi == nullptr || !std::isfinite(lo->t) || !std::isfinite(hi->t) ||
        !(lo->t <= hi->t)) {
      return false;
    }
    if (lo->t == hi->t) {  // #{< t} <= k < #{<= t}: the target is t
      if (next != nullptr) *next = NAN;
      *out = lo->t;
      return true;
    }
    const uint64_t candidates = hi->count - lo->count;
    // Differences piled up at a side's own value (near-constant data: most are exactly 0)
    // make the probes creep towards that value without reaching it, since a side counted
    // strictly (#{< t} for a lower side, or #{<= t} for an upper one) leaves its value's ties
    // on the other side. When an interpolated probe kept more than half of the candidates,
    // and the side it crept towards holds ties at its value (its nearest entry outside the
    // count is the value itself: one scan, no pass), that side is counted the other way:
    // either its value is the target, or the new side is past all of its ties.
    if (previous != 0 && candidates * 2 > previous) {
      Probe& side = crept_down ? *lo : *hi;
      const bool low = crept_down;
      if (side.strict == low && (low ? mat.SmallestUncounted(side.rows.get())
                                     : mat.LargestCounted(side.rows.get())) == side.t) {
        Probe q = Probe::At(mat, side.t, !side.strict);
        const double t = side.t;
        const bool found = low ? q.count > k : q.count <= k;
        previous = 0;
        probes->push_back(std::move(q));  // kept for later targets; `side`, lo, hi may dangle
        if (found) {
          if (next != nullptr) *next = NAN;
          *out = t;
          return true;
        }
        continue;
      }
    }
    if (candidates <= gather_limit) {
      // Cannot fail for lo->t < hi->t; if it did, Select takes over.
      auto v = Gather(mat, lo->rows.get(), hi->rows.get(), candidates, k - lo->count, next);
      if (!v) return false;
      *out = *v;
      return true;
    }
    // Linear interpolation of the target's rank between the two sides, then a step past the
    // target, away from the side already close to it (one that is within a quarter of the
    // candidates), by a margin for the interpolation's error, which shrinks with the distance
    // d to that side (the count is close to linear over short spans). The margin's factors:
    // the fewest passes over four continuous shapes (0.1 d + 2 sqrt(d) took 3% more).
    const double width = hi->t - lo->t;
    const double c = static_cast<double>(candidates);
    const double below = static_cast<double>(k - lo->count) + 0.5;
    const double above = c - below;
    double target = below;
    auto margin = [](double d) { return 0.03 * d + std::sqrt(d) + 8; };
    if (below < c / 4) {
      target = std::min(below + margin(below), c / 2);
    } else if (above < c / 4) {
      target = std::max(below - margin(above), c / 2);
    }
    const double t = lo->t + target / c * width;
    if (!(t > lo->t && t < hi->t)) return false;  // no representable progress
    // Aimed above the target: an upper side needs #{<= t} > k, so count <= t; otherwise < t.
    Probe p = Probe::At(mat, t, /*strict=*/!(target > below));
    const bool stuck_low = p.count == lo->count, stuck_high = p.count == hi->count;
    previous = candidates;
    crept_down = p.count > k;
    probes->push_back(std::move(p));
    if (stuck_low || stuck_high) {
      previous = 0;
      const Step step = PastGap(mat, k, stuck_low, probes, out);
      if (step == Step::kGiveUp) return false;
      if (step == Step::kFound) {
        if (next != nullptr) *next = NAN;
        return true;
      }
    }
  }
  return false;
}

// The order statistics ks (0-based, ascending) into out. Targets close in rank, such as an
// interval's bounds and the median, share one sampling pass over the whole matrix: a single
// band holding all of them, from which each selection starts interpolating at once instead
// of paying its own full-matrix passes. Exact whatever the sample: if the band misses a
// target, that target is selected from scratch. `*next` gets what Select's `next` gives for
// ks[with_next] (NaN when unknown); with_next >= ks.size() asks for nothing.
void SelectMany(const Matrix& mat, std::span<const uint64_t> ks, double* out, size_t with_next,
                double* next) {
  auto next_of = [&](size_t t) { return t == with_next ? next : nullptr; };
  const size_t m = mat.rows(), n = mat.cols();
  const uint64_t total = static_cast<uint64_t>(m) * n;
  if (ks.empty() || total <= GatherLimit(m, n)) {
    for (size_t t = 0; t < ks.size(); ++t) out[t] = Select(mat, ks[t], next_of(t));
    return;
  }
  // One probe at the difference of the medians, which is within a few percent of the middle
  // rank for most data; every target then starts from it with Newton steps (SelectByProbes)
  // and shares the probes the earlier targets left. This replaced a sample of m + n
  // differences and a band counted around all targets: the sample's sort and the band's two
  // passes cost more than the one probe, and the band's sides, 3 sqrt(s) sample ranks out,
  // were too far from the targets to interpolate from well.
  std::vector<Probe> probes;
  {
    const double t = mat.At(m / 2, (n - 1) / 2);  // x[m / 2] - y[n / 2]
    probes.push_back(Probe::At(mat, t, /*strict=*/true));
  }
  for (size_t t = 0; t < ks.size(); ++t) {
    if (SelectByProbes(mat, ks[t], &probes, &out[t], next_of(t))) continue;
    if (next_of(t) != nullptr) *next = NAN;
    out[t] = Select(mat, ks[t], next_of(t));
  }
}

// The (k+1)-th difference (1-based) given the k-th, a: a again if more than k differences
// are <= a, else the smallest difference above a. One O(m + n) sweep.
double NextOrderStatistic(const Matrix& mat, uint64_t k, double a) {
  std::vector<uint64_t> upto(mat.rows());
  const uint64_t n_upto = mat.CountBelow<false>(a, upto.data());
  return n_upto > k ? a : mat.SmallestUncounted(upto.data());
}

double MeanOfTwo(double a, double b) {
  return static_cast<double>((static_cast<long double>(a) + b) / 2);  // as R's mean()
}

}  // namespace

namespace {
template <bool kStrict>
uint64_t Total(std::span<const double> x, std::span<const double> y, double t) {
  std::vector<uint64_t> rows(x.size());
  return Matrix(x, y).CountBelow<kStrict>(t, rows.data());
}
}  // namespace

uint64_t PairwiseDifferences::CountBelow(double t) const { return Total<true>(x_, y_, t); }

uint64_t PairwiseDifferences::CountAtMost(double t) const { return Total<false>(x_, y_, t); }

double PairwiseDifferences::OrderStatistic(uint64_t k) const {
  const uint64_t rank = k - 1;
  double out = 0;
  SelectMany(Matrix(x_, y_), std::span<const uint64_t>(&rank, 1), &out, 1, nullptr);
  return out;
}

std::array<double, 3> PairwiseDifferences::BoundsAndMedian(uint64_t k_low, uint64_t k_high) const {
  const Matrix mat(x_, y_);
  const uint64_t total = size();
  // 0-based ranks; the median's lower middle for an even count.
  const uint64_t mid = total % 2 == 1 ? total / 2 : total / 2 - 1;
  std::array<uint64_t, 3> ks = {k_low - 1, k_high - 1, mid};
  std::array<size_t, 3> order = {0, 1, 2};
  std::sort(order.begin(), order.end(), [&](size_t p, size_t q) { return ks[p] < ks[q]; });
  const std::array<uint64_t, 3> sorted = {ks[order[0]], ks[order[1]], ks[order[2]]};
  std::array<double, 3> found{};
  const size_t median_at =
      static_cast<size_t>(std::find(order.begin(), order.end(), 2) - order.begin());
  double next = NAN;
  SelectMany(mat, sorted, found.data(), total % 2 == 0 ? median_at : 3, &next);
  std::array<double, 3> out{};
  for (size_t t = 0; t < 3; ++t) out[order[t]] = found[t];
  if (total % 2 == 0) {
    if (std::isnan(next)) next = NextOrderStatistic(mat, total / 2, out[2]);
    out[2] = MeanOfTwo(out[2], next);
  }
  return out;
}

double PairwiseDifferences::Median() const {
  const uint64_t total = size();
  if (total % 2 == 1) return OrderStatistic(total / 2 + 1);
  const uint64_t k = total / 2;
  const Matrix mat(x_, y_);
  double next = NAN, a = 0;
  const uint64_t rank = k - 1;
  SelectMany(mat, std::span<const uint64_t>(&rank, 1), &a, 0, &next);
  return MeanOfTwo(a, std::isnan(next) ? NextOrderStatistic(mat, k, a) : next);
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
