// Why Augur's sequential mode exists: a Monte Carlo of canaries judged at every interval.
//
// Each simulated canary is checked `checks` times (default 20). At every check each arm gets
// `per_check` new latency values (default 60, lognormal, median 100 ms, log-sd 0.5) and
// `requests` new requests (default 1000) with Bernoulli errors (baseline rate 0.5%).
// Methods, each failing the canary at the first check whose test says so:
//   latency  mSPRT        augur::stats::MsprtUpdate on log-latency (a shift of log-latency is a
//                         latency ratio), two-sided, alpha 0.05, tau by the calcTau rule with
//                         truncation = checks * per_check, sigma estimated (pooled); and
//                         one-sided (kGreater: only a slower canary fails), as a canary
//                         would run it.
//            MWU peeking  augur::stats::MannWhitney (two-sided, asymptotic, conf_int = false)
//                         re-run on all data so far at every check, fail at the first p < 0.05.
//            MWU 1 look   the same test once, at the last check only (the fixed-sample design
//                         it was made for; shows that the inflation comes from peeking).
//            MWU Bonf.    re-run at every check at alpha / checks (Bonferroni, stats.md §2.2
//                         option 3): valid like the mSPRT, so the fair delay comparison.
//   errors   count test   augur::stats::CountTestUpdate, one-sided (canary worse), alpha 0.05.
//            binomial     exact one-sided conditional binomial test on all counts so far
//                         (canary errors given the total, null share = exposure share),
//                         re-run at every check, fail at the first p < 0.05; and the same at
//                         alpha / checks (Bonferroni).
// Scenarios: no regression (false fails), no regression with the canary's traffic share
// ramped 10% -> 50% (tests the count test's fixed-split assumption), latency x1.10 and error
// rate x2 from the first interval (detection delay).
// Every canary has its own seeded std::mt19937_64 stream, so the table does not depend on the
// number of threads. Flags: --quick (1000 canaries), --canaries N, --checks N,
// --per-check N, --requests N, --threads N, --seed N.
#include <algorithm>
#include <atomic>
#include <boost/math/special_functions/beta.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "augur/stats/mann_whitney.h"
#include "augur/stats/sequential.h"

namespace {

using augur::stats::Alternative;

struct Config {
  int canaries = 10000;
  int checks = 20;
  int per_check = 60;   // latency values per arm per check
  int requests = 1000;  // requests per arm per check (even split)
  double latency_median_ms = 100;
  double latency_log_sd = 0.5;
  double error_rate = 0.005;
  double alpha = 0.05;
  unsigned threads = 0;  // 0 = hardware concurrency
  uint64_t seed = 20240601;
};

// First failing check (1-based) of each canary; 0 = never failed within the checks.
using FirstFail = std::vector<int>;

// A stream per (scenario, canary): independent of thread scheduling.
std::mt19937_64 CanaryRng(uint64_t seed, int scenario, int canary) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(scenario), static_cast<uint32_t>(canary)};
  return std::mt19937_64(seq);
}

void ParallelFor(int n, unsigned threads, const std::function<void(int)>& body) {
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) body(i);
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

void Die(const char* what, const augur::Error& e) {
  std::fprintf(stderr, "%s: %s\n", what, e.message.c_str());
  std::exit(1);
}

struct LatencyOutcome {
  FirstFail msprt, msprt_greater, mwu, mwu_bonferroni;
  std::vector<char> mwu_last_look;  // 1 = the single test at the last check fails
};

