// The daemon's HTTP surface. Handlers parse, call analysis/judge, record history and answer;
// every contract detail (status codes, field names) follows deploy/openapi.yaml and the
// controllers' own documents in shared/reference (flagger.md §3, argo_keptn_iter8.md §1,
// kayenta.md §1-3).
#include "augur/server/server.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "augur/config/model_file.h"
#include "augur/contracts/kayenta.h"
#include "augur/contracts/rollout.h"
#include "augur/core/time.h"
#include "augur/sources/query_template.h"
#include "augur/store/history_store.h"

namespace augur::server {
namespace {

using Json = nlohmann::json;

const char* VerdictName(judge::Outcome o) {
  switch (o) {
    case judge::Outcome::kPass:
      return "pass";
    case judge::Outcome::kMarginal:
      return "marginal";
    case judge::Outcome::kFail:
      return "fail";
    case judge::Outcome::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

// An HTTP-facing error: status plus a machine code and a human message.
struct HttpError {
  int status = 400;
  std::string code, message;
  int64_t position = -1;  // byte offset of a JSON syntax error
};

HttpError FromError(const Error& e) {
  switch (e.code) {
    case ErrorCode::kInvalidArgument:
      return {422, "invalid_argument", e.message};
    case ErrorCode::kNotFound:
      return {404, "not_found", e.message};
    case ErrorCode::kConflict:
      return {409, "conflict", e.message};
    case ErrorCode::kBadData:  // what the caller sent cannot be read
      return {422, "invalid_argument", e.message};
    case ErrorCode::kUnavailable:
      return {503, "unavailable", e.message};
    case ErrorCode::kDeadlineExceeded:
      return {504, "deadline_exceeded", e.message};
    case ErrorCode::kPermissionDenied:  // a backend refused Augur's credentials: not the caller's
      return {502, "permission_denied", e.message};
    case ErrorCode::kInternal:
      return {500, "internal", e.message};
  }
  return {500, "internal", e.message};
}

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& res, const HttpError& e) {
  Json body = {{"error", e.code}, {"message", e.message}};
  if (e.position >= 0) body["position"] = e.position;
  SendJson(res, e.status, body);
}

// Parses a JSON body. Malformed input is 400 malformed_json with the byte position.
std::variant<Json, HttpError> ParseJsonBody(const std::string& text) {
  if (text.empty())
    return HttpError{400, "malformed_json", "empty request body: expected a JSON object"};
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to get the position for the message.
    try {
      const Json reparsed = Json::parse(text);  // throws here, with the position
      (void)reparsed;
    } catch (const Json::parse_error& e) {
      return HttpError{400, "malformed_json",
                       "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what(),
                       static_cast<int64_t>(e.byte)};
    }
    return HttpError{400, "malformed_json", "malformed JSON"};
  }
  if (!j.is_object())
    return HttpError{422, "invalid_argument", "the request body must be a JSON object"};
  return j;
}

std::string StrOr(const Json& j, const char* key, const std::string& fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

Json NumOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// "/v1/flagger/rollout" -> "/v1/flagger/{hook}": a bounded label set for /metrics.
std::string EndpointLabel(const std::string& path) {
  static const char* kPrefixes[][2] = {
      {"/v1/flagger/", "/v1/flagger/{hook}"}, {"/v1/judgements/", "/v1/judgements/{id}"},
      {"/v1/gates/", "/v1/gates/{gate}"},     {"/canaryConfig/", "/canaryConfig/{id}"},
      {"/canary/", "/canary/{id}"},
  };
  for (const auto& p : kPrefixes) {
    if (path.rfind(p[0], 0) == 0) return p[1];
  }
  static const char* kExact[] = {"/healthz",       "/readyz",  "/metrics",      "/judge",
                                 "/v1/judgements", "/v1/argo", "/canaryConfig", "/canary"};
  for (const char* e : kExact) {
    if (path == e) return e;
  }
  return "other";
}

// State of one Flagger canary run, keyed by namespace/name; a new checksum starts a new run.
struct FlaggerRun {
  std::string checksum;
  int checks = 0, passes = 0, fails = 0, consecutive_passes = 0;
  bool critical_failed = false;
  std::string last_verdict, last_reason;
  int64_t last_end_ms = 0;
  std::string sequential_state;  // JSON, sequential-mode models only
  bool gate_open = true;         // confirm-rollout / confirm-traffic-increase gate

  Json ToJson() const {
    return {{"checksum", checksum},
            {"checks", checks},
            {"passes", passes},
            {"fails", fails},
            {"consecutive_passes", consecutive_passes},
            {"critical_failed", critical_failed},
            {"last_verdict", last_verdict},
            {"last_reason", last_reason},
            {"last_end_ms", last_end_ms},
            {"sequential_state", sequential_state},
            {"gate_open", gate_open}};
  }
  static FlaggerRun FromJson(const Json& j) {
    FlaggerRun r;
    r.checksum = j.value("checksum", "");
    r.checks = j.value("checks", 0);
    r.passes = j.value("passes", 0);
    r.fails = j.value("fails", 0);
    r.consecutive_passes = j.value("consecutive_passes", 0);
    r.critical_failed = j.value("critical_failed", false);
    r.last_verdict = j.value("last_verdict", "");
    r.last_reason = j.value("last_reason", "");
    r.last_end_ms = j.value("last_end_ms", int64_t{0});
    r.sequential_state = j.value("sequential_state", "");
    r.gate_open = j.value("gate_open", true);
    return r;
  }
};

// The outcome of one judgement request, whatever protocol asked for it.
struct Outcome {
  judge::Judgement judgement;
  std::vector<analysis::MetricFetch> fetches;
  std::string model_name, mode, target;
  Json inputs = Json::object();
  Json window;  // query form only: {start, end, step}
  std::string checksum;
  // thresholdRange per metric, exported beside the value (like Flagger's metric gauge).
  std::vector<std::tuple<std::string, std::optional<double>, std::optional<double>>> thresholds;
};

// The source when none is configured: every fetch fails, so analyses go through the same
// no-data path as a source that is down (never a pass).
class NoSource final : public sources::MetricSource {
 public:
  std::string name() const override { return "none"; }
  Result<sources::SeriesPair> Fetch(const sources::MetricRequest&) const override {
    return Error{ErrorCode::kUnavailable, "no metric source configured"};
  }
  Result<sources::RawSeries> FetchRaw(const sources::RawQuery&) const override {
    return Error{ErrorCode::kUnavailable, "no metric source configured"};
  }
  Status Check() const override { return {}; }  // nothing to reach: ready
};

const NoSource kNoSource;

}  // namespace

class Server::Impl {
 public:
  explicit Impl(ServerOptions o) : opt_(std::move(o)) {
    if (!opt_.source) {
      opt_.source = &kNoSource;
      opt_.source_kind = "none";
    }
    std::random_device rd;
    id_prefix_ = std::to_string(std::uniform_int_distribution<uint64_t>(0, 0xFFFFFFFF)(rd));
    auto& req = prometheus::BuildCounter()
                    .Name("augur_http_requests_total")
                    .Help("HTTP requests by endpoint and status code")
                    .Register(*registry_);
    http_requests_ = &req;
    http_latency_ = &prometheus::BuildHistogram()
                         .Name("augur_http_request_duration_seconds")
                         .Help("Time to answer an HTTP request")
                         .Register(*registry_);
    judgements_ = &prometheus::BuildCounter()
                       .Name("augur_judgements_total")
                       .Help("Judgements by caller protocol and verdict")
                       .Register(*registry_);
    metric_analysis_ = &prometheus::BuildGauge()
                            .Name("augur_canary_metric_analysis")
                            .Help("Last judged value (canary mean) per canary and metric")
                            .Register(*registry_);
    metric_threshold_ = &prometheus::BuildGauge()
                             .Name("augur_canary_metric_threshold")
                             .Help("The metric's thresholdRange bounds, beside the value")
                             .Register(*registry_);
    source_errors_ = &prometheus::BuildCounter()
                          .Name("augur_source_errors_total")
                          .Help("Metric fetches that failed, by source")
                          .Register(*registry_);
    history_errors_ = &prometheus::BuildCounter()
                           .Name("augur_history_write_errors_total")
                           .Help("Judgements that could not be stored")
                           .Register(*registry_)
                           .Add({});
  }

