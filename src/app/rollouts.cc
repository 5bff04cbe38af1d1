// Concrete providers for rollouts; see include/augur/app/rollouts.h.
#include "augur/app/rollouts.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "augur/core/time.h"
#include "augur/notifiers/factory.h"
#include "augur/notifiers/http_post.h"
#include "augur/routers/factory.h"
#include "augur/store/history_store.h"

namespace augur::app {
namespace {

using Json = nlohmann::json;
using rollout::CheckMetric;
using rollout::CheckResult;
using rollout::CheckVerdict;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Webhooks over HTTP, with Flagger's payload and its reading of the answer (200..202 is yes).

class HttpWebhooks final : public rollout::Webhooks {
 public:
  Result<rollout::HookAnswer> Call(const rollout::HookSpec& hook,
                                   const rollout::HookPayload& p) override {
    Json metadata = Json::object();
    for (const auto& [k, v] : p.metadata) metadata[k] = v;
    if (hook.type == rollout::HookType::kEvent) {
      metadata["eventMessage"] = p.event_message;
      metadata["eventType"] = p.event_type;
      metadata["timestamp"] = std::to_string(NowMs());
    }
    const Json body = {{"name", p.name},
                       {"namespace", p.namespace_},
                       {"phase", p.phase},
                       {"checksum", p.checksum},
                       {"metadata", metadata}};
    notifiers::PostRequest req;
    req.url = hook.url;
    req.body = body.dump();
    req.timeout_ms = hook.timeout_ms;
    req.retries = hook.retries;
    req.verify_tls = !hook.disable_tls;
    auto answer = notifiers::PostJson(req);
    if (!answer) return answer.error().WithContext("webhook " + hook.name);
    rollout::HookAnswer a;
    a.ok = answer->status >= 200 && answer->status <= 202;
    a.reason = answer->body.substr(0, 300);
    while (!a.reason.empty() && (a.reason.back() == '\n' || a.reason.back() == '\r')) {
      a.reason.pop_back();
    }
    if (a.reason.empty()) a.reason = "HTTP " + std::to_string(answer->status);
    return a;
  }
};

// ---------------------------------------------------------------------------------------------
// Rollout events as notifier messages (and log lines).

notifiers::Severity ToSeverity(rollout::Severity s) {
  switch (s) {
    case rollout::Severity::kInfo:
      return notifiers::Severity::kInfo;
    case rollout::Severity::kWarn:
      return notifiers::Severity::kWarn;
    case rollout::Severity::kError:
      return notifiers::Severity::kError;
  }
  return notifiers::Severity::kInfo;
}

class EventNotifier final : public rollout::Notifier {
 public:
  EventNotifier(std::string rollout, std::unique_ptr<notifiers::Notifier> out,
                std::function<void(const std::string&)> log)
      : rollout_(std::move(rollout)), out_(std::move(out)), log_(std::move(log)) {}

  void Notify(const rollout::Event& e) override {
    notifiers::Message m;
    m.time_ms = e.time_ms;
    m.severity = ToSeverity(e.severity);
    m.rollout = rollout_;
    m.phase = rollout::PhaseName(e.state.phase);
    m.text = e.message.empty() ? m.phase : e.message;
    m.fields = {{"phase", m.phase},
                {"canary weight", std::to_string(e.state.canary_weight)},
                {"failed checks", std::to_string(e.state.failed_checks)}};
    if (e.state.iterations > 0)
      m.fields.emplace_back("iterations", std::to_string(e.state.iterations));
    if (out_) (void)out_->Send(m);  // an async fan-out: never blocks, failures are counted there
    if (log_) {
      log_(Json({{"time", FormatTimeMs(e.time_ms)},
                 {"level", rollout::SeverityName(e.severity)},
                 {"event", "rollout"},
                 {"rollout", rollout_},
                 {"from", rollout::PhaseName(e.previous)},
                 {"phase", m.phase},
                 {"weight", e.state.canary_weight},
                 {"failedChecks", e.state.failed_checks},
                 {"message", e.message}})
               .dump());
    }
  }

