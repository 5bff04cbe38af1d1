// The synthetic release generator (model described in include/augur/replay/generator.h).
#include "augur/replay/generator.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <random>
#include <regex>
#include <set>

namespace augur::replay {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kDayMs = 86400000;
constexpr int64_t kHourMs = 3600000;

// SplitMix64: decorrelates the per-release seeds (seed, index) fed to mt19937_64, whose
// neighbouring seeds would otherwise start from similar states.
uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
uint64_t StreamSeed(uint64_t seed, uint64_t index, uint64_t stream) {
  return Mix(Mix(Mix(seed) ^ index) ^ stream);
}

using Rng = std::mt19937_64;

double Uniform(Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}
double Normal(Rng& rng) { return std::normal_distribution<double>(0.0, 1.0)(rng); }
int64_t Poisson(Rng& rng, double mean) {
  if (!(mean > 0)) return 0;
  return std::poisson_distribution<int64_t>(mean)(rng);
}

// A stationary AR(1) path with coefficient phi and marginal standard deviation sd.
std::vector<double> Ar1(Rng& rng, size_t n, double phi, double sd) {
  std::vector<double> x(n);
  const double innovation = sd * std::sqrt(1 - phi * phi);
  double v = sd * Normal(rng);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) v = phi * v + innovation * Normal(rng);
    x[i] = v;
  }
  return x;
}

// Six significant digits: the archives stay small and no metric is measured more finely.
double Round6(double x) {
  if (!std::isfinite(x) || x == 0) return x;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return std::strtod(buf, nullptr);
}

double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
bool Has(const std::string& s, const char* word) { return s.find(word) != std::string::npos; }

// Which bad kinds the releases of a set get: round(count * fraction) seeded indices, each
// given the next kind of a seeded rotation so every kind appears.
std::vector<int> BadKindIndex(const GeneratorOptions& o) {
  const int count = std::max(0, o.count);
  // Clamped: PlanRegressions may be called with options not yet validated.
  const double fraction = std::isfinite(o.bad_fraction) ? o.bad_fraction : 0.0;
  const int bad = std::clamp(static_cast<int>(std::lround(count * fraction)), 0, count);
  std::vector<int> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(StreamSeed(o.seed, 0xBADull, static_cast<uint64_t>(count)));
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<int> kind_of(static_cast<size_t>(count), -1);
  std::vector<int> bad_indices(order.begin(), order.begin() + bad);
  std::sort(bad_indices.begin(), bad_indices.end());
  const int k = static_cast<int>(o.kinds.size());
  const int offset = k == 0 ? 0 : static_cast<int>(rng() % static_cast<uint64_t>(k));
  for (int j = 0; j < bad && k > 0; ++j)
    kind_of[static_cast<size_t>(bad_indices[j])] = (j + offset) % k;
  return kind_of;
}

struct RegressionParams {
  Regression kind = Regression::kNone;
  size_t start = 0;  // first regressed slot
  double shift = 1;  // latency-shift: median multiplier
  double tail_weight = 1, tail_median = 1;
  double noise = 1, sigma = 1;  // variance-increase
  double burst = 1;             // error-burst: error fraction multiplier
  size_t burst_end = 0;         // error-burst: first slot after the burst
  double leak = 0;              // gradual-leak: multiplier growth by the end
};

}  // namespace

const char* SignalName(Signal s) {
  switch (s) {
    case Signal::kRequestRate:
      return "request-rate";
    case Signal::kErrorCount:
      return "error-count";
    case Signal::kErrorRate:
      return "error-rate";
    case Signal::kSuccessRate:
      return "success-rate";
    case Signal::kLatencyQuantile:
      return "latency-quantile";
    case Signal::kLatencyMean:
      return "latency-mean";
    case Signal::kGauge:
      return "gauge";
  }
  return "?";
}

const char* RegressionName(Regression r) {
  switch (r) {
    case Regression::kNone:
      return "none";
    case Regression::kLatencyShift:
      return "latency-shift";
    case Regression::kTailOnly:
      return "tail-only";
    case Regression::kVarianceIncrease:
      return "variance-increase";
    case Regression::kErrorBurst:
      return "error-burst";
    case Regression::kLeak:
      return "gradual-leak";
  }
  return "?";
}

