// Integration tests against real processes on 127.0.0.1: augur-demo-service alone, then
// HAProxy 2.6 + two demo services + Prometheus 2.42 (tests/testing/lab.h), then faults.
//
// Ground truth comes from the demo services themselves: their error schedule is deterministic
// (exactly floor(n * rate) failures in any first n requests) and their /metrics counters are
// exact, so Prometheus and HAProxy numbers are compared with counts, not with assumptions.
#include "testing/lab.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "augur/sources/exposition.h"
#include "augur/sources/prometheus_client.h"
#include "augur/sources/query_template.h"
#include "testing/process.h"

namespace augur::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ProcessOptions Argv(std::vector<std::string> argv) {
  ProcessOptions p;
  p.argv = std::move(argv);
  return p;
}

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::unique_ptr<DemoService> StartDemo(DemoOptions o) {
  auto d = DemoService::Start(o);
  EXPECT_TRUE(d) << (d ? "" : d.error().message);
  return d ? std::move(*d) : nullptr;
}

// The value of the one sample of `family` whose labels include all of `want`; NaN if none.
double SampleValue(const std::vector<sources::MetricFamily>& families, const std::string& name,
                   const std::vector<std::pair<std::string, std::string>>& want) {
  for (const auto& f : families) {
    for (const auto& s : f.samples) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& w : want) {
        all = all && std::find(s.labels.begin(), s.labels.end(), w) != s.labels.end();
      }
      if (all) return s.value;
    }
  }
  return std::nan("");
}

