#include "stats/rank_kernel.h"

#include <immintrin.h>

#include <atomic>
#include <cstring>

namespace augur::stats::internal {
namespace {

enum class Op { kDoubleBelow, kDoubleAtMost, kKeyBelow };

template <Op kOp>
using Elem = std::conditional_t<kOp == Op::kKeyBelow, int64_t, double>;

template <Op kOp>
inline bool Counts(Elem<kOp> yq, Elem<kOp> vk) {
  if constexpr (kOp == Op::kDoubleAtMost) {
    return yq <= vk;
  } else {
    return yq < vk;
  }
}

// The rank of v (as the op counts) among y[0, n): where a stream starts.
template <Op kOp>
size_t StartRank(const Elem<kOp>* y, size_t n, Elem<kOp> v) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (Counts<kOp>(y[mid], v)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

constexpr int kStreams = 4;

// One of the interleaved cursors, over a quarter of v: its next value k, the rank j of the
// value before it, its end, and (SIMD kernels, order keys) the ties it met.
struct Cursor {
  size_t k, j, end;
  uint64_t ties;
};

template <Op kOp>
void Split(const Elem<kOp>* v, size_t m, const Elem<kOp>* y, size_t n, Cursor* c) {
  for (int s = 0; s < kStreams; ++s) {
    const size_t begin = m * s / kStreams;
    c[s] = {begin, begin < m ? StartRank<kOp>(y, n, v[begin]) : n, m * (s + 1) / kStreams, 0};
  }
}

// The scalar kernel: a block of one, i.e. a branch-free merge step. pos[k] is written at every
// step and is final once y[j] no longer counts for v[k].
template <Op kOp>
uint64_t RankScalar(const Elem<kOp>* v, size_t m, const Elem<kOp>* y, size_t n, uint32_t* pos) {
  Cursor c[kStreams];
  Split<kOp>(v, m, y, n, c);
  auto step = [&](Cursor& e) {
    const size_t below = Counts<kOp>(y[e.j], v[e.k]);
    pos[e.k] = static_cast<uint32_t>(e.j);
    e.j += below;
    e.k += 1 - below;
  };
  while (c[0].k < c[0].end && c[1].k < c[1].end && c[2].k < c[2].end && c[3].k < c[3].end) {
    step(c[0]);
    step(c[1]);
    step(c[2]);
    step(c[3]);
  }
  for (auto& e : c) {
    while (e.k < e.end) step(e);
  }
  uint64_t ties = 0;
  if constexpr (kOp == Op::kKeyBelow) {
    for (size_t k = 0; k < m; ++k) ties += y[pos[k]] == v[k];
  }
  return ties;
}

// The SIMD kernels take v in groups: a group of G values whose ranks all lie in a window of
// W = 2G y values from the cursor j (checked with one compare: the window's last y does not
// count for the group's last v) gets all G ranks at once, j + #{window y counting for v}:
// with AVX-512 by a branch-free binary search of every lane in the window (4 compares and 4
// permutes), with AVX2 by one compare per window y. The next group starts at the last rank.
// A group that the window does not cover (y denser than v there) takes its first value alone,
// skipping y a block of G at a time. Four cursors over the quarters of v run interleaved:
// each group waits on the previous group's last rank, and four such chains overlap (with two,
// the AVX-512 kernel was 1.3x slower on 1,000 + 1,000 values).
#define AUGUR_AVX512 __attribute__((target("avx512f,popcnt"), always_inline)) inline
#define AUGUR_AVX2 __attribute__((target("avx2,popcnt"), always_inline)) inline

template <Op kOp>
struct Avx512 {
  using E = Elem<kOp>;
  static constexpr size_t kGroup = 8, kWindow = 16;
  // Lanes where probe counts for vv.
  static AUGUR_AVX512 __mmask8 Below(__m512i probe, __m512i vv) {
    if constexpr (kOp == Op::kKeyBelow) {
      return _mm512_cmplt_epi64_mask(probe, vv);
    } else {
      constexpr int kCmp = kOp == Op::kDoubleAtMost ? _CMP_LE_OQ : _CMP_LT_OQ;
      return _mm512_cmp_pd_mask(_mm512_castsi512_pd(probe), _mm512_castsi512_pd(vv), kCmp);
    }
  }
  // Writes the group's ranks; for keys returns how many equal the y at their rank.
  static AUGUR_AVX512 unsigned Group(const E* v, const E* y, size_t j, uint32_t* out) {
    const __m512i vv = _mm512_loadu_si512(v);
    const __m512i w0 = _mm512_loadu_si512(y + j), w1 = _mm512_loadu_si512(y + j + 8);
    // A branch-free binary search of each lane in the 16-value window, the window's values
    // picked by permutes: 4 compares per group instead of one per window value (the compares
    // all go to one port, which bounded the kernel).
    __m512i in_window = _mm512_setzero_si512();
    for (int64_t step = 8; step >= 1; step /= 2) {
      const __m512i probe = _mm512_permutex2var_epi64(
          w0, _mm512_add_epi64(in_window, _mm512_set1_epi64(step - 1)), w1);
      in_window =
          _mm512_mask_add_epi64(in_window, Below(probe, vv), in_window, _mm512_set1_epi64(step));
    }
    // in_window is now #{window values that count} (0..15: the window covers the group)
    const __m512i ranks = _mm512_add_epi64(in_window, _mm512_set1_epi64(static_cast<int64_t>(j)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_maskz_cvtepi64_epi32(0xFF, ranks));
    if constexpr (kOp == Op::kKeyBelow) {
      // The y at each rank, picked from the window's two registers by one permute (a gather
      // of eight loads cost a third of the group).
      const __m512i at = _mm512_permutex2var_epi64(w0, in_window, w1);
      return static_cast<unsigned>(__builtin_popcount(_mm512_cmpeq_epi64_mask(at, vv)));
    } else {
      return 0;
    }
  }
  // #{q < kGroup : y[q] counts for vk}.
  static AUGUR_AVX512 unsigned Block(const E* y, E vk) {
    if constexpr (kOp == Op::kKeyBelow) {
      return static_cast<unsigned>(__builtin_popcount(
          _mm512_cmplt_epi64_mask(_mm512_loadu_si512(y), _mm512_set1_epi64(vk))));
    } else {
      constexpr int kCmp = kOp == Op::kDoubleAtMost ? _CMP_LE_OQ : _CMP_LT_OQ;
      return static_cast<unsigned>(
          __builtin_popcount(_mm512_cmp_pd_mask(_mm512_loadu_pd(y), _mm512_set1_pd(vk), kCmp)));
    }
  }
};

template <Op kOp>
struct Avx2 {
  using E = Elem<kOp>;
  static constexpr size_t kGroup = 4, kWindow = 8;
  // All ones in the lanes of vv that y counts for.
  static AUGUR_AVX2 __m256i Lanes(E yq, __m256i vv) {
    if constexpr (kOp == Op::kKeyBelow) {
      return _mm256_cmpgt_epi64(vv, _mm256_set1_epi64x(yq));
    } else {
      constexpr int kCmp = kOp == Op::kDoubleAtMost ? _CMP_LE_OQ : _CMP_LT_OQ;
      return _mm256_castpd_si256(_mm256_cmp_pd(_mm256_set1_pd(yq), _mm256_castsi256_pd(vv), kCmp));
    }
  }
  static AUGUR_AVX2 unsigned Group(const E* v, const E* y, size_t j, uint32_t* out) {
    const __m256i vv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v));
    __m256i c0 = _mm256_set1_epi64x(static_cast<int64_t>(j)), c1 = _mm256_setzero_si256();
    for (size_t q = 0; q < kWindow; q += 2) {  // a lane of all ones is -1: subtract it
      c0 = _mm256_sub_epi64(c0, Lanes(y[j + q], vv));
      c1 = _mm256_sub_epi64(c1, Lanes(y[j + q + 1], vv));
    }
    const __m256i ranks = _mm256_add_epi64(c0, c1);
    const __m256i low32 =
        _mm256_permutevar8x32_epi32(ranks, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_castsi256_si128(low32));
    if constexpr (kOp == Op::kKeyBelow) {
      const __m256i at = _mm256_i64gather_epi64(reinterpret_cast<const long long*>(y), ranks, 8);
      return static_cast<unsigned>(
          __builtin_popcount(_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_cmpeq_epi64(at, vv)))));
    } else {
      return 0;
    }
  }
  static AUGUR_AVX2 unsigned Block(const E* y, E vk) {
    __m256i lanes;
    const __m256i yy = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y));
    if constexpr (kOp == Op::kKeyBelow) {
      lanes = _mm256_cmpgt_epi64(_mm256_set1_epi64x(vk), yy);
    } else {
      constexpr int kCmp = kOp == Op::kDoubleAtMost ? _CMP_LE_OQ : _CMP_LT_OQ;
      lanes = _mm256_castpd_si256(_mm256_cmp_pd(_mm256_castsi256_pd(yy), _mm256_set1_pd(vk), kCmp));
    }
    return static_cast<unsigned>(
        __builtin_popcount(_mm256_movemask_pd(_mm256_castsi256_pd(lanes))));
  }
};