Result<Regression> ParseRegression(std::string_view name) {
  for (Regression r : {Regression::kNone, Regression::kLatencyShift, Regression::kTailOnly,
                       Regression::kVarianceIncrease, Regression::kErrorBurst, Regression::kLeak}) {
    if (name == RegressionName(r)) return r;
  }
  return InvalidArgument("unknown regression '" + std::string(name) +
                         "' (none, latency-shift, tail-only, variance-increase, error-burst, "
                         "gradual-leak)");
}

std::vector<GeneratedMetric> GoldenSignalMetrics() {
  return {{"success-rate", Signal::kSuccessRate, 0.5},
          {"errors", Signal::kErrorCount, 0.5},
          {"latency-p50", Signal::kLatencyQuantile, 0.5},
          {"latency-p99", Signal::kLatencyQuantile, 0.99},
          {"requests", Signal::kRequestRate, 0.5}};
}

Result<std::vector<GeneratedMetric>> MetricsForModel(const judge::Model& model) {
  std::vector<GeneratedMetric> out;
  static const std::regex kQuantile(R"(p(\d{1,3}(?:\.\d+)?))");
  for (const auto& m : model.metrics) {
    GeneratedMetric g;
    g.name = m.name;
    bool found = false;
    // The query names what the series is; the metric name is the fallback for models whose
    // queries are raw PromQL.
    for (const std::string& text : {Lower(m.query), Lower(m.name)}) {
      if (text.empty()) continue;
      found = true;
      if (Has(text, "success")) {
        g.signal = Signal::kSuccessRate;
      } else if (Has(text, "error") || Has(text, "5xx") || Has(text, "fail")) {
        const bool count = m.kind == judge::MetricKind::kCount || Has(text, "count") ||
                           Has(text, "total") || Has(text, "increase");
        const bool ratio = Has(text, "rate") || Has(text, "ratio") || Has(text, "fraction") ||
                           Has(text, "percent");
        g.signal = !count && ratio ? Signal::kErrorRate : Signal::kErrorCount;
      } else if (Has(text, "request") || Has(text, "rps") || Has(text, "throughput") ||
                 Has(text, "traffic")) {
        g.signal = Signal::kRequestRate;
      } else if (Has(text, "latency") || Has(text, "duration") || Has(text, "response_time") ||
                 Has(text, "response-time")) {
        std::smatch q;
        if (std::regex_search(text, q, kQuantile)) {
          const std::string digits = q[1].str();
          // p99 -> 0.99, p999 -> 0.999, p50 -> 0.5, p99.9 -> 0.999.
          double v = std::stod(digits);
          if (digits.find('.') == std::string::npos) {
            v = std::stod("0." + digits);
          } else {
            v /= 100;
          }
          g.signal = Signal::kLatencyQuantile;
          g.quantile = v;
        } else if (Has(text, "mean") || Has(text, "avg") || Has(text, "average")) {
          g.signal = Signal::kLatencyMean;
        } else {
          g.signal = Signal::kLatencyQuantile;
          g.quantile = 0.5;
        }
      } else if (Has(text, "cpu") || Has(text, "memory") || Has(text, "gauge") ||
                 Has(text, "saturation")) {
        g.signal = Signal::kGauge;
      } else {
        found = false;
        continue;
      }
      break;
    }
    if (!found) {
      return InvalidArgument("metric '" + m.name + "' (query '" + m.query +
                             "'): cannot tell what to generate for it; name its query like "
                             "success_rate, error_count, error_rate, request_rate, "
                             "latency_p99_seconds, latency_mean_seconds or cpu");
    }
    out.push_back(g);
  }
  if (out.empty()) return InvalidArgument("model '" + model.name + "' has no metrics");
  return out;
}

double LognormalMixture::Cdf(double x) const {
  if (!(x > 0)) return 0;
  const double lx = std::log(x);
  return (1 - slow_weight) * Phi((lx - std::log(fast_median)) / fast_sigma) +
         slow_weight * Phi((lx - std::log(slow_median)) / slow_sigma);
}

