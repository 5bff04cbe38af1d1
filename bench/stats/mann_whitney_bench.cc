// Mann-Whitney p-value and Hodges-Lehmann estimate + 95% interval at 1e3, 1e5 and 1e6 values
// per side on lognormal latency-like data (the same generator as bench/compare_scipy_r.py
// uses, so the figures can be set side by side in one run).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "augur/stats/hodges_lehmann.h"
#include "augur/stats/mann_whitney.h"
#include "augur/stats/welch_t.h"

namespace {

struct Data {
  std::vector<double> x, y;
};

// With AUGUR_BENCH_DATA=<prefix>, reads <prefix>.<n>.f64: n float64 values of x then n of y
// (little-endian, as numpy's tofile writes them), so bench/compare_scipy_r.py can time scipy,
// R and Augur on identical data.
bool ReadData(size_t n, Data* d) {
  const char* prefix = std::getenv("AUGUR_BENCH_DATA");
  if (prefix == nullptr) return false;
  const std::string path = std::string(prefix) + "." + std::to_string(n) + ".f64";
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  d->x.resize(n);
  d->y.resize(n);
  const bool ok = std::fread(d->x.data(), 8, n, f) == n && std::fread(d->y.data(), 8, n, f) == n;
  std::fclose(f);
  return ok;
}

Data MakeData(size_t n) {
  Data from_file;
  if (ReadData(n, &from_file)) return from_file;
  std::mt19937_64 rng(20261122);
  std::lognormal_distribution<double> base(3.0, 0.4), canary(3.02, 0.4);
  Data d{std::vector<double>(n), std::vector<double>(n)};
  for (auto& v : d.x) v = canary(rng);
  for (auto& v : d.y) v = base(rng);
  return d;
}

void BM_MannWhitneyPValue(benchmark::State& state) {
  const Data d = MakeData(state.range(0));
  augur::stats::MannWhitneyOptions o;
  o.method = augur::stats::MannWhitneyMethod::kAsymptotic;
  o.conf_int = false;
  for (auto _ : state) benchmark::DoNotOptimize(augur::stats::MannWhitney(d.x, d.y, o));
  state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}

void BM_MannWhitneyWithHodgesLehmannCi(benchmark::State& state) {
  const Data d = MakeData(state.range(0));
  augur::stats::MannWhitneyOptions o;
  o.conf_level = 0.95;
  for (auto _ : state) benchmark::DoNotOptimize(augur::stats::MannWhitney(d.x, d.y, o));
  state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}

void BM_HodgesLehmannEstimate(benchmark::State& state) {
  const Data d = MakeData(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(augur::stats::HodgesLehmannEstimate(d.x, d.y));
  state.SetItemsProcessed(state.iterations() * 2 * state.range(0));
}

// The selection alone (both sides sorted): the interval's bounds and the median of the 1e6
// differences of 1,000 + 1,000 values, continuous or rounded as latencies often are (to 0.1
// and to 1: thousands of tied differences at every value). Arg: 0 continuous, 1 to 0.1, 2 to 1.
void BM_HodgesLehmannBoundsAndMedian(benchmark::State& state) {
  Data d = MakeData(1000);
  const double step = state.range(0) == 0 ? 0 : state.range(0) == 1 ? 0.1 : 1.0;
  for (auto* side : {&d.x, &d.y}) {
    if (step > 0) {
      for (double& v : *side) v = std::round(v / step) * step;
    }
    std::sort(side->begin(), side->end());
  }
  const augur::stats::PairwiseDifferences pd(d.x, d.y);
  const uint64_t half = pd.size() / 2, spread = 25300;  // ~95% for 1,000 x 1,000
  for (auto _ : state) benchmark::DoNotOptimize(pd.BoundsAndMedian(half - spread, half + spread));
  state.SetLabel(step == 0 ? "continuous" : step < 1 ? "rounded to 0.1" : "rounded to 1");
}

void BM_ExactMannWhitney(benchmark::State& state) {
  const Data d = MakeData(state.range(0));
  augur::stats::MannWhitneyOptions o;
  o.method = augur::stats::MannWhitneyMethod::kExact;
  for (auto _ : state) benchmark::DoNotOptimize(augur::stats::MannWhitney(d.x, d.y, o));
}

void BM_WelchT(benchmark::State& state) {
  const Data d = MakeData(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(augur::stats::WelchT(d.x, d.y));
}

}  // namespace

BENCHMARK(BM_MannWhitneyPValue)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MannWhitneyWithHodgesLehmannCi)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HodgesLehmannEstimate)
    ->Arg(1000)
    ->Arg(100000)
    ->Arg(1000000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HodgesLehmannBoundsAndMedian)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ExactMannWhitney)->Arg(49)->Arg(200)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WelchT)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond);
