// Standalone rollouts end to end, with every part real: two augur-demo-service backends behind
// HAProxy 2.6 (tests/testing/lab.h), the real `augur serve` daemon scraping HAProxy's exporter
// with its embedded scraper, rollouts submitted over its /v1/rollouts API, and HAProxy's weights
// moved through the runtime API by the daemon's router. Weights are checked in HAProxy itself.
//
// Intervals are short (--min-interval 2s lowers Flagger's 10 s floor) so each rollout takes
// seconds; the metrics' rate windows (6 s) hold several 1 s scrapes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/lab.h"
#include "testing/process.h"

namespace augur::testing {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Background traffic through HAProxy until destroyed.
class BackgroundLoad {
 public:
  BackgroundLoad(int port, int rps) {
    for (int t = 0; t < 2; ++t) {
      threads_.emplace_back([this, port, rps] {
        httplib::Client c("127.0.0.1", port);
        c.set_connection_timeout(seconds(2));
        c.set_read_timeout(seconds(5));
        const auto gap = std::chrono::microseconds(2'000'000 / rps);
        auto next = std::chrono::steady_clock::now();
        while (!stop_) {
          auto r = c.Get("/");
          if (r) ++answered_;
          next += gap;
          std::this_thread::sleep_until(next);
        }
      });
    }
  }
  ~BackgroundLoad() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  int64_t answered() const { return answered_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> answered_{0};
  std::vector<std::thread> threads_;
};

class RolloutE2E : public ::testing::Test {
 protected:
  void SetUp() override {}

  void StartLab(double canary_errors, double canary_latency_ms) {
    LabOptions o;
    o.primary.weight = 100;
    o.canary.weight = 0;
    o.canary.error_rate = canary_errors;
    o.canary.latency_ms = canary_latency_ms;
    auto lab = Lab::Start(o);
    ASSERT_TRUE(lab) << lab.error().message;
    lab_ = std::move(*lab);
    load_ = std::make_unique<BackgroundLoad>(lab_->frontend_port(), 200);
  }

  void StartDaemon() {
    if (port_ == 0) {
      auto p = FreeLoopbackPort();
      ASSERT_TRUE(p);
      port_ = *p;
    }
    ProcessOptions o;
    o.argv = {AUGUR_BINARY,
              "serve",
              "--listen",
              "127.0.0.1:" + std::to_string(port_),
              "--storage",
              lab_->dir() + "/augur.db",
              "--scrape",
              "http://127.0.0.1:" + std::to_string(lab_->exporter_port()) + "/metrics",
              "--scrape-interval",
              "1s",
              "--min-interval",
              "2s"};
    o.stderr_file = lab_->dir() + "/augur-" + std::to_string(++starts_) + ".log";
    auto d = Process::Start(o);
    ASSERT_TRUE(d) << d.error().message;
    daemon_ = std::move(*d);
    for (int i = 0; i < 200; ++i) {
      if (auto r = HttpCall(port_, "GET", "/healthz"); r && r->status == 200) return;
      std::this_thread::sleep_for(milliseconds(25));
    }
    FAIL() << "daemon did not start: " << daemon_->Stderr();
  }

  // A Canary for the lab: HAProxy router on the runtime API, Flagger-style metrics.
  // Rollouts expected to pass get threshold 3, so one check starved by a loaded CI machine (a
  // late scrape) cannot roll them back; those expected to fail use 2.
  std::string Spec(const std::string& name, const std::string& extra_analysis = "",
                   const std::string& extra_augur = "", int threshold = 3) const {
    return "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: " + name +
           "\n  namespace: lab\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, "
           "name: app}\n  analysis:\n    interval: 2s\n    threshold: " +
           std::to_string(threshold) +
           "\n    maxWeight: 75\n"
           "    stepWeight: 25\n" +
           extra_analysis +
           "    metrics:\n"
           "      - name: request-success-rate\n        thresholdRange: {min: 99}\n"
           "        interval: 6s\n"
           "      - name: request-duration\n        thresholdRange: {max: 20}\n"
           "        interval: 6s\n"
           "  augur:\n    provider: haproxy\n    router:\n      kind: haproxy\n      haproxy:\n"
           "        address: 127.0.0.1:" +
           std::to_string(lab_->runtime_port()) + "\n        backend: be_app\n" + extra_augur;
  }