// Latency scenario: canary latency multiplied by `ratio` (1 = no regression). Under the null
// (ratio 1) the MWU keeps running after a failure so the single-look column is available.
LatencyOutcome SimulateLatency(const Config& cfg, double ratio, int scenario) {
  LatencyOutcome out;
  out.msprt.assign(cfg.canaries, 0);
  out.msprt_greater.assign(cfg.canaries, 0);
  out.mwu.assign(cfg.canaries, 0);
  out.mwu_bonferroni.assign(cfg.canaries, 0);
  out.mwu_last_look.assign(cfg.canaries, 0);
  const bool null = ratio == 1.0;
  const double bonferroni = cfg.alpha / cfg.checks;
  ParallelFor(cfg.canaries, cfg.threads, [&](int i) {
    std::mt19937_64 rng = CanaryRng(cfg.seed, scenario, i);
    std::normal_distribution<double> z(0, 1);
    const double mu = std::log(cfg.latency_median_ms), shift = std::log(ratio);
    const size_t total = static_cast<size_t>(cfg.checks) * cfg.per_check;
    std::vector<double> x, y;  // raw latency so far, for the Mann-Whitney re-runs
    x.reserve(total);
    y.reserve(total);
    std::vector<double> lx(cfg.per_check), ly(cfg.per_check);
    augur::stats::MsprtState state, state_greater;
    augur::stats::MsprtOptions mo;
    mo.alpha = cfg.alpha;
    mo.truncation = static_cast<double>(total);
    augur::stats::MsprtOptions mo_greater = mo;
    mo_greater.alternative = Alternative::kGreater;
    augur::stats::MannWhitneyOptions wo;
    wo.method = augur::stats::MannWhitneyMethod::kAsymptotic;
    wo.conf_int = false;
    for (int check = 1; check <= cfg.checks; ++check) {
      for (int k = 0; k < cfg.per_check; ++k) {
        lx[k] = mu + shift + cfg.latency_log_sd * z(rng);
        ly[k] = mu + cfg.latency_log_sd * z(rng);
        x.push_back(std::exp(lx[k]));
        y.push_back(std::exp(ly[k]));
      }
      if (out.msprt[i] == 0) {
        auto r = augur::stats::MsprtUpdate(state, lx, ly, mo);
        if (!r) Die("MsprtUpdate", r.error());
        if (r->reject) out.msprt[i] = check;
      }
      if (out.msprt_greater[i] == 0) {
        auto r = augur::stats::MsprtUpdate(state_greater, lx, ly, mo_greater);
        if (!r) Die("MsprtUpdate", r.error());
        if (r->reject) out.msprt_greater[i] = check;
      }
      const bool last = check == cfg.checks;
      if (out.mwu[i] == 0 || out.mwu_bonferroni[i] == 0 || (null && last)) {
        auto r = augur::stats::MannWhitney(x, y, wo);
        if (!r) Die("MannWhitney", r.error());
        const bool fail = r->p_value < cfg.alpha;
        if (fail && out.mwu[i] == 0) out.mwu[i] = check;
        if (r->p_value < bonferroni && out.mwu_bonferroni[i] == 0) out.mwu_bonferroni[i] = check;
        if (last) out.mwu_last_look[i] = fail;
      }
      if (!null && out.msprt[i] != 0 && out.msprt_greater[i] != 0 && out.mwu_bonferroni[i] != 0) {
        break;
      }
    }
  });
  return out;
}

// One-sided exact conditional binomial test: P(C >= c | N = c + b, share rho0).
double BinomialUpperP(uint64_t c, uint64_t b, double rho0) {
  if (c == 0) return 1.0;
  // P(Bin(N, p) >= c) = I_p(c, N - c + 1).
  return boost::math::ibeta(static_cast<double>(c), static_cast<double>(b) + 1.0, rho0);
}

struct CountOutcome {
  FirstFail sequential, binomial, binomial_bonferroni;
};

