#include "augur/replay/score.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "augur/core/time.h"

namespace augur::replay {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

Result<double> ParseNumber(const std::string& key, const std::string& v) {
  double d = 0;
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, d);
  if (ec != std::errc() || p != end || !std::isfinite(d)) {
    return InvalidArgument(key + ": '" + v + "' is not a number");
  }
  return d;
}

Result<int> ParseInt(const std::string& key, const std::string& v, int lo, int hi) {
  int i = 0;
  const char* end = v.data() + v.size();
  auto [p, ec] = std::from_chars(v.data(), end, i);
  if (ec != std::errc() || p != end || i < lo || i > hi) {
    return InvalidArgument(key + ": '" + v + "' is not an integer in " + std::to_string(lo) + ".." +
                           std::to_string(hi));
  }
  return i;
}

Result<judge::Mode> ParseMode(const std::string& v) {
  if (v == "kayenta") return judge::Mode::kKayenta;
  if (v == "augur") return judge::Mode::kAugur;
  if (v == "sequential") return judge::Mode::kSequential;
  return InvalidArgument("mode: '" + v + "' is not kayenta, augur or sequential");
}

Result<judge::NoDataPolicy> ParseNoData(const std::string& v) {
  if (v == "fail") return judge::NoDataPolicy::kFail;
  if (v == "inconclusive") return judge::NoDataPolicy::kInconclusive;
  if (v == "pass") return judge::NoDataPolicy::kPass;
  return InvalidArgument("noData: '" + v + "' is not fail, inconclusive or pass");
}

// A per-metric key applied to one metric config.
Status ApplyMetric(const std::string& key, const std::string& value, judge::MetricConfig* m) {
  if (key == "tolerance") {
    auto d = ParseNumber(key, value);
    if (!d) return d.error();
    if (*d < 0) return InvalidArgument("tolerance: must be >= 0");
    m->tolerance = *d;
  } else if (key == "confLevel") {
    auto d = ParseNumber(key, value);
    if (!d) return d.error();
    if (*d <= 0 || *d >= 1) return InvalidArgument("confLevel: must be in (0, 1)");
    m->conf_level = *d;
  } else if (key == "absFloor") {
    auto d = ParseNumber(key, value);
    if (!d) return d.error();
    if (*d < 0) return InvalidArgument("absFloor: must be >= 0");
    m->abs_floor = *d;
  } else if (key == "relFloor") {
    auto d = ParseNumber(key, value);
    if (!d) return d.error();
    if (*d < 0) return InvalidArgument("relFloor: must be >= 0");
    m->rel_floor = *d;
  } else if (key == "minSamples") {
    auto i = ParseInt(key, value, 0, 1000000);
    if (!i) return i.error();
    m->min_samples = static_cast<size_t>(*i);
  } else if (key == "noData") {
    auto p = ParseNoData(value);
    if (!p) return p.error();
    m->no_data = *p;
  } else {
    return InvalidArgument("unknown sweep key '" + key +
                           "' (metric keys: tolerance, confLevel, absFloor, relFloor, "
                           "minSamples, noData)");
  }
  return {};
}

bool IsMetricKey(const std::string& k) {
  return k == "tolerance" || k == "confLevel" || k == "absFloor" || k == "relFloor" ||
         k == "minSamples" || k == "noData";
}

rollout::CanarySpec& SpecOf(ReplayOptions* o) {
  if (!o->spec) o->spec = DefaultSpec(o->interval_ms);
  return *o->spec;
}

}  // namespace

double Confusion::tpr() const { return bad() == 0 ? 0.0 : static_cast<double>(tp) / bad(); }
double Confusion::fpr() const { return good() == 0 ? 0.0 : static_cast<double>(fp) / good(); }