double LognormalMixture::Quantile(double p) const {
  // Bisection on log x: the CDF is monotone and the bracket covers both components' tails.
  const double smax = std::max(fast_sigma, slow_sigma);
  double lo = std::log(std::min(fast_median, slow_median)) - 10 * smax;
  double hi = std::log(std::max(fast_median, slow_median)) + 10 * smax;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    (Cdf(std::exp(mid)) < p ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

double LognormalMixture::Mean() const {
  return (1 - slow_weight) * fast_median * std::exp(fast_sigma * fast_sigma / 2) +
         slow_weight * slow_median * std::exp(slow_sigma * slow_sigma / 2);
}

namespace {

double MixtureVariance(const LognormalMixture& m) {
  auto second = [](double median, double sigma) {
    return median * median * std::exp(2 * sigma * sigma);  // E[X^2] of a lognormal
  };
  const double mean = m.Mean();
  const double ex2 = (1 - m.slow_weight) * second(m.fast_median, m.fast_sigma) +
                     m.slow_weight * second(m.slow_median, m.slow_sigma);
  return std::max(0.0, ex2 - mean * mean);
}

// The step's sample quantile of n draws from `mix`: order statistic k = ceil(q n) of n
// uniforms is Beta(k, n + 1 - k), mapped through the inverse CDF.
double SampleQuantile(Rng& rng, const LognormalMixture& mix, double q, int64_t n) {
  const int64_t k = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(q * n)), 1, n);
  const double a = std::gamma_distribution<double>(static_cast<double>(k), 1.0)(rng);
  const double b = std::gamma_distribution<double>(static_cast<double>(n + 1 - k), 1.0)(rng);
  double u = a / (a + b);
  u = std::clamp(u, 1e-12, 1 - 1e-12);
  return mix.Quantile(u);
}

}  // namespace

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (o.count < 1 || o.count > 1000000) return InvalidArgument("count must be in [1, 1000000]");
  if (!(o.bad_fraction >= 0 && o.bad_fraction <= 1)) {
    return InvalidArgument("bad fraction must be in [0, 1]");
  }
  if (o.step_ms <= 0) return InvalidArgument("step must be positive");
  if (o.duration_ms < 2 * o.step_ms) return InvalidArgument("duration must be at least 2 steps");
  if (o.duration_ms % o.step_ms != 0) {
    return InvalidArgument("duration must be a multiple of the step");
  }
  if (o.duration_ms / o.step_ms > 100000) return InvalidArgument("more than 100000 steps");
  if (o.duration_ms >= kDayMs) return InvalidArgument("duration must be under a day");
  if (o.metrics.empty()) return InvalidArgument("no metrics to generate");
  std::set<std::string> names;
  for (const auto& m : o.metrics) {
    if (m.name.empty()) return InvalidArgument("a generated metric has no name");
    if (!names.insert(m.name).second) {
      return InvalidArgument("metric '" + m.name + "' is listed twice");
    }
    if (m.signal == Signal::kLatencyQuantile && !(m.quantile > 0 && m.quantile < 1)) {
      return InvalidArgument("metric '" + m.name + "': quantile must be in (0, 1)");
    }
  }
  if (std::lround(o.count * o.bad_fraction) > 0) {
    if (o.kinds.empty()) return InvalidArgument("bad releases need at least one regression kind");
    for (Regression k : o.kinds) {
      if (k == Regression::kNone) return InvalidArgument("'none' is not a regression kind");
    }
  }
  if (!(o.min_rps > 0 && o.max_rps >= o.min_rps)) {
    return InvalidArgument("need 0 < min_rps <= max_rps");
  }
  if (!(o.diurnal_amplitude >= 0 && o.diurnal_amplitude < 1)) {
    return InvalidArgument("diurnal amplitude must be in [0, 1)");
  }
  if (!(o.error_rate >= 0 && o.error_rate < 0.5)) {
    return InvalidArgument("error rate must be in [0, 0.5)");
  }
  if (!(o.zero_inflation >= 0 && o.zero_inflation < 1)) {
    return InvalidArgument("zero inflation must be in [0, 1)");
  }
  if (!(o.low_traffic_probability >= 0 && o.low_traffic_probability <= 1)) {
    return InvalidArgument("low-traffic probability must be in [0, 1]");
  }
  if (!(o.ar_phi >= 0 && o.ar_phi < 1)) return InvalidArgument("AR coefficient must be in [0, 1)");
  if (!(o.traffic_noise_sd >= 0 && o.latency_noise_sd >= 0)) {
    return InvalidArgument("noise standard deviations must be >= 0");
  }
  return {};
}