const sources::MetricFamily* FindFamily(const std::vector<sources::MetricFamily>& families,
                                        const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// (a) The demo service alone.

TEST(DemoServiceTest, ErrorRateIsExactAndCountersMatch) {
  struct Case {
    double rate;
    int64_t requests;
    int64_t errors;  // floor(requests * rate)
  };
  for (const Case& c : {Case{0.1, 1000, 100}, Case{0.037, 1000, 37}, Case{0, 300, 0},
                        Case{1, 200, 200}, Case{0.333333, 999, 332}}) {
    SCOPED_TRACE("error rate " + std::to_string(c.rate));
    DemoOptions o;
    o.error_rate = c.rate;
    auto demo = StartDemo(o);
    ASSERT_TRUE(demo);
    LoadOptions load;
    load.port = demo->port();
    load.requests = c.requests;
    load.threads = 4;
    const LoadResult r = GenerateLoad(load);
    EXPECT_EQ(r.failed, 0) << r.first_error;
    EXPECT_EQ(r.count(500), c.errors);
    EXPECT_EQ(r.count(200), c.requests - c.errors);

    auto families = demo->Metrics();
    ASSERT_TRUE(families) << families.error().message;
    const auto* requests = FindFamily(*families, "http_requests_total");
    ASSERT_NE(requests, nullptr);
    EXPECT_EQ(requests->type, sources::MetricType::kCounter);
    EXPECT_EQ(SampleValue(*families, "http_requests_total", {{"code", "500"}}), c.errors);
    EXPECT_EQ(SampleValue(*families, "http_requests_total", {{"code", "200"}}),
              c.requests - c.errors);
    const auto* hist = FindFamily(*families, "http_request_duration_seconds");
    ASSERT_NE(hist, nullptr);
    EXPECT_EQ(hist->type, sources::MetricType::kHistogram);
    EXPECT_EQ(SampleValue(*families, "http_request_duration_seconds_count", {{"code", "500"}}) +
                  SampleValue(*families, "http_request_duration_seconds_count", {{"code", "200"}}),
              c.requests);
    EXPECT_EQ(SampleValue(*families, "http_requests_in_flight", {}), 0);
    EXPECT_EQ(SampleValue(*families, "demo_config", {{"key", "error_rate"}}), c.rate);
    EXPECT_EQ(demo->Stop(), 0);
  }
}

TEST(DemoServiceTest, ErrorsAreSpreadEvenlyAndTheSeedShiftsThePhase) {
  // One client thread, so request order is the schedule's order.
  auto positions = [](uint64_t seed) {
    DemoOptions o;
    o.error_rate = 0.1;
    o.seed = seed;
    auto demo = StartDemo(o);
    std::vector<int> at;
    for (int i = 1; demo && i <= 40; ++i) {
      auto r = HttpCall(demo->port(), "GET", "/");
      EXPECT_TRUE(r);
      if (r && r->status == 500) at.push_back(i);
    }
    return at;
  };
  EXPECT_EQ(positions(0), (std::vector<int>{10, 20, 30, 40}));
  EXPECT_EQ(positions(3), (std::vector<int>{7, 17, 27, 37}));
}

TEST(DemoServiceTest, LatencyIsAdded) {
  DemoOptions o;
  o.latency_ms = 20;
  auto demo = StartDemo(o);
  ASSERT_TRUE(demo);
  LoadOptions load;
  load.port = demo->port();
  load.requests = 40;
  load.threads = 4;
  const LoadResult r = GenerateLoad(load);
  ASSERT_EQ(r.count(200), 40) << r.first_error;
  EXPECT_GE(r.latencies_s.front(), 0.020);  // every request, measured at the client
  auto families = demo->Metrics();
  ASSERT_TRUE(families) << families.error().message;
  const double count =
      SampleValue(*families, "http_request_duration_seconds_count", {{"code", "200"}});
  const double sum = SampleValue(*families, "http_request_duration_seconds_sum", {{"code", "200"}});
  EXPECT_EQ(count, 40);
  EXPECT_GE(sum / count, 0.020);
  EXPECT_EQ(SampleValue(*families, "http_request_duration_seconds_bucket",
                        {{"code", "200"}, {"le", "0.015"}}),
            0);
  EXPECT_EQ(SampleValue(*families, "http_request_duration_seconds_bucket",
                        {{"code", "200"}, {"le", "+Inf"}}),
            40);

  // Jitter: uniform in [10, 30] ms; the seeded draws are reproducible, so the spread is too.
  DemoOptions j;
  j.latency_ms = 20;
  j.latency_jitter_ms = 10;
  j.seed = 7;
  auto jittery = StartDemo(j);
  ASSERT_TRUE(jittery);
  load.port = jittery->port();
  const LoadResult rj = GenerateLoad(load);
  ASSERT_EQ(rj.count(200), 40) << rj.first_error;
  EXPECT_GE(rj.latencies_s.front(), 0.010);
  EXPECT_LT(rj.latencies_s.front(), 0.018);  // 40 uniform draws: the minimum is near 10 ms
  EXPECT_GT(rj.latencies_s.back(), 0.022);
}

TEST(DemoServiceTest, AdminConfigChangesBehaviour) {
  auto demo = StartDemo(DemoOptions{});
  ASSERT_TRUE(demo);
  LoadOptions load;
  load.port = demo->port();
  load.requests = 100;
  EXPECT_EQ(GenerateLoad(load).count(500), 0);

  ASSERT_TRUE(demo->Configure(R"({"error_rate": 0.5})"));
  EXPECT_EQ(GenerateLoad(load).count(500), 50);

  ASSERT_TRUE(demo->Configure(R"({"error_rate":0,"latency_ms":30})"));
  load.requests = 8;
  const LoadResult slow = GenerateLoad(load);
  EXPECT_EQ(slow.count(200), 8);
  EXPECT_GE(slow.latencies_s.front(), 0.030);

  auto cfg = HttpCall(demo->port(), "GET", "/admin/config");
  ASSERT_TRUE(cfg);
  const auto j = nlohmann::json::parse(cfg->body);
  EXPECT_EQ(j["error_rate"], 0.0);
  EXPECT_EQ(j["latency_ms"], 30.0);
  EXPECT_EQ(j["name"], "demo");

  struct Bad {
    const char* body;
    const char* message;
  };
  for (const Bad& b : {Bad{"", "expected a JSON object"},
                       Bad{R"({"error_rate": 1.5})", "error_rate must be between 0 and 1"},
                       Bad{R"({"error_rate": "0.1"})", "error_rate must be a number"},
                       Bad{R"({"latency_ms": -1})", "latency_ms must be between 0 and 60000"},
                       Bad{R"({"latency_jitter_ms": 40})", "latency_jitter_ms must be between"},
                       Bad{R"({"errors": 0.1})", "unknown key 'errors'"},
                       Bad{R"({"error_rate": 0.1} x)", "trailing data"},
                       Bad{R"({"error_rate": 0.1)", "unterminated"}}) {
    SCOPED_TRACE(b.body);
    auto r = HttpCall(demo->port(), "POST", "/admin/config", b.body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find(b.message), std::string::npos) << r->body;
  }
  // The rejected updates changed nothing.
  auto after = HttpCall(demo->port(), "GET", "/admin/config");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, cfg->body);
}