 private:
  std::string rollout_;
  std::unique_ptr<notifiers::Notifier> out_;
  std::function<void(const std::string&)> log_;
};

// ---------------------------------------------------------------------------------------------
// The analysis check.

struct Tally {
  std::vector<CheckMetric> lines;
  std::string first_fail, first_inconclusive;
  void Add(const std::string& name, CheckVerdict v, const std::string& detail) {
    lines.push_back({name, rollout::CheckVerdictName(v), detail});
    if (v == CheckVerdict::kFail && first_fail.empty()) first_fail = name + ": " + detail;
    if (v == CheckVerdict::kInconclusive && first_inconclusive.empty()) {
      first_inconclusive = name + ": " + detail;
    }
  }
};

std::map<std::string, std::string> BaseVars(const rollout::CanarySpec& spec) {
  std::map<std::string, std::string> vars = spec.augur.vars;
  vars.emplace("namespace", spec.namespace_);
  vars.emplace("target", spec.target_ref.name);
  return vars;
}

// One Flagger metric: its value over its own interval, at `now`, against thresholdRange.
void CheckSpecMetric(const RolloutEnvironment& env, const rollout::CanarySpec& spec,
                     const rollout::MetricSpec& m, int64_t now, Tally* t) {
  std::string query = m.template_name;
  double scale = 1;
  if (m.builtin) {
    const bool success = m.name == "request-success-rate";
    query = success ? "success_rate" : "latency_p99_seconds";
    scale = success ? 100 : 1000;  // Flagger's units: percent and milliseconds
  }
  double value = NAN;
  std::string approximation;
  if (!m.query.empty() && query.empty()) {
    auto raw = env.source->FetchRaw(sources::RawQuery{m.query, now, now, 1000});
    if (!raw) return t->Add(m.name, CheckVerdict::kInconclusive, raw.error().message);
    if (!raw->values.empty()) value = raw->values.back();
  } else {
    sources::MetricRequest r;
    r.provider = spec.augur.provider.empty() ? env.default_provider : spec.augur.provider;
    r.query = query;
    r.vars = BaseVars(spec);
    r.vars["interval"] = m.interval;
    for (const auto& [k, v] : m.template_variables) r.vars[k] = v;
    // Flagger runs one instant query at `now`; a few 1 s slots ending at `now` with the latest
    // finite one taken give the same value when the newest scrape is a moment old.
    r.end_ms = now;
    r.start_ms = now - 3000;
    r.step_ms = 1000;
    auto pair = env.source->Fetch(r);
    if (!pair && pair.error().code == ErrorCode::kNotFound &&
        query.find('-') != std::string::npos) {
      // Flagger MetricTemplates are named with dashes; Augur's templates with underscores.
      r.query = query;
      std::replace(r.query.begin(), r.query.end(), '-', '_');
      pair = env.source->Fetch(r);
    }
    if (!pair) return t->Add(m.name, CheckVerdict::kInconclusive, pair.error().message);
    for (auto it = pair->canary.rbegin(); it != pair->canary.rend(); ++it) {
      if (std::isfinite(*it)) {
        value = *it;
        break;
      }
    }
    approximation = pair->approximation;
  }
  if (!std::isfinite(value)) {
    return t->Add(m.name, CheckVerdict::kInconclusive, "no data for the canary over " + m.interval);
  }
  value *= scale;
  std::string detail = Num(value);
  bool ok = true;
  if (m.min) {
    ok = ok && value >= *m.min;
    detail += (value >= *m.min ? " >= " : " < ") + Num(*m.min);
  }
  if (m.max) {
    ok = ok && value <= *m.max;
    detail += (value <= *m.max ? " <= " : " > ") + Num(*m.max);
  }
  if (!approximation.empty()) detail += " (" + approximation + ")";
  t->Add(m.name, ok ? CheckVerdict::kPass : CheckVerdict::kFail, detail);
}

void CheckModel(const RolloutEnvironment& env, const rollout::CheckContext& ctx, Tally* t) {
  const rollout::CanarySpec& spec = ctx.spec;
  const std::string label = "model " + spec.augur.model;
  const judge::Model* model = nullptr;
  if (env.models) {
    auto it = env.models->find(spec.augur.model);
    if (it != env.models->end()) model = &it->second;
  }
  if (!model) return t->Add(label, CheckVerdict::kInconclusive, "unknown model");
  const int64_t interval = spec.analysis.interval_ms;
  analysis::AnalysisRequest r;
  r.provider = spec.augur.provider.empty() ? env.default_provider : spec.augur.provider;
  r.vars = BaseVars(spec);
  r.step_ms = env.step_ms > 0 ? env.step_ms : std::max<int64_t>(1000, interval / 5);
  r.end_ms = ctx.now_ms / 1000 * 1000;
  r.start_ms = std::max(ctx.state.run_started_ms, r.end_ms - env.model_window_intervals * interval);
  r.start_ms = r.end_ms - (r.end_ms - r.start_ms) / r.step_ms * r.step_ms;  // on the step grid
  auto a = analysis::Analyze(*model, *env.source, r, env.on_source_failure);
  if (!a) return t->Add(label, CheckVerdict::kInconclusive, a.error().message);
  for (const auto& m : a->judgement.results) {
    CheckVerdict v = CheckVerdict::kPass;
    if (m.classification == judge::Classification::kInconclusive ||
        m.classification == judge::Classification::kNodata) {
      v = CheckVerdict::kInconclusive;
    } else if (m.classification != judge::Classification::kPass) {
      v = m.critical || a->judgement.outcome == judge::Outcome::kFail ? CheckVerdict::kFail
                                                                      : CheckVerdict::kInconclusive;
    }
    // Only the model's overall outcome decides; metric lines explain it.
    t->lines.push_back({m.name, rollout::CheckVerdictName(v),
                        std::string(judge::ClassificationName(m.classification)) +
                            (m.reason.empty() ? "" : ": " + m.reason)});
  }
  const std::string summary = std::string(judge::OutcomeName(a->judgement.outcome)) + ", score " +
                              Num(a->judgement.score) +
                              (a->judgement.reason.empty() ? "" : ": " + a->judgement.reason);
  switch (a->judgement.outcome) {
    case judge::Outcome::kPass:
      t->lines.push_back({label, "pass", summary});
      break;
    case judge::Outcome::kFail:
      t->Add(label, CheckVerdict::kFail, summary);
      break;
    case judge::Outcome::kMarginal:  // Kayenta's marginal: neither promote nor count as pass
    case judge::Outcome::kInconclusive:
      t->Add(label, CheckVerdict::kInconclusive, summary);
      break;
  }
}

// Notifier settings as the factory wants them.
Result<std::unique_ptr<notifiers::Notifier>> Notifiers(
    const rollout::CanarySpec& spec, const std::function<void(const std::string&)>& log) {
  std::vector<std::unique_ptr<notifiers::Notifier>> targets;
  for (size_t i = 0; i < spec.augur.notifications.size(); ++i) {
    const auto& n = spec.augur.notifications[i];
    notifiers::NotifierConfig c;
    c.kind = n.kind;
    auto sev = notifiers::ParseSeverity(n.severity);
    if (!sev) return sev.error();
    c.min_severity = *sev;
    c.settings = n.config;
    auto one = notifiers::NewNotifier(c);
    if (!one) {
      return one.error().WithContext("spec.augur.notifications[" + std::to_string(i) + "]");
    }
    targets.push_back(std::move(*one));
  }
  if (targets.empty()) return std::unique_ptr<notifiers::Notifier>();
  notifiers::FanoutOptions fo;
  const std::string rollout = spec.namespace_ + "/" + spec.name;
  fo.on_error = [log, rollout](const std::string& target, const Error& e) {
    if (log) {
      log(Json({{"time", FormatTimeMs(NowMs())},
                {"level", "warn"},
                {"event", "notification_failed"},
                {"rollout", rollout},
                {"target", target},
                {"error", e.message}})
              .dump());
    }
  };
  return std::unique_ptr<notifiers::Notifier>(notifiers::NewAsyncFanout(std::move(targets), fo));
}

// ---------------------------------------------------------------------------------------------
// Rollout records in the history database.

class HistoryStateStore final : public rollout::StateStore {
 public:
  explicit HistoryStateStore(store::HistoryStore* h) : h_(h) {}