namespace {

// REQUIRES: options validated, 0 <= index < count.
sources::Release Generate(const GeneratorOptions& o, int index, Regression kind) {
  Rng rng(StreamSeed(o.seed, static_cast<uint64_t>(index), 1));
  Rng reg_rng(StreamSeed(o.seed, static_cast<uint64_t>(index), 2));

  const size_t n = static_cast<size_t>(o.duration_ms / o.step_ms + 1);
  const double step_s = static_cast<double>(o.step_ms) / 1000.0;
  sources::Release r;
  char name[96];
  std::snprintf(name, sizeof name, "%s-%llu-%03d", o.name_prefix.c_str(),
                static_cast<unsigned long long>(o.seed), index);
  r.name = name;
  r.model = o.model;
  const int64_t minute = std::uniform_int_distribution<int64_t>(0, 1439)(rng);
  r.start_ms = o.first_day_ms + int64_t{index} * kDayMs + minute * 60000;
  r.start_ms -= ((r.start_ms % o.step_ms) + o.step_ms) % o.step_ms;
  r.step_ms = o.step_ms;
  r.end_ms = r.start_ms + static_cast<int64_t>(n - 1) * o.step_ms;

  // --- the service ----------------------------------------------------------------------
  const double base_rps = std::exp(Uniform(rng, std::log(o.min_rps), std::log(o.max_rps)));
  std::vector<double> expected(n);  // requests/s before noise, same for both sides
  for (size_t t = 0; t < n; ++t) {
    const double hours =
        static_cast<double>((r.start_ms + static_cast<int64_t>(t) * o.step_ms) % kDayMs) / kHourMs;
    const double phase = 2 * M_PI * (hours - o.peak_hour + 6) / 24;
    expected[t] = base_rps * (1 + o.diurnal_amplitude * std::sin(phase));
  }
  if (Uniform(rng, 0, 1) < o.low_traffic_probability) {
    const size_t len =
        std::max<size_t>(1, static_cast<size_t>(Uniform(rng, 0.10, 0.25) * static_cast<double>(n)));
    const size_t from = std::uniform_int_distribution<size_t>(0, n - len)(rng);
    const double factor = Uniform(rng, 0.05, 0.2);
    for (size_t t = from; t < from + len; ++t) expected[t] *= factor;
  }
  const double peak_rps = base_rps * (1 + o.diurnal_amplitude);

  // Errors: a per-service fraction, mean-one lognormal around the configured rate.
  const double e0 = o.error_rate * std::exp(0.5 * Normal(rng) - 0.125);
  // Latency mixture of the release.
  LognormalMixture base_mix;
  base_mix.fast_median = std::exp(Uniform(rng, std::log(0.020), std::log(0.150)));
  base_mix.fast_sigma = 0.35;
  base_mix.slow_median = base_mix.fast_median * Uniform(rng, 4, 10);
  base_mix.slow_sigma = 0.5;
  base_mix.slow_weight = Uniform(rng, 0.02, 0.06);
  const double gauge_level = Uniform(rng, 0.2, 2.0);

  // --- the regression (own stream: a release's service does not depend on its label) -----
  RegressionParams reg;
  {
    reg.kind = kind;
    reg.start =
        static_cast<size_t>(std::llround(Uniform(reg_rng, 0.05, 0.3) * static_cast<double>(n - 1)));
    reg.shift = Uniform(reg_rng, 1.15, 1.5);
    reg.tail_weight = Uniform(reg_rng, 2.0, 3.5);
    reg.tail_median = Uniform(reg_rng, 1.4, 2.2);
    reg.noise = Uniform(reg_rng, 3.0, 5.0);
    reg.sigma = 1.3;
    reg.burst = Uniform(reg_rng, 6.0, 20.0);
    const double burst_min = Uniform(reg_rng, 5.0, 20.0);
    reg.burst_end =
        std::min(n, reg.start + std::max<size_t>(
                                    1, static_cast<size_t>(std::llround(
                                           burst_min * 60000.0 / static_cast<double>(o.step_ms)))));
    reg.leak = Uniform(reg_rng, 0.3, 1.0);
  }
  if (reg.kind != Regression::kNone) {
    r.label.truth = "bad";
    r.label.regression = RegressionName(reg.kind);
    r.label.regression_start_ms = r.start_ms + static_cast<int64_t>(reg.start) * o.step_ms;
  } else {
    r.label.truth = "good";
    r.label.regression = RegressionName(Regression::kNone);
  }
  auto active = [&](size_t t) { return reg.kind != Regression::kNone && t >= reg.start; };
  auto leak_factor = [&](size_t t) {
    if (reg.kind != Regression::kLeak || !active(t) || n - 1 <= reg.start) return 1.0;
    return 1 +
           reg.leak * static_cast<double>(t - reg.start) / static_cast<double>(n - 1 - reg.start);
  };

  // --- the series, side by side ----------------------------------------------------------
  const double phi = o.ar_phi;
  const double tsd = o.traffic_noise_sd, lsd = o.latency_noise_sd;
  const std::vector<double> shared_traffic = Ar1(rng, n, phi, tsd);
  const std::vector<double> shared_latency = Ar1(rng, n, phi, lsd);
  // Error fluctuations come mostly from shared causes (a flaky dependency, a bad client), so
  // they are common to both sides: a structural-zero step is one for both, and most of the
  // error-fraction noise is shared. Independent per-side parts would make a healthy canary's
  // error count overdispersed against its baseline far beyond what real pairs show.
  const double error_sd = 0.3;
  const std::vector<double> shared_error = Ar1(rng, n, phi, error_sd);
  std::vector<bool> structural_zero(n);
  for (size_t t = 0; t < n; ++t) structural_zero[t] = Uniform(rng, 0, 1) < o.zero_inflation;
  struct Side {
    std::vector<int64_t> requests, errors;
    std::vector<LognormalMixture> mix;
    std::vector<double> scale;  // latency noise x load x leak
    std::vector<double> gauge;
  } sides[2];
  const double own_error_sd = 0.1;
  for (int s = 0; s < 2; ++s) {
    const bool canary = s == 1;
    Side& side = sides[s];
    const std::vector<double> own_traffic = Ar1(rng, n, phi, tsd * 0.5);
    const std::vector<double> own_error = Ar1(rng, n, phi, own_error_sd);
    std::vector<double> own_latency = Ar1(rng, n, phi, lsd * 0.6);
    const std::vector<double> own_gauge = Ar1(rng, n, phi, 0.05);
    const double traffic_var = tsd * tsd + 0.25 * tsd * tsd;
    side.requests.resize(n);
    side.errors.resize(n);
    side.mix.resize(n);
    side.scale.resize(n);
    side.gauge.resize(n);
    for (size_t t = 0; t < n; ++t) {
      const bool reg_on = canary && active(t);
      const double rps =
          expected[t] * std::exp(shared_traffic[t] + own_traffic[t] - traffic_var / 2);
      const int64_t req = Poisson(rng, rps * step_s);
      side.requests[t] = req;

      const double error_var = error_sd * error_sd + own_error_sd * own_error_sd;
      double e = e0 * std::exp(shared_error[t] + own_error[t] - error_var / 2);
      const bool burst = reg_on && reg.kind == Regression::kErrorBurst && t < reg.burst_end;
      int64_t err = 0;
      if (burst) {
        err = Poisson(rng, static_cast<double>(req) * std::min(0.9, e * reg.burst));
      } else if (!structural_zero[t]) {
        err = Poisson(rng, static_cast<double>(req) * e / (1 - o.zero_inflation));
      }
      side.errors[t] = std::min(err, req);

      LognormalMixture mix = base_mix;
      double noise = own_latency[t];
      if (reg_on) {
        switch (reg.kind) {
          case Regression::kLatencyShift:
            mix.fast_median *= reg.shift;
            mix.slow_median *= reg.shift;
            break;
          case Regression::kTailOnly:
            mix.slow_weight = std::min(0.5, mix.slow_weight * reg.tail_weight);
            mix.slow_median *= reg.tail_median;
            break;
          case Regression::kVarianceIncrease:
            noise *= reg.noise;
            mix.fast_sigma *= reg.sigma;
            mix.slow_sigma *= reg.sigma;
            break;
          default:
            break;
        }
      }
      const double load = expected[t] / peak_rps;
      side.mix[t] = mix;
      side.scale[t] = std::exp(shared_latency[t] + noise) * (1 + 0.2 * load * load) *
                      (canary ? leak_factor(t) : 1.0);
      double g = gauge_level * (0.3 + 0.7 * load) * std::exp(own_gauge[t]);
      if (reg_on && reg.kind == Regression::kLatencyShift) g *= 1 + (reg.shift - 1) / 2;
      if (canary) g *= leak_factor(t);
      side.gauge[t] = g;
    }
  }

  for (const auto& gm : o.metrics) {
    sources::ArchivedMetric am;
    am.name = gm.name;
    for (int s = 0; s < 2; ++s) {
      const Side& side = sides[s];
      std::vector<double>& out = s == 0 ? am.primary : am.canary;
      out.resize(n);
      for (size_t t = 0; t < n; ++t) {
        const int64_t req = side.requests[t];
        const double reqd = static_cast<double>(req);
        double v = kNaN;
        switch (gm.signal) {
          case Signal::kRequestRate:
            v = reqd / step_s;
            break;
          case Signal::kErrorCount:
            v = static_cast<double>(side.errors[t]);
            break;
          case Signal::kErrorRate:
            if (req > 0) v = static_cast<double>(side.errors[t]) / reqd;
            break;
          case Signal::kSuccessRate:
            if (req > 0) v = 1 - static_cast<double>(side.errors[t]) / reqd;
            break;
          case Signal::kLatencyQuantile:
            if (req > 0) v = side.scale[t] * SampleQuantile(rng, side.mix[t], gm.quantile, req);
            break;
          case Signal::kLatencyMean:
            if (req > 0) {
              const double sd = std::sqrt(MixtureVariance(side.mix[t]) / reqd);
              const double mean = side.mix[t].Mean();
              v = side.scale[t] * std::max(mean * 0.2, mean + sd * Normal(rng));
            }
            break;
          case Signal::kGauge:
            v = side.gauge[t];
            break;
        }
        out[t] = Round6(v);
      }
    }
    r.metrics.push_back(std::move(am));
  }
  return r;
}

}  // namespace