TEST(DemoServiceTest, HealthAndMetricsAreNotCountedAsAppRequests) {
  DemoOptions o;
  o.name = "svc-1";
  auto demo = StartDemo(o);
  ASSERT_TRUE(demo);
  auto h = HttpCall(demo->port(), "GET", "/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto missing = HttpCall(demo->port(), "GET", "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  auto app = HttpCall(demo->port(), "GET", "/");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->server, "svc-1");
  EXPECT_EQ(app->body, "svc-1 200\n");
  auto total = demo->TotalRequests();
  ASSERT_TRUE(total) << total.error().message;
  EXPECT_EQ(*total, 1);
  auto families = demo->Metrics();
  ASSERT_TRUE(families);
  EXPECT_EQ(SampleValue(*families, "demo_info", {{"name", "svc-1"}}), 1);
}

TEST(DemoServiceTest, BadFlagsExitTwoWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"--error-rate", "1.5"}, "--error-rate must be between 0 and 1"},
      {{"--error-rate", "abc"}, "--error-rate must be a number, got 'abc'"},
      {{"--error-rate=nan"}, "--error-rate must be a number"},
      {{"--latency-ms", "-1"}, "--latency-ms must be between 0 and 60000"},
      {{"--latency-ms", "5", "--latency-jitter-ms", "6"}, "--latency-jitter-ms must be between"},
      {{"--listen", "127.0.0.1"}, "--listen must be HOST:PORT"},
      {{"--listen", "127.0.0.1:70000"}, "--listen must be HOST:PORT with PORT 0..65535"},
      {{"--seed", "-3"}, "--seed must be a non-negative integer"},
      {{"--threads", "0"}, "--threads must be an integer 1..1024"},
      {{"--name", "a b"}, "--name may hold only"},
      {{"--bogus", "1"}, "unknown flag --bogus"},
      {{"--name"}, "--name needs a value"},
      {{"--seed", "1", "--seed", "2"}, "--seed given twice"},
      {{"stray"}, "unexpected argument 'stray'"},
  };
  for (const Case& c : cases) {
    ProcessOptions p;
    p.argv = {kDefaultDemoBinary};
    p.argv.insert(p.argv.end(), c.args.begin(), c.args.end());
    auto proc = Process::Start(p);
    ASSERT_TRUE(proc) << proc.error().message;
    SCOPED_TRACE((*proc)->command());
    auto status = (*proc)->Wait(seconds(10));
    ASSERT_TRUE(status) << status.error().message;
    (*proc)->Stop();  // collects the rest of stderr
    EXPECT_EQ(*status, 2);
    EXPECT_NE((*proc)->Stderr().find(c.message), std::string::npos) << (*proc)->Stderr();
    EXPECT_EQ((*proc)->Stdout(), "");
  }
  ProcessOptions help;
  help.argv = {kDefaultDemoBinary, "--help"};
  auto proc = Process::Start(help);
  ASSERT_TRUE(proc);
  auto status = (*proc)->Wait(seconds(10));
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 0);
  (*proc)->Stop();
  EXPECT_NE((*proc)->Stdout().find("usage: augur-demo-service"), std::string::npos);
}

TEST(DemoServiceTest, PortInUseExitsOne) {
  auto first = StartDemo(DemoOptions{});
  ASSERT_TRUE(first);
  ProcessOptions p;
  p.argv = {kDefaultDemoBinary, "--listen", "127.0.0.1:" + std::to_string(first->port())};
  auto second = Process::Start(p);
  ASSERT_TRUE(second);
  auto status = (*second)->Wait(seconds(10));
  ASSERT_TRUE(status) << status.error().message;
  (*second)->Stop();
  EXPECT_EQ(*status, 1);
  EXPECT_NE((*second)->Stderr().find("cannot bind 127.0.0.1:"), std::string::npos)
      << (*second)->Stderr();
}

TEST(DemoServiceTest, SigtermLetsTheRequestInFlightFinish) {
  DemoOptions o;
  o.latency_ms = 400;
  auto demo = StartDemo(o);
  ASSERT_TRUE(demo);
  Result<HttpReply> reply = Error{ErrorCode::kInternal, "not run"};
  std::thread client([&] { reply = HttpCall(demo->port(), "GET", "/"); });
  // Readiness, not a sleep: the in-flight gauge says the request is being answered.
  bool in_flight = false;
  const auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (!in_flight && std::chrono::steady_clock::now() < deadline) {
    auto families = demo->Metrics();
    in_flight = families && SampleValue(*families, "http_requests_in_flight", {}) == 1;
    if (!in_flight) std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(in_flight);
  const auto t0 = std::chrono::steady_clock::now();
  const int status = demo->process().Stop(seconds(5));
  const double stop_s = Seconds(std::chrono::steady_clock::now() - t0);
  client.join();
  EXPECT_EQ(status, 0) << DescribeExit(status);
  EXPECT_LT(stop_s, 2.0);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 200);
}

