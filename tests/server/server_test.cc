// `augur serve` end to end: the real daemon binary on a loopback port, spoken to over HTTP the
// way Flagger, Argo Rollouts and Kayenta's callers do.
//
// The metric source here is a loopback HTTP server that answers Prometheus's query_range API
// with series the test controls (a mock, because the verdicts must be decided by the test;
// the real Prometheus behind real HAProxy is exercised in tests/integration/lab_test.cc).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#include "testing/kayenta_vectors.h"
#include "testing/process.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A Prometheus stand-in: /api/v1/query_range returns one series per query on the requested
// grid. The canary's success rate is `canary_rate`; the primary's is 0.999 (with noise).
class FakePrometheus {
 public:
  FakePrometheus() {
    svr_.Get("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(R"({"status":"success","data":{"resultType":"scalar","result":[0,"1"]}})",
                      "application/json");
    });
    auto range = [this](const httplib::Request& req, httplib::Response& res) {
      queries_++;
      const std::string q = req.get_param_value("query");
      const double start = std::stod(req.get_param_value("start"));
      const double end = std::stod(req.get_param_value("end"));
      const double step = std::stod(req.get_param_value("step"));
      const bool canary = q.find("server=\"canary\"") != std::string::npos;
      std::mt19937_64 rng(canary ? 7 : 11);
      std::normal_distribution<double> noise(0, 0.0004);
      const double rate = canary ? canary_rate_.load() : 0.999;
      json values = json::array();
      for (double t = start; t <= end + 1e-9; t += step) {
        values.push_back({t, std::to_string(std::min(1.0, rate + noise(rng)))});
      }
      json body = {{"status", "success"},
                   {"data",
                    {{"resultType", "matrix"},
                     {"result", {{{"metric", json::object()}, {"values", values}}}}}}};
      res.set_content(body.dump(), "application/json");
    };
    svr_.Get("/api/v1/query_range", range);
    svr_.Post("/api/v1/query_range", range);
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
  }
  ~FakePrometheus() {
    svr_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  void set_canary_rate(double r) { canary_rate_ = r; }
  int queries() const { return queries_; }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<double> canary_rate_{0.999};
  std::atomic<int> queries_{0};
};

// A models folder with one small model the fake Prometheus can drive to pass or fail.
std::string WriteModels(const fs::path& dir) {
  fs::create_directories(dir / "models");
  std::ofstream(dir / "models" / "success.yaml") << R"(apiVersion: augur.dev/v1
kind: AnalysisModel
metadata: {name: success}
spec:
  mode: augur
  thresholds: {pass: 75, marginal: 50}
  metrics:
    - name: success-rate
      query: success_rate
      direction: decrease
      critical: true
      thresholdRange: {min: 0.99}
      effectFloor: {absolute: 0.002}
      minSamples: 5
)";
  return (dir / "models").string();
}