  json Submit(const std::string& spec) {
    auto r = HttpCall(port_, "POST", "/v1/rollouts", spec, seconds(10));
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    if (!r) return json();
    EXPECT_TRUE(r->status == 201 || r->status == 200) << r->status << " " << r->body;
    return json::parse(r->body, nullptr, false);
  }

  json Status(const std::string& name) {
    auto r = HttpCall(port_, "GET", "/v1/rollouts/lab/" + name);
    if (!r || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  // Polls until `pred(status)` or the timeout; returns the last status seen.
  template <typename P>
  json WaitFor(const std::string& name, P pred, seconds timeout = seconds(60)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    json s;
    while (std::chrono::steady_clock::now() < end) {
      s = Status(name);
      if (s.is_object() && pred(s)) return s;
      std::this_thread::sleep_for(milliseconds(100));
    }
    ADD_FAILURE() << "timed out; last status: " << s.dump();
    return s;
  }

  static bool Terminal(const json& s) {
    return s.value("phase", "") == "Succeeded" || s.value("phase", "") == "Failed";
  }

  int HaproxyCanaryWeight() {
    auto w = lab_->GetWeight("canary");
    EXPECT_TRUE(w) << (w ? "" : w.error().message);
    return w ? *w : -1;
  }
  int HaproxyPrimaryWeight() {
    auto w = lab_->GetWeight("primary");
    EXPECT_TRUE(w) << (w ? "" : w.error().message);
    return w ? *w : -1;
  }

  void TearDown() override {
    load_.reset();
    if (daemon_) daemon_->Stop();
  }

  std::unique_ptr<Lab> lab_;
  std::unique_ptr<BackgroundLoad> load_;
  std::unique_ptr<Process> daemon_;
  int port_ = 0;
  int starts_ = 0;
};

TEST_F(RolloutE2E, HealthyCanaryIsPromotedStepByStep) {
  StartLab(0, 0);
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));  // a few scrapes before the first check
  Submit(Spec("good"));
  // While progressing, HAProxy holds exactly the weights the daemon reports.
  std::vector<int> seen;
  const auto end = std::chrono::steady_clock::now() + seconds(60);
  json s;
  while (std::chrono::steady_clock::now() < end) {
    s = Status("good");
    if (Terminal(s)) break;
    if (s.value("phase", "") == "Progressing") {
      const int w = s.value("canaryWeight", -1);
      if (seen.empty() || seen.back() != w) seen.push_back(w);
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(s.value("phase", ""), "Succeeded") << s.dump(2);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 75);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_GT(seen[i], seen[i - 1]);
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
  EXPECT_EQ(HaproxyPrimaryWeight(), 100);
  EXPECT_EQ(s.at("lastCheck").at("verdict"), "pass") << s.dump();
  EXPECT_EQ(s.at("failedChecks"), 0);
}

TEST_F(RolloutE2E, CanaryWithErrorsIsRolledBack) {
  StartLab(0.10, 0);
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));
  Submit(Spec("errors", "", "", 2));
  json s = WaitFor("errors", Terminal);
  ASSERT_EQ(s.value("phase", ""), "Failed") << s.dump();
  EXPECT_EQ(s.at("failedChecks"), 2);
  EXPECT_NE(s.at("lastCheck").at("reason").get<std::string>().find("request-success-rate"),
            std::string::npos)
      << s.dump();
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
  EXPECT_EQ(HaproxyPrimaryWeight(), 100);
}

TEST_F(RolloutE2E, LatencyRegressionIsRolledBack) {
  StartLab(0, 100);  // +100 ms on every canary response; the limit is 20 ms
  // HAProxy's latency figure is a rolling mean over the server's recent responses, which a
  // fresh canary fills only as traffic reaches it. Left to the background load, a +30 ms
  // canary read below the 20 ms limit until the last step before promotion, and on a loaded
  // machine (fewer requests per step) the rollout was promoted. So the canary is warmed
  // first, as a smoke test would: 420 requests with all the weight on it, 6 at a time so that
  // with the background load's 2 they stay within the demo service's 8 worker threads (more
  // queued behind keep-alive connections until HAProxy answered 5xx, and the success rate
  // failed instead of the latency).
  ASSERT_TRUE(lab_->SetWeight("primary", 0));
  ASSERT_TRUE(lab_->SetWeight("canary", 100));
  {
    std::vector<std::thread> warm;
    for (int t = 0; t < 6; ++t) {
      warm.emplace_back([this] {
        httplib::Client c("127.0.0.1", lab_->frontend_port());
        c.set_read_timeout(seconds(5));
        for (int i = 0; i < 70; ++i) (void)c.Get("/");
      });
    }
    for (auto& t : warm) t.join();
  }
  ASSERT_TRUE(lab_->SetWeight("canary", 0));
  ASSERT_TRUE(lab_->SetWeight("primary", 100));
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));
  Submit(Spec("slow", "", "", 2));
  json s = WaitFor("slow", Terminal);
  ASSERT_EQ(s.value("phase", ""), "Failed") << s.dump();
  EXPECT_NE(s.at("lastCheck").at("reason").get<std::string>().find("request-duration"),
            std::string::npos)
      << s.dump();
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
}