// ---------------------------------------------------------------------------------------------
// (b) HAProxy + two demo services + Prometheus: the query templates against real data.

TEST(LabPrometheusTest, HaproxyTemplatesMatchTheLoadSent) {
  LabOptions o;
  o.primary = {.error_rate = 0, .latency_ms = 2, .weight = 100};
  o.canary = {.error_rate = 0.1, .latency_ms = 10, .weight = 50};
  o.prometheus = true;
  const auto t_start = std::chrono::steady_clock::now();
  auto lab_or = Lab::Start(o);
  ASSERT_TRUE(lab_or) << lab_or.error().message;
  Lab& lab = **lab_or;
  std::printf("[ lab      ] ready with a first Prometheus sample after %.2f s\n",
              Seconds(std::chrono::steady_clock::now() - t_start));

  // 2000 requests over 8 s: long enough for several 1 s scrapes inside the load.
  LoadOptions load;
  load.requests = 2000;
  load.rate_per_s = 250;
  load.threads = 4;
  const LoadResult r = lab.SendLoad(load);
  ASSERT_EQ(r.failed, 0) << r.first_error;
  ASSERT_EQ(r.sent, 2000);
  auto primary_n = lab.primary().TotalRequests();
  auto canary_n = lab.canary().TotalRequests();
  ASSERT_TRUE(primary_n && canary_n);
  auto canary_codes = lab.canary().RequestCounts();
  ASSERT_TRUE(canary_codes);
  const double canary_errors = (*canary_codes)["500"];
  // Three independent counts agree: client (X-Server header), backend counter, and the
  // backend's own deterministic schedule.
  EXPECT_EQ(r.server("primary"), *primary_n);
  EXPECT_EQ(r.server("canary"), *canary_n);
  EXPECT_EQ(*primary_n + *canary_n, 2000);
  EXPECT_EQ(canary_errors, std::floor(*canary_n * 0.1));
  EXPECT_EQ(r.count(500), canary_errors);
  // Weights 100:50 -> a third to the canary (roundrobin is exact up to its start phase).
  EXPECT_NEAR(*canary_n, 2000.0 / 3, 10);
  std::printf("[ lab      ] load: %lld requests in %.2f s, canary %lld (%g errors), p50 %.2f ms\n",
              static_cast<long long>(r.sent), (r.end_ms - r.start_ms) / 1000.0,
              static_cast<long long>(*canary_n), canary_errors, r.Quantile(0.5) * 1000);

  // Readiness, not a sleep: wait until Prometheus has scraped the final counters.
  auto seen = lab.WaitForValue(R"(sum(haproxy_server_http_responses_total{proxy="be_app"}))",
                               [](double v) { return v == 2000; }, seconds(10));
  ASSERT_TRUE(seen) << seen.error().message;
  auto seen_demo = lab.WaitForValue(R"(sum(http_requests_total{job="demo"}))",
                                    [](double v) { return v == 2000; }, seconds(10));
  ASSERT_TRUE(seen_demo) << seen_demo.error().message;
  const int64_t eval_ms = NowMs();
  // The window reaches 3 s before the load, so every counter's first sample in it is the
  // pre-load 0 (see the tolerance note below).
  const int64_t window_s = (eval_ms - r.start_ms + 999) / 1000 + 3;
  const std::string interval = std::to_string(window_s) + "s";

  auto templates =
      sources::LoadQueryTemplates(std::string(AUGUR_SOURCE_DIR) + "/queries/haproxy.yaml");
  ASSERT_TRUE(templates) << templates.error().message;
  auto client = lab.PrometheusClient();
  ASSERT_TRUE(client) << client.error().message;
  const std::map<std::string, std::string> vars = {{"namespace", "lab"}, {"interval", interval}};
  auto run = [&](const std::string& query) -> std::pair<double, double> {
    auto q = sources::RenderBothSides(*templates, query, vars);
    EXPECT_TRUE(q) << q.error().message;
    if (!q) return {NAN, NAN};
    double out[2] = {NAN, NAN};
    int i = 0;
    for (const std::string& promql : {q->primary, q->canary}) {
      auto res = client->Query(promql, eval_ms);
      EXPECT_TRUE(res) << query << ": " << (res ? "" : res.error().message);
      if (res) {
        EXPECT_EQ(res->series.size(), 1u) << query << ": " << promql;
        if (res->series.size() == 1 && res->series[0].values.size() == 1) {
          out[i] = res->series[0].values[0];
        }
      }
      ++i;
    }
    std::printf("[ lab      ] %-22s primary %-12.6g canary %-12.6g\n", query.c_str(), out[0],
                out[1]);
    return {out[0], out[1]};
  };

  // Tolerance. rate()/increase() divide the counter's rise over the samples inside the window
  // and extrapolate it to the window's edges. At the start no extrapolation happens: the first
  // sample in the window is the pre-load 0, and Prometheus never extrapolates a counter below
  // zero. At the end it extrapolates by the gap from the last scrape to the evaluation time,
  // at most 1.1 scrape intervals (1.1 s) over a sampled span of at least window - 2.2 s. So a
  // count comes back as N * f with 1 <= f <= 1 + 1.1 / (window - 2.2), the same f for every
  // series of one target (they share scrape timestamps), which makes ratios exact.
  const double f_max = 1 + 1.1 / (window_s - 2.2);
  auto expect_count = [&](double measured, double truth, const char* what) {
    EXPECT_GE(measured, truth * (1 - 1e-9)) << what;
    EXPECT_LE(measured, truth * f_max + 1e-9) << what;
  };

  const auto [p_success, c_success] = run("success_rate");
  EXPECT_DOUBLE_EQ(p_success, 1.0);
  EXPECT_NEAR(c_success, 1 - canary_errors / *canary_n, 1e-9);
  EXPECT_NEAR(c_success, 0.9, 0.002);  // the configured 10 %, up to floor()

  const auto [p_errors, c_errors] = run("error_count");
  EXPECT_EQ(p_errors, 0);
  expect_count(c_errors, canary_errors, "canary error_count");

  const auto [p_rate, c_rate] = run("request_rate");
  expect_count(p_rate * window_s, *primary_n, "primary request_rate * window");
  expect_count(c_rate * window_s, *canary_n, "canary request_rate * window");
  EXPECT_NEAR(c_errors / (c_rate * window_s), canary_errors / *canary_n, 1e-9);

  // HAProxy's latency figures are rolling means of the time to response headers, in whole
  // milliseconds (queries/haproxy.yaml, approximations). The demo sleeps at least the
  // configured latency, so every sample is at least that many whole milliseconds, and HAProxy
  // rounds its sliding-window mean up (swrate_avg), so the means cannot be lower. The upper
  // bound only rules out nonsense.
  const auto [p_p50, c_p50] = run("latency_p50_seconds");
  const auto [p_mean, c_mean] = run("latency_mean_seconds");
  const auto [p_p99, c_p99] = run("latency_p99_seconds");
  EXPECT_GE(p_p50, 0.002);
  EXPECT_GE(c_p50, 0.010);
  EXPECT_LT(c_p50, 0.5);
  EXPECT_GT(c_p50, p_p50);
  EXPECT_EQ(p_mean, p_p50);
  EXPECT_EQ(c_mean, c_p50);
  EXPECT_GE(p_p99, 0.002);
  EXPECT_GE(c_p99, 0.010);
  EXPECT_GT(c_p99, p_p99);

  // The demo services' own metrics, scraped by the same Prometheus: exact counters and a
  // histogram quantile consistent with the configured latency.
  for (const auto& [side, n] : {std::pair{"primary", *primary_n}, std::pair{"canary", *canary_n}}) {
    auto v = client->Query(
        "sum(http_requests_total{job=\"demo\",side=\"" + std::string(side) + "\"})", eval_ms);
    ASSERT_TRUE(v && v->series.size() == 1) << side;
    EXPECT_EQ(v->series[0].values[0], n) << side;
  }
  auto hq = client->Query(
      "histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{job=\"demo\","
      "side=\"canary\"}[" +
          interval + "])))",
      eval_ms);
  ASSERT_TRUE(hq && hq->series.size() == 1);
  EXPECT_GE(hq->series[0].values[0], 0.010);
  EXPECT_LE(hq->series[0].values[0], 0.015 + 1e-9);  // the 10 ms sleep lands in (0.01, 0.015]

  // The same template through the CLI, as a user runs it: a range query for both sides.
  ProcessOptions cli;
  const std::string end_s = std::to_string(eval_ms / 1000);
  cli.argv = {AUGUR_BINARY,   "query",
              "--prometheus", lab.prometheus_url(),
              "--template",   std::string(AUGUR_SOURCE_DIR) + "/queries/haproxy.yaml:success_rate",
              "--var",        "namespace=lab",
              "--var",        "interval=" + interval,
              "--start",      std::to_string(eval_ms / 1000 - 2),
              "--end",        end_s,
              "--step",       "1s"};
  auto proc = Process::Start(cli);
  ASSERT_TRUE(proc) << proc.error().message;
  auto status = (*proc)->Wait(seconds(20));
  ASSERT_TRUE(status) << status.error().message;
  (*proc)->Stop();
  ASSERT_EQ(*status, 0) << (*proc)->Stderr();
  const auto doc = nlohmann::json::parse((*proc)->Stdout());
  const auto& aligned = doc["aligned"];
  ASSERT_EQ(aligned["canary"].size(), 3u) << doc.dump();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(aligned["primary"][i], 1.0);
    // Windows ending up to 2 s before the end still hold ~all the load; Bresenham spacing keeps
    // any partial window within one error of 10 %.
    EXPECT_NEAR(aligned["canary"][i].get<double>(), 0.9, 0.01);
  }
  EXPECT_EQ(aligned["missing_canary"], 0);
}