// The driver, expanded in one function per instruction set: the target's intrinsics inline
// only into a function of that target (GCC gives neither lambdas nor always_inline helpers
// without the attribute its target, so this is a macro).
// One group, or one value when the window does not cover the group.
#define AUGUR_RANK_ADVANCE(T, e)                                             \
  do {                                                                       \
    if ((e).k + T::kGroup <= (e).end &&                                      \
        !Counts<kOp>(y[(e).j + T::kWindow - 1], v[(e).k + T::kGroup - 1])) { \
      (e).ties += T::Group(v + (e).k, y, (e).j, pos + (e).k);                \
      (e).j = pos[(e).k + T::kGroup - 1];                                    \
      (e).k += T::kGroup;                                                    \
    } else {                                                                 \
      for (;;) {                                                             \
        const unsigned cnt = T::Block(y + (e).j, v[(e).k]);                  \
        (e).j += cnt;                                                        \
        if (cnt < T::kGroup) break;                                          \
      }                                                                      \
      if constexpr (kOp == Op::kKeyBelow) (e).ties += y[(e).j] == v[(e).k];  \
      pos[(e).k++] = static_cast<uint32_t>((e).j);                           \
    }                                                                        \
  } while (0)

#define AUGUR_RANK_GROUPS(T)                                                                   \
  do {                                                                                         \
    Cursor h[kStreams];                                                                        \
    Split<kOp>(v, m, y, n, h);                                                                 \
    while (h[0].k < h[0].end && h[1].k < h[1].end && h[2].k < h[2].end && h[3].k < h[3].end) { \
      AUGUR_RANK_ADVANCE(T, h[0]);                                                             \
      AUGUR_RANK_ADVANCE(T, h[1]);                                                             \
      AUGUR_RANK_ADVANCE(T, h[2]);                                                             \
      AUGUR_RANK_ADVANCE(T, h[3]);                                                             \
    }                                                                                          \
    for (auto& e : h) {                                                                        \
      while (e.k < e.end) AUGUR_RANK_ADVANCE(T, e);                                            \
    }                                                                                          \
    return h[0].ties + h[1].ties + h[2].ties + h[3].ties;                                      \
  } while (0)

