// `augur demo`: a real rollout on this machine, on loopback. Two augur-demo-service instances
// (primary and canary) behind HAProxy, load from our own generator, Augur scraping HAProxy's
// exporter itself (or a Prometheus with --prometheus), and the rollout manager moving HAProxy's
// weights through its runtime API. It rolls out a healthy canary (promoted), then a faulty one
// (5 % errors and +25 ms: rolled back), prints one outcome line per rollout, writes a report and
// stops everything it started, also when interrupted.
#include <httplib.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "augur/app/rollouts.h"
#include "augur/core/time.h"
#include "augur/rollout/manager.h"
#include "augur/store/history_store.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/local_stack.h"
#include "common/subprocess.h"

namespace augur::cli {
namespace {

namespace fs = std::filesystem;
using common::Process;
using common::ProcessOptions;

const std::vector<FlagSpec> kDemoFlags = {
    {"interval", "DURATION", "analysis interval of both rollouts", "5s"},
    {"prometheus", "URL",
     "judge from this Prometheus (which must scrape the printed exporter) instead of scraping "
     "HAProxy directly",
     ""},
    {"report", "FILE", "where to write the report (Markdown)", "augur-demo-report.md"},
    {"keep", "", "keep the working directory (configs, logs, database)", ""},
    {"rps", "N", "load: requests per second through HAProxy", "400"},
};

std::string Sibling(const std::string& name) {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path p = exe.parent_path() / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  auto found = common::FindExecutable(name);
  return found ? *found : name;
}

struct Service {
  std::unique_ptr<Process> proc;
  int port = 0;
};

Result<Service> StartService(const std::string& binary, const std::string& name,
                             const std::string& dir) {
  ProcessOptions o;
  o.argv = {binary,         "--listen", "127.0.0.1:0",         "--name", name,
            "--latency-ms", "2",        "--latency-jitter-ms", "1"};
  o.stderr_file = dir + "/" + name + ".log";
  auto p = Process::Start(o);
  if (!p) return p.error().WithContext(name);
  auto line = (*p)->ReadStdoutLine(std::chrono::seconds(10));
  if (!line) return line.error().WithContext(name);
  const std::string prefix = "listening 127.0.0.1:";
  if (line->rfind(prefix, 0) != 0) return BadData(name + ": unexpected first line " + *line);
  Service s;
  s.port = std::atoi(line->c_str() + prefix.size());
  s.proc = std::move(*p);
  return s;
}

std::string HaproxyConfig(int fe, int exporter, int runtime, int primary, int canary,
                          const std::string& dir) {
  std::ostringstream c;
  c << "# written by augur demo\nglobal\n"
    << "    stats socket ipv4@127.0.0.1:" << runtime << " level admin\n"
    << "    stats socket " << dir << "/haproxy.sock mode 600 level admin\n"
    << "    nbthread 2\n\n"
    << "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n"
    << "    timeout server 10s\n    timeout http-keep-alive 5s\n\n"
    << "frontend fe_app\n    bind 127.0.0.1:" << fe << "\n    default_backend be_app\n\n"
    << "backend be_app\n    balance roundrobin\n    option http-server-close\n"
    << "    server primary 127.0.0.1:" << primary << " weight 100\n"
    << "    server canary 127.0.0.1:" << canary << " weight 0\n\n"
    << "frontend fe_exporter\n    bind 127.0.0.1:" << exporter << "\n"
    << "    http-request use-service prometheus-exporter if { path /metrics }\n"
    << "    stats enable\n    stats uri /stats\n";
  return c.str();
}

std::string Spec(const std::string& name, const std::string& interval, int runtime_port) {
  return "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: " + name +
         "\n  namespace: demo\nspec:\n  targetRef: {apiVersion: apps/v1, kind: Deployment, name: "
         "podinfo}\n  analysis:\n    interval: " +
         interval +
         "\n    threshold: 2\n    maxWeight: 75\n    stepWeight: 25\n    metrics:\n"
         "      - name: request-success-rate\n        thresholdRange: {min: 99}\n"
         "        interval: 10s\n"
         "      - name: request-duration\n        thresholdRange: {max: 20}\n"
         "        interval: 10s\n"
         "  augur:\n    provider: haproxy\n    router:\n      kind: haproxy\n      haproxy:\n"
         "        address: 127.0.0.1:" +
         std::to_string(runtime_port) + "\n        backend: be_app\n";
}

// Steady load through HAProxy's frontend until stopped.
class Load {
 public:
  Load(int port, int rps) {
    const int threads = 4;
    const auto gap = std::chrono::microseconds(1'000'000LL * threads / std::max(1, rps));
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, port, gap] {
        httplib::Client c("127.0.0.1", port);
        c.set_connection_timeout(std::chrono::seconds(2));
        c.set_read_timeout(std::chrono::seconds(5));
        auto next = std::chrono::steady_clock::now();
        while (!stop_) {
          auto r = c.Get("/");
          ++(r && r->status < 500 ? ok_ : bad_);
          next += gap;
          std::this_thread::sleep_until(next);
        }
      });
    }
  }
  ~Load() { Stop(); }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  int64_t ok() const { return ok_; }
  int64_t bad() const { return bad_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0}, bad_{0};
  std::vector<std::thread> threads_;
};