// ---------------------------------------------------------------------------------------------
// (c) Faults and the runtime API.

TEST(LabFaultTest, PrometheusDownIsUnavailableQuickly) {
  LabOptions o;
  o.prometheus = true;
  o.wait_for_first_sample = false;  // a live server is enough here
  auto lab_or = Lab::Start(o);
  ASSERT_TRUE(lab_or) << lab_or.error().message;
  Lab& lab = **lab_or;
  sources::PrometheusOptions po;
  po.url = lab.prometheus_url();
  po.timeout_ms = 2000;  // retries and backoff stay at their defaults (2, 100 ms)
  auto client = sources::PrometheusClient::Create(po);
  ASSERT_TRUE(client);
  auto before = client->Query("up", NowMs());
  ASSERT_TRUE(before) << before.error().message;

  EXPECT_EQ(lab.prometheus()->Kill(), -SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  auto after = client->Query("up", NowMs());
  const double query_s = Seconds(std::chrono::steady_clock::now() - t0);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kUnavailable) << after.error().message;
  EXPECT_NE(after.error().message.find("127.0.0.1:" + std::to_string(lab.prometheus_port())),
            std::string::npos)
      << after.error().message;
  EXPECT_LT(query_s, 2.0);  // refused connections: three attempts and 300 ms of backoff
  auto range = client->QueryRange("up", NowMs() - 60000, NowMs(), 15000);
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().code, ErrorCode::kUnavailable);

  ProcessOptions cli;
  cli.argv = {AUGUR_BINARY, "query", "--prometheus", lab.prometheus_url(),
              "--promql",   "up",    "--start",      "now-5m",
              "--end",      "now",   "--step",       "15s"};
  t0 = std::chrono::steady_clock::now();
  auto proc = Process::Start(cli);
  ASSERT_TRUE(proc) << proc.error().message;
  auto status = (*proc)->Wait(seconds(20));
  const double cli_s = Seconds(std::chrono::steady_clock::now() - t0);
  ASSERT_TRUE(status) << status.error().message;
  (*proc)->Stop();
  EXPECT_EQ(*status, 1) << (*proc)->Stderr();
  EXPECT_NE((*proc)->Stderr().find("augur query: "), std::string::npos) << (*proc)->Stderr();
  EXPECT_NE((*proc)->Stderr().find("cannot reach Prometheus"), std::string::npos)
      << (*proc)->Stderr();
  EXPECT_EQ((*proc)->Stdout(), "");
  EXPECT_LT(cli_s, 5.0);
  std::printf("[ lab      ] Prometheus down: client error after %.3f s, CLI exit after %.3f s\n",
              query_s, cli_s);
}