  Result<std::vector<std::pair<std::string, rollout::RolloutRecord>>> LoadAll() override {
    auto rows = h_->ListState(kKind);
    if (!rows) return rows.error();
    std::vector<std::pair<std::string, rollout::RolloutRecord>> out;
    for (const auto& row : *rows) {
      auto r = Decode(row.json);
      if (!r) return r.error().WithContext("rollout " + row.key);
      out.emplace_back(row.key, std::move(*r));
    }
    return out;
  }

  Status Save(const std::string& key, const rollout::RolloutRecord& r) override {
    Json check = {{"verdict", rollout::CheckVerdictName(r.last_check.verdict)},
                  {"reason", r.last_check.reason},
                  {"metrics", Json::array()}};
    for (const auto& m : r.last_check.metrics) {
      check["metrics"].push_back({{"name", m.name}, {"verdict", m.verdict}, {"detail", m.detail}});
    }
    const Json doc = {{"spec", r.spec_text}, {"state", rollout::Encode(r.state)},
                      {"lastCheck", check},  {"lastCheckMs", r.last_check_ms},
                      {"events", r.events},  {"createdMs", r.created_ms}};
    auto v = h_->PutState(kKind, key, doc.dump(-1, ' ', false, Json::error_handler_t::replace),
                          store::HistoryStore::kAnyVersion);
    if (!v) return v.error();
    return {};
  }

  Status Remove(const std::string& key) override {
    return h_->DeleteState(kKind, key, store::HistoryStore::kAnyVersion);
  }

