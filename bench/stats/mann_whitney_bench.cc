// Mann-Whitney p-value and Hodges-Lehmann estimate + 95% interval at 1e3, 1e5 and 1e6 values
// per side on lognormal latency-like data (the same generator as bench/compare_scipy_r.py
// uses, so the figures can be set side by side in one run).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "augur/stats/hodges_lehmann.h"
#include "augur/stats/mann_whitney.h"
#include "augur/stats/welch_t.h"

namespace {

struct Data {
  std::vector<double> x, y;
};

Data MakeData(size_t n) {
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

BENCHMARK(BM_MannWhitneyPValue)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MannWhitneyWithHodgesLehmannCi)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HodgesLehmannEstimate)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExactMannWhitney)->Arg(49)->Arg(200)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WelchT)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMillisecond);