TEST(LabFaultTest, RuntimeApiWeightsSplitTheTraffic) {
  LabOptions o;
  o.primary.weight = 100;
  o.canary.weight = 0;  // a canary starts without traffic
  auto lab_or = Lab::Start(o);
  ASSERT_TRUE(lab_or) << lab_or.error().message;
  Lab& lab = **lab_or;

  struct Totals {
    int64_t primary, canary;
  };
  auto totals = [&]() -> Totals {
    auto p = lab.primary().TotalRequests();
    auto c = lab.canary().TotalRequests();
    EXPECT_TRUE(p && c);
    return {p ? *p : -1, c ? *c : -1};
  };
  // Sends n requests and returns the canary's share as counted by the backends themselves;
  // the client's view (X-Server) must agree exactly.
  auto send = [&](int64_t n) -> int64_t {
    const Totals before = totals();
    LoadOptions load;
    load.requests = n;
    load.threads = 4;
    const LoadResult r = lab.SendLoad(load);
    EXPECT_EQ(r.failed, 0) << r.first_error;
    EXPECT_EQ(r.count(200), n);
    const Totals after = totals();
    EXPECT_EQ(after.primary - before.primary + after.canary - before.canary, n);
    EXPECT_EQ(r.server("canary"), after.canary - before.canary);
    return after.canary - before.canary;
  };

  auto w = lab.GetWeight("canary");
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_EQ(*w, 0);
  EXPECT_EQ(send(200), 0);

  // HAProxy's weighted round robin interleaves servers in proportion to their weights; over
  // 1000 requests the split is exact up to the position where the cycle starts (±1 cycle of
  // 125 slots would be the loosest bound; a few requests is what it does).
  struct Step {
    const char* server;
    int weight;
    int64_t requests;
    double canary_share;
  };
  for (const Step& s : {Step{"canary", 25, 1000, 25.0 / 125}, Step{"canary", 100, 1000, 0.5},
                        Step{"primary", 0, 300, 1.0}, Step{"primary", 100, 600, 0.5}}) {
    SCOPED_TRACE(std::string(s.server) + " weight " + std::to_string(s.weight));
    ASSERT_TRUE(lab.SetWeight(s.server, s.weight));
    auto got = lab.GetWeight(s.server);
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, s.weight);
    const int64_t canary = send(s.requests);
    std::printf("[ lab      ] %s weight %d: canary got %lld of %lld (expected %.1f)\n", s.server,
                s.weight, static_cast<long long>(canary), static_cast<long long>(s.requests),
                s.canary_share * s.requests);
    EXPECT_NEAR(canary, s.canary_share * s.requests, 10);
  }

  // The exporter reflects runtime weights and parses with Augur's exposition parser.
  auto page = HttpCall(lab.exporter_port(), "GET", "/metrics");
  ASSERT_TRUE(page && page->status == 200);
  auto families = sources::ParseExposition(page->body, sources::ExpositionFormat::kText004);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(
      SampleValue(*families, "haproxy_server_weight", {{"proxy", "be_app"}, {"server", "canary"}}),
      100);
  EXPECT_EQ(SampleValue(*families, "haproxy_server_http_responses_total",
                        {{"proxy", "be_app"}, {"server", "canary"}, {"code", "2xx"}}),
            totals().canary);

  // Refusals come back as errors carrying HAProxy's reason.
  auto too_big = lab.SetWeight("canary", 300);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().message.find("between 0 and 256"), std::string::npos)
      << too_big.error().message;
  auto unknown = lab.SetWeight("nosuch", 10);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("No such server"), std::string::npos)
      << unknown.error().message;
}