template <Op kOp>
__attribute__((target("avx512f,popcnt"))) uint64_t RankAvx512(const Elem<kOp>* v, size_t m,
                                                              const Elem<kOp>* y, size_t n,
                                                              uint32_t* pos) {
  AUGUR_RANK_GROUPS(Avx512<kOp>);
}

template <Op kOp>
__attribute__((target("avx2,popcnt"))) uint64_t RankAvx2(const Elem<kOp>* v, size_t m,
                                                         const Elem<kOp>* y, size_t n,
                                                         uint32_t* pos) {
  AUGUR_RANK_GROUPS(Avx2<kOp>);
}

#undef AUGUR_RANK_GROUPS
#undef AUGUR_RANK_ADVANCE
#undef AUGUR_AVX512
#undef AUGUR_AVX2

// The check of the Hodges-Lehmann counts (see rank_kernel.h), per instruction set: two
// gathers per block of rows instead of two dependent loads per row.
template <bool kStrict>
inline bool RowOk(double at, double before, double t) {
  return kStrict ? (at < t && !(before < t)) : (at <= t && !(before <= t));
}

template <bool kStrict>
size_t CheckScalar(const double* x, const uint32_t* ranks, size_t m, const double* yp, size_t n,
                   double t, uint64_t* out, uint64_t* total) {
  size_t wrong = 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < m; ++i) {
    const ptrdiff_t q = ranks[i];
    wrong += !RowOk<kStrict>(x[i] - yp[q], x[i] - yp[q - 1], t);
    out[i] = n - static_cast<uint64_t>(q);
    sum += out[i];
  }
  *total += sum;
  return wrong;
}