class Daemon {
 public:
  Daemon(const fs::path& dir, std::vector<std::string> extra, std::string token = "") {
    auto port = augur::testing::FreeLoopbackPort();
    EXPECT_TRUE(port.has_value());
    port_ = *port;
    std::vector<std::string> argv = {AUGUR_BINARY, "serve",
                                     "--listen",   "127.0.0.1:" + std::to_string(port_),
                                     "--storage",  (dir / "augur.db").string(),
                                     "--queries",  std::string(AUGUR_SOURCE_DIR) + "/queries"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!token.empty()) {
      std::ofstream(dir / "token") << token << "\n";
      argv.push_back("--token-file");
      argv.push_back((dir / "token").string());
    }
    augur::testing::ProcessOptions o;
    o.argv = argv;
    auto p = augur::testing::Process::Start(o);
    EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message);
    proc_ = std::move(*p);
    httplib::Client c("127.0.0.1", port_);
    for (int i = 0; i < 200; ++i) {
      if (auto r = c.Get("/healthz"); r && r->status == 200) return;
      if (!proc_->Running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "augur serve did not come up: " << proc_->Stderr();
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(std::chrono::seconds(20));
    return c;
  }
  int port() const { return port_; }
  augur::testing::Process& proc() { return *proc_; }

 private:
  int port_ = 0;
  std::unique_ptr<augur::testing::Process> proc_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("augur-server-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::vector<std::string> WithFake(const FakePrometheus& prom) {
    return {"--models", WriteModels(dir_), "--prometheus",
            "http://127.0.0.1:" + std::to_string(prom.port())};
  }

  fs::path dir_;
};

json Inline(double shift) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n(0.100, 0.005);
  json base = json::array(), can = json::array();
  for (int i = 0; i < 60; ++i) {
    base.push_back(n(rng));
    can.push_back(n(rng) + shift);
  }
  json model = {{"apiVersion", "augur.dev/v1"},
                {"kind", "AnalysisModel"},
                {"metadata", {{"name", "inline-latency"}}},
                {"spec",
                 {{"metrics",
                   {{{"name", "latency"},
                     {"query", "latency_mean_seconds"},
                     {"direction", "increase"},
                     {"effectFloor", {{"absolute", 0.004}}}}}}}}};
  return {{"model", model},
          {"target", "shop/web"},
          {"data", {{"metrics", {{{"name", "latency"}, {"baseline", base}, {"canary", can}}}}}}};
}

TEST_F(ServerTest, HealthReadyMetrics) {
  Daemon d(dir_, {});
  auto c = d.Client();
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_GE(json::parse(r->body).at("models").get<int>(), 2);  // the bundled models
  ASSERT_TRUE(c.Post("/v1/judgements", Inline(0.0).dump(), "application/json"));
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("augur_judgements_total{source=\"native\",verdict=\"pass\"} 1"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("augur_http_requests_total{code=\"200\",endpoint=\"/healthz\"}"),
            std::string::npos);
  EXPECT_NE(m->body.find("augur_canary_metric_analysis{metric=\"latency\",name=\"web\","
                         "namespace=\"shop\"}"),
            std::string::npos);
}

TEST_F(ServerTest, ReadyzFailsWhenPrometheusIsDown) {
  auto closed = augur::testing::FreeLoopbackPort();
  ASSERT_TRUE(closed);
  Daemon d(dir_, {"--prometheus", "http://127.0.0.1:" + std::to_string(*closed)});
  auto r = d.Client().Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("not reachable"), std::string::npos) << r->body;
}