TEST(ProcessTest, StartFailuresAndExitStatusesAreReported) {
  auto missing = Process::Start(Argv({"/nonexistent/augur-no-such-binary"}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto not_exec = Process::Start(Argv({"/etc/hostname"}));
  ASSERT_FALSE(not_exec);

  // A child ignoring SIGTERM is killed after the grace period and still reaped.
  auto stubborn = Process::Start(Argv({"/bin/sh", "-c", "trap '' TERM; echo up; sleep 30"}));
  ASSERT_TRUE(stubborn) << stubborn.error().message;
  auto line = (*stubborn)->ReadStdoutLine(seconds(5));
  ASSERT_TRUE(line) << line.error().message;
  EXPECT_EQ(*line, "up");
  const pid_t pid = (*stubborn)->pid();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ((*stubborn)->Stop(milliseconds(200)), -SIGKILL);
  EXPECT_LT(Seconds(std::chrono::steady_clock::now() - t0), 2.0);
  EXPECT_FALSE((*stubborn)->Running());
  EXPECT_EQ(::kill(pid, 0), -1);  // reaped: no zombie left behind

  auto quiet = Process::Start(Argv({"/bin/sh", "-c", "exit 3"}));
  ASSERT_TRUE(quiet);
  auto no_line = (*quiet)->ReadStdoutLine(seconds(5));
  ASSERT_FALSE(no_line);
  EXPECT_EQ(no_line.error().code, ErrorCode::kUnavailable);
  auto st = (*quiet)->Wait(seconds(5));
  ASSERT_TRUE(st);
  EXPECT_EQ(*st, 3);
}

// ---------------------------------------------------------------------------------------------
// (d) `augur serve` with its embedded default source: it scrapes HAProxy's exporter itself and
// judges from those samples, no Prometheus anywhere.

namespace scrape_serve {

// Starts `augur serve` scraping the lab's exporter every second and waits for /healthz.
std::unique_ptr<Process> StartScrapingDaemon(Lab& lab, int* port) {
  auto p = FreeLoopbackPort();
  EXPECT_TRUE(p);
  *port = *p;
  const std::string dir = lab.dir();
  std::ofstream(dir + "/augur.yaml")
      << "apiVersion: augur.dev/v1\nkind: ServerConfig\nspec:\n"
      << "  source:\n    kind: scrape\n    scrape:\n"
      << "      provider: haproxy\n      interval: 1s\n"
      << "      targets: [\"http://127.0.0.1:" << lab.exporter_port() << "/metrics\"]\n";
  std::filesystem::create_directories(dir + "/models");
  std::ofstream(dir + "/models/success.yaml") << R"(apiVersion: augur.dev/v1
kind: AnalysisModel
metadata: {name: success}
spec:
  mode: augur
  metrics:
    - name: success-rate
      query: success_rate
      direction: decrease
      critical: true
      thresholdRange: {min: 0.98}
      minSamples: 3
)";
  auto proc = Process::Start(Argv({AUGUR_BINARY, "serve", "--config", dir + "/augur.yaml",
                                   "--listen", "127.0.0.1:" + std::to_string(*port), "--models",
                                   dir + "/models", "--storage", dir + "/augur.db"}));
  EXPECT_TRUE(proc) << (proc ? "" : proc.error().message);
  if (!proc) return nullptr;
  for (int i = 0; i < 200; ++i) {
    if (auto r = HttpCall(*port, "GET", "/healthz"); r && r->status == 200) break;
    std::this_thread::sleep_for(milliseconds(25));
  }
  return std::move(*proc);
}

}  // namespace scrape_serve

TEST(LabScrapeTest, ServeJudgesFromTheEmbeddedScraper) {
  LabOptions o;
  o.canary.error_rate = 0.2;
  auto lab_or = Lab::Start(o);
  ASSERT_TRUE(lab_or) << lab_or.error().message;
  Lab& lab = **lab_or;
  int port = 0;
  auto daemon = scrape_serve::StartScrapingDaemon(lab, &port);
  ASSERT_TRUE(daemon);

  // Steady load for 8 s, so the 1 s scrapes see rates over several windows.
  LoadOptions load;
  load.duration = seconds(8);
  load.threads = 2;
  const LoadResult r = lab.SendLoad(load);
  ASSERT_EQ(r.failed, 0) << r.first_error;
  ASSERT_GT(r.count(500), 0);

  const std::string req =
      R"({"model":"success","vars":{"namespace":"lab","interval":"4s"},"interval":"6s","step":"1s"})";
  auto bad = HttpCall(port, "POST", "/v1/argo", req, seconds(15));
  ASSERT_TRUE(bad) << bad.error().message;
  ASSERT_EQ(bad->status, 200) << bad->body;
  const auto judged = nlohmann::json::parse(bad->body);
  EXPECT_EQ(judged.at("verdict"), "fail") << bad->body;
  // The source named in the answer is the scraper's, with the canary's 80 % success visible.
  EXPECT_NE(bad->body.find("embedded scraper"), std::string::npos) << bad->body;

  // The same daemon passes the canary once it is healthy again (new scrapes, fresh window).
  ASSERT_TRUE(lab.canary().Configure(R"({"error_rate":0})"));
  std::this_thread::sleep_for(seconds(2));  // let the 4 s rate window leave the errors behind
  const LoadResult r2 = lab.SendLoad(load);
  ASSERT_EQ(r2.count(500), 0);
  auto good = HttpCall(port, "POST", "/v1/argo",
                       R"({"model":"success","vars":{"namespace":"lab","interval":"2s"},)"
                       R"("interval":"3s","step":"1s"})",
                       seconds(15));
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(nlohmann::json::parse(good->body).at("verdict"), "pass") << good->body;

  auto ready = HttpCall(port, "GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200) << ready->body;
  EXPECT_NE(ready->body.find("scrape"), std::string::npos) << ready->body;
  daemon->Stop();
}

}  // namespace
}  // namespace augur::testing