template <bool kStrict>
__attribute__((target("avx512f,popcnt"))) size_t CheckAvx512(const double* x, const uint32_t* ranks,
                                                             size_t m, const double* yp, size_t n,
                                                             double t, uint64_t* out,
                                                             uint64_t* total) {
  constexpr int kLess = kStrict ? _CMP_LT_OQ : _CMP_LE_OQ;
  const __m512d tv = _mm512_set1_pd(t);
  const __m512i nv = _mm512_set1_epi64(static_cast<int64_t>(n));
  __m512i sum = _mm512_setzero_si512();
  size_t wrong = 0, i = 0;
  for (; i + 8 <= m; i += 8) {
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ranks + i));
    // The masked forms with a zero source: the plain ones start from an undefined register,
    // which GCC 12 reports as maybe-uninitialized.
    const __m512i q64 = _mm512_maskz_cvtepu32_epi64(0xFF, q);
    const __m512d xv = _mm512_loadu_pd(x + i);
    __m512d y_at, y_before;
    const uint32_t base = ranks[i];
    if (ranks[i + 7] - base <= 14) {
      // The 8 rows' boundaries lie in 16 consecutive values of y (ranks ascend, and they
      // usually move by about one per row): two loads and two permutes instead of two gathers.
      const __m512d w0 = _mm512_loadu_pd(yp + base - 1), w1 = _mm512_loadu_pd(yp + base + 7);
      const __m512i rel = _mm512_sub_epi64(q64, _mm512_set1_epi64(static_cast<int64_t>(base)));
      y_before = _mm512_permutex2var_pd(w0, rel, w1);
      y_at = _mm512_permutex2var_pd(w0, _mm512_add_epi64(rel, _mm512_set1_epi64(1)), w1);
    } else {
      const __m512d zero = _mm512_setzero_pd();
      y_at = _mm512_mask_i32gather_pd(zero, 0xFF, q, yp, 8);
      y_before = _mm512_mask_i32gather_pd(zero, 0xFF, q, yp - 1, 8);
    }
    const __m512d at = _mm512_sub_pd(xv, y_at);
    const __m512d before = _mm512_sub_pd(xv, y_before);
    const __mmask8 ok = _mm512_cmp_pd_mask(at, tv, kLess) &
                        static_cast<__mmask8>(~_mm512_cmp_pd_mask(before, tv, kLess));
    wrong += static_cast<size_t>(__builtin_popcount(static_cast<uint8_t>(~ok)));
    const __m512i counts = _mm512_sub_epi64(nv, q64);
    _mm512_storeu_si512(out + i, counts);
    sum = _mm512_add_epi64(sum, counts);
  }
  alignas(64) uint64_t lanes[8];  // not _mm512_reduce_add_epi64: GCC 12 warns inside it
  _mm512_store_si512(lanes, sum);
  *total = 0;
  for (uint64_t lane : lanes) *total += lane;
  return wrong + CheckScalar<kStrict>(x + i, ranks + i, m - i, yp, n, t, out + i, total);
}

