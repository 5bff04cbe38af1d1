// "A replay gives the same verdicts as judging live at the same instants", against a real
// Prometheus: the release is backfilled into a TSDB with promtool (Debian's prometheus
// package), a Prometheus serves it on a free loopback port, and the same replay loop runs
// once over the Prometheus source (PromQL range queries ending at each simulated instant, as
// the daemon would send them live) and once over the archive. Every check must agree.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "augur/replay/replay.h"
#include "augur/replay/report.h"
#include "augur/sources/prometheus_source.h"
#include "augur/sources/query_template.h"
#include "replay/replay_testutil.h"
#include "testing/process.h"

namespace augur::replay {
namespace {

namespace fs = std::filesystem;
using testing::kMinute;
using testing::kT0;
using testing::MakeModel;
using testing::MakeRelease;

// One gauge family, a series per metric and side, every slot at its grid time; values with
// 17 significant digits so Prometheus holds exactly the archive's doubles.
std::string OpenMetrics(const sources::Release& r) {
  std::string out = "# TYPE augur_replay_value gauge\n";
  char line[256];
  for (const auto& m : r.metrics) {
    for (const auto& [side, values] : {std::pair{"primary", &m.primary}, {"canary", &m.canary}}) {
      for (size_t i = 0; i < values->size(); ++i) {
        const int64_t t = r.start_ms + static_cast<int64_t>(i) * r.step_ms;
        std::snprintf(line, sizeof line,
                      "augur_replay_value{metric=\"%s\",side=\"%s\"} %.17g %lld.%03lld\n",
                      m.name.c_str(), side, (*values)[i], static_cast<long long>(t / 1000),
                      static_cast<long long>(t % 1000));
        out += line;
      }
    }
  }
  return out + "# EOF\n";
}

const char* kTemplates = R"(apiVersion: augur.dev/v1
kind: QueryTemplates
metadata: {name: replay}
spec:
  variables:
    - {name: primary, required: true}
    - {name: canary, required: true}
  queries:
    latency: 'augur_replay_value{metric="latency",side="{{side}}"}'
    errors: 'augur_replay_value{metric="errors",side="{{side}}"}'
    requests: 'augur_replay_value{metric="requests",side="{{side}}"}'
)";

TEST(ReplayPrometheus, SameVerdictsAsLiveQueriesAtTheSameInstants) {
  auto promtool = augur::testing::FindExecutable("promtool");
  auto prometheus = augur::testing::FindExecutable("prometheus");
  ASSERT_TRUE(promtool && prometheus) << "apt-get install prometheus";

  char tmpl[] = "/tmp/augur_replay_prom_XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  auto rel = MakeRelease({.name = "prom",
                          .minutes = 45,
                          .seed = 61,
                          .error_factor = 5.0,
                          .from_minute = 20,
                          .truth = "bad"});
  rel.vars = {{"primary", "primary"}, {"canary", "canary"}};
  std::ofstream(dir / "data.om") << OpenMetrics(rel);
  {
    augur::testing::ProcessOptions p;
    p.argv = {*promtool,
              "tsdb",
              "create-blocks-from",
              "openmetrics",
              (dir / "data.om").string(),
              (dir / "tsdb").string()};
    auto proc = augur::testing::Process::Start(p);
    ASSERT_TRUE(proc) << proc.error().message;
    auto status = (*proc)->Wait(std::chrono::seconds(60));
    ASSERT_TRUE(status) << status.error().message;
    ASSERT_EQ(*status, 0) << (*proc)->Stderr();
  }

  auto templates = sources::ParseQueryTemplates(kTemplates, "replay.yaml");
  ASSERT_TRUE(templates) << templates.error().message;
  std::ofstream(dir / "prometheus.yml") << "global: {scrape_interval: 1h}\n";
  std::unique_ptr<augur::testing::Process> server;
  std::unique_ptr<sources::MetricSource> source;
  std::string last_error;
  // A free port can be taken between probing and binding: retry then, as lab.h does.
  for (int attempt = 0; attempt < 3 && !source; ++attempt) {
    auto port = augur::testing::FreeLoopbackPort();
    ASSERT_TRUE(port) << port.error().message;
    augur::testing::ProcessOptions p;
    p.argv = {*prometheus, "--config.file=" + (dir / "prometheus.yml").string(),
              "--storage.tsdb.path=" + (dir / "tsdb").string(),
              // The data is from 2026-01-01: keep it whatever today's date.
              "--storage.tsdb.retention.time=100y",
              "--web.listen-address=127.0.0.1:" + std::to_string(*port), "--log.level=warn"};
    auto started = augur::testing::Process::Start(p);
    ASSERT_TRUE(started) << started.error().message;
    server = std::move(*started);
    sources::PrometheusOptions po;
    po.url = "http://127.0.0.1:" + std::to_string(*port);
    po.timeout_ms = 2000;
    po.retries = 0;
    auto s = sources::NewPrometheusSource(po, {{"replay", *templates}});
    ASSERT_TRUE(s) << s.error().message;
    // Poll readiness (the source's own check) until Prometheus answers, or it exits.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline && server->Running()) {
      auto ready = (*s)->Check();
      if (ready) {
        source = std::move(*s);
        break;
      }
      last_error = ready.error().message;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (source) break;
    server->Stop();
    last_error += "; " + server->Stderr();
    ASSERT_NE(last_error.find("address already in use"), std::string::npos) << last_error;
  }
  ASSERT_TRUE(source) << last_error;

  ReplayOptions o;
  o.model = MakeModel();
  o.provider = "replay";
  o.window = WindowKind::kTrailing;
  o.trailing_ms = 10 * kMinute;
  o.spec = DefaultSpec(kMinute);
  o.spec->analysis.step_weight = 3;
  o.spec->analysis.max_weight = 100;
  o.spec->analysis.threshold = 2;
  auto live = ReplaySource(rel, *source, o);
  ASSERT_TRUE(live) << live.error().message;
  auto archived = ReplayRelease(rel, o);
  ASSERT_TRUE(archived) << archived.error().message;

  EXPECT_EQ(archived->final_verdict, FinalVerdict::kRolledBack) << FormatTimeline(*archived);
  EXPECT_GE(*archived->decided_ms, kT0 + 20 * kMinute);
  // Enough checks, with both verdicts among them, for the comparison to mean something.
  ASSERT_GE(archived->checks.size(), 10u);
  EXPECT_EQ(archived->checks.front().verdict, rollout::CheckVerdict::kPass);
  EXPECT_EQ(archived->checks.back().verdict, rollout::CheckVerdict::kFail);
  ASSERT_EQ(live->checks.size(), archived->checks.size())
      << FormatTimeline(*live, true) << FormatTimeline(*archived, true);
  for (size_t i = 0; i < live->checks.size(); ++i) {
    const CheckRecord &a = live->checks[i], &b = archived->checks[i];
    EXPECT_EQ(a.time_ms, b.time_ms);
    EXPECT_EQ(a.verdict, b.verdict) << "check " << i << ": " << a.reason << " | " << b.reason;
    EXPECT_EQ(a.outcome, b.outcome);
    EXPECT_DOUBLE_EQ(a.score, b.score);
    ASSERT_EQ(a.metrics.size(), b.metrics.size());
    for (size_t k = 0; k < a.metrics.size(); ++k) {
      EXPECT_EQ(a.metrics[k].classification, b.metrics[k].classification) << a.metrics[k].name;
      EXPECT_EQ(a.metrics[k].reason, b.metrics[k].reason);
    }
  }
  EXPECT_EQ(live->final_verdict, archived->final_verdict);
  EXPECT_EQ(live->decided_ms, archived->decided_ms);

  server->Stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace augur::replay