// Error-count scenario: canary error rate multiplied by `ratio`. With `ramp`, the canary's
// share of the 2 * requests per check is 10% for the first fifth of the checks, then 20%,
// 30%, 40%, 50%.
CountOutcome SimulateCounts(const Config& cfg, double ratio, bool ramp, int scenario) {
  CountOutcome out;
  out.sequential.assign(cfg.canaries, 0);
  out.binomial.assign(cfg.canaries, 0);
  out.binomial_bonferroni.assign(cfg.canaries, 0);
  const double bonferroni = cfg.alpha / cfg.checks;
  ParallelFor(cfg.canaries, cfg.threads, [&](int i) {
    std::mt19937_64 rng = CanaryRng(cfg.seed, scenario, i);
    augur::stats::CountTestState state;
    augur::stats::CountTestOptions co;
    co.alpha = cfg.alpha;
    co.alternative = Alternative::kGreater;
    uint64_t c_total = 0, b_total = 0;
    double ec_total = 0, eb_total = 0;
    for (int check = 1; check <= cfg.checks; ++check) {
      double share = 0.5;
      if (ramp) share = 0.1 * (1 + std::min(4, (check - 1) * 5 / cfg.checks));
      const int n_c = static_cast<int>(std::lround(2.0 * cfg.requests * share));
      const int n_b = 2 * cfg.requests - n_c;
      std::binomial_distribution<int> canary_errors(n_c, cfg.error_rate * ratio);
      std::binomial_distribution<int> baseline_errors(n_b, cfg.error_rate);
      const uint64_t c = canary_errors(rng), b = baseline_errors(rng);
      c_total += c;
      b_total += b;
      ec_total += n_c;
      eb_total += n_b;
      if (out.sequential[i] == 0) {
        auto r = augur::stats::CountTestUpdate(state, c, n_c, b, n_b, co);
        if (!r) Die("CountTestUpdate", r.error());
        if (r->reject) out.sequential[i] = check;
      }
      if (out.binomial_bonferroni[i] == 0) {
        const double p = BinomialUpperP(c_total, b_total, ec_total / (ec_total + eb_total));
        if (p < cfg.alpha && out.binomial[i] == 0) out.binomial[i] = check;
        if (p < bonferroni) out.binomial_bonferroni[i] = check;
      }
      if (out.sequential[i] != 0 && out.binomial_bonferroni[i] != 0) break;
    }
  });
  return out;
}

struct Summary {
  double rate = 0, half_ci = 0;  // fraction failed within the checks, 95% binomial half-width
  double median = 0;             // over all canaries, never-failed counted as > checks
  bool median_defined = false;
  double mean_detected = 0;  // mean first-failing check among canaries that failed
};

Summary Summarize(const FirstFail& ff, int checks) {
  Summary s;
  std::vector<int> sorted;
  double sum = 0;
  int failed = 0;
  for (int f : ff) {
    sorted.push_back(f == 0 ? checks + 1 : f);
    if (f != 0) {
      ++failed;
      sum += f;
    }
  }
  const double n = static_cast<double>(ff.size());
  s.rate = failed / n;
  s.half_ci = 1.96 * std::sqrt(s.rate * (1 - s.rate) / n);
  std::sort(sorted.begin(), sorted.end());
  const size_t mid = sorted.size() / 2;
  s.median = sorted.size() % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  s.median_defined = s.median <= checks;
  s.mean_detected = failed > 0 ? sum / failed : 0;
  return s;
}

std::string Pct(const Summary& s) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%% ± %.2f", 100 * s.rate, 100 * s.half_ci);
  return buf;
}

void Row(const char* scenario, const char* method, const Summary& s, int checks, bool delays) {
  char median[32] = "–", mean[32] = "–";
  if (delays) {
    if (s.median_defined) {
      std::snprintf(median, sizeof median, "%g", s.median);
    } else {
      std::snprintf(median, sizeof median, "> %d", checks);
    }
    if (s.rate > 0) std::snprintf(mean, sizeof mean, "%.2f", s.mean_detected);
  }
  std::printf("| %s | %s | %s | %s | %s |\n", scenario, method, Pct(s).c_str(), median, mean);
}

