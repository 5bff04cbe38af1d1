#include "augur/stats/wilcoxon_distribution.h"

#include <array>
#include <cfloat>
#include <cmath>
#include <string>

namespace augur::stats {
namespace {

// An unsigned integer of L 64-bit words with wrap-around (mod 2^(64L)) arithmetic.
template <int L>
struct Wide {
  std::array<uint64_t, L> w{};

  void Add(const Wide& o) {
    unsigned carry = 0;
    for (int i = 0; i < L; ++i) {
      unsigned __int128 s = static_cast<unsigned __int128>(w[i]) + o.w[i] + carry;
      w[i] = static_cast<uint64_t>(s);
      carry = static_cast<unsigned>(s >> 64);
    }
  }
  void Sub(const Wide& o) {
    unsigned borrow = 0;
    for (int i = 0; i < L; ++i) {
      uint64_t a = w[i], b = o.w[i];
      uint64_t d = a - b - borrow;
      borrow = (a < b || (a == b && borrow)) ? 1 : 0;
      w[i] = d;
    }
  }
  long double ToLongDouble() const {
    long double v = 0;
    for (int i = L - 1; i >= 0; --i) v = std::ldexp(v, 64) + static_cast<long double>(w[i]);
    return v;
  }
};

// Fills pmf/cdf for k = 0..half with exact counts divided by C(m+n, m).
template <int L>
void Build(uint64_t m, uint64_t n, std::vector<long double>* pmf, std::vector<long double>* cdf) {
  const uint64_t s = std::min(m, n), t = std::max(m, n);
  const uint64_t mn = m * n, half = mn / 2;
  std::vector<Wide<L>> c(half + 1);
  c[0].w[0] = 1;
  for (uint64_t i = 1; i <= s; ++i) {
    // Divide by (1 - q^i): a running sum with stride i (exact in the truncated series ring).
    for (uint64_t k = i; k <= half; ++k) c[k].Add(c[k - i]);
    // Multiply by (1 - q^(t+i)), top-down so each term uses the old value.
    const uint64_t shift = t + i;
    for (uint64_t k = half; k >= shift; --k) c[k].Sub(c[k - shift]);
  }
  // Total count C(m+n, m) from the symmetry c[k] = c[mn - k].
  Wide<L> lower;  // sum of c[0..half-1] (or 0..half when mn is odd)
  const uint64_t top = (mn % 2 == 0) ? half : half + 1;
  for (uint64_t k = 0; k < top; ++k) lower.Add(c[k]);
  Wide<L> total = lower;
  total.Add(lower);
  if (mn % 2 == 0) total.Add(c[half]);
  const long double denom = total.ToLongDouble();

  pmf->resize(half + 1);
  cdf->resize(half + 1);
  Wide<L> running;
  for (uint64_t k = 0; k <= half; ++k) {
    running.Add(c[k]);
    (*pmf)[k] = c[k].ToLongDouble() / denom;
    (*cdf)[k] = running.ToLongDouble() / denom;
  }
}

}  // namespace

Result<WilcoxonDistribution> WilcoxonDistribution::Create(uint64_t m, uint64_t n) {
  if (m == 0 || n == 0) return InvalidArgument("exact Wilcoxon distribution needs m, n >= 1");
  // log2 C(m+n, m) decides how many words the exact counts need (+2 bits of headroom).
  const double bits =
      (std::lgamma(m + n + 1.0) - std::lgamma(m + 1.0) - std::lgamma(n + 1.0)) / std::log(2.0) +
      2.0;
  const int words_needed = static_cast<int>(std::ceil(bits / 64.0));
  int words = 1;
  while (words < words_needed) words *= 2;
  const double work = static_cast<double>(std::min(m, n)) * (m * n / 2.0) * words;
  if (words > 64 || work > 2e9) {
    return InvalidArgument("exact Wilcoxon distribution for nx=" + std::to_string(m) +
                           ", ny=" + std::to_string(n) +
                           " is too large to compute; use the asymptotic method");
  }
  std::vector<long double> pmf, cdf;
  switch (words) {
    case 1:
      Build<1>(m, n, &pmf, &cdf);
      break;
    case 2:
      Build<2>(m, n, &pmf, &cdf);
      break;
    case 4:
      Build<4>(m, n, &pmf, &cdf);
      break;
    case 8:
      Build<8>(m, n, &pmf, &cdf);
      break;
    case 16:
      Build<16>(m, n, &pmf, &cdf);
      break;
    case 32:
      Build<32>(m, n, &pmf, &cdf);
      break;
    default:
      Build<64>(m, n, &pmf, &cdf);
      break;
  }
  return WilcoxonDistribution(m, n, std::move(pmf), std::move(cdf));
}

long double WilcoxonDistribution::LowerCdf(int64_t q) const {
  if (q < 0) return 0.0L;
  return cdf_[static_cast<size_t>(q)];
}

long double WilcoxonDistribution::Cdf(int64_t q) const {
  const int64_t mn = static_cast<int64_t>(m_ * n_);
  if (q < 0) return 0.0L;
  if (q >= mn) return 1.0L;
  if (2 * q <= mn) return LowerCdf(q);
  // P(U <= q) = 1 - P(U >= q+1) = 1 - P(U <= mn-q-1); the subtracted tail is below 1/2.
  return 1.0L - LowerCdf(mn - q - 1);
}

long double WilcoxonDistribution::Sf(int64_t q) const {
  const int64_t mn = static_cast<int64_t>(m_ * n_);
  if (q < 0) return 1.0L;
  if (q >= mn) return 0.0L;
  // P(U > q) = P(U <= mn-q-1) by symmetry: read the small tail directly when it is small.
  if (2 * (mn - q - 1) <= mn) return LowerCdf(mn - q - 1);
  return 1.0L - LowerCdf(q);
}

long double WilcoxonDistribution::Pmf(int64_t q) const {
  const int64_t mn = static_cast<int64_t>(m_ * n_);
  if (q < 0 || q > mn) return 0.0L;
  if (2 * q > mn) q = mn - q;
  return pmf_[static_cast<size_t>(q)];
}

int64_t WilcoxonDistribution::Quantile(double p) const {
  // R's qwilcox walks the cdf from the nearer end, with a 10*DBL_EPSILON slack so that a p
  // that is a cdf value up to rounding maps to that point.
  const int64_t mn = static_cast<int64_t>(m_ * n_);
  if (p <= 0) return 0;
  if (p >= 1) return mn;
  long double acc = 0;
  int64_t q = 0;
  if (p <= 0.5) {
    const long double target = static_cast<long double>(p) - 10 * DBL_EPSILON;
    for (;; ++q) {
      acc += Pmf(q);
      if (acc >= target) return q;
    }
  }
  const long double target = 1.0L - p + 10 * DBL_EPSILON;
  for (;; ++q) {
    acc += Pmf(q);
    if (acc > target) return mn - q;
  }
}

}  // namespace augur::stats