 private:
  static Result<rollout::RolloutRecord> Decode(const std::string& text) {
    const Json j = Json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return BadData("stored rollout is not JSON");
    try {
      rollout::RolloutRecord r;
      r.spec_text = j.at("spec").get<std::string>();
      auto state = rollout::Decode(j.at("state").get<std::map<std::string, std::string>>());
      if (!state) return state.error();
      r.state = *state;
      const Json& c = j.at("lastCheck");
      const std::string v = c.at("verdict").get<std::string>();
      r.last_check.verdict = v == "pass"   ? CheckVerdict::kPass
                             : v == "fail" ? CheckVerdict::kFail
                                           : CheckVerdict::kInconclusive;
      r.last_check.reason = c.at("reason").get<std::string>();
      for (const auto& m : c.at("metrics")) {
        r.last_check.metrics.push_back({m.at("name").get<std::string>(),
                                        m.at("verdict").get<std::string>(),
                                        m.at("detail").get<std::string>()});
      }
      r.last_check_ms = j.at("lastCheckMs").get<int64_t>();
      r.events = j.at("events").get<std::vector<std::string>>();
      r.created_ms = j.at("createdMs").get<int64_t>();
      return r;
    } catch (const Json::exception& e) {
      return BadData(std::string("stored rollout: ") + e.what());
    }
  }

  static constexpr char kKind[] = "rollout";
  store::HistoryStore* h_;
};

class WallClock final : public rollout::Clock {
 public:
  int64_t NowMs() const override { return augur::NowMs(); }
};

}  // namespace

const rollout::Clock& SystemClock() {
  static const WallClock clock;
  return clock;
}

Result<routers::RouterConfig> RouterConfigFor(const rollout::CanarySpec& spec) {
  routers::RouterConfig c;
  c.name = spec.target_ref.name.empty() ? spec.name : spec.target_ref.name;
  c.namespace_ = spec.namespace_;
  if (!spec.augur.router) {
    c.kind = "recording";  // no router named: a dry run that moves no real traffic
    return c;
  }
  c.kind = spec.augur.router->kind;
  c.settings = spec.augur.router->config;
  return c;
}

CheckResult RunCheck(const RolloutEnvironment& env, const rollout::CheckContext& ctx) {
  Tally t;
  for (const auto& m : ctx.spec.analysis.metrics) CheckSpecMetric(env, ctx.spec, m, ctx.now_ms, &t);
  if (!ctx.spec.augur.model.empty()) CheckModel(env, ctx, &t);
  CheckResult r;
  r.metrics = std::move(t.lines);
  if (!t.first_fail.empty()) {
    r.verdict = CheckVerdict::kFail;
    r.reason = t.first_fail;
  } else if (!t.first_inconclusive.empty()) {
    r.verdict = CheckVerdict::kInconclusive;
    r.reason = t.first_inconclusive;
  } else if (r.metrics.empty()) {
    r.verdict = CheckVerdict::kInconclusive;  // nothing was checked: never a pass
    r.reason = "the rollout has no metrics and no model";
  } else {
    r.verdict = CheckVerdict::kPass;
    r.reason = "all " + std::to_string(r.metrics.size()) + " checks passed";
  }
  return r;
}

rollout::ProviderFactory MakeProviderFactory(RolloutEnvironment env) {
  return
      [env = std::move(env)](const rollout::CanarySpec& spec) -> Result<rollout::RolloutProviders> {
        rollout::RolloutProviders p;
        auto rc = RouterConfigFor(spec);
        if (!rc) return rc.error();
        auto router = routers::NewRouter(*rc);
        if (!router) return router.error().WithContext("spec.augur.router");
        p.router = std::move(*router);
        p.webhooks = std::make_unique<HttpWebhooks>();
        auto out = Notifiers(spec, env.log);
        if (!out) return out.error();
        p.notifier = std::make_unique<EventNotifier>(spec.namespace_ + "/" + spec.name,
                                                     std::move(*out), env.log);
        if (!spec.augur.model.empty() && (!env.models || !env.models->count(spec.augur.model))) {
          std::string known;
          if (env.models) {
            for (const auto& [name, m] : *env.models) known += (known.empty() ? "" : ", ") + name;
          }
          return InvalidArgument("spec.augur.model: unknown model '" + spec.augur.model +
                                 "' (known: " + known + ")");
        }
        if (!env.source) return InvalidArgument("rollouts need a metric source");
        p.check = [env](const rollout::CheckContext& ctx) { return RunCheck(env, ctx); };
        return p;
      };
}

std::unique_ptr<rollout::StateStore> NewHistoryStateStore(store::HistoryStore* history) {
  return std::make_unique<HistoryStateStore>(history);
}

}  // namespace augur::app