TEST_F(ServerTest, NativeInlineJudgementsAreStoredAndSurviveRestart) {
  std::string pass_id, fail_id;
  {
    Daemon d(dir_, {});
    auto c = d.Client();
    auto pass = c.Post("/v1/judgements", Inline(0.0).dump(), "application/json");
    ASSERT_TRUE(pass);
    ASSERT_EQ(pass->status, 200) << pass->body;
    json p = json::parse(pass->body);
    EXPECT_EQ(p.at("verdict"), "pass") << pass->body;
    pass_id = p.at("id");
    auto fail = c.Post("/v1/judgements", Inline(0.02).dump(), "application/json");
    ASSERT_TRUE(fail);
    json f = json::parse(fail->body);
    EXPECT_EQ(f.at("verdict"), "fail") << fail->body;
    EXPECT_EQ(f.at("metrics").at(0).at("classification"), "High");
    fail_id = f.at("id");
    // SIGTERM: a graceful exit.
    EXPECT_EQ(d.proc().Stop(), 0) << d.proc().Stderr();
  }
  Daemon d(dir_, {});
  auto c = d.Client();
  auto g = c.Get("/v1/judgements/" + fail_id);
  ASSERT_TRUE(g);
  ASSERT_EQ(g->status, 200) << g->body;
  json got = json::parse(g->body);
  EXPECT_EQ(got.at("verdict"), "fail");
  EXPECT_EQ(got.at("metrics").at(0).at("name"), "latency");
  auto list = c.Get("/v1/judgements?target=shop/web");
  ASSERT_TRUE(list);
  json l = json::parse(list->body).at("judgements");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.at(0).at("id"), fail_id);  // newest first
  EXPECT_EQ(l.at(1).at("id"), pass_id);
  auto missing = c.Get("/v1/judgements/j-nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(ServerTest, BadInputGetsClearErrors) {
  Daemon d(dir_, {});
  auto c = d.Client();
  auto malformed = c.Post("/v1/judgements", R"({"model": "x", "data": [1, 2,)", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("malformed JSON at byte"), std::string::npos) << malformed->body;
  EXPECT_EQ(json::parse(malformed->body).at("error"), "malformed_json");
  EXPECT_GT(json::parse(malformed->body).at("position").get<int>(), 20);
  auto unknown = c.Post("/v1/judgements", R"({"model": "no-such-model", "data": {"metrics": []}})",
                        "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_NE(unknown->body.find("no-such-model"), std::string::npos);
  json nan = Inline(0.0);
  nan["data"]["metrics"][0]["canary"] = json::array({"NaN", "NaN"});
  auto nodata = c.Post("/v1/judgements", nan.dump(), "application/json");
  ASSERT_TRUE(nodata);
  ASSERT_EQ(nodata->status, 200) << nodata->body;
  EXPECT_NE(json::parse(nodata->body).at("verdict"), "pass") << nodata->body;
  auto bad_mode =
      c.Post("/v1/judgements",
             R"({"model": "http-golden-signals", "mode": "bayes", "data": {"metrics": []}})",
             "application/json");
  ASSERT_TRUE(bad_mode);
  EXPECT_EQ(bad_mode->status, 422);
  auto kayenta_garbage = c.Post("/judge", "[]", "application/json");
  ASSERT_TRUE(kayenta_garbage);
  EXPECT_GE(kayenta_garbage->status, 400);
  EXPECT_LT(kayenta_garbage->status, 500);
  auto nowhere = c.Get("/v2/nothing");
  ASSERT_TRUE(nowhere);
  EXPECT_EQ(nowhere->status, 404);
  // Still alive after all of it.
  auto h = c.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST_F(ServerTest, OversizedBodyIs413) {
  std::ofstream(dir_ / "augur.yaml") << "apiVersion: augur.dev/v1\nkind: ServerConfig\n"
                                        "spec:\n  limits: {maxBodyBytes: 4096}\n";
  Daemon d(dir_, {"--config", (dir_ / "augur.yaml").string()});
  auto r = d.Client().Post("/v1/judgements", std::string(100000, ' '), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, TokenIsRequiredOnMutatingEndpoints) {
  Daemon d(dir_, {}, "s3cret-token");
  auto c = d.Client();
  auto none = c.Post("/v1/judgements", Inline(0.0).dump(), "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  httplib::Headers wrong = {{"Authorization", "Bearer s3cret-tokem"}};
  auto bad =
      c.Post("/v1/flagger/rollout", wrong, R"({"name":"a","namespace":"b"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  auto judge = c.Post("/judge", R"({})", "application/json");
  ASSERT_TRUE(judge);
  EXPECT_EQ(judge->status, 401);
  httplib::Headers right = {{"Authorization", "Bearer s3cret-token"}};
  auto ok = c.Post("/v1/judgements", right, Inline(0.0).dump(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  // Flagger sends no headers: the token may ride in the webhook URL (RFC 6750 §2.3).
  auto param =
      c.Post("/v1/judgements?access_token=s3cret-token", Inline(0.0).dump(), "application/json");
  ASSERT_TRUE(param);
  EXPECT_EQ(param->status, 200) << param->body;
  auto get = c.Get("/healthz");  // reads stay open
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
}

TEST_F(ServerTest, KayentaRemoteJudgeMatchesReferenceVectors) {
  std::ifstream in(std::string(AUGUR_SHARED_DIR) + "/reference/kayenta/judge_vectors.json");
  ASSERT_TRUE(in) << "needs ../shared/reference/kayenta/judge_vectors.json";
  const json cases = json::parse(in).at("cases");
  Daemon d(dir_, {});
  auto c = d.Client();
  int checked = 0;
  for (const auto& k : cases) {
    if (k.at("kind") != "mann_whitney_classifier") continue;
    const json& obs = k.at("reference_observed");
    if (obs.value("gaussian_noise_applied", false)) continue;  // random in Kayenta
    const json body = {{"canaryConfig", augur::testing::KayentaVectorConfig(k)},
                       {"scoreThresholds", {{"pass", 75}, {"marginal", 50}}},
                       {"metricSetPairList", augur::testing::KayentaVectorPairs(k)}};
    auto r = c.Post("/judge", body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << k.at("id") << ": " << r->body;
    const json result = json::parse(r->body);
    EXPECT_EQ(result.at("results").at(0).at("classification"), obs.at("classification"))
        << k.at("id");
    ++checked;
  }
  EXPECT_GT(checked, 5);
}

TEST_F(ServerTest, ArgoWebProviderGivesThreeOutcomes) {
  FakePrometheus prom;
  Daemon d(dir_, WithFake(prom));
  auto c = d.Client();
  const json req = {{"model", "success"},
                    {"provider", "haproxy"},
                    {"vars", {{"namespace", "shop"}}},
                    {"interval", "5m"},
                    {"step", "10s"}};
  auto pass = c.Post("/v1/argo", req.dump(), "application/json");
  ASSERT_TRUE(pass);
  ASSERT_EQ(pass->status, 200) << pass->body;
  EXPECT_EQ(json::parse(pass->body).at("verdict"), "pass") << pass->body;
  EXPECT_GT(prom.queries(), 0);
  prom.set_canary_rate(0.95);
  auto fail = c.Post("/v1/argo", req.dump(), "application/json");
  ASSERT_TRUE(fail);
  EXPECT_EQ(json::parse(fail->body).at("verdict"), "fail") << fail->body;
  // Too few points for the model's minSamples: inconclusive, never pass.
  json few = req;
  few["interval"] = "20s";
  few["step"] = "10s";
  prom.set_canary_rate(0.999);
  auto inconclusive = c.Post("/v1/argo", few.dump(), "application/json");
  ASSERT_TRUE(inconclusive);
  EXPECT_EQ(json::parse(inconclusive->body).at("verdict"), "inconclusive") << inconclusive->body;
}

TEST_F(ServerTest, PrometheusDownNeverPasses) {
  auto closed = augur::testing::FreeLoopbackPort();
  ASSERT_TRUE(closed);
  Daemon d(dir_, {"--models", WriteModels(dir_), "--prometheus",
                  "http://127.0.0.1:" + std::to_string(*closed)});
  auto c = d.Client();
  const json req = {{"model", "success"}, {"vars", {{"namespace", "shop"}}}, {"interval", "5m"}};
  auto argo = c.Post("/v1/argo", req.dump(), "application/json");
  ASSERT_TRUE(argo);
  ASSERT_EQ(argo->status, 200) << argo->body;
  const json a = json::parse(argo->body);
  EXPECT_EQ(a.at("verdict"), "inconclusive") << argo->body;
  EXPECT_NE(a.at("fetches").at(0).at("error").get<std::string>().find("127.0.0.1"),
            std::string::npos);
  auto hook = c.Post("/v1/flagger/rollout",
                     R"({"name":"web","namespace":"shop","phase":"Progressing","checksum":"c1",
                         "metadata":{"model":"success"}})",
                     "application/json");
  ASSERT_TRUE(hook);
  EXPECT_EQ(hook->status, 412) << hook->body;  // a 4xx with the reason, not a 5xx
  EXPECT_NE(hook->body.find("inconclusive"), std::string::npos) << hook->body;
  // Kayenta's API: the execution ends TERMINAL without a score (Argo: Error), never a pass.
  const json adhoc = {
      {"canaryConfig",
       {{"name", "adhoc"},
        {"metrics",
         {{{"name", "m"},
           {"query",
            {{"type", "prometheus"},
             {"metricName", "up"},
             {"customInlineTemplate", "job='${scope}'"}}},
           {"groups", {"g"}},
           {"analysisConfigurations", {{"canary", {{"direction", "either"}}}}}}}},
        {"classifier", {{"groupWeights", {{"g", 100}}}}}}},
      {"executionRequest",
       {{"scopes",
         {{"default",
           {{"controlScope", {{"scope", "a"}, {"start", "now-5m"}, {"end", "now"}, {"step", 15}}},
            {"experimentScope",
             {{"scope", "b"}, {"start", "now-5m"}, {"end", "now"}, {"step", 15}}}}}}}}}};
  auto exec = c.Post("/canary", adhoc.dump(), "application/json");
  ASSERT_TRUE(exec);
  ASSERT_EQ(exec->status, 200) << exec->body;
  auto st = c.Get("/canary/" + json::parse(exec->body).at("canaryExecutionId").get<std::string>());
  ASSERT_TRUE(st);
  const json status = json::parse(st->body);
  EXPECT_EQ(status.at("executionStatus"), "TERMINAL") << st->body;
  EXPECT_FALSE(status.contains("result"));
  auto preflight = c.Post("/v1/flagger/pre-rollout",
                          R"({"name":"web","namespace":"shop","checksum":"c1",
                              "metadata":{"model":"success"}})",
                          "application/json");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 412) << preflight->body;
  EXPECT_NE(preflight->body.find("preflight failed"), std::string::npos) << preflight->body;
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("augur_source_errors_total{source=\"prometheus\"}"), std::string::npos);
}

TEST_F(ServerTest, FlaggerHooksFollowTheContract) {
  FakePrometheus prom;
  Daemon d(dir_, WithFake(prom));
  auto c = d.Client();
  auto hook = [&](const std::string& type, const std::string& checksum,
                  const std::string& extra_meta = "") {
    const std::string body = R"({"name":"web","namespace":"shop","phase":"Progressing",)"
                             R"("checksum":")" +
                             checksum +
                             R"(","metadata":{"model":"success","interval":"1m",)"
                             R"("window":"5m","step":"10s")" +
                             extra_meta + R"(},"unknownField":42})";
    auto r = c.Post("/v1/flagger/" + type, body, "application/json");
    EXPECT_TRUE(r);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  };
  // Gates: open by default, closed on request, counted nowhere.
  EXPECT_EQ(hook("confirm-rollout", "c1").first, 200);
  ASSERT_TRUE(c.Post("/v1/gates/shop/web/close", "", "application/json"));
  EXPECT_EQ(hook("confirm-rollout", "c1").first, 412);
  EXPECT_EQ(hook("confirm-traffic-increase", "c1").first, 412);
  ASSERT_TRUE(c.Post("/v1/gates/shop/web/open", "", "application/json"));
  EXPECT_EQ(hook("confirm-traffic-increase", "c1").first, 200);
  // Healthy canary: rollout checks pass; promotion holds until 3 passing checks.
  // pre-rollout is a preflight (the canary has no traffic yet) and does not count.
  auto preflight = hook("pre-rollout", "c1");
  EXPECT_EQ(preflight.first, 200) << preflight.second;
  EXPECT_NE(preflight.second.find("preflight ok"), std::string::npos);
  EXPECT_EQ(hook("confirm-promotion", "c1").first, 412);
  EXPECT_EQ(hook("rollout", "c1").first, 200);
  EXPECT_EQ(hook("rollout", "c1").first, 200);
  auto hold = hook("confirm-promotion", "c1");
  EXPECT_EQ(hold.first, 412);
  EXPECT_NE(hold.second.find("2 of 3"), std::string::npos) << hold.second;
  EXPECT_EQ(hook("rollout", "c1").first, 200);
  EXPECT_EQ(hook("confirm-promotion", "c1").first, 200);
  EXPECT_EQ(hook("rollback", "c1").first, 412);  // 2xx would force a rollback
  // A faulty canary (new checksum = new run): rollout fails with a reason Flagger shows.
  prom.set_canary_rate(0.90);
  auto failed = hook("rollout", "c2");
  EXPECT_EQ(failed.first, 412);
  EXPECT_NE(failed.second.find("success-rate"), std::string::npos) << failed.second;
  // The critical metric failed: the rollback hook now says "roll back".
  auto rollback = hook("rollback", "c2");
  EXPECT_EQ(rollback.first, 200) << rollback.second;
  EXPECT_EQ(hook("confirm-promotion", "c2").first, 412);
  EXPECT_EQ(hook("event", "c2").first, 200);
  EXPECT_EQ(hook("post-rollout", "c2").first, 200);
  // Flagger-style gauges: the last value and the threshold beside it.
  auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("augur_canary_metric_threshold{bound=\"min\",metric=\"success-rate\","
                         "name=\"web\",namespace=\"shop\"} 0.99"),
            std::string::npos)
      << m->body.substr(0, 3000);
  EXPECT_NE(m->body.find("augur_canary_metric_analysis{metric=\"success-rate\",name=\"web\","
                         "namespace=\"shop\"} 0.8"),
            std::string::npos);
  // post-rollout cleared the run: nothing to roll back any more.
  EXPECT_EQ(hook("rollback", "c2").first, 412);
  // Bad payloads are 4xx.
  auto nameless = c.Post("/v1/flagger/rollout", R"({"namespace":"shop"})", "application/json");
  ASSERT_TRUE(nameless);
  EXPECT_EQ(nameless->status, 400);
  auto unknown_hook =
      c.Post("/v1/flagger/nope", R"({"name":"a","namespace":"b"})", "application/json");
  ASSERT_TRUE(unknown_hook);
  EXPECT_EQ(unknown_hook->status, 404);
  auto unknown_model = hook("rollout", "c3", R"(,"model":"missing")");
  // metadata.model appears twice in that body; JSON keeps the last: "missing".
  EXPECT_GE(unknown_model.first, 400);
  EXPECT_LT(unknown_model.first, 500);
}