template <bool kStrict>
__attribute__((target("avx2,popcnt"))) size_t CheckAvx2(const double* x, const uint32_t* ranks,
                                                        size_t m, const double* yp, size_t n,
                                                        double t, uint64_t* out, uint64_t* total) {
  constexpr int kLess = kStrict ? _CMP_LT_OQ : _CMP_LE_OQ;
  const __m256d tv = _mm256_set1_pd(t);
  const __m256i nv = _mm256_set1_epi64x(static_cast<int64_t>(n));
  __m256i sum = _mm256_setzero_si256();
  size_t wrong = 0, i = 0;
  for (; i + 4 <= m; i += 4) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ranks + i));
    const __m256d xv = _mm256_loadu_pd(x + i);
    const __m256d zero = _mm256_setzero_pd();
    const __m256d all = _mm256_castsi256_pd(_mm256_set1_epi64x(-1));
    const __m256d at = _mm256_sub_pd(xv, _mm256_mask_i32gather_pd(zero, yp, q, all, 8));
    const __m256d before = _mm256_sub_pd(xv, _mm256_mask_i32gather_pd(zero, yp - 1, q, all, 8));
    const int ok = _mm256_movemask_pd(_mm256_cmp_pd(at, tv, kLess)) &
                   ~_mm256_movemask_pd(_mm256_cmp_pd(before, tv, kLess));
    wrong += static_cast<size_t>(__builtin_popcount(~ok & 0xF));
    const __m256i counts = _mm256_sub_epi64(nv, _mm256_cvtepu32_epi64(q));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), counts);
    sum = _mm256_add_epi64(sum, counts);
  }
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  *total = lanes[0] + lanes[1] + lanes[2] + lanes[3];
  return wrong + CheckScalar<kStrict>(x + i, ranks + i, m - i, yp, n, t, out + i, total);
}

RankIsa Detect() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt")) {
    return RankIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) return RankIsa::kAvx2;
  return RankIsa::kScalar;
}

std::atomic<RankIsa>& Active() {
  static std::atomic<RankIsa> isa{Detect()};
  return isa;
}

template <Op kOp>
uint64_t Rank(const Elem<kOp>* v, size_t m, const Elem<kOp>* y, size_t n, uint32_t* pos) {
  switch (Active().load(std::memory_order_relaxed)) {
    case RankIsa::kAvx512:
      return RankAvx512<kOp>(v, m, y, n, pos);
    case RankIsa::kAvx2:
      return RankAvx2<kOp>(v, m, y, n, pos);
    case RankIsa::kScalar:
      break;
  }
  return RankScalar<kOp>(v, m, y, n, pos);
}

}  // namespace

void RankBelow(const double* v, size_t m, const double* y, size_t n, uint32_t* pos) {
  Rank<Op::kDoubleBelow>(v, m, y, n, pos);
}
void RankAtMost(const double* v, size_t m, const double* y, size_t n, uint32_t* pos) {
  Rank<Op::kDoubleAtMost>(v, m, y, n, pos);
}
uint64_t RankBelow(const int64_t* v, size_t m, const int64_t* y, size_t n, uint32_t* pos) {
  return Rank<Op::kKeyBelow>(v, m, y, n, pos);
}

size_t CheckRoundedRanks(const double* x, const uint32_t* ranks, size_t m, const double* yp,
                         size_t n, double t, bool strict, uint64_t* out, uint64_t* total) {
  *total = 0;
  switch (Active().load(std::memory_order_relaxed)) {
    case RankIsa::kAvx512:
      return strict ? CheckAvx512<true>(x, ranks, m, yp, n, t, out, total)
                    : CheckAvx512<false>(x, ranks, m, yp, n, t, out, total);
    case RankIsa::kAvx2:
      return strict ? CheckAvx2<true>(x, ranks, m, yp, n, t, out, total)
                    : CheckAvx2<false>(x, ranks, m, yp, n, t, out, total);
    case RankIsa::kScalar:
      break;
  }
  return strict ? CheckScalar<true>(x, ranks, m, yp, n, t, out, total)
                : CheckScalar<false>(x, ranks, m, yp, n, t, out, total);
}

RankIsa BestRankIsa() {
  static const RankIsa best = Detect();
  return best;
}
std::vector<RankIsa> AvailableRankIsas() {
  std::vector<RankIsa> out = {RankIsa::kScalar};
  if (BestRankIsa() != RankIsa::kScalar) out.push_back(RankIsa::kAvx2);
  if (BestRankIsa() == RankIsa::kAvx512) out.push_back(RankIsa::kAvx512);
  return out;
}
RankIsa ActiveRankIsa() { return Active().load(std::memory_order_relaxed); }
void ForceRankIsa(RankIsa isa) {
  Active().store(static_cast<int>(isa) <= static_cast<int>(BestRankIsa()) ? isa : BestRankIsa(),
                 std::memory_order_relaxed);
}

}  // namespace augur::stats::internal
