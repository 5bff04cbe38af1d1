#include "augur/stats/sequential.h"

#include <algorithm>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

#include "stats/boost_policy.h"
#include "stats/distributions.h"

namespace augur::stats {
namespace {

namespace bm = boost::math;
using Policy = internal::BoostPolicy;  // inputs are validated first, so no NaN arises

constexpr double kInf = std::numeric_limits<double>::infinity();

bool IsProbability(double alpha) { return std::isfinite(alpha) && alpha > 0 && alpha < 1; }

const char* NonFiniteName(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "+Inf" : "-Inf"); }

// Folds `values` into `arm` by Welford's update. Per value rather than per batch so that the
// summary, and hence Lambda, is bit-for-bit the same however the values are split into checks.
// Validates before touching `arm`, so an error leaves it unchanged.
Status AddValues(std::span<const double> values, const char* name, NonFinitePolicy policy,
                 ArmSummary* arm) {
  if (policy == NonFinitePolicy::kReject) {
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) {
        return InvalidArgument(std::string(name) + ": value at index " + std::to_string(i) +
                               " is " + NonFiniteName(values[i]));
      }
    }
  }
  for (const double v : values) {
    if (!std::isfinite(v)) continue;  // kDrop
    ++arm->n;
    const double delta = v - arm->mean;
    arm->mean += delta / static_cast<double>(arm->n);
    arm->m2 += delta * (v - arm->mean);
  }
  return {};
}

Status CheckMsprtOptions(const MsprtOptions& o) {
  if (!IsProbability(o.alpha)) return InvalidArgument("alpha must lie in (0, 1)");
  if (!std::isfinite(o.theta0)) return InvalidArgument("theta0 must be finite");
  if (!std::isfinite(o.tau) || o.tau < 0) return InvalidArgument("tau must be >= 0 (0 = auto)");
  if (!std::isfinite(o.truncation) || o.truncation <= 0) {
    return InvalidArgument("truncation must be > 0");
  }
  if (!std::isfinite(o.sigma) || o.sigma < 0) {
    return InvalidArgument("sigma must be >= 0 (0 = estimate)");
  }
  return {};
}

Status CheckCountOptions(const CountTestOptions& o) {
  if (!IsProbability(o.alpha)) return InvalidArgument("alpha must lie in (0, 1)");
  const bool a_set = o.prior_a != 0, b_set = o.prior_b != 0;
  if (a_set != b_set) return InvalidArgument("prior_a and prior_b must be both 0 or both > 0");
  if (a_set &&
      !(std::isfinite(o.prior_a) && o.prior_a > 0 && std::isfinite(o.prior_b) && o.prior_b > 0)) {
    return InvalidArgument("prior_a and prior_b must be finite and > 0");
  }
  if (!std::isfinite(o.prior_concentration) || o.prior_concentration <= 0) {
    return InvalidArgument("prior_concentration must be > 0");
  }
  return {};
}

Status CheckExposure(double exposure, uint64_t events, const char* arm) {
  if (!std::isfinite(exposure) || exposure < 0) {
    return InvalidArgument(std::string(arm) + " exposure must be finite and >= 0");
  }
  if (exposure == 0 && events > 0) {
    return InvalidArgument(std::string(arm) + ": " + std::to_string(events) +
                           " events with zero exposure");
  }
  return {};
}

double LogBeta(double a, double b) {
  return bm::lgamma(a, Policy()) + bm::lgamma(b, Policy()) - bm::lgamma(a + b, Policy());
}

// log of the prior mass on the alternative's side of rho0 (0 for two-sided), Beta(a, b).
double LogSideMass(double a, double b, double rho0, Alternative alt) {
  switch (alt) {
    case Alternative::kTwoSided:
      return 0.0;
    case Alternative::kGreater:
      return std::log(bm::ibetac(a, b, rho0, Policy()));
    case Alternative::kLess:
      return std::log(bm::ibeta(a, b, rho0, Policy()));
  }
  return 0.0;
}