TEST_F(RolloutE2E, PromotionGateHoldsUntilOpened) {
  StartLab(0, 0);
  // The gate: a loopback webhook receiver of the test's own (what a Flagger load tester or a
  // human approval service would be), refusing until the test opens it.
  std::atomic<bool> open{false};
  std::atomic<int> asked{0};
  httplib::Server gate;
  std::mutex events_mu;
  std::vector<json> events;
  gate.Post("/events", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> l(events_mu);
    events.push_back(json::parse(req.body, nullptr, false));
    res.status = 200;
  });
  gate.Post("/gate", [&](const httplib::Request&, httplib::Response& res) {
    ++asked;
    res.status = open ? 200 : 403;
    res.set_content(open ? "approved" : "not yet", "text/plain");
  });
  const int gate_port = gate.bind_to_any_port("127.0.0.1");
  std::thread gate_thread([&] { gate.listen_after_bind(); });
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));
  // Notifications go to the same receiver, as generic JSON webhooks.
  Submit(Spec("gated",
              "    webhooks:\n      - name: approval\n        type: confirm-promotion\n"
              "        url: http://127.0.0.1:" +
                  std::to_string(gate_port) + "/gate\n",
              "    notifications:\n      - kind: webhook\n        webhook: {url: "
              "\"http://127.0.0.1:" +
                  std::to_string(gate_port) + "/events\"}\n"));
  json s =
      WaitFor("gated", [](const json& j) { return j.value("phase", "") == "WaitingPromotion"; });
  // Held: several more intervals pass without promotion and without counting failures.
  std::this_thread::sleep_for(seconds(5));
  s = Status("gated");
  EXPECT_EQ(s.value("phase", ""), "WaitingPromotion") << s.dump();
  EXPECT_EQ(s.value("failedChecks", -1), 0);
  EXPECT_EQ(HaproxyCanaryWeight(), 75);
  EXPECT_GE(asked.load(), 2);
  open = true;
  s = WaitFor("gated", Terminal);
  EXPECT_EQ(s.value("phase", ""), "Succeeded") << s.dump();
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
  // Every transition was notified, in order, ending with the success.
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard<std::mutex> l(events_mu);
      if (!events.empty() && events.back().value("phase", "") == "Succeeded") break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  {
    std::lock_guard<std::mutex> l(events_mu);
    ASSERT_GE(events.size(), 5u);
    EXPECT_EQ(events.front().value("rollout", ""), "lab/gated");
    EXPECT_EQ(events.back().value("phase", ""), "Succeeded") << events.back().dump();
    bool waited = false;
    for (const auto& e : events) waited = waited || e.value("phase", "") == "WaitingPromotion";
    EXPECT_TRUE(waited);
  }
  gate.stop();
  gate_thread.join();
}