  Status Bind() {
    if (opt_.threads < 1 || opt_.threads > 1024) {
      return InvalidArgument("threads must be in 1..1024, got " + std::to_string(opt_.threads));
    }
    const int threads = opt_.threads;
    svr_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    svr_.set_payload_max_length(opt_.max_body_bytes);
    svr_.set_read_timeout(std::chrono::milliseconds(opt_.read_timeout_ms));
    svr_.set_write_timeout(std::chrono::milliseconds(opt_.write_timeout_ms));
    svr_.set_tcp_nodelay(true);
    svr_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return Authorize(req, res);
    });
    svr_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) {
        SendError(res, {413, "payload_too_large", "request body exceeds the configured limit"});
      } else if (res.status == 404) {
        SendError(res, {404, "not_found", "no endpoint " + req.method + " " + req.path});
      } else if (res.status == 400) {
        SendError(res, {400, "invalid_argument", "malformed HTTP request"});
      }
    });
    svr_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      if (res.status == 413 || res.status == 404 || res.status == 400) {
        http_requests_
            ->Add({{"endpoint", EndpointLabel(req.path)}, {"code", std::to_string(res.status)}})
            .Increment();
      }
    });
    Routes();
    if (opt_.port == 0) {
      const int p = svr_.bind_to_any_port(opt_.host);
      if (p < 0) return Error{ErrorCode::kUnavailable, "cannot listen on " + opt_.host + ":0"};
      port_ = p;
    } else {
      if (!svr_.bind_to_port(opt_.host, opt_.port)) {
        return Error{ErrorCode::kUnavailable, "cannot listen on " + opt_.host + ":" +
                                                  std::to_string(opt_.port) +
                                                  " (address in use or not permitted)"};
      }
      port_ = opt_.port;
    }
    return {};
  }

  Status Run() {
    Log({{"level", "info"},
         {"event", "listening"},
         {"address", opt_.host + ":" + std::to_string(port_)},
         {"models", opt_.models.size()},
         {"source", opt_.source_kind},
         {"auth", !opt_.token.empty()}});
    if (!svr_.listen_after_bind()) {
      if (stopping_) return {};
      return Error{ErrorCode::kUnavailable, "the server stopped unexpectedly"};
    }
    return {};
  }

  void Stop() {
    stopping_ = true;
    svr_.stop();
  }

  int port() const { return port_; }

 private:
  // ---- plumbing -------------------------------------------------------------------------

  void Log(Json line) {
    Json out = {{"ts", FormatTimeMs(NowMs())}};
    out.update(line);
    const std::string s = out.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (opt_.log) {
      opt_.log(s);
    } else {
      std::lock_guard<std::mutex> lock(log_mu_);
      std::fputs((s + "\n").c_str(), stderr);
    }
  }

  httplib::Server::HandlerResponse Authorize(const httplib::Request& req, httplib::Response& res) {
    if (opt_.token.empty() || req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    for (const auto& prefix : opt_.auth_exempt_prefixes) {
      if (!prefix.empty() && req.path.rfind(prefix, 0) == 0) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
    }
    // Constant-time compare: the token is a secret.
    auto equal = [](const std::string& a, const std::string& b) {
      if (a.size() != b.size()) return false;
      unsigned char diff = 0;
      for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
      return diff == 0;
    };
    // The header, or RFC 6750's access_token query parameter for callers that cannot send
    // headers (Flagger's webhooks carry only a URL).
    if (equal(req.get_header_value("Authorization"), "Bearer " + opt_.token) ||
        (req.has_param("access_token") && equal(req.get_param_value("access_token"), opt_.token))) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.set_header("WWW-Authenticate", "Bearer");
    // The body was not read: close, so its bytes are not taken for the next request.
    res.set_header("Connection", "close");
    SendError(res, {401, "unauthorized",
                    "a bearer token is required for " + req.method +
                        " requests (Authorization: Bearer <token>)"});
    http_requests_->Add({{"endpoint", EndpointLabel(req.path)}, {"code", "401"}}).Increment();
    Log({{"level", "warn"}, {"event", "unauthorized"}, {"method", req.method}, {"path", req.path}});
    return httplib::Server::HandlerResponse::Handled;
  }

  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Wraps a handler with timing, counting and a last-resort guard: the daemon answers 500
  // rather than dying if a handler throws (none should; errors are values).
  Handler Wrap(std::string endpoint, Handler h) {
    auto& latency = http_latency_->Add(
        {{"endpoint", endpoint}},
        prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    return [this, endpoint, h = std::move(h), &latency](const httplib::Request& req,
                                                        httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        h(req, res);
      } catch (const std::exception& e) {
        SendError(res, {500, "internal", std::string("internal error: ") + e.what()});
        Log({{"level", "error"},
             {"event", "handler_exception"},
             {"path", req.path},
             {"error", e.what()}});
      }
      if (res.status == -1) res.status = 200;  // httplib's default for a handled request
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      latency.Observe(secs);
      http_requests_->Add({{"endpoint", endpoint}, {"code", std::to_string(res.status)}})
          .Increment();
    };
  }

  void Routes() {
    svr_.Get("/healthz", Wrap("/healthz", [](const httplib::Request&, httplib::Response& res) {
               res.set_content("ok\n", "text/plain");
             }));
    svr_.Get("/readyz", Wrap("/readyz", [this](const httplib::Request&, httplib::Response& res) {
               Ready(res);
             }));
    svr_.Get("/metrics", Wrap("/metrics", [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(prometheus::TextSerializer().Serialize(registry_->Collect()),
                               "text/plain; version=0.0.4; charset=utf-8");
             }));
    svr_.Get(
        "/v1/models", Wrap("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
          Json names = Json::array();
          for (const auto& [name, m] : opt_.models) {
            names.push_back(
                {{"name", name}, {"mode", judge::ModeName(m.mode)}, {"metrics", m.metrics.size()}});
          }
          SendJson(res, 200, {{"models", names}});
        }));
    svr_.Post("/judge", Wrap("/judge", [this](const httplib::Request& req, httplib::Response& res) {
                KayentaJudge(req, res);
              }));
    svr_.Post("/v1/judgements",
              Wrap("/v1/judgements", [this](const httplib::Request& req, httplib::Response& res) {
                Native(req, res, "native");
              }));
    svr_.Get("/v1/judgements",
             Wrap("/v1/judgements", [this](const httplib::Request& req, httplib::Response& res) {
               ListJudgements(req, res);
             }));
    svr_.Get(
        R"(/v1/judgements/([A-Za-z0-9._:-]{1,256}))",
        Wrap("/v1/judgements/{id}", [this](const httplib::Request& req, httplib::Response& res) {
          GetJudgement(req.matches[1], res);
        }));
    KayentaRoutes();
    RolloutRoutes();
    svr_.Post("/v1/argo", Wrap("/v1/argo", [this](const httplib::Request& req,
                                                  httplib::Response& res) { Argo(req, res); }));
    svr_.Post(
        R"(/v1/flagger/([a-z-]+))",
        Wrap("/v1/flagger/{hook}", [this](const httplib::Request& req, httplib::Response& res) {
          Flagger(req.matches[1], req, res);
        }));
    svr_.Post(R"(/v1/gates/([^/]{1,253})/([^/]{1,253})/(open|close))",
              Wrap("/v1/gates/{gate}", [this](const httplib::Request& req, httplib::Response& res) {
                Gate(req.matches[1], req.matches[2], req.matches[3] == "open", res);
              }));
    svr_.Get(R"(/v1/gates/([^/]{1,253})/([^/]{1,253}))",
             Wrap("/v1/gates/{gate}", [this](const httplib::Request& req, httplib::Response& res) {
               auto run = LoadRun(std::string(req.matches[1]) + "/" + std::string(req.matches[2]));
               Json out = run.ToJson();
               out["namespace"] = req.matches[1];
               out["name"] = req.matches[2];
               out["open"] = run.gate_open;
               SendJson(res, 200, out);
             }));
  }

  // ---- readiness --------------------------------------------------------------------------

  void Ready(httplib::Response& res) {
    Json body = {{"models", opt_.models.size()}, {"source", {{"kind", opt_.source_kind}}}};
    bool ready = !opt_.models.empty();
    if (!ready) body["reason"] = "no models loaded";
    {
      auto st = opt_.source->Check();
      body["source"]["name"] = opt_.source->name();
      body["source"]["ok"] = st.has_value();
      if (!st) {
        ready = false;
        body["source"]["error"] = st.error().message;
        body["reason"] = "metric source not reachable: " + st.error().message;
      }
    }
    body["ready"] = ready;
    SendJson(res, ready ? 200 : 503, body);
  }

  // ---- models and windows -----------------------------------------------------------------

  Result<std::pair<std::string, judge::Model>> ResolveModel(const Json& body,
                                                            const std::string& fallback) {
    auto it = body.find("model");
    if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty())) {
      if (fallback.empty()) return InvalidArgument("model: required");
      auto m = opt_.models.find(fallback);
      if (m == opt_.models.end()) {
        return Error{ErrorCode::kNotFound, "unknown model '" + fallback + "'" + KnownModels()};
      }
      return std::make_pair(fallback, m->second);
    }
    if (it->is_string()) {
      const std::string name = it->get<std::string>();
      auto m = opt_.models.find(name);
      if (m == opt_.models.end()) {
        return Error{ErrorCode::kNotFound, "unknown model '" + name + "'" + KnownModels()};
      }
      return std::make_pair(name, m->second);
    }
    if (it->is_object()) {
      auto m = config::ParseModel(it->dump(), "model");
      if (!m) return m.error();
      return std::make_pair(m->name.empty() ? std::string("inline") : m->name, std::move(*m));
    }
    return InvalidArgument("model: a model name or an inline model object");
  }

  std::string KnownModels() const {
    std::string s;
    for (const auto& [name, _] : opt_.models) s += (s.empty() ? "" : ", ") + name;
    return " (known: " + (s.empty() ? std::string("none") : s) + ")";
  }

  static Status ApplyMode(const Json& body, judge::Model* model) {
    const std::string mode = StrOr(body, "mode", "");
    if (mode.empty()) return {};
    if (mode == "kayenta") {
      model->mode = judge::Mode::kKayenta;
    } else if (mode == "augur") {
      model->mode = judge::Mode::kAugur;
    } else if (mode == "sequential") {
      model->mode = judge::Mode::kSequential;
    } else {
      return InvalidArgument("mode: one of kayenta, augur, sequential; got '" + mode + "'");
    }
    return {};
  }

  // start/end/step, or interval (= the last <interval>) with an optional step.
  static Result<analysis::AnalysisRequest> Window(const Json& body,
                                                  const std::string& default_provider) {
    analysis::AnalysisRequest r;
    r.provider = StrOr(body, "provider", default_provider);
    if (auto v = body.find("vars"); v != body.end() && !v->is_null()) {
      if (!v->is_object()) return InvalidArgument("vars: an object of strings");
      for (const auto& [k, val] : v->items()) {
        r.vars[k] = val.is_string() ? val.get<std::string>() : val.dump();
      }
    }
    const int64_t now = NowMs();
    if (body.contains("start") || body.contains("end")) {
      auto start = ParseTimeMs(StrOr(body, "start", ""), now);
      if (!start) return start.error().WithContext("start");
      auto end = ParseTimeMs(StrOr(body, "end", "now"), now);
      if (!end) return end.error().WithContext("end");
      r.start_ms = *start;
      r.end_ms = *end;
    } else {
      auto interval = ParseDurationMs(StrOr(body, "interval", "5m"));
      if (!interval) return interval.error().WithContext("interval");
      r.end_ms = now;
      r.start_ms = now - *interval;
    }
    if (r.end_ms <= r.start_ms) return InvalidArgument("end: must be after start");
    if (body.contains("step")) {
      auto step = ParseDurationMs(StrOr(body, "step", ""));
      if (!step) return step.error().WithContext("step");
      r.step_ms = *step;
    } else {
      // About 30 points per window: enough for the rank tests, and never below 1 s.
      r.step_ms = std::max<int64_t>(1000, (r.end_ms - r.start_ms) / 30 / 1000 * 1000);
    }
    if (r.step_ms <= 0) return InvalidArgument("step: must be > 0");
    if ((r.end_ms - r.start_ms) / r.step_ms > 11000) {
      return InvalidArgument("step: more than 11,000 points per series; use a larger step");
    }
    return r;
  }

  // ---- judging ------------------------------------------------------------------------------

  // Judges by the body: inline "data", or a query window against the configured source.
  Result<Outcome> JudgeBody(const Json& body, const std::string& default_model,
                            judge::SequentialState* state) {
    auto named = ResolveModel(body, default_model);
    if (!named) return named.error();
    auto& [name, model] = *named;
    if (auto st = ApplyMode(body, &model); !st) return st.error();
    if (auto st = judge::ValidateModel(model); !st) return st.error().WithContext("model");
    Outcome out;
    for (const auto& m : model.metrics) {
      if (m.threshold_min || m.threshold_max) {
        out.thresholds.emplace_back(m.name, m.threshold_min, m.threshold_max);
      }
    }
    out.model_name = name;
    out.mode = judge::ModeName(model.mode);
    out.target = StrOr(body, "target", "");
    out.checksum = StrOr(body, "checksum", "");
    if (auto d = body.find("data"); d != body.end()) {
      auto pairs = contracts::JudgeDataFromJson(*d);
      if (!pairs) return pairs.error().WithContext("data");
      Json summary = Json::array();
      for (const auto& p : *pairs) {
        summary.push_back({{"metric", p.name},
                           {"baseline_points", p.control.size()},
                           {"canary_points", p.experiment.size()}});
      }
      out.inputs = {{"kind", "inline"}, {"metrics", summary}};
      judge::SequentialState fresh;
      auto j = model.mode == judge::Mode::kSequential
                   ? judge::JudgeSequential(model, *pairs, state ? state : &fresh)
                   : judge::Judge(model, *pairs);
      if (!j) return j.error();
      out.judgement = std::move(*j);
      return out;
    }
    auto window = Window(body, opt_.default_provider);
    if (!window) return window.error();
    out.window = {{"start", FormatTimeMs(window->start_ms)},
                  {"end", FormatTimeMs(window->end_ms)},
                  {"step", std::to_string(window->step_ms / 1000) + "s"}};
    out.inputs = {{"kind", "query"},
                  {"provider", window->provider},
                  {"start", FormatTimeMs(window->start_ms)},
                  {"end", FormatTimeMs(window->end_ms)},
                  {"step_ms", window->step_ms}};
    judge::SequentialState fresh;
    auto a = model.mode == judge::Mode::kSequential
                 ? analysis::AnalyzeSequential(model, *opt_.source, *window, state ? state : &fresh,
                                               opt_.on_source_failure)
                 : analysis::Analyze(model, *opt_.source, *window, opt_.on_source_failure);
    if (!a) return a.error();
    if (a->source_errors) {
      source_errors_->Add({{"source", opt_.source_kind}}).Increment(a->source_errors);
      Log({{"level", "warn"},
           {"event", "source_errors"},
           {"count", a->source_errors},
           {"first", [&] {
              for (const auto& f : a->fetches)
                if (!f.error.empty()) return f.metric + ": " + f.error;
              return std::string();
            }()}});
    }
    out.judgement = std::move(a->judgement);
    out.fetches = std::move(a->fetches);
    return out;
  }

  Json OutcomeJson(const Outcome& o, const std::string& id, const std::string& protocol,
                   int64_t created_ms) {
    Json j = Json::parse(contracts::JudgementJson(o.judgement));
    Json out = {{"id", id},
                {"created_at", FormatTimeMs(created_ms)},
                {"source", protocol},
                {"model", o.model_name},
                {"mode", o.mode}};
    if (!o.target.empty()) out["target"] = o.target;
    if (!o.checksum.empty()) out["checksum"] = o.checksum;
    if (!o.window.is_null()) out["window"] = o.window;
    out.update(j);
    if (!o.fetches.empty()) {
      Json f = Json::array();
      for (const auto& x : o.fetches) {
        Json e = {{"metric", x.metric},
                  {"points", x.points},
                  {"missing_baseline", x.missing_primary},
                  {"missing_canary", x.missing_canary}};
        if (!x.primary_query.empty()) e["baseline_query"] = x.primary_query;
        if (!x.canary_query.empty()) e["canary_query"] = x.canary_query;
        if (!x.approximation.empty()) e["approximation"] = x.approximation;
        if (!x.error.empty()) e["error"] = x.error;
        f.push_back(std::move(e));
      }
      out["fetches"] = std::move(f);
    }
    out["inputs"] = o.inputs;
    return out;
  }

  std::string NewId() {
    return "j-" + id_prefix_ + "-" + std::to_string(NowMs()) + "-" + std::to_string(++counter_);
  }

  // Counts, exports per-metric gauges and stores the judgement. Returns the response JSON;
  // with `dumped`, also its text as stored (one serialisation for the record and the answer).
  // The answer goes out only after the record is durable, so an answered judgement survives
  // a crash.
  Json Record(const std::string& protocol, const Outcome& o, const Json& request_summary,
              std::string* dumped = nullptr) {
    const std::string id = NewId();
    const int64_t created_ms = NowMs();
    Json out = OutcomeJson(o, id, protocol, created_ms);
    const std::string verdict = VerdictName(o.judgement.outcome);
    judgements_->Add({{"source", protocol}, {"verdict", verdict}}).Increment();
    const std::string target = o.target.empty() ? "-" : o.target;
    const size_t slash = target.find('/');
    const std::string ns = slash == std::string::npos ? "" : target.substr(0, slash);
    const std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
    if (!o.target.empty()) {
      for (const auto& r : o.judgement.results) {
        prometheus::Labels labels{{"name", name}, {"namespace", ns}, {"metric", r.name}};
        metric_analysis_->Add(labels).Set(r.experiment.count ? r.experiment.mean : std::nan(""));
      }
      for (const auto& [metric, lo, hi] : o.thresholds) {
        prometheus::Labels labels{{"name", name}, {"namespace", ns}, {"metric", metric}};
        if (lo) {
          labels["bound"] = "min";
          metric_threshold_->Add(labels).Set(*lo);
        }
        if (hi) {
          labels["bound"] = "max";
          metric_threshold_->Add(labels).Set(*hi);
        }
      }
    }
    if (opt_.history) {
      store::JudgementRecord rec;
      rec.id = id;
      rec.created_ms = created_ms;
      rec.source = protocol;
      rec.target = o.target;
      rec.checksum = o.checksum;
      rec.model = o.model_name;
      rec.mode = o.mode;
      rec.outcome = verdict;
      rec.score = o.judgement.score;
      rec.judge_version = o.judgement.judge_name;
      rec.inputs_json = o.inputs.dump();
      rec.request_json = request_summary.dump(-1, ' ', false, Json::error_handler_t::replace);
      rec.result_json = out.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (dumped != nullptr) *dumped = rec.result_json;
      if (auto st = opt_.history->Append(std::move(rec)); !st) {
        history_errors_->Increment();
        out["history_error"] = st.error().message;
        if (dumped != nullptr) dumped->clear();
        Log({{"level", "error"},
             {"event", "history_write_failed"},
             {"id", id},
             {"error", st.error().message}});
      }
    }
    Log({{"level", "info"},
         {"event", "judgement"},
         {"id", id},
         {"protocol", protocol},
         {"target", o.target},
         {"model", o.model_name},
         {"verdict", verdict},
         {"score", NumOrNull(o.judgement.score)}});
    if (dumped != nullptr && dumped->empty()) {
      *dumped = out.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
    return out;
  }

  // The request as stored: inline series are summarised, not stored twice (nor copied).
  static Json RequestSummary(const Json& body) {
    if (!body.is_object()) return body;
    Json out = Json::object();
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() == "data") {
        out["data"] = "(inline series; see inputs)";
      } else if (it.key() == "metricSetPairList") {
        out["metricSetPairList"] = "(see inputs)";
      } else {
        out[it.key()] = it.value();
      }
    }
    return out;
  }

  // ---- endpoints ----------------------------------------------------------------------------

  void Native(const httplib::Request& req, httplib::Response& res, const std::string& protocol) {
    auto parsed = ParseJsonBody(req.body);
    if (auto* e = std::get_if<HttpError>(&parsed)) return SendError(res, *e);
    Json* body = &std::get<Json>(parsed);
    auto o = JudgeBody(*body, "", nullptr);
    if (!o) return SendError(res, FromError(o.error()));
    std::string text;
    Record(protocol, *o, RequestSummary(*body), &text);
    res.status = 200;
    res.set_content(std::move(text), "application/json");
  }

  // Argo Rollouts' web provider: always 200 with a verdict Argo's conditions can read; a bad
  // request is still a 4xx so that the AnalysisRun shows the error instead of a verdict.
  void Argo(const httplib::Request& req, httplib::Response& res) {
    auto parsed = ParseJsonBody(req.body);
    if (auto* e = std::get_if<HttpError>(&parsed)) return SendError(res, *e);
    Json* body = &std::get<Json>(parsed);
    auto o = JudgeBody(*body, opt_.default_model, nullptr);
    if (!o) return SendError(res, FromError(o.error()));
    Json out = Record("argo", *o, RequestSummary(*body));
    // Argo has three outcomes; a marginal score is neither a pass nor a fail.
    if (out["verdict"] == "marginal") out["verdict"] = "inconclusive";
    SendJson(res, 200, out);
  }

  void KayentaJudge(const httplib::Request& req, httplib::Response& res) {
    if (req.body.empty()) {
      return SendError(res, {400, "bad_data", "empty request body: expected a JSON object"});
    }
    auto r = contracts::ParseRemoteJudgeRequest(req.body);
    if (!r) return SendError(res, FromError(r.error()));
    auto j = judge::Judge(r->model, r->pairs);
    if (!j) return SendError(res, FromError(j.error()));
    Outcome o;
    o.judgement = *j;
    o.model_name = r->model.name.empty() ? "kayenta-remote" : r->model.name;
    o.mode = "kayenta";
    o.inputs = {{"kind", "metricSetPairList"}, {"pairs", r->pairs.size()}};
    Json summary = {{"canaryConfig", o.model_name}};
    Record("kayenta", o, summary);
    res.status = 200;
    res.set_content(contracts::CanaryJudgeResultJson(*j), "application/json");
  }

  void GetJudgement(const std::string& id, httplib::Response& res) {
    if (!opt_.history) {
      return SendError(res, {404, "not_found", "no history store configured"});
    }
    auto r = opt_.history->Get(id);
    if (!r) return SendError(res, FromError(r.error()));
    Json out = Json::parse(r->result_json, nullptr, false);
    if (out.is_discarded()) out = Json::object();
    Json request = Json::parse(r->request_json, nullptr, false);
    if (!request.is_discarded()) out["request"] = request;
    SendJson(res, 200, out);
  }

  void ListJudgements(const httplib::Request& req, httplib::Response& res) {
    if (!opt_.history) return SendJson(res, 200, {{"judgements", Json::array()}});
    store::ListFilter f;
    f.target = req.get_param_value("target");
    f.source = req.get_param_value("source");
    f.outcome = req.get_param_value("verdict");
    for (const char* k : {"since", "until"}) {
      if (!req.has_param(k)) continue;
      auto t = ParseTimeMs(req.get_param_value(k), NowMs());
      if (!t) return SendError(res, FromError(t.error().WithContext(k)));
      (std::string(k) == "since" ? f.since_ms : f.until_ms) = *t;
    }
    f.limit = 50;
    f.cursor = req.get_param_value("cursor");
    f.with_json = false;
    if (req.has_param("limit")) {
      try {
        f.limit = std::stoi(req.get_param_value("limit"));
      } catch (...) {
        return SendError(res, {422, "invalid_argument", "limit: an integer 1..1000"});
      }
    }
    auto page = opt_.history->List(f);
    if (!page) return SendError(res, FromError(page.error()));
    Json list = Json::array();
    for (const auto& r : page->records) {
      list.push_back({{"id", r.id},
                      {"created_at", FormatTimeMs(r.created_ms)},
                      {"source", r.source},
                      {"target", r.target},
                      {"checksum", r.checksum},
                      {"model", r.model},
                      {"mode", r.mode},
                      {"verdict", r.outcome},
                      {"score", NumOrNull(r.score)}});
    }
    Json out = {{"judgements", list}};
    if (!page->next_cursor.empty()) out["next_cursor"] = page->next_cursor;
    SendJson(res, 200, out);
  }

  // ---- Flagger ------------------------------------------------------------------------------

  std::shared_ptr<std::mutex> RunLock(const std::string& key) {
    std::lock_guard<std::mutex> lock(runs_mu_);
    auto& m = run_locks_[key];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
  }

  FlaggerRun LoadRun(const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(runs_mu_);
      auto it = runs_.find(key);
      if (it != runs_.end()) return it->second;
    }
    FlaggerRun run;
    if (opt_.history) {
      auto e = opt_.history->GetState("flagger", key);
      if (e) {
        Json j = Json::parse(e->json, nullptr, false);
        if (j.is_object()) run = FlaggerRun::FromJson(j);
      }
    }
    return run;
  }

  void SaveRun(const std::string& key, const FlaggerRun& run) {
    {
      std::lock_guard<std::mutex> lock(runs_mu_);
      runs_[key] = run;
    }
    if (opt_.history) {
      auto v = opt_.history->PutState("flagger", key, run.ToJson().dump(),
                                      store::HistoryStore::kAnyVersion);
      if (!v) {
        Log({{"level", "error"},
             {"event", "state_write_failed"},
             {"key", key},
             {"error", v.error().message}});
      }
    }
  }

  void DeleteRun(const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(runs_mu_);
      runs_.erase(key);
    }
    if (opt_.history) {
      (void)opt_.history->DeleteState("flagger", key, store::HistoryStore::kAnyVersion);
    }
  }

  static void SendText(httplib::Response& res, int status, const std::string& text) {
    res.status = status;
    res.set_content(text + "\n", "text/plain; charset=utf-8");
  }

  // A one-line reason for a Flagger event: Flagger shows the body of a failed hook.
  static std::string ShortReason(const judge::Judgement& j) {
    std::string s = std::string(VerdictName(j.outcome)) + " (score " +
                    std::to_string(static_cast<int>(std::lround(j.score))) + ")";
    int shown = 0;
    for (const auto& r : j.results) {
      if (r.classification == judge::Classification::kPass) continue;
      if (shown++ == 3) {
        s += "; ...";
        break;
      }
      s += "; " + r.name + " " + judge::ClassificationName(r.classification);
      if (!r.reason.empty()) s += ": " + r.reason.substr(0, 160);
    }
    if (shown == 0 && !j.reason.empty()) s += ": " + j.reason.substr(0, 200);
    return s;
  }

  void Flagger(const std::string& hook, const httplib::Request& req, httplib::Response& res) {
    static const std::set<std::string> kHooks = {
        "confirm-rollout",   "pre-rollout", "rollout",      "confirm-traffic-increase",
        "confirm-promotion", "rollback",    "post-rollout", "event"};
    if (!kHooks.count(hook)) {
      return SendError(res, {404, "not_found", "unknown Flagger hook type '" + hook + "'"});
    }
    auto parsed = ParseJsonBody(req.body);
    if (auto* e = std::get_if<HttpError>(&parsed)) return SendText(res, 400, e->message);
    Json* body = &std::get<Json>(parsed);
    const std::string name = StrOr(*body, "name", ""), ns = StrOr(*body, "namespace", "");
    if (name.empty() || ns.empty()) {
      return SendText(res, 400, "the Flagger payload needs name and namespace");
    }
    const std::string checksum = StrOr(*body, "checksum", "");
    Json meta = Json::object();
    if (auto m = body->find("metadata"); m != body->end() && m->is_object()) meta = *m;
    const std::string key = ns + "/" + name;
    auto lock_ptr = RunLock(key);
    std::lock_guard<std::mutex> run_lock(*lock_ptr);
    FlaggerRun run = LoadRun(key);
    if (run.checksum != checksum) {
      const bool gate = run.gate_open;  // gates belong to the canary, not to one run
      run = FlaggerRun{};
      run.checksum = checksum;
      run.gate_open = gate;
    }
    Log({{"level", "info"},
         {"event", "flagger_hook"},
         {"hook", hook},
         {"canary", key},
         {"phase", StrOr(*body, "phase", "")},
         {"checksum", checksum}});

    if (hook == "event") return SendText(res, 200, "ok");
    if (hook == "post-rollout") {
      DeleteRun(key);
      return SendText(res, 200, "ok: state of " + key + " cleared");
    }
    if (hook == "confirm-rollout" || hook == "confirm-traffic-increase") {
      if (run.gate_open) return SendText(res, 200, "gate open");
      return SendText(res, 412, "gate closed for " + key + " (POST /v1/gates/" + key + "/open)");
    }
    if (hook == "confirm-promotion") {
      int need = 3;
      if (auto st = IntMeta(meta, "minPassingChecks", &need); !st) {
        return SendText(res, 400, st.error().message);
      }
      if (!run.gate_open) return SendText(res, 412, "gate closed for " + key);
      if (run.passes >= need && run.last_verdict == "pass") {
        return SendText(res, 200, "promote: " + std::to_string(run.passes) + " passing checks");
      }
      return SendText(res, 412,
                      "hold: " + std::to_string(run.passes) + " of " + std::to_string(need) +
                          " passing checks" +
                          (run.last_verdict.empty() || run.last_verdict == "pass"
                               ? ""
                               : ", last check " + run.last_verdict));
    }
    if (hook == "rollback") {
      int after = 2;
      if (auto st = IntMeta(meta, "rollbackAfter", &after); !st) {
        return SendText(res, 400, st.error().message);
      }
      if (run.critical_failed || (run.fails >= after && after > 0)) {
        return SendText(res, 200,
                        "roll back: " + std::to_string(run.fails) + " failed checks" +
                            (run.critical_failed ? ", a critical metric failed" : "") +
                            "; last: " + run.last_reason);
      }
      return SendText(res, 412,
                      "no rollback: " + std::to_string(run.fails) + " of " + std::to_string(after) +
                          " failed checks");
    }
    // rollout / pre-rollout: judge now.
    Json request = Json::object();
    Json vars = Json::object();
    static const std::set<std::string> kReserved = {"model",         "provider", "window",
                                                    "step",          "mode",     "minPassingChecks",
                                                    "rollbackAfter", "target"};
    for (const auto& [k, v] : meta.items()) {
      if (!kReserved.count(k)) vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (!vars.contains("namespace")) vars["namespace"] = ns;
    if (!vars.contains("target")) vars["target"] = name;
    request["vars"] = vars;
    request["target"] = key;
    for (const char* k : {"model", "provider", "mode", "step"}) {
      if (meta.contains(k)) request[k] = meta[k];
    }
    request["interval"] =
        meta.contains("window") ? meta["window"] : Json(StrOr(meta, "interval", "1m"));
    judge::SequentialState state;
    if (!run.sequential_state.empty()) {
      auto st = contracts::ParseSequentialState(run.sequential_state);
      if (st) state = std::move(*st);
    }
    auto o = JudgeBody(request, opt_.default_model, &state);
    if (!o) {
      // A request Augur cannot judge (unknown model, bad metadata) fails the check with the
      // reason; 4xx so that Flagger shows it instead of retrying.
      const HttpError e = FromError(o.error());
      return SendText(res,
                      e.status >= 500   ? 424
                      : e.status == 404 ? 424
                                        : 422,
                      "augur cannot judge " + key + ": " + o.error().message);
    }
    if (hook == "pre-rollout") {
      // Before any canary traffic a judgement can only be inconclusive, so pre-rollout is a
      // preflight: the model and its queries resolve, the source answers and the primary has
      // data. It does not count as a check.
      std::string problem;
      for (const auto& f : o->fetches) {
        if (!f.error.empty()) {
          problem = f.metric + ": " + f.error;
          break;
        }
        if (f.points > 0 && f.missing_primary == f.points) {
          problem = f.metric + ": the primary has no data";
          break;
        }
      }
      Log({{"level", problem.empty() ? "info" : "warn"},
           {"event", "preflight"},
           {"canary", key},
           {"problem", problem}});
      if (!problem.empty()) return SendText(res, 412, "preflight failed: " + problem);
      return SendText(res, 200,
                      "preflight ok: " + std::to_string(o->fetches.size()) +
                          " metrics resolve and the primary has data");
    }
    if (o->mode == "sequential") run.sequential_state = contracts::SequentialStateJson(state);
    o->checksum = checksum;
    Json out = Record("flagger", *o, request);
    const std::string verdict = out["verdict"];
    run.checks++;
    run.last_verdict = verdict;
    run.last_reason = ShortReason(o->judgement);
    run.last_end_ms = NowMs();
    bool critical = false;
    for (const auto& r : o->judgement.results) {
      critical |= r.critical && (r.classification == judge::Classification::kHigh ||
                                 r.classification == judge::Classification::kLow ||
                                 r.classification == judge::Classification::kNodataFailMetric);
    }
    if (verdict == "pass") {
      run.passes++;
      run.consecutive_passes++;
    } else {
      run.consecutive_passes = 0;
      if (verdict == "fail") run.fails++;
      run.critical_failed |= critical;
    }
    SaveRun(key, run);
    const std::string id = out["id"];
    if (verdict == "pass") return SendText(res, 200, "pass: " + run.last_reason + " [" + id + "]");
    // Never 5xx for a verdict: Flagger drops the body of a 5xx and retries.
    SendText(res, 412, run.last_reason + " [" + id + "]");
  }

  static Status IntMeta(const Json& meta, const char* key, int* out) {
    if (!meta.contains(key)) return {};
    const std::string s = StrOr(meta, key, "");
    try {
      size_t used = 0;
      const int v = std::stoi(s, &used);
      if (used != s.size() || v < 0) throw std::invalid_argument(s);
      *out = v;
      return {};
    } catch (...) {
      return InvalidArgument(std::string("metadata.") + key + ": a non-negative integer, got '" +
                             s + "'");
    }
  }

  void Gate(const std::string& ns, const std::string& name, bool open, httplib::Response& res) {
    const std::string key = ns + "/" + name;
    auto lock_ptr = RunLock(key);
    std::lock_guard<std::mutex> run_lock(*lock_ptr);
    FlaggerRun run = LoadRun(key);
    run.gate_open = open;
    SaveRun(key, run);
    Log({{"level", "info"}, {"event", open ? "gate_opened" : "gate_closed"}, {"canary", key}});
    SendJson(res, 200, {{"namespace", ns}, {"name", name}, {"open", open}});
  }

  // ---- standalone rollouts --------------------------------------------------------------

  void RolloutRoutes() {
    const std::string key =
        R"(/v1/rollouts/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?))";
    svr_.Post("/v1/rollouts",
              Wrap("/v1/rollouts", [this](const httplib::Request& req, httplib::Response& res) {
                if (!Rollouts(res)) return;
                // The body is the Canary document itself, YAML or JSON.
                if (req.body.empty()) {
                  return SendError(
                      res, {400, "invalid_argument", "empty body: send a Flagger Canary document"});
                }
                bool created = false;
                auto st = opt_.rollouts->Submit(req.body, "request body", &created);
                if (!st) return SendError(res, FromError(st.error()));
                Log({{"level", "info"}, {"event", "rollout_submitted"}, {"rollout", st->key}});
                res.status = created ? 201 : 200;
                res.set_content(contracts::RolloutStatusJson(*st), "application/json");
              }));
    svr_.Get("/v1/rollouts",
             Wrap("/v1/rollouts", [this](const httplib::Request&, httplib::Response& res) {
               if (!Rollouts(res)) return;
               res.status = 200;
               res.set_content(contracts::RolloutListJson(opt_.rollouts->List()),
                               "application/json");
             }));
    svr_.Get(key, Wrap("/v1/rollouts/{key}",
                       [this](const httplib::Request& req, httplib::Response& res) {
                         if (!Rollouts(res)) return;
                         auto st = opt_.rollouts->Get(std::string(req.matches[1]) + "/" +
                                                      std::string(req.matches[3]));
                         if (!st) return SendError(res, FromError(st.error()));
                         res.status = 200;
                         res.set_content(contracts::RolloutStatusJson(*st), "application/json");
                       }));
    svr_.Delete(
        key,
        Wrap("/v1/rollouts/{key}", [this](const httplib::Request& req, httplib::Response& res) {
          if (!Rollouts(res)) return;
          const std::string k = std::string(req.matches[1]) + "/" + std::string(req.matches[3]);
          if (Status st = opt_.rollouts->Remove(k); !st) {
            return SendError(res, FromError(st.error()));
          }
          SendJson(res, 200, {{"removed", k}});
        }));
    svr_.Post(key + "/([a-z]{1,16})",
              Wrap("/v1/rollouts/{key}/{command}",
                   [this](const httplib::Request& req, httplib::Response& res) {
                     if (!Rollouts(res)) return;
                     const std::string k =
                         std::string(req.matches[1]) + "/" + std::string(req.matches[3]);
                     auto cmd = rollout::ParseCommand(req.matches[5]);
                     if (!cmd) return SendError(res, {404, "not_found", cmd.error().message});
                     std::string reason = "operator (API)";
                     if (!req.body.empty()) {
                       auto body = ParseJsonBody(req.body);
                       if (auto* e = std::get_if<HttpError>(&body)) return SendError(res, *e);
                       const Json& j = std::get<Json>(body);
                       if (j.contains("reason") && j["reason"].is_string()) {
                         reason = j["reason"].get<std::string>();
                       }
                     }
                     if (Status st = opt_.rollouts->Run(k, *cmd, reason); !st) {
                       return SendError(res, FromError(st.error()));
                     }
                     Log({{"level", "info"},
                          {"event", "rollout_command"},
                          {"rollout", k},
                          {"command", std::string(req.matches[5])},
                          {"reason", reason}});
                     auto now = opt_.rollouts->Get(k);
                     if (!now) return SendError(res, FromError(now.error()));
                     res.status = 200;
                     res.set_content(contracts::RolloutStatusJson(*now), "application/json");
                   }));
  }

  bool Rollouts(httplib::Response& res) {
    if (opt_.rollouts) return true;
    SendError(res, {404, "not_found", "rollouts are not enabled on this server"});
    return false;
  }

  // ---- Kayenta REST subset (what Argo Rollouts' Kayenta provider calls) --------------------

  void KayentaRoutes() {
    svr_.Get("/canaryConfig",
             Wrap("/canaryConfig", [this](const httplib::Request& req, httplib::Response& res) {
               ListCanaryConfigs(req, res);
             }));
    svr_.Post("/canaryConfig",
              Wrap("/canaryConfig", [this](const httplib::Request& req, httplib::Response& res) {
                PutCanaryConfig("", req, res);
              }));
    svr_.Get(
        R"(/canaryConfig/([A-Za-z0-9._:-]{1,200}))",
        Wrap("/canaryConfig/{id}", [this](const httplib::Request& req, httplib::Response& res) {
          auto c = FindCanaryConfig(req.matches[1]);
          if (!c) return SendError(res, FromError(c.error()));
          res.status = 200;
          res.set_content(c->dump(), "application/json");
        }));
    svr_.Put(
        R"(/canaryConfig/([A-Za-z0-9._:-]{1,200}))",
        Wrap("/canaryConfig/{id}", [this](const httplib::Request& req, httplib::Response& res) {
          PutCanaryConfig(req.matches[1], req, res);
        }));
    svr_.Delete(
        R"(/canaryConfig/([A-Za-z0-9._:-]{1,200}))",
        Wrap("/canaryConfig/{id}", [this](const httplib::Request& req, httplib::Response& res) {
          const std::string id = req.matches[1];
          bool found = false;
          {
            std::lock_guard<std::mutex> lock(kayenta_mu_);
            found = posted_configs_.erase(id) > 0;
          }
          if (opt_.history) {
            found |=
                opt_.history->DeleteState("kayenta-config", id, store::HistoryStore::kAnyVersion)
                    .has_value();
          }
          if (!found) {
            return SendError(res, {404, "not_found", "no canary config '" + id + "'"});
          }
          res.status = 204;
        }));
    svr_.Post(R"(/canary/([A-Za-z0-9._:-]{1,200}))",
              Wrap("/canary/{id}", [this](const httplib::Request& req, httplib::Response& res) {
                auto config = FindCanaryConfig(req.matches[1]);
                if (!config) return SendError(res, FromError(config.error()));
                auto parsed = ParseJsonBody(req.body);
                if (auto* e = std::get_if<HttpError>(&parsed)) return SendError(res, *e);
                Json* body = &std::get<Json>(parsed);
                StartCanary(*config, req.matches[1], *body, req, res);
              }));
    svr_.Post("/canary",
              Wrap("/canary", [this](const httplib::Request& req, httplib::Response& res) {
                auto parsed = ParseJsonBody(req.body);
                if (auto* e = std::get_if<HttpError>(&parsed)) return SendError(res, *e);
                Json* body = &std::get<Json>(parsed);
                if (!body->contains("canaryConfig") || !body->contains("executionRequest")) {
                  return SendError(res, {422, "invalid_argument",
                                         "ad-hoc canary: body needs canaryConfig and "
                                         "executionRequest"});
                }
                StartCanary((*body)["canaryConfig"], "", (*body)["executionRequest"], req, res);
              }));
    svr_.Get(R"(/canary/([A-Za-z0-9._:-]{1,200}))",
             Wrap("/canary/{id}", [this](const httplib::Request& req, httplib::Response& res) {
               GetCanary(req.matches[1], res);
             }));
  }

  Result<Json> FindCanaryConfig(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(kayenta_mu_);
      if (auto it = posted_configs_.find(id); it != posted_configs_.end()) return it->second;
    }
    if (opt_.history) {
      auto e = opt_.history->GetState("kayenta-config", id);
      if (e) {
        Json j = Json::parse(e->json, nullptr, false);
        if (!j.is_discarded()) return j;
      }
    }
    if (auto it = opt_.kayenta_configs.find(id); it != opt_.kayenta_configs.end()) {
      Json j = Json::parse(it->second, nullptr, false);
      if (!j.is_discarded()) return j;
    }
    return Error{ErrorCode::kNotFound, "no canary config with id '" + id + "'"};
  }

  void ListCanaryConfigs(const httplib::Request& req, httplib::Response& res) {
    const std::string app = req.get_param_value("application");
    Json list = Json::array();
    auto add = [&](const std::string& id, const Json& c) {
      Json apps = c.value("applications", Json::array());
      if (!app.empty() && apps.is_array() && !apps.empty()) {
        bool match = false;
        for (const auto& a : apps) match |= a == app;
        if (!match) return;
      }
      list.push_back({{"id", id},
                      {"name", c.value("name", id)},
                      {"applications", apps},
                      {"updatedTimestamp", c.value("updatedTimestamp", 0)}});
    };
    std::set<std::string> seen;
    if (opt_.history) {
      if (auto entries = opt_.history->ListState("kayenta-config"); entries) {
        for (const auto& e : *entries) {
          Json c = Json::parse(e.json, nullptr, false);
          if (c.is_object() && seen.insert(e.key).second) add(e.key, c);
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(kayenta_mu_);
      for (const auto& [id, c] : posted_configs_) {
        if (seen.insert(id).second) add(id, c);
      }
    }
    for (const auto& [id, text] : opt_.kayenta_configs) {
      Json c = Json::parse(text, nullptr, false);
      if (c.is_object() && seen.insert(id).second) add(id, c);
    }
    SendJson(res, 200, list);
  }

  void PutCanaryConfig(std::string id, const httplib::Request& req, httplib::Response& res) {
    auto parsed = ParseJsonBody(req.body);
    if (auto* e = std::get_if<HttpError>(&parsed)) return SendError(res, *e);
    Json* body = &std::get<Json>(parsed);
    auto model = contracts::ParseKayentaCanaryConfig(body->dump());
    if (!model) return SendError(res, FromError(model.error()));
    if (id.empty()) id = "cc-" + id_prefix_ + "-" + std::to_string(++counter_);
    (*body)["updatedTimestamp"] = NowMs();
    {
      std::lock_guard<std::mutex> lock(kayenta_mu_);
      posted_configs_[id] = *body;
    }
    if (opt_.history) {
      auto v = opt_.history->PutState("kayenta-config", id, body->dump(),
                                      store::HistoryStore::kAnyVersion);
      if (!v) return SendError(res, FromError(v.error()));
    }
    SendJson(res, 200, {{"canaryConfigId", id}});
  }

  // Runs the canary analysis now (within the request: it is a handful of range queries) and
  // stores the execution, so GET /canary/{id} answers complete at the first poll.
  void StartCanary(const Json& config, const std::string& config_id, const Json& request,
                   const httplib::Request& req, httplib::Response& res) {
    auto model = contracts::ParseKayentaCanaryConfig(config.dump());
    if (!model) return SendError(res, FromError(model.error()));
    if (auto t = request.find("thresholds"); t != request.end() && t->is_object()) {
      if (t->contains("pass")) model->thresholds.pass = (*t)["pass"].get<double>();
      if (t->contains("marginal")) model->thresholds.marginal = (*t)["marginal"].get<double>();
    }
    if (auto st = judge::ValidateModel(*model); !st) return SendError(res, FromError(st.error()));
    const Json scopes = request.value("scopes", Json::object());
    if (!scopes.is_object() || scopes.empty()) {
      return SendError(res, {422, "invalid_argument", "scopes: at least one scope is required"});
    }
    const int64_t started = NowMs();
    std::vector<judge::MetricPair> pairs;
    size_t errors = 0;
    std::vector<std::string> error_text;
    auto queries = sources::KayentaConfigQueries(config.dump());
    if (!queries) return SendError(res, FromError(queries.error().WithContext("canaryConfig")));
    for (size_t i = 0; i < queries->size() && i < model->metrics.size(); ++i) {
      const std::string& scope_name = (*queries)[i].scope_name;
      if (!scopes.contains(scope_name)) {
        return SendError(res, {422, "invalid_argument",
                               "metric '" + model->metrics[i].name + "' needs scope '" +
                                   scope_name + "', which the request does not give"});
      }
      const Json& scope = scopes[scope_name];
      judge::MetricPair pair{model->metrics[i].name, {}, {}, {}};
      bool ok = true;
      for (int side = 0; side < 2 && ok; ++side) {
        const Json s = scope.value(side == 0 ? "controlScope" : "experimentScope", Json::object());
        auto values = FetchKayentaSide((*queries)[i].query, s);
        if (!values) {
          ok = false;
          ++errors;
          error_text.push_back(pair.name + " (" + (side == 0 ? "control" : "experiment") +
                               "): " + values.error().message);
          if (values.error().code == ErrorCode::kInvalidArgument) {
            return SendError(res, FromError(values.error().WithContext(pair.name)));
          }
        } else {
          (side == 0 ? pair.control : pair.experiment) = std::move(*values);
        }
      }
      if (ok) pairs.push_back(std::move(pair));
    }
    if (errors) source_errors_->Add({{"source", opt_.source_kind}}).Increment(errors);
    auto j = judge::Judge(*model, pairs);
    if (!j) return SendError(res, FromError(j.error()));
    // Kayenta scores a missing metric's group as 100, so a canary whose metrics could not be
    // fetched would pass: instead the execution ends TERMINAL with the reason and no result,
    // which Argo records as an Error measurement (retried, then the analysis errors).
    const bool fetch_failed = errors > 0;
    const std::string id = "ce-" + id_prefix_ + "-" + std::to_string(++counter_);
    const int64_t ended = NowMs();
    Json status = {{"application", req.get_param_value("application")},
                   {"canaryConfigId", config_id},
                   {"complete", true},
                   {"status", fetch_failed ? "terminal" : "succeeded"},
                   {"executionStatus", fetch_failed ? "TERMINAL" : "SUCCEEDED"},
                   {"canaryExecutionRequest", request},
                   {"metricsAccountName", req.get_param_value("metricsAccountName")},
                   {"storageAccountName", req.get_param_value("storageAccountName")},
                   {"startTimeMillis", started},
                   {"startTimeIso", FormatTimeMs(started)},
                   {"endTimeMillis", ended},
                   {"endTimeIso", FormatTimeMs(ended)}};
    if (fetch_failed) {
      status["exception"] = {{"message", "metrics could not be fetched: " + error_text.front()}};
      status["fetchErrors"] = error_text;
    } else {
      status["result"] = {
          {"judgeResult", Json::parse(contracts::CanaryJudgeResultJson(*j))},
          {"canaryDuration", "PT" + std::to_string((ended - started) / 1000) + "S"}};
    }
    Outcome o;
    o.judgement = *j;
    analysis::GuardAgainstMissingData(errors, opt_.on_source_failure, &o.judgement);
    o.model_name = model->name.empty() ? config_id : model->name;
    o.mode = "kayenta";
    o.target = req.get_param_value("application");
    o.inputs = {{"kind", "kayenta-scopes"}, {"scopes", scopes}};
    {
      std::lock_guard<std::mutex> lock(kayenta_mu_);
      executions_[id] = status;
      if (executions_.size() > 10000) executions_.erase(executions_.begin());
    }
    if (opt_.history) {
      store::JudgementRecord rec;
      rec.id = id;
      rec.created_ms = ended;
      rec.source = "kayenta";
      rec.target = o.target;
      rec.model = o.model_name;
      rec.mode = "kayenta";
      rec.outcome = VerdictName(o.judgement.outcome);
      rec.score = o.judgement.score;
      rec.judge_version = j->judge_name;
      rec.inputs_json = o.inputs.dump();
      rec.request_json = request.dump();
      rec.result_json = status.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (auto st = opt_.history->Append(std::move(rec)); !st) {
        history_errors_->Increment();
        Log({{"level", "error"},
             {"event", "history_write_failed"},
             {"id", id},
             {"error", st.error().message}});
      }
    }
    judgements_->Add({{"source", "kayenta"}, {"verdict", VerdictName(o.judgement.outcome)}})
        .Increment();
    Log({{"level", "info"},
         {"event", "kayenta_canary"},
         {"id", id},
         {"config", o.model_name},
         {"score", NumOrNull(o.judgement.score)},
         {"fetch_errors", errors}});
    SendJson(res, 200, {{"canaryExecutionId", id}});
  }

  // One side of one Kayenta metric: render the query for the scope, fetch it on the scope's
  // window (start/end ISO instants, step in seconds).
  Result<std::vector<double>> FetchKayentaSide(const sources::KayentaQueryConfig& qc,
                                               const Json& scope) {
    std::map<std::string, std::string> vars;
    vars["scope"] = StrOr(scope, "scope", "");
    vars["location"] = StrOr(scope, "location", StrOr(scope, "region", ""));
    if (auto e = scope.find("extendedScopeParams"); e != scope.end() && e->is_object()) {
      for (const auto& [k, v] : e->items())
        vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    auto promql = sources::RenderKayentaQuery(qc, vars);
    if (!promql) return promql.error();
    const int64_t now = NowMs();
    auto start = ParseTimeMs(StrOr(scope, "start", ""), now);
    if (!start) return start.error().WithContext("scope start");
    auto end = ParseTimeMs(StrOr(scope, "end", "now"), now);
    if (!end) return end.error().WithContext("scope end");
    double step_s = 60;
    if (auto st = scope.find("step"); st != scope.end() && !st->is_null()) {
      if (st->is_number()) {
        step_s = st->get<double>();
      } else {
        try {
          step_s = std::stod(st->get<std::string>());
        } catch (...) {
          return InvalidArgument("scope step: seconds, got " + st->dump());
        }
      }
    }
    if (!(step_s >= 1) || *end <= *start) {
      return InvalidArgument("scope: need end after start and a step of at least 1 s");
    }
    auto raw = opt_.source->FetchRaw(
        {*promql, *start, *end, static_cast<int64_t>(std::llround(step_s * 1000))});
    if (!raw) return raw.error();
    return std::move(raw->values);
  }

  void GetCanary(const std::string& id, httplib::Response& res) {
    {
      std::lock_guard<std::mutex> lock(kayenta_mu_);
      if (auto it = executions_.find(id); it != executions_.end()) {
        return SendJson(res, 200, it->second);
      }
    }
    if (opt_.history) {
      auto r = opt_.history->Get(id);
      if (r && r->source == "kayenta") {
        Json j = Json::parse(r->result_json, nullptr, false);
        if (j.is_object()) return SendJson(res, 200, j);
      }
    }
    SendError(res, {404, "not_found", "no canary execution '" + id + "'"});
  }

  std::mutex kayenta_mu_;
  std::map<std::string, Json> posted_configs_;
  std::map<std::string, Json> executions_;

  ServerOptions opt_;
  httplib::Server svr_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::string id_prefix_;
  std::atomic<uint64_t> counter_{0};
  std::mutex log_mu_;

  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>* http_requests_;
  prometheus::Family<prometheus::Histogram>* http_latency_;
  prometheus::Family<prometheus::Counter>* judgements_;
  prometheus::Family<prometheus::Gauge>* metric_analysis_;
  prometheus::Family<prometheus::Gauge>* metric_threshold_;
  prometheus::Family<prometheus::Counter>* source_errors_;
  prometheus::Counter* history_errors_;

  std::mutex runs_mu_;
  std::map<std::string, FlaggerRun> runs_;
  std::map<std::string, std::shared_ptr<std::mutex>> run_locks_;
};

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto st = impl->Bind(); !st) return st.error();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
int Server::port() const { return impl_->port(); }
Status Server::Run() { return impl_->Run(); }
void Server::Stop() { impl_->Stop(); }

}  // namespace augur::server