Confusion Score(std::span<const ReleaseReplay> replays, int errors) {
  Confusion c;
  c.errors = errors;
  std::vector<double> delays;
  for (const auto& r : replays) {
    const std::string& t = r.label.truth;
    if (t != "good" && t != "bad") {
      ++c.unlabelled;
      continue;
    }
    const bool bad = t == "bad";
    switch (r.final_verdict) {
      case FinalVerdict::kRolledBack:
        if (bad) {
          ++c.tp;
          if (r.detected_after_ms && *r.detected_after_ms < 0) {
            ++c.early;
          } else if (r.detected_after_ms) {
            delays.push_back(static_cast<double>(*r.detected_after_ms));
          }
        } else {
          ++c.fp;
        }
        break;
      case FinalVerdict::kPromoted:
        ++(bad ? c.fn : c.tn);
        break;
      case FinalVerdict::kInconclusive:
        ++(bad ? c.inconclusive_bad : c.inconclusive_good);
        break;
    }
  }
  if (!delays.empty()) {
    double sum = 0;
    for (double d : delays) sum += d;
    c.mean_ttd_ms = sum / delays.size();
    std::sort(delays.begin(), delays.end());
    const size_t n = delays.size();
    c.median_ttd_ms = n % 2 ? delays[n / 2] : (delays[n / 2 - 1] + delays[n / 2]) / 2;
  }
  return c;
}

Result<SweepParam> ParseSweep(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument("--sweep '" + std::string(text) + "': expected key=v1,v2,...");
  }
  SweepParam p;
  p.key = Trim(text.substr(0, eq));
  std::string_view rest = text.substr(eq + 1);
  while (true) {
    const auto comma = rest.find(',');
    std::string v = Trim(rest.substr(0, comma));
    if (v.empty()) {
      return InvalidArgument("--sweep '" + std::string(text) + "': empty value");
    }
    p.values.push_back(std::move(v));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  // Validate the key and every value once, on a throwaway model with one metric, so a typo is
  // reported before any replay runs.
  ReplayOptions probe;
  probe.model.metrics.push_back({});
  std::string key = p.key;
  if (auto dot = key.rfind('.'); dot != std::string::npos) {
    if (!IsMetricKey(key.substr(dot + 1))) {
      return InvalidArgument("--sweep: '" + key + "': '" + key.substr(dot + 1) +
                             "' is not a per-metric key");
    }
    key = key.substr(dot + 1);
  }
  for (const auto& v : p.values) {
    if (auto st = Apply(key, v, &probe); !st) return st.error().WithContext("--sweep");
  }
  return p;
}

std::vector<Setting> Combinations(std::span<const SweepParam> params) {
  std::vector<Setting> out{Setting{}};
  for (const auto& p : params) {
    std::vector<Setting> next;
    next.reserve(out.size() * p.values.size());
    for (const auto& s : out) {
      for (const auto& v : p.values) {
        Setting t = s;
        t.emplace_back(p.key, v);
        next.push_back(std::move(t));
      }
    }
    out = std::move(next);
  }
  return out;
}

Status Apply(const std::string& key, const std::string& value, ReplayOptions* o) {
  if (IsMetricKey(key)) {
    for (auto& m : o->model.metrics) {
      if (auto st = ApplyMetric(key, value, &m); !st) return st;
    }
    return {};
  }
  if (auto dot = key.rfind('.'); dot != std::string::npos) {
    const std::string metric = key.substr(0, dot);
    for (auto& m : o->model.metrics) {
      if (m.name == metric) return ApplyMetric(key.substr(dot + 1), value, &m);
    }
    return InvalidArgument("sweep key '" + key + "': model '" + o->model.name +
                           "' has no metric '" + metric + "'");
  }
  if (key == "mode") {
    auto m = ParseMode(value);
    if (!m) return m.error();
    o->mode = *m;
  } else if (key == "threshold") {
    auto i = ParseInt(key, value, 1, 1000);
    if (!i) return i.error();
    SpecOf(o).analysis.threshold = *i;
  } else if (key == "stepWeight") {
    auto i = ParseInt(key, value, 1, 100);
    if (!i) return i.error();
    auto& a = SpecOf(o).analysis;
    a.step_weight = *i;
    a.step_weights.clear();
  } else if (key == "maxWeight") {
    auto i = ParseInt(key, value, 1, 100);
    if (!i) return i.error();
    SpecOf(o).analysis.max_weight = *i;
  } else if (key == "interval") {
    auto ms = ParseDurationMs(value);
    if (!ms) return ms.error().WithContext("interval");
    if (*ms <= 0) return InvalidArgument("interval: must be > 0");
    o->interval_ms = *ms;
    auto& a = SpecOf(o).analysis;
    a.interval_ms = *ms;
    a.interval = value;
  } else if (key == "passScore" || key == "marginalScore") {
    auto d = ParseNumber(key, value);
    if (!d) return d.error();
    if (*d < 0 || *d > 100) return InvalidArgument(key + ": must be in 0..100");
    (key == "passScore" ? o->model.thresholds.pass : o->model.thresholds.marginal) = *d;
  } else {
    return InvalidArgument(
        "unknown sweep key '" + key +
        "' (known: tolerance, confLevel, absFloor, relFloor, minSamples, noData, "
        "<metric>.<key>, mode, threshold, stepWeight, maxWeight, interval, passScore, "
        "marginalScore)");
  }
  return {};
}

