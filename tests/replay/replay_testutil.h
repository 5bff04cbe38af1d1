// Deterministic in-memory releases and a small model for the replay tests: per-step latency
// (lognormal around 100 ms), requests (~1000 per step) and errors (Poisson at 0.5 %), with an
// optional regression (latency factor and/or error-rate factor) from a given minute.
#pragma once

// GCC 12 warns about members left out of a designated initializer (GCC bug 96868), which is
// exactly how these tests describe releases: only what differs from the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <cmath>
#include <random>
#include <string>

#include "augur/config/model_file.h"
#include "augur/judge/model.h"
#include "augur/sources/archive.h"

namespace augur::replay::testing {

inline constexpr int64_t kMinute = 60000;
inline constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z

struct ReleaseSpec {
  std::string name = "rel";
  int minutes = 30;  // points 0..minutes (inclusive grid)
  uint64_t seed = 1;
  double latency_factor = 1.0;  // canary latency x factor from `from_minute` on
  double error_factor = 1.0;    // canary error rate x factor from `from_minute` on
  int from_minute = 0;
  std::string truth;            // "good", "bad" or ""
  double latency_sigma = 0.08;  // per-step log-sd of the latency values
};

inline sources::Release MakeRelease(const ReleaseSpec& s) {
  sources::Release r;
  r.name = s.name;
  r.origin = s.name + ".json";
  r.start_ms = kT0;
  r.step_ms = kMinute;
  r.end_ms = kT0 + s.minutes * kMinute;
  r.model = "replay-test";
  r.label.truth = s.truth;
  if (s.truth == "bad") {
    r.label.regression_start_ms = kT0 + s.from_minute * kMinute;
    r.label.regression = s.latency_factor != 1.0 ? "latency-shift" : "error-burst";
  }
  std::mt19937_64 rng(s.seed);
  std::lognormal_distribution<double> lat(std::log(0.100), s.latency_sigma);
  std::normal_distribution<double> req(1000, 30);
  sources::ArchivedMetric latency{"latency", {}, {}, {}}, errors{"errors", {}, {}, {}},
      requests{"requests", {}, {}, {}};
  for (int i = 0; i <= s.minutes; ++i) {
    const bool regressed = i >= s.from_minute;
    const double p_req = std::round(req(rng)), c_req = std::round(req(rng));
    latency.primary.push_back(lat(rng));
    latency.canary.push_back(lat(rng) * (regressed ? s.latency_factor : 1.0));
    requests.primary.push_back(p_req);
    requests.canary.push_back(c_req);
    std::poisson_distribution<int> pe(p_req * 0.005);
    std::poisson_distribution<int> ce(c_req * 0.005 * (regressed ? s.error_factor : 1.0));
    errors.primary.push_back(pe(rng));
    errors.canary.push_back(ce(rng));
  }
  r.metrics = {latency, errors, requests};
  return r;
}

// An Augur-mode model over the three metrics (queries are the metric names, as in archives).
inline judge::Model MakeModel() {
  static const char* kYaml = R"(apiVersion: augur.dev/v1
kind: AnalysisModel
metadata: {name: replay-test}
spec:
  mode: augur
  thresholds: {pass: 75, marginal: 50}
  defaults: {confLevel: 0.95, minSamples: 3}
  metrics:
    - {name: latency, query: latency, groups: [latency], direction: increase,
       effectFloor: {relative: 0.05}}
    - {name: errors, query: errors, groups: [errors], kind: count, exposure: requests,
       direction: increase, critical: true, effectFloor: {relative: 0.10}}
    - {name: requests, query: requests, groups: [traffic], direction: decrease,
       effectFloor: {relative: 0.5}}
)";
  auto m = config::ParseModel(kYaml, "replay-test.yaml");
  if (!m) std::abort();
  return *m;
}

}  // namespace augur::replay::testing
