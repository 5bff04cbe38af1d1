// Replay throughput: analysis checks per second, each check judging 10 metrics x 2 sides x 60
// points (a trailing 60-minute window at a 1-minute step), through the whole replay loop
// (state machine, archive source, analysis, judge). One release is 100 checks (stepWeight 1
// up to 100, threshold never reached); the parallel case replays 16 releases on all cores.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

#include "augur/replay/replay.h"

namespace {

using namespace augur;

constexpr int64_t kMinute = 60000;
constexpr int64_t kT0 = 1767225600000;
constexpr int kMetrics = 10;
constexpr int kChecks = 100;

std::string MetricName(int m) {
  std::string s = "m";
  s += std::to_string(m);
  return s;
}

sources::Release MakeRelease(uint64_t seed) {
  sources::Release r;
  r.name = "bench-";
  r.name += std::to_string(seed);  // not "a" + to_string(): GCC 12 -Wrestrict false positive
  r.start_ms = kT0;
  r.step_ms = kMinute;
  const int minutes = 60 + kChecks + 10;
  r.end_ms = kT0 + minutes * kMinute;
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> lat(std::log(0.1), 0.1);
  for (int m = 0; m < kMetrics; ++m) {
    sources::ArchivedMetric a;
    a.name = MetricName(m);
    for (int i = 0; i <= minutes; ++i) {
      a.primary.push_back(lat(rng));
      a.canary.push_back(lat(rng));
    }
    r.metrics.push_back(std::move(a));
  }
  return r;
}

replay::ReplayOptions Options(judge::Mode mode) {
  replay::ReplayOptions o;
  o.model.name = "bench";
  o.model.mode = mode;
  for (int m = 0; m < kMetrics; ++m) {
    judge::MetricConfig c;
    c.name = MetricName(m);
    c.groups = {"g"};
    c.direction = judge::Direction::kIncrease;
    c.rel_floor = 0.05;
    o.model.metrics.push_back(c);
  }
  o.window = replay::WindowKind::kTrailing;
  o.trailing_ms = 60 * kMinute;
  o.spec = replay::DefaultSpec(kMinute);
  o.spec->analysis.step_weight = 1;
  o.spec->analysis.max_weight = kChecks;
  o.spec->analysis.threshold = 1000;
  // An hour of history before the rollout: the first check (3 ticks in) sees a full window.
  o.rollout_offset_ms = 57 * kMinute;
  o.record_timeline = false;
  return o;
}

void CountFullWindowChecks(const replay::ReleaseReplay& r, int64_t* full, int64_t* all) {
  for (const auto& c : r.checks) {
    ++*all;
    if ((c.window_end_ms - c.window_start_ms) / kMinute + 1 == 60) ++*full;
  }
}

// Checks per second over the run, and the share of them that saw a full window.
void Report(benchmark::State& state, judge::Mode mode, int64_t full, int64_t all) {
  state.counters["checks/s"] =
      benchmark::Counter(static_cast<double>(all), benchmark::Counter::kIsRate);
  state.counters["full_window_share"] = all ? static_cast<double>(full) / all : 0;
  state.SetLabel(judge::ModeName(mode));
}

void BM_ReplayOneRelease(benchmark::State& state) {
  const auto mode = static_cast<judge::Mode>(state.range(0));
  const auto release = MakeRelease(1);
  const auto options = Options(mode);
  int64_t full = 0, all = 0;
  for (auto _ : state) {
    auto r = replay::ReplayRelease(release, options);
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    CountFullWindowChecks(*r, &full, &all);
  }
  Report(state, mode, full, all);
}

void BM_ReplayParallel(benchmark::State& state) {
  const auto mode = static_cast<judge::Mode>(state.range(0));
  std::vector<sources::Release> releases;
  for (uint64_t i = 0; i < 16; ++i) releases.push_back(MakeRelease(10 + i));
  const auto options = Options(mode);
  int64_t full = 0, all = 0;
  for (auto _ : state) {
    auto results = replay::ReplayAll(releases, options, 0);
    for (const auto& r : results) {
      if (!r) {
        state.SkipWithError(r.error().message.c_str());
        return;
      }
      CountFullWindowChecks(*r, &full, &all);
    }
  }
  Report(state, mode, full, all);
}

// Wall time, not the main thread's CPU time: the work runs on the pool.
BENCHMARK(BM_ReplayOneRelease)
    ->Arg(static_cast<int>(judge::Mode::kKayenta))
    ->Arg(static_cast<int>(judge::Mode::kAugur))
    ->Arg(static_cast<int>(judge::Mode::kSequential))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ReplayParallel)
    ->Arg(static_cast<int>(judge::Mode::kKayenta))
    ->Arg(static_cast<int>(judge::Mode::kAugur))
    ->Arg(static_cast<int>(judge::Mode::kSequential))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