Result<sources::Release> GenerateRelease(const GeneratorOptions& o, int index) {
  if (auto st = ValidateGeneratorOptions(o); !st) return st.error();
  if (index < 0 || index >= o.count) {
    return InvalidArgument("release index " + std::to_string(index) + " is outside [0, " +
                           std::to_string(o.count) + ")");
  }
  return Generate(o, index, PlanRegressions(o)[static_cast<size_t>(index)]);
}

Result<sources::Release> GenerateRelease(const GeneratorOptions& o, int index, Regression kind) {
  if (auto st = ValidateGeneratorOptions(o); !st) return st.error();
  if (index < 0 || index >= o.count) {
    return InvalidArgument("release index " + std::to_string(index) + " is outside [0, " +
                           std::to_string(o.count) + ")");
  }
  return Generate(o, index, kind);
}

std::vector<Regression> PlanRegressions(const GeneratorOptions& o) {
  std::vector<Regression> out;
  out.reserve(static_cast<size_t>(std::max(0, o.count)));
  for (int k : BadKindIndex(o)) {
    out.push_back(k < 0 || static_cast<size_t>(k) >= o.kinds.size()
                      ? Regression::kNone
                      : o.kinds[static_cast<size_t>(k)]);
  }
  return out;
}

Result<std::vector<sources::Release>> GenerateReleases(const GeneratorOptions& o) {
  if (auto st = ValidateGeneratorOptions(o); !st) return st.error();
  std::vector<sources::Release> out;
  out.reserve(static_cast<size_t>(o.count));
  const std::vector<Regression> plan = PlanRegressions(o);
  for (int i = 0; i < o.count; ++i) out.push_back(Generate(o, i, plan[static_cast<size_t>(i)]));
  return out;
}

}  // namespace augur::replay