TEST_F(RolloutE2E, OperatorAbortRollsBack) {
  StartLab(0, 0);
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));
  Submit(Spec("abort"));
  WaitFor("abort", [](const json& j) { return j.value("canaryWeight", 0) == 50; });
  EXPECT_EQ(HaproxyCanaryWeight(), 50);
  auto r = HttpCall(port_, "POST", "/v1/rollouts/lab/abort/abort",
                    R"({"reason":"release manager says no"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  json s = json::parse(r->body);
  EXPECT_EQ(s.value("phase", ""), "Failed") << s.dump();
  EXPECT_NE(s.value("message", "").find("release manager says no"), std::string::npos);
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
  // A command the phase forbids is a conflict, an unknown rollout 404.
  auto again = HttpCall(port_, "POST", "/v1/rollouts/lab/abort/pause");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409) << again->body;
  auto none = HttpCall(port_, "GET", "/v1/rollouts/lab/none");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 404);
}

TEST_F(RolloutE2E, SigkillMidRolloutResumesAtTheSameWeight) {
  StartLab(0, 0);
  StartDaemon();
  std::this_thread::sleep_for(seconds(2));
  Submit(Spec("crash"));
  WaitFor("crash", [](const json& j) { return j.value("canaryWeight", 0) == 50; });
  ASSERT_EQ(daemon_->Kill(), -SIGKILL);
  // The router kept what the daemon had persisted and applied.
  EXPECT_EQ(HaproxyCanaryWeight(), 50);
  EXPECT_EQ(HaproxyPrimaryWeight(), 50);
  StartDaemon();  // same storage, same port
  json s = Status("crash");
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s.value("phase", ""), "Progressing") << s.dump();
  EXPECT_EQ(s.value("canaryWeight", -1), 50) << s.dump();
  s = WaitFor("crash", Terminal);
  ASSERT_EQ(s.value("phase", ""), "Succeeded") << s.dump();
  EXPECT_EQ(HaproxyCanaryWeight(), 0);
  // Each step happened once across both daemon lives (events persist with the rollout).
  int advance_50 = 0, advance_75 = 0, promotions = 0;
  for (const auto& e : s.at("events")) {
    const std::string line = e.get<std::string>();
    advance_50 += line.find("Advance canary weight 50") != std::string::npos;
    advance_75 += line.find("Advance canary weight 75") != std::string::npos;
    promotions += line.find("promotion started") != std::string::npos;
  }
  EXPECT_EQ(advance_50, 1) << s.dump();
  EXPECT_EQ(advance_75, 1) << s.dump();
  EXPECT_EQ(promotions, 1) << s.dump();
}

// The README's first command ends in `augur demo`: run it as a user does (shorter interval) and
// check its promise: the healthy canary promoted, the faulty one rolled back, exit 0, a report,
// and nothing left running.
TEST(AugurDemo, PromotesTheHealthyCanaryAndRollsBackTheFaultyOne) {
  const std::string report = std::filesystem::temp_directory_path() /
                             ("augur-demo-test-" + std::to_string(::getpid()) + ".md");
  ProcessOptions o;
  o.argv = {AUGUR_BINARY, "demo", "--interval", "3s", "--report", report};
  auto p = Process::Start(o);
  ASSERT_TRUE(p) << p.error().message;
  auto code = (*p)->Wait(seconds(240));
  ASSERT_TRUE(code) << code.error().message;
  const std::string out = (*p)->Stdout();
  EXPECT_EQ(*code, 0) << out << (*p)->Stderr();
  EXPECT_NE(out.find("promoted: demo-healthy"), std::string::npos) << out;
  EXPECT_NE(out.find("rolled back: demo-faulty (request-"), std::string::npos) << out;
  std::ifstream in(report);
  ASSERT_TRUE(in) << report;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("| demo-faulty | rolled back | rolled back |"), std::string::npos)
      << text.str();
  std::filesystem::remove(report);
  // Its working directory (HAProxy config, logs, database) is gone: everything was stopped.
  const auto dir_line = out.substr(0, out.find('\n'));
  const std::string prefix = "augur demo: working directory ";
  ASSERT_EQ(dir_line.rfind(prefix, 0), 0u) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_line.substr(prefix.size()))) << dir_line;
}

}  // namespace
}  // namespace augur::testing