bool ParseInt(const char* text, long long lo, long long* out) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < lo) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    long long v = 0;
    auto value = [&](long long lo) {
      if (i + 1 >= argc || !ParseInt(argv[i + 1], lo, &v)) {
        std::fprintf(stderr, "%s needs an integer >= %lld\n", arg.c_str(), lo);
        std::exit(2);
      }
      ++i;
      return v;
    };
    if (arg == "--quick") {
      cfg.canaries = 1000;
    } else if (arg == "--canaries") {
      cfg.canaries = static_cast<int>(value(1));
    } else if (arg == "--checks") {
      cfg.checks = static_cast<int>(value(1));
    } else if (arg == "--per-check") {
      cfg.per_check = static_cast<int>(value(2));
    } else if (arg == "--requests") {
      cfg.requests = static_cast<int>(value(1));
    } else if (arg == "--threads") {
      cfg.threads = static_cast<unsigned>(value(1));
    } else if (arg == "--seed") {
      cfg.seed = static_cast<uint64_t>(value(0));
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--canaries N] [--checks N] [--per-check N] "
                   "[--requests N] [--threads N] [--seed N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (cfg.threads == 0) cfg.threads = std::max(1u, std::thread::hardware_concurrency());

  const auto start = std::chrono::steady_clock::now();
  const LatencyOutcome lat0 = SimulateLatency(cfg, 1.0, 1);
  const CountOutcome err0 = SimulateCounts(cfg, 1.0, false, 2);
  const CountOutcome ramp0 = SimulateCounts(cfg, 1.0, true, 3);
  const LatencyOutcome lat1 = SimulateLatency(cfg, 1.10, 4);
  const CountOutcome err1 = SimulateCounts(cfg, 2.0, false, 5);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  FirstFail last_look(cfg.canaries, 0);
  for (int i = 0; i < cfg.canaries; ++i) last_look[i] = lat0.mwu_last_look[i] ? cfg.checks : 0;

  const int k = cfg.checks;
  std::printf(
      "%d canaries per scenario, %d checks each; per check and arm: %d latency values "
      "(lognormal, median %g ms, log-sd %g) and %d requests (baseline error rate %g%%); "
      "alpha %g.\n\n",
      cfg.canaries, k, cfg.per_check, cfg.latency_median_ms, cfg.latency_log_sd, cfg.requests,
      100 * cfg.error_rate, cfg.alpha);
  std::printf(
      "| Scenario | Method | Failed within %d checks (95%% MC CI) | Median checks to "
      "fail | Mean checks to fail (failed only) |\n",
      k);
  std::printf("|---|---|---|---|---|\n");
  Row("latency, no regression", "mSPRT on log-latency, two-sided", Summarize(lat0.msprt, k), k,
      false);
  Row("latency, no regression", "mSPRT on log-latency, one-sided (slower fails)",
      Summarize(lat0.msprt_greater, k), k, false);
  Row("latency, no regression", "Mann-Whitney re-run every check", Summarize(lat0.mwu, k), k,
      false);
  Row("latency, no regression", "Mann-Whitney once, at the last check", Summarize(last_look, k), k,
      false);
  Row("latency, no regression", "Mann-Whitney every check at alpha/checks",
      Summarize(lat0.mwu_bonferroni, k), k, false);
  Row("errors 0.5%, no regression", "count test (one-sided BF)", Summarize(err0.sequential, k), k,
      false);
  Row("errors 0.5%, no regression", "binomial re-run every check", Summarize(err0.binomial, k), k,
      false);
  Row("errors 0.5%, no regression", "binomial every check at alpha/checks",
      Summarize(err0.binomial_bonferroni, k), k, false);
  Row("errors, no regression, canary share 10%→50%", "count test (one-sided BF)",
      Summarize(ramp0.sequential, k), k, false);
  Row("errors, no regression, canary share 10%→50%", "binomial re-run every check",
      Summarize(ramp0.binomial, k), k, false);
  Row("latency ×1.10", "mSPRT on log-latency, two-sided", Summarize(lat1.msprt, k), k, true);
  Row("latency ×1.10", "mSPRT on log-latency, one-sided (slower fails)",
      Summarize(lat1.msprt_greater, k), k, true);
  Row("latency ×1.10", "Mann-Whitney re-run every check", Summarize(lat1.mwu, k), k, true);
  Row("latency ×1.10", "Mann-Whitney every check at alpha/checks",
      Summarize(lat1.mwu_bonferroni, k), k, true);
  Row("errors ×2 (0.5%→1%)", "count test (one-sided BF)", Summarize(err1.sequential, k), k, true);
  Row("errors ×2 (0.5%→1%)", "binomial re-run every check", Summarize(err1.binomial, k), k, true);
  Row("errors ×2 (0.5%→1%)", "binomial every check at alpha/checks",
      Summarize(err1.binomial_bonferroni, k), k, true);
  std::printf(
      "\nNo-regression rows are false-fail rates: the sequential tests must stay <= alpha "
      "over all %d checks together; re-running a fixed-sample test at every check does not.\n"
      "Regression rows: the fraction detected within %d checks, the median first failing "
      "check over all canaries (never = > %d) and the mean over the detected ones.\n"
      "Wall time %.1f s on %u threads.\n",
      k, k, k, seconds, cfg.threads);
  return 0;
}