bool WaitHttp(int port, const std::string& path, std::chrono::seconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(std::chrono::milliseconds(300));
  while (std::chrono::steady_clock::now() < end && !StopRequested()) {
    if (auto r = c.Get(path); r && r->status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct Outcome {
  std::string name, expected;
  rollout::RolloutStatus status;
  double seconds = 0;
};

// Runs one rollout to its end, printing each change.
Result<Outcome> RunOne(rollout::Manager& m, const std::string& name, const std::string& spec,
                       const std::string& expected, std::ostream& out) {
  const auto start = std::chrono::steady_clock::now();
  auto submitted = m.Submit(spec, name);
  if (!submitted) return submitted.error();
  std::string last;
  for (;;) {
    auto s = m.Get(submitted->key);
    if (!s) return s.error();
    const std::string line = StatusLine(*s);
    if (line != last) out << "  " << FormatTimeMs(NowMs()).substr(11, 8) << " " << line << "\n";
    out.flush();
    last = line;
    if (rollout::IsTerminal(s->state.phase) || StopRequested()) {
      Outcome o{name, expected, *s,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
      return o;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

std::string Reason(const rollout::RolloutStatus& s) {
  if (!s.last_check.reason.empty() && s.last_check.verdict != rollout::CheckVerdict::kPass) {
    return s.last_check.reason;
  }
  return s.state.message;
}

}  // namespace

int RunDemo(const std::vector<std::string>& args, std::istream&, std::ostream& out,
            std::ostream& err) {
  auto a = Args::Parse(args, kDemoFlags);
  if (!a) {
    err << "augur demo: " << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur demo [flags]\n\nA real rollout on this machine (loopback only): two "
           "demo services behind HAProxy,\na healthy canary that is promoted and a faulty one "
           "that is rolled back.\n\nflags:\n"
        << FormatFlags(kDemoFlags);
    return kExitOk;
  }
  auto rps = a->GetDouble("rps");
  if (!rps || *rps < 20 || *rps > 20000) {
    err << "augur demo: --rps must be 20..20000\n";
    return kExitBadInput;
  }
  CatchStopSignals();

  char tmpl[] = "/tmp/augur-demo.XXXXXX";
  if (!::mkdtemp(tmpl)) {
    err << "augur demo: cannot create a working directory in /tmp\n";
    return kExitFailure;
  }
  const std::string dir = tmpl;
  struct Cleanup {
    std::string dir;
    bool keep;
    ~Cleanup() {
      std::error_code ec;
      if (!keep) fs::remove_all(dir, ec);
    }
  } cleanup{dir, a->Has("keep")};
  auto fail = [&](const std::string& what) {
    err << "augur demo: " << what << " (files in " << dir << ")\n";
    cleanup.keep = true;
    return kExitFailure;
  };

  const std::string demo_bin = Sibling("augur-demo-service");
  auto haproxy_bin = common::FindExecutable("haproxy");
  if (!haproxy_bin) return fail("haproxy not found (apt-get install haproxy)");
  out << "augur demo: working directory " << dir << "\n";

  auto primary = StartService(demo_bin, "primary", dir);
  if (!primary) return fail(primary.error().message);
  auto canary = StartService(demo_bin, "canary", dir);
  if (!canary) return fail(canary.error().message);
  auto fe = common::FreeLoopbackPort(), exporter = common::FreeLoopbackPort(),
       runtime = common::FreeLoopbackPort();
  if (!fe || !exporter || !runtime) return fail("no free loopback port");
  std::ofstream(dir + "/haproxy.cfg")
      << HaproxyConfig(*fe, *exporter, *runtime, primary->port, canary->port, dir);
  ProcessOptions ho;
  ho.argv = {*haproxy_bin, "-db", "-f", dir + "/haproxy.cfg"};
  ho.stderr_file = dir + "/haproxy.log";
  auto haproxy = Process::Start(ho);
  if (!haproxy) return fail(haproxy.error().message);
  if (!WaitHttp(*exporter, "/metrics", std::chrono::seconds(10))) {
    return fail("HAProxy did not start: " + (*haproxy)->Stderr());
  }
  const std::string exporter_url = "http://127.0.0.1:" + std::to_string(*exporter) + "/metrics";
  out << "augur demo: HAProxy on 127.0.0.1:" << *fe << " (exporter " << exporter_url
      << ", runtime API 127.0.0.1:" << *runtime << "), primary :" << primary->port
      << ", canary :" << canary->port << "\n";

  LocalStackOptions lo;
  if (a->Has("prometheus")) {
    lo.prometheus = PrometheusAt(a->Get("prometheus"));
  } else {
    lo.scrape_urls = {exporter_url};
  }
  auto stack = LocalStack::Start(lo);
  if (!stack) return fail(stack.error().message);

  store::HistoryStoreOptions hso;
  hso.path = dir + "/augur.db";
  auto history = store::HistoryStore::Open(hso);
  if (!history) return fail(history.error().message);
  auto state_store = app::NewHistoryStateStore(history->get());
  app::RolloutEnvironment env;
  env.source = (*stack)->source();
  env.models = &(*stack)->models();
  rollout::ManagerOptions mo;
  mo.clock = &app::SystemClock();
  mo.store = state_store.get();
  mo.providers = app::MakeProviderFactory(env);
  mo.min_interval_ms = 1000;
  auto manager = rollout::Manager::Create(std::move(mo));
  if (!manager) return fail(manager.error().message);
  if (Status st = (*manager)->Start(); !st) return fail(st.error().message);

  Load load(*fe, static_cast<int>(*rps));
  out << "augur demo: load " << static_cast<int>(*rps)
      << " req/s through HAProxy; letting the scraper see a few scrapes\n";
  std::this_thread::sleep_for(std::chrono::seconds(3));

  const std::string interval = a->Get("interval");
  std::vector<Outcome> outcomes;
  out << "\n[1/2] healthy canary (no errors, same latency)\n";
  auto healthy =
      RunOne(**manager, "demo-healthy", Spec("demo-healthy", interval, *runtime), "promoted", out);
  if (!healthy) return fail(healthy.error().message);
  outcomes.push_back(*healthy);

  if (!StopRequested()) {
    // The next release is broken: 5 % errors and +25 ms on every request.
    httplib::Client admin("127.0.0.1", canary->port);
    auto r =
        admin.Post("/admin/config", R"({"error_rate":0.05,"latency_ms":25})", "application/json");
    if (!r || r->status != 200) return fail("cannot reconfigure the canary");
    out << "\n[2/2] faulty canary (5 % errors, +25 ms)\n";
    auto faulty = RunOne(**manager, "demo-faulty", Spec("demo-faulty", interval, *runtime),
                         "rolled back", out);
    if (!faulty) return fail(faulty.error().message);
    outcomes.push_back(*faulty);
  }
  load.Stop();
  (*manager)->Stop();

  out << "\n";
  bool as_expected = outcomes.size() == 2;
  std::ostringstream report;
  report << "# augur demo report\n\n"
         << FormatTimeMs(NowMs()) << ", load " << load.ok() << " requests answered below 500, "
         << load.bad() << " with 5xx or no answer.\n\n"
         << "| rollout | expected | outcome | phase | weight | failed checks | seconds | reason |\n"
         << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& o : outcomes) {
    const bool promoted = o.status.state.phase == rollout::Phase::kSucceeded;
    const bool rolled_back = o.status.state.phase == rollout::Phase::kFailed;
    const std::string got = promoted ? "promoted" : rolled_back ? "rolled back" : "unfinished";
    as_expected = as_expected && got == o.expected;
    out << got << ": " << o.name;
    if (!promoted) out << " (" << Reason(o.status) << ")";
    out << "\n";
    report << "| " << o.name << " | " << o.expected << " | " << got << " | "
           << rollout::PhaseName(o.status.state.phase) << " | " << o.status.state.canary_weight
           << " | " << o.status.state.failed_checks << "/" << o.status.threshold << " | "
           << static_cast<int>(o.seconds) << " | " << Reason(o.status) << " |\n";
  }
  report << "\n## Events\n";
  for (const auto& o : outcomes) {
    report << "\n### " << o.name << "\n\n";
    for (const auto& e : o.status.events) report << "- " << e << "\n";
    report << "\nLast check: " << rollout::CheckVerdictName(o.status.last_check.verdict) << "\n\n";
    for (const auto& m : o.status.last_check.metrics) {
      report << "- " << m.name << ": " << m.verdict << " (" << m.detail << ")\n";
    }
  }
  std::ofstream(a->Get("report")) << report.str();
  out << "report: " << a->Get("report") << "\n";
  if (StopRequested()) {
    err << "augur demo: interrupted; everything it started is stopped\n";
    return 130;
  }
  if (!as_expected) return fail("the demo did not end as expected");
  return kExitOk;
}

}  // namespace augur::cli