// Argo Rollouts' Kayenta provider: list configs, start an execution, poll it.
TEST_F(ServerTest, KayentaRestApiAsArgoCallsIt) {
  FakePrometheus prom;
  Daemon d(dir_, WithFake(prom));
  auto c = d.Client();
  const json config = {
      {"name", "checkout-canary"},
      {"applications", {"checkout"}},
      {"metrics",
       {{{"name", "success"},
         {"query",
          {{"type", "prometheus"},
           {"customInlineTemplate",
            "PromQL:sum(rate(haproxy_server_http_responses_total{server=\"${scope}\"}[1m]))"}}},
         {"groups", {"errors"}},
         {"analysisConfigurations",
          {{"canary", {{"direction", "decrease"}, {"critical", true}}}}}}}},
      {"classifier", {{"groupWeights", {{"errors", 100}}}}}};
  auto posted = c.Post("/canaryConfig", config.dump(), "application/json");
  ASSERT_TRUE(posted);
  ASSERT_EQ(posted->status, 200) << posted->body;
  const std::string config_id = json::parse(posted->body).at("canaryConfigId");
  auto list = c.Get("/canaryConfig?application=checkout&configurationAccountName=x");
  ASSERT_TRUE(list);
  bool listed = false;
  for (const auto& e : json::parse(list->body)) {
    listed |= e.at("id") == config_id && e.at("name") == "checkout-canary";
  }
  EXPECT_TRUE(listed) << list->body;
  auto other_app = c.Get("/canaryConfig?application=payments");
  ASSERT_TRUE(other_app);
  EXPECT_EQ(other_app->body.find(config_id), std::string::npos);

  auto run = [&](double canary_rate) {
    prom.set_canary_rate(canary_rate);
    const json request = {
        {"scopes",
         {{"default",
           {{"controlScope",
             {{"scope", "primary"}, {"start", "now-10m"}, {"end", "now"}, {"step", 10}}},
            {"experimentScope",
             {{"scope", "canary"}, {"start", "now-10m"}, {"end", "now"}, {"step", 10}}}}}}},
        {"thresholds", {{"pass", 95}, {"marginal", 75}}}};
    auto r = c.Post("/canary/" + config_id + "?application=checkout&metricsAccountName=prom",
                    request.dump(), "application/json");
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    const std::string exec = json::parse(r->body).at("canaryExecutionId");
    auto status = c.Get("/canary/" + exec);
    EXPECT_TRUE(status);
    const json st = json::parse(status->body);
    EXPECT_EQ(st.at("complete"), true);
    return st.at("result").at("judgeResult").at("score").at("score").get<double>();
  };
  EXPECT_EQ(run(0.999), 100);
  EXPECT_EQ(run(0.95), 0);  // the canary's success rate dropped: Low on a critical metric
  auto unknown = c.Post("/canary/nope", "{}", "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto missing = c.Get("/canary/ce-missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

// Kayenta's own example style: the filter lives in the config's `templates` and the metric
// names it with customFilterTemplate. Without it the query would select the same series for
// both scopes and the canary would pass on the baseline's data; the fake tells the scopes
// apart by server="canary" in the query, so a passing score here means the filter was used.
TEST_F(ServerTest, KayentaCustomFilterTemplateSelectsEachScope) {
  FakePrometheus prom;
  Daemon d(dir_, WithFake(prom));
  auto c = d.Client();
  auto config = [](const std::string& template_name) {
    return json{{"name", "filter-template"},
                {"applications", {"checkout"}},
                {"templates", {{"by-server", "server='${scope}'"}}},
                {"metrics",
                 {{{"name", "success"},
                   {"query",
                    {{"type", "prometheus"},
                     {"metricName", "haproxy_server_success_ratio"},
                     {"customFilterTemplate", template_name}}},
                   {"groups", {"errors"}},
                   {"analysisConfigurations",
                    {{"canary", {{"direction", "decrease"}, {"critical", true}}}}}}}},
                {"classifier", {{"groupWeights", {{"errors", 100}}}}}};
  };
  const json scopes = {
      {"default",
       {{"controlScope",
         {{"scope", "primary"}, {"start", "now-10m"}, {"end", "now"}, {"step", 10}}},
        {"experimentScope",
         {{"scope", "canary"}, {"start", "now-10m"}, {"end", "now"}, {"step", 10}}}}}};
  const json request = {{"canaryConfig", config("by-server")},
                        {"executionRequest", {{"scopes", scopes}}}};
  prom.set_canary_rate(0.95);
  auto r = c.Post("/canary?application=checkout", request.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto st = c.Get("/canary/" + json::parse(r->body).at("canaryExecutionId").get<std::string>());
  ASSERT_TRUE(st);
  const json status = json::parse(st->body);
  EXPECT_EQ(status.at("status"), "succeeded") << st->body;
  EXPECT_EQ(status.at("result").at("judgeResult").at("score").at("score").get<double>(), 0)
      << "the canary's 95 % must be told from the primary's 99.9 %: " << st->body;

  // A template name the config does not define is the caller's mistake, said as such.
  const json bad = {{"canaryConfig", config("no-such-template")},
                    {"executionRequest", {{"scopes", scopes}}}};
  auto e = c.Post("/canary?application=checkout", bad.dump(), "application/json");
  ASSERT_TRUE(e);
  EXPECT_GE(e->status, 400);
  EXPECT_LT(e->status, 500);
  EXPECT_NE(e->body.find("no-such-template"), std::string::npos) << e->body;
}

TEST_F(ServerTest, FlaggerStateSurvivesRestart) {
  FakePrometheus prom;
  {
    Daemon d(dir_, WithFake(prom));
    auto c = d.Client();
    const std::string body =
        R"({"name":"api","namespace":"shop","checksum":"k1","metadata":{"model":"success","window":"5m","step":"10s"}})";
    for (int i = 0; i < 2; ++i) {
      auto r = c.Post("/v1/flagger/rollout", body, "application/json");
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 200) << r->body;
    }
    d.proc().Kill();  // no chance to flush anything
  }
  Daemon d(dir_, WithFake(prom));
  auto c = d.Client();
  const std::string body =
      R"({"name":"api","namespace":"shop","checksum":"k1","metadata":{"model":"success","minPassingChecks":"2"}})";
  auto r = c.Post("/v1/flagger/confirm-promotion", body, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