// log Phi(s). Far in the lower tail Phi underflows long before Lambda+ = 2 Phi(s) Lambda does
// (log Lambda grows like s^2/2 and cancels log Phi's -s^2/2), so use the asymptotic series
// Phi(s) = phi(s)/|s| (1 - 1/s^2 + 3/s^4 - 15/s^6 ...) there; its relative error is < 1e-9
// for s < -30.
double LogNormalCdf(double s) {
  if (s > -30) return std::log(internal::NormalCdf(s));
  const double s2 = s * s;
  return -0.5 * s2 - std::log(-s) - 0.5 * std::log(2 * std::numbers::pi) +
         std::log1p((-1 + (3 - 15 / s2) / s2) / s2);
}

}  // namespace

double CalcTauSquared(double alpha, double sigma, double truncation) {
  const double b = 2 * std::log(1 / alpha) / std::sqrt(truncation * sigma * sigma);
  // ratio = Phi(-b) / (phi(b)/b - Phi(-b)) = R / (1/b - R) with Mills' ratio R = Phi(-b)/phi(b).
  // phi(b) underflows past b ~ 38, so large b (tiny horizons or alphas) uses the asymptotic
  // series of R instead (relative error < 1e-9 for b > 30).
  double mills;
  if (b > 30) {
    const double b2 = b * b;
    mills = (1 - (1 - (3 - 15 / b2) / b2) / b2) / b;
  } else {
    const double pdf = std::exp(-0.5 * b * b) / std::sqrt(2 * std::numbers::pi);
    mills = internal::NormalCdf(-b) / pdf;
  }
  return sigma * sigma * mills / (1 / b - mills);
}

Result<MsprtResult> MsprtUpdate(MsprtState& state, std::span<const double> new_canary,
                                std::span<const double> new_baseline, const MsprtOptions& opt) {
  if (auto st = CheckMsprtOptions(opt); !st) return st.error();
  ArmSummary canary = state.canary, baseline = state.baseline;
  if (auto st = AddValues(new_canary, "canary", opt.non_finite, &canary); !st) return st.error();
  if (auto st = AddValues(new_baseline, "baseline", opt.non_finite, &baseline); !st) {
    return st.error();
  }
  if (canary.n == state.canary.n && baseline.n == state.baseline.n) {
    return InvalidArgument("no new values in either arm (canary and baseline both empty)");
  }

  // Everything below only reads; the state is committed at the end.
  MsprtResult r;
  r.n_canary = canary.n;
  r.n_baseline = baseline.n;
  r.conf_level = 1 - opt.alpha;
  const double nx = static_cast<double>(canary.n), ny = static_cast<double>(baseline.n);
  double sigma = opt.sigma;
  if (sigma == 0 && canary.n > 0 && baseline.n > 0 && canary.n + baseline.n >= 3) {
    sigma = std::sqrt((canary.m2 + baseline.m2) / (nx + ny - 2));
  }
  r.testable = canary.n > 0 && baseline.n > 0 && sigma > 0;
  double log_lambda = 0;
  double low = state.conf_low, high = state.conf_high;
  if (r.testable) {
    r.estimate = canary.mean - baseline.mean;
    r.sigma = sigma;
    // The auto mixture is N(0, tau_std^2) on theta / sigma (see the header), i.e. tau scales
    // with the current sigma estimate.
    r.tau =
        opt.tau > 0 ? opt.tau : sigma * std::sqrt(CalcTauSquared(opt.alpha, 1.0, opt.truncation));
    const double v = sigma * sigma * (1 / nx + 1 / ny);
    const double t2 = r.tau * r.tau;
    const double dev = r.estimate - opt.theta0;
    // log1p keeps the small-information end (tau^2 << V) accurate.
    log_lambda = -0.5 * std::log1p(t2 / v) + t2 * dev * dev / (2 * v * (v + t2));
    if (opt.alternative != Alternative::kTwoSided) {
      const double s = dev * r.tau / std::sqrt(v * (v + t2));
      log_lambda += std::log(2.0) + LogNormalCdf(opt.alternative == Alternative::kGreater ? s : -s);
    }
    const double half =
        std::sqrt(v * (v + t2) / t2 * (std::log1p(t2 / v) - 2 * std::log(opt.alpha)));
    low = std::max(low, r.estimate - half);
    high = std::min(high, r.estimate + half);
  }

  state.canary = canary;
  state.baseline = baseline;
  ++state.checks;
  state.max_log_lambda = std::max(state.max_log_lambda, log_lambda);
  state.conf_low = low;
  state.conf_high = high;

  r.log_lambda = log_lambda;
  r.lambda = std::exp(log_lambda);
  r.p_value = std::min(1.0, std::exp(-state.max_log_lambda));
  r.reject = state.max_log_lambda >= -std::log(opt.alpha);
  r.conf_low = low;
  r.conf_high = high;
  return r;
}