Status Apply(const Setting& setting, ReplayOptions* options) {
  for (const auto& [k, v] : setting) {
    if (auto st = Apply(k, v, options); !st) return st;
  }
  return {};
}

std::string FormatSetting(const Setting& setting) {
  if (setting.empty()) return "baseline";
  std::string s;
  for (const auto& [k, v] : setting) s += (s.empty() ? "" : " ") + k + "=" + v;
  return s;
}

Result<Objective> ParseObjective(std::string_view text) {
  Objective o;
  const std::string t = Trim(text);
  if (t == "youden") {
    o.kind = Objective::Kind::kYouden;
    return o;
  }
  if (t == "accuracy") {
    o.kind = Objective::Kind::kAccuracy;
    return o;
  }
  const std::string prefix = "tpr@fpr<=";
  if (t.rfind(prefix, 0) == 0) {
    std::string v = t.substr(prefix.size());
    bool percent = !v.empty() && v.back() == '%';
    if (percent) v.pop_back();
    auto d = ParseNumber("objective", v);
    if (!d) return d.error();
    o.max_fpr = percent ? *d / 100 : *d;
    if (o.max_fpr < 0 || o.max_fpr > 1) {
      return InvalidArgument("objective '" + t + "': the FP rate bound must be in 0..1 (or %)");
    }
    o.kind = Objective::Kind::kMaxTprUnderFpr;
    return o;
  }
  return InvalidArgument("objective '" + t +
                         "': expected tpr@fpr<=RATE (e.g. tpr@fpr<=0.05), youden or accuracy");
}

std::string DescribeObjective(const Objective& o) {
  std::string s;
  switch (o.kind) {
    case Objective::Kind::kMaxTprUnderFpr: {
      std::ostringstream pct;
      pct << o.max_fpr * 100;
      s = "maximise TP rate subject to FP rate <= " + pct.str() + "%";
      break;
    }
    case Objective::Kind::kYouden:
      s = "maximise TP rate - FP rate (Youden's J)";
      break;
    case Objective::Kind::kAccuracy:
      s = "maximise accuracy (TP + TN) / labelled releases";
      break;
  }
  return s + ", ties by lower mean time to detect, then fewer inconclusive";
}

std::optional<size_t> Best(std::span<const SweepRow> rows, const Objective& objective) {
  auto value = [&](const Confusion& c) {
    switch (objective.kind) {
      case Objective::Kind::kMaxTprUnderFpr:
        return c.tpr();
      case Objective::Kind::kYouden:
        return c.tpr() - c.fpr();
      case Objective::Kind::kAccuracy: {
        const int n = c.bad() + c.good();
        return n == 0 ? 0.0 : static_cast<double>(c.tp + c.tn) / n;
      }
    }
    return 0.0;
  };
  std::optional<size_t> best;
  constexpr double kEps = 1e-12;
  for (size_t i = 0; i < rows.size(); ++i) {
    const Confusion& c = rows[i].confusion;
    if (objective.kind == Objective::Kind::kMaxTprUnderFpr && c.fpr() > objective.max_fpr + kEps)
      continue;
    if (!best) {
      best = i;
      continue;
    }
    const Confusion& b = rows[*best].confusion;
    const double vc = value(c), vb = value(b);
    if (vc > vb + kEps) {
      best = i;
      continue;
    }
    if (vc < vb - kEps) continue;
    // Equal objective: faster detection wins; a row that detected nothing ranks last.
    const double tc = c.mean_ttd_ms.value_or(1e300), tb = b.mean_ttd_ms.value_or(1e300);
    if (tc < tb) {
      best = i;
      continue;
    }
    if (tc > tb) continue;
    if (c.inconclusive_bad + c.inconclusive_good < b.inconclusive_bad + b.inconclusive_good)
      best = i;
  }
  return best;
}

}  // namespace augur::replay
