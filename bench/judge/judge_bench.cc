// Judging a 20-metric model with 2 x 1,000 points per metric, in Augur mode and in Kayenta
// mode (Kayenta's decisions, with each root-finder step counted by a merge instead of
// re-ranking), one daemon-sized request (4 metrics x 2 x 500 points), and Kayenta's own
// approach (the literal port, which re-ranks the pooled data at every step) for comparison.
// Figures and the before/after comparison are in README "Judge speed".
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "augur/judge/judge.h"
#include "augur/stats/kayenta_mann_whitney.h"
#include "stats/rank_kernel.h"

namespace {

using augur::judge::MetricPair;
using augur::judge::Model;

struct Fixture {
  Model model;
  std::vector<MetricPair> pairs;
};

// `step` > 0 rounds every value to a multiple of it, as latencies in whole milliseconds are.
Fixture Make(augur::judge::Mode mode, int metrics = 20, size_t points = 1000, double step = 0) {
  Fixture f;
  f.model.mode = mode;
  std::mt19937_64 rng(2026);
  for (int i = 0; i < metrics; ++i) {
    augur::judge::MetricConfig m;
    m.name = "metric-" + std::to_string(i);
    m.groups = {"group-" + std::to_string(i % 4)};
    m.conf_level = mode == augur::judge::Mode::kKayenta ? 0.98 : 0.95;
    f.model.metrics.push_back(m);
    std::lognormal_distribution<double> base(3.0, 0.4),
        canary(3.0 + (i % 5 == 0 ? 0.05 : 0.0), 0.4);
    MetricPair p{m.name, {}, std::vector<double>(points), std::vector<double>(points)};
    for (auto& v : p.control) v = base(rng);
    for (auto& v : p.experiment) v = canary(rng);
    if (step > 0) {
      for (auto* side : {&p.control, &p.experiment}) {
        for (auto& v : *side) v = std::round(v / step) * step;
      }
    }
    f.pairs.push_back(std::move(p));
  }
  return f;
}

// Args: mode (0 augur, 1 Kayenta), threads (0: all cores), and the rank kernel's instruction
// set (stats/rank_kernel.h: 0 scalar, 1 AVX2, 2 AVX-512, capped at what the CPU has) to show
// what the SIMD counting contributes.
void BM_Judge20Metrics(benchmark::State& state) {
  using augur::stats::internal::RankIsa;
  const Fixture f =
      Make(state.range(0) ? augur::judge::Mode::kKayenta : augur::judge::Mode::kAugur);
  const augur::judge::JudgeOptions options{static_cast<int>(state.range(1))};
  augur::stats::internal::ForceRankIsa(static_cast<RankIsa>(state.range(2)));
  const RankIsa isa = augur::stats::internal::ActiveRankIsa();
  for (auto _ : state) benchmark::DoNotOptimize(augur::judge::Judge(f.model, f.pairs, options));
  augur::stats::internal::ForceRankIsa(augur::stats::internal::BestRankIsa());
  state.SetLabel(std::string(state.range(0) ? "kayenta" : "augur") +
                 (options.threads == 1 ? ", 1 thread" : ", all cores") + ", " +
                 (isa == RankIsa::kAvx512 ? "avx512" : isa == RankIsa::kAvx2 ? "avx2" : "scalar"));
}

// The same 20 metrics with every value rounded to a whole number (latencies in whole
// milliseconds): thousands of tied differences at every value. Args: mode, threads.
void BM_Judge20MetricsRounded(benchmark::State& state) {
  const Fixture f =
      Make(state.range(0) ? augur::judge::Mode::kKayenta : augur::judge::Mode::kAugur, 20, 1000,
           1.0);
  const augur::judge::JudgeOptions options{static_cast<int>(state.range(1))};
  for (auto _ : state) benchmark::DoNotOptimize(augur::judge::Judge(f.model, f.pairs, options));
  state.SetLabel(std::string(state.range(0) ? "kayenta" : "augur") +
                 (options.threads == 1 ? ", 1 thread" : ", all cores") + ", rounded to 1");
}

// One daemon request as bench/server/run_wrk.sh sends it (POST /v1/judgements): 4 metrics x
// 2 x 500 points, judged on the request's thread. The daemon's throughput on 2 cores is
// bounded by about 2 / (this time).
void BM_JudgeRequest4x500(benchmark::State& state) {
  const Fixture f =
      Make(state.range(0) ? augur::judge::Mode::kKayenta : augur::judge::Mode::kAugur, 4, 500);
  const augur::judge::JudgeOptions options{1};
  for (auto _ : state) benchmark::DoNotOptimize(augur::judge::Judge(f.model, f.pairs, options));
  state.SetLabel(state.range(0) ? "kayenta" : "augur");
}

// Kayenta's own approach for the same 20 metrics: its root finder re-ranks (sorts) the pooled
// data at every evaluation. KayentaMannWhitneyReference is that literal port; this times only
// the Mann-Whitney part of each metric, as a lower bound for Kayenta's judge.
void BM_KayentaLiteralMannWhitney20(benchmark::State& state) {
  const Fixture f = Make(augur::judge::Mode::kKayenta);
  for (auto _ : state) {
    for (const auto& p : f.pairs) {
      benchmark::DoNotOptimize(
          augur::stats::KayentaMannWhitneyReference(p.experiment, p.control, 0.98));
    }
  }
}

}  // namespace

BENCHMARK(BM_KayentaLiteralMannWhitney20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Judge20Metrics)
    ->Args({0, 1, 2})
    ->Args({0, 0, 2})
    ->Args({1, 1, 2})
    ->Args({1, 0, 2})
    ->Args({0, 1, 0})
    ->Args({1, 1, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Judge20MetricsRounded)
    ->Args({0, 1})
    ->Args({0, 0})
    ->Args({1, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_JudgeRequest4x500)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