Result<CountTestResult> CountTestUpdate(CountTestState& state, uint64_t canary_events,
                                        double canary_exposure, uint64_t baseline_events,
                                        double baseline_exposure, const CountTestOptions& opt) {
  if (auto st = CheckCountOptions(opt); !st) return st.error();
  if (auto st = CheckExposure(canary_exposure, canary_events, "canary"); !st) return st.error();
  if (auto st = CheckExposure(baseline_exposure, baseline_events, "baseline"); !st) {
    return st.error();
  }
  if (canary_exposure == 0 && baseline_exposure == 0) {
    return InvalidArgument("no new exposure in either arm");
  }
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (canary_events > kMax - state.canary_events ||
      baseline_events > kMax - state.baseline_events) {
    return InvalidArgument("event counts overflow 64 bits");
  }

  CountTestResult r;
  r.canary_events = state.canary_events + canary_events;
  r.baseline_events = state.baseline_events + baseline_events;
  r.canary_exposure = state.canary_exposure + canary_exposure;
  r.baseline_exposure = state.baseline_exposure + baseline_exposure;
  if (!std::isfinite(r.canary_exposure + r.baseline_exposure)) {
    return InvalidArgument("cumulative exposure overflows");
  }
  const double c = static_cast<double>(r.canary_events);
  const double b = static_cast<double>(r.baseline_events);
  if (c + b > 0) r.canary_share = c / (c + b);
  if (r.baseline_events > 0) {
    r.rate_ratio = (c / r.canary_exposure) / (b / r.baseline_exposure);
  } else {
    r.rate_ratio = r.canary_events > 0 ? kInf : 1.0;
  }
  r.testable = r.canary_exposure > 0 && r.baseline_exposure > 0;
  double prior_a = state.prior_a, prior_b = state.prior_b;
  double log_bf = 0;
  if (r.testable) {
    r.rho0 = r.canary_exposure / (r.canary_exposure + r.baseline_exposure);
    if (prior_a == 0) {  // first testable check: freeze the mixture for the rest of the test
      if (opt.prior_a > 0) {
        prior_a = opt.prior_a;
        prior_b = opt.prior_b;
      } else {
        prior_a = opt.prior_concentration * r.rho0;
        prior_b = opt.prior_concentration * (1 - r.rho0);
      }
    }
    const double prior_side = LogSideMass(prior_a, prior_b, r.rho0, opt.alternative);
    if (!std::isfinite(prior_side)) {
      return InvalidArgument(
          "the Beta(" + std::to_string(prior_a) + ", " + std::to_string(prior_b) +
          ") prior puts no mass on the alternative's side of rho0 = " + std::to_string(r.rho0));
    }
    log_bf = LogBeta(prior_a + c, prior_b + b) - LogBeta(prior_a, prior_b) - c * std::log(r.rho0) -
             b * std::log1p(-r.rho0) +
             LogSideMass(prior_a + c, prior_b + b, r.rho0, opt.alternative) - prior_side;
    // A tail mass that underflows to 0 gives -inf: BF = 0, no evidence for the alternative.
    if (std::isnan(log_bf)) log_bf = -kInf;
  }

  state.canary_events = r.canary_events;
  state.baseline_events = r.baseline_events;
  state.canary_exposure = r.canary_exposure;
  state.baseline_exposure = r.baseline_exposure;
  state.prior_a = prior_a;
  state.prior_b = prior_b;
  ++state.checks;
  state.max_log_bf = std::max(state.max_log_bf, log_bf);

  r.prior_a = prior_a;
  r.prior_b = prior_b;
  r.log_bayes_factor = log_bf;
  r.bayes_factor = std::exp(log_bf);
  r.p_value = std::min(1.0, std::exp(-state.max_log_bf));
  r.reject = state.max_log_bf >= -std::log(opt.alpha);
  return r;
}

}  // namespace augur::stats
