// A real canary lab on 127.0.0.1 for integration tests: two augur-demo-service backends
// (primary, canary), HAProxy 2.6 in front of them with its Prometheus exporter and runtime API,
// and optionally a Prometheus server scraping all three, plus an in-process load generator.
//
// Layout (shared/reference/components.md §2.3, with free ports instead of fixed ones):
//   fe_app :FE  ->  be_app { server primary :P weight Wp ; server canary :C weight Wc }
//   fe_prometheus :EXP  /metrics (PROMEX) and /stats
//   runtime API  stats socket ipv4@127.0.0.1:RT level admin (no auth: loopback only)
//   Prometheus :PROM  jobs "haproxy" (:EXP) and "demo" (:P, :C with label side=primary|canary),
//              scrape_interval 1s, TSDB in the lab's temp dir
//
// Lab::Start returns only once everything answers: the demo services printed their port,
// HAProxy's exporter serves /metrics, Prometheus is ready and (by default) holds a first
// scraped sample of every target (~6 s after its start, components.md §4). Ports are chosen
// free at start (a race with another process is retried), so two labs can run side by side.
// Everything stops in reverse order in Lab's destructor, also when an ASSERT unwinds a test;
// the temp dir is removed unless AUGUR_LAB_KEEP is set in the environment.
//
// Thread-safety: a Lab is driven from one thread; GenerateLoad uses its own threads inside.
#pragma once

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "augur/core/result.h"
#include "augur/sources/exposition.h"
#include "augur/sources/prometheus_client.h"
#include "testing/process.h"

namespace augur::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP helpers (one short-lived connection per call).

struct HttpReply {
  int status = 0;
  std::string body;
  std::string server;  // X-Server header (set by augur-demo-service)
};

inline Result<HttpReply> HttpCall(int port, const std::string& method, const std::string& path,
                                  const std::string& body = "",
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_connection_timeout(timeout);
  cli.set_read_timeout(timeout);
  cli.set_write_timeout(timeout);
  auto res = method == "POST" ? cli.Post(path, body, "application/json") : cli.Get(path);
  if (!res) {
    return Error{ErrorCode::kUnavailable, method + " http://127.0.0.1:" + std::to_string(port) +
                                              path + ": " + httplib::to_string(res.error())};
  }
  return HttpReply{res->status, res->body, res->get_header_value("X-Server")};
}

// ---------------------------------------------------------------------------------------------
// Load generator: `threads` keep-alive clients share a request budget and an optional pace.

struct LoadOptions {
  int port = 0;  // on 127.0.0.1
  std::string path = "/";
  int64_t requests = 0;                   // stop after this many (0: run for `duration`)
  std::chrono::milliseconds duration{0};  // stop after this long (0: run until `requests`)
  int threads = 4;
  // Requests per second over all threads, spread evenly (request i is sent at start + i/rate,
  // or later if the threads are busy). 0: as fast as the threads go.
  double rate_per_s = 0;
  std::chrono::milliseconds timeout{5000};
};

struct LoadResult {
  int64_t sent = 0;    // requests attempted
  int64_t failed = 0;  // no HTTP answer (connect/read errors)
  std::map<int, int64_t> by_status;
  std::map<std::string, int64_t> by_server;  // X-Server header, "" when absent
  std::vector<double> latencies_s;           // per answered request, ascending
  int64_t start_ms = 0, end_ms = 0;          // wall clock, for Prometheus query windows
  std::string first_error;

  int64_t count(int status) const {
    auto it = by_status.find(status);
    return it == by_status.end() ? 0 : it->second;
  }
  int64_t server(const std::string& name) const {
    auto it = by_server.find(name);
    return it == by_server.end() ? 0 : it->second;
  }
  // Nearest-rank quantile of the client-side latencies; NaN without answers.
  double Quantile(double q) const {
    if (latencies_s.empty()) return std::nan("");
    const size_t i = static_cast<size_t>(std::ceil(q * latencies_s.size()));
    return latencies_s[std::min(latencies_s.size() - 1, i == 0 ? 0 : i - 1)];
  }
};

inline LoadResult GenerateLoad(const LoadOptions& o) {
  LoadResult total;
  std::mutex mu;
  std::atomic<int64_t> next{0};
  const auto start = std::chrono::steady_clock::now();
  const auto stop_at = start + o.duration;
  total.start_ms = NowMs();
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, o.threads); ++t) {
    workers.emplace_back([&] {
      LoadResult mine;
      httplib::Client cli("127.0.0.1", o.port);
      cli.set_keep_alive(true);
      cli.set_connection_timeout(o.timeout);
      cli.set_read_timeout(o.timeout);
      cli.set_write_timeout(o.timeout);
      for (;;) {
        const int64_t ticket = next.fetch_add(1);
        if (o.requests > 0 && ticket >= o.requests) break;
        if (o.duration.count() > 0 && std::chrono::steady_clock::now() >= stop_at) break;
        if (o.rate_per_s > 0) {
          // Pacing, not synchronisation: the schedule is the point of a rate-limited load.
          std::this_thread::sleep_until(
              start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(ticket / o.rate_per_s)));
          if (o.duration.count() > 0 && std::chrono::steady_clock::now() >= stop_at) break;
        }
        const auto t0 = std::chrono::steady_clock::now();
        auto res = cli.Get(o.path);
        ++mine.sent;
        if (!res) {
          ++mine.failed;
          if (mine.first_error.empty()) mine.first_error = httplib::to_string(res.error());
          continue;
        }
        mine.latencies_s.push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        ++mine.by_status[res->status];
        ++mine.by_server[res->get_header_value("X-Server")];
      }
      std::lock_guard<std::mutex> lock(mu);
      total.sent += mine.sent;
      total.failed += mine.failed;
      for (auto [k, v] : mine.by_status) total.by_status[k] += v;
      for (auto& [k, v] : mine.by_server) total.by_server[k] += v;
      total.latencies_s.insert(total.latencies_s.end(), mine.latencies_s.begin(),
                               mine.latencies_s.end());
      if (total.first_error.empty()) total.first_error = mine.first_error;
    });
  }
  for (auto& w : workers) w.join();
  total.end_ms = NowMs();
  std::sort(total.latencies_s.begin(), total.latencies_s.end());
  return total;
}

// ---------------------------------------------------------------------------------------------
// One augur-demo-service process.

#ifdef AUGUR_DEMO_SERVICE
inline constexpr const char kDefaultDemoBinary[] = AUGUR_DEMO_SERVICE;
#else
inline constexpr const char kDefaultDemoBinary[] = "augur-demo-service";
#endif

struct DemoOptions {
  std::string name = "demo";
  double error_rate = 0;
  double latency_ms = 0;
  double latency_jitter_ms = 0;
  uint64_t seed = 0;
  std::vector<std::string> extra_args;  // appended as is
  std::string binary = kDefaultDemoBinary;
  std::string log_dir;  // if set, <log_dir>/<name>.log gets its stderr
};

class DemoService {
 public:
  static Result<std::unique_ptr<DemoService>> Start(const DemoOptions& o) {
    ProcessOptions p;
    auto num = [](double v) {
      std::ostringstream s;
      s.precision(17);
      s << v;
      return s.str();
    };
    p.argv = {o.binary,
              "--listen",
              "127.0.0.1:0",
              "--name",
              o.name,
              "--error-rate",
              num(o.error_rate),
              "--latency-ms",
              num(o.latency_ms),
              "--latency-jitter-ms",
              num(o.latency_jitter_ms),
              "--seed",
              std::to_string(o.seed)};
    p.argv.insert(p.argv.end(), o.extra_args.begin(), o.extra_args.end());
    if (!o.log_dir.empty()) p.stderr_file = o.log_dir + "/" + o.name + ".log";
    auto proc = Process::Start(p);
    if (!proc) return proc.error().WithContext("demo service " + o.name);
    auto line = (*proc)->ReadStdoutLine(std::chrono::seconds(10));
    if (!line) return line.error().WithContext("demo service " + o.name);
    const std::string prefix = "listening 127.0.0.1:";
    if (line->rfind(prefix, 0) != 0) {
      return BadData("demo service " + o.name + ": unexpected first line '" + *line + "'");
    }
    std::unique_ptr<DemoService> d(new DemoService);
    d->name_ = o.name;
    d->port_ = std::atoi(line->c_str() + prefix.size());
    d->process_ = std::move(*proc);
    if (d->port_ <= 0) return BadData("demo service " + o.name + ": bad port in '" + *line + "'");
    return d;
  }

  const std::string& name() const { return name_; }
  int port() const { return port_; }
  Process& process() { return *process_; }

  // The parsed /metrics page.
  Result<std::vector<sources::MetricFamily>> Metrics() const {
    auto r = HttpCall(port_, "GET", "/metrics");
    if (!r) return r.error();
    if (r->status != 200) return BadData(name_ + " /metrics: HTTP " + std::to_string(r->status));
    return sources::ParseExposition(r->body, sources::ExpositionFormat::kText004);
  }

  // http_requests_total by code, e.g. {"200": 900, "500": 100}.
  Result<std::map<std::string, double>> RequestCounts() const {
    auto families = Metrics();
    if (!families) return families.error();
    std::map<std::string, double> out;
    for (const auto& f : *families) {
      if (f.name != "http_requests_total") continue;
      for (const auto& s : f.samples) {
        for (const auto& [k, v] : s.labels) {
          if (k == "code") out[v] += s.value;
        }
      }
    }
    return out;
  }

  // Sum over codes of http_requests_total.
  Result<int64_t> TotalRequests() const {
    auto c = RequestCounts();
    if (!c) return c.error();
    double sum = 0;
    for (const auto& [code, n] : *c) sum += n;
    return static_cast<int64_t>(std::llround(sum));
  }

  // POST /admin/config; an answer other than 200 is an error quoting the body.
  Status Configure(const std::string& json) const {
    auto r = HttpCall(port_, "POST", "/admin/config", json);
    if (!r) return r.error();
    if (r->status != 200) {
      return InvalidArgument(name_ + " /admin/config: HTTP " + std::to_string(r->status) + " " +
                             r->body);
    }
    return {};
  }

  int Stop() { return process_->Stop(); }

 private:
  DemoService() = default;
  std::string name_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// ---------------------------------------------------------------------------------------------
// The lab.

struct BackendOptions {
  double error_rate = 0;
  double latency_ms = 0;
  double latency_jitter_ms = 0;
  int weight = 100;  // HAProxy weight, 0..256
};

struct LabOptions {
  BackendOptions primary;
  BackendOptions canary;
  bool prometheus = false;
  // Wait until Prometheus has a sample of every target (about 6 s); without it Start returns
  // once /-/ready answers (~0.2 s), enough for tests that only need a live server.
  bool wait_for_first_sample = true;
  std::string demo_binary = kDefaultDemoBinary;
  std::chrono::seconds ready_timeout{30};
};

class Lab {
 public:
  static constexpr char kBackend[] = "be_app";

  static Result<std::unique_ptr<Lab>> Start(const LabOptions& o) {
    std::unique_ptr<Lab> lab(new Lab(o));
    if (auto st = lab->StartAll(); !st) return st.error();
    return lab;
  }

  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;
  ~Lab() {
    Stop();
    if (!dir_.empty() && !std::getenv("AUGUR_LAB_KEEP")) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Stops Prometheus, HAProxy, then the demo services (reverse start order). Idempotent.
  void Stop() {
    if (prometheus_) prometheus_->Stop();
    if (haproxy_) haproxy_->Stop();
    if (canary_) canary_->Stop();
    if (primary_) primary_->Stop();
  }

  const std::string& dir() const { return dir_; }
  DemoService& primary() { return *primary_; }
  DemoService& canary() { return *canary_; }
  int frontend_port() const { return frontend_port_; }
  int exporter_port() const { return exporter_port_; }
  int runtime_port() const { return runtime_port_; }
  int prometheus_port() const { return prometheus_port_; }
  std::string prometheus_url() const {
    return "http://127.0.0.1:" + std::to_string(prometheus_port_);
  }
  Process* prometheus() { return prometheus_.get(); }
  Process* haproxy() { return haproxy_.get(); }

  // Load through HAProxy's frontend.
  LoadResult SendLoad(LoadOptions o) {
    o.port = frontend_port_;
    return GenerateLoad(o);
  }

  // One runtime API command over TCP (one connection per command; HAProxy closes it after the
  // answer). Returns HAProxy's answer text, e.g. "\n" after a successful `set weight`.
  Result<std::string> RuntimeCommand(const std::string& command) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Error{ErrorCode::kUnavailable, "runtime API: socket failed"};
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(runtime_port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return Error{ErrorCode::kUnavailable,
                   "runtime API 127.0.0.1:" + std::to_string(runtime_port_) + ": connect failed"};
    }
    const std::string line = command + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      ::close(fd);
      return Error{ErrorCode::kUnavailable, "runtime API: send failed"};
    }
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, n);
    ::close(fd);
    if (n < 0) return Error{ErrorCode::kDeadlineExceeded, "runtime API: no answer to " + command};
    return out;
  }

  // `set server be_app/<server> weight <w>`; HAProxy's complaint becomes the error message.
  Status SetWeight(const std::string& server, int weight) const {
    auto r = RuntimeCommand("set server " + std::string(kBackend) + "/" + server + " weight " +
                            std::to_string(weight));
    if (!r) return r.error();
    if (r->find_first_not_of("\r\n ") != std::string::npos) {
      return InvalidArgument("set weight " + server + " " + std::to_string(weight) + ": " + *r);
    }
    return {};
  }

  // The current weight of a server (`get weight` answers "<cur> (initial <init>)").
  Result<int> GetWeight(const std::string& server) const {
    auto r = RuntimeCommand("get weight " + std::string(kBackend) + "/" + server);
    if (!r) return r.error();
    char* end = nullptr;
    const long w = std::strtol(r->c_str(), &end, 10);
    if (end == r->c_str()) return BadData("get weight " + server + ": '" + *r + "'");
    return static_cast<int>(w);
  }

  // A client for this lab's Prometheus (no retries: tests want to see failures as they are).
  Result<sources::PrometheusClient> PrometheusClient(int timeout_ms = 5000, int retries = 0) const {
    sources::PrometheusOptions po;
    po.url = prometheus_url();
    po.timeout_ms = timeout_ms;
    po.retries = retries;
    return sources::PrometheusClient::Create(po);
  }

  // Polls an instant query at "now" until it yields exactly one value satisfying `ok`;
  // returns that value, or kDeadlineExceeded naming the last answer.
  template <typename Pred>
  Result<double> WaitForValue(const std::string& promql, Pred ok,
                              std::chrono::milliseconds timeout) const {
    auto client = PrometheusClient(2000);
    if (!client) return client.error();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last = "no answer";
    for (;;) {
      auto r = client->Query(promql, NowMs());
      if (!r) {
        last = r.error().message;
      } else if (r->series.size() == 1 && r->series[0].values.size() == 1) {
        const double v = r->series[0].values[0];
        if (ok(v)) return v;
        last = "value " + std::to_string(v);
      } else {
        last = std::to_string(r->series.size()) + " series";
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error{ErrorCode::kDeadlineExceeded,
                     "Prometheus: '" + promql + "' not satisfied within " +
                         std::to_string(timeout.count()) + " ms; last: " + last +
                         "; log: " + (prometheus_ ? Tail(prometheus_->Stderr()) : "")};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  explicit Lab(LabOptions o) : options_(std::move(o)) {}

  static std::string Tail(const std::string& s, size_t n = 1500) {
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
  }

  Status StartAll() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/augur-lab-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      return Error{ErrorCode::kUnavailable, "mkdtemp " + tmpl + ": " + strerror(errno)};
    }
    dir_ = tmpl;

    DemoOptions d;
    d.binary = options_.demo_binary;
    d.log_dir = dir_;
    for (auto [name, b, slot] : {std::tuple{"primary", &options_.primary, &primary_},
                                 std::tuple{"canary", &options_.canary, &canary_}}) {
      d.name = name;
      d.error_rate = b->error_rate;
      d.latency_ms = b->latency_ms;
      d.latency_jitter_ms = b->latency_jitter_ms;
      auto svc = DemoService::Start(d);
      if (!svc) return svc.error();
      *slot = std::move(*svc);
    }
    if (auto st = StartHaproxy(); !st) return st;
    if (options_.prometheus) {
      if (auto st = StartPrometheus(); !st) return st;
    }
    return {};
  }

  // Ports picked free can be taken by someone else before the server binds them; a start that
  // fails on "address in use" is retried with fresh ports.
  static bool AddressInUse(const std::string& log) {
    return log.find("in use") != std::string::npos || log.find("cannot bind") != std::string::npos;
  }

  Status StartHaproxy() {
    auto exe = FindExecutable("haproxy");
    if (!exe) return exe.error().WithContext("HAProxy (apt-get install haproxy)");
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto fe = FreeLoopbackPort(), exp = FreeLoopbackPort(), rt = FreeLoopbackPort();
      if (!fe || !exp || !rt) return Error{ErrorCode::kUnavailable, "no free loopback port"};
      frontend_port_ = *fe;
      exporter_port_ = *exp;
      runtime_port_ = *rt;
      const std::string cfg = dir_ + "/haproxy.cfg";
      std::ofstream(cfg) << HaproxyConfig();
      ProcessOptions p;
      p.argv = {*exe, "-db", "-f", cfg};
      p.stdout_file = dir_ + "/haproxy.out";
      p.stderr_file = dir_ + "/haproxy.log";
      auto proc = Process::Start(p);
      if (!proc) return proc.error().WithContext("HAProxy");
      haproxy_ = std::move(*proc);
      // Ready when the exporter answers; HAProxy binds every listener before serving any.
      auto st = WaitForHttp(*haproxy_, exporter_port_, "/metrics");
      if (st) return {};
      haproxy_->Stop();
      last_error = st.error().message;
      if (!AddressInUse(haproxy_->Stderr())) break;
    }
    return Error{ErrorCode::kUnavailable, "HAProxy did not start: " + last_error};
  }

  Status StartPrometheus() {
    auto exe = FindExecutable("prometheus");
    if (!exe) return exe.error().WithContext("Prometheus (apt-get install prometheus)");
    std::string last_error;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto port = FreeLoopbackPort();
      if (!port) return port.error();
      prometheus_port_ = *port;
      const std::string cfg = dir_ + "/prometheus.yml";
      std::ofstream(cfg) << PrometheusConfig();
      ProcessOptions p;
      p.argv = {*exe,
                "--config.file=" + cfg,
                "--storage.tsdb.path=" + dir_ + "/prom-data",
                "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port_),
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn"};
      p.stdout_file = dir_ + "/prometheus.out";
      p.stderr_file = dir_ + "/prometheus.log";
      auto proc = Process::Start(p);
      if (!proc) return proc.error().WithContext("Prometheus");
      prometheus_ = std::move(*proc);
      auto st = WaitForHttp(*prometheus_, prometheus_port_, "/-/ready");
      if (st) break;
      prometheus_->Stop();
      prometheus_.reset();
      last_error = st.error().message;
      if (!AddressInUse(last_error)) break;
    }
    if (!prometheus_)
      return Error{ErrorCode::kUnavailable, "Prometheus did not start: " + last_error};
    if (!options_.wait_for_first_sample) return {};
    // /-/ready comes long before the first scrape (the scrape manager applies targets at most
    // every 5 s): wait for a sample of all three targets, not for readiness.
    auto v = WaitForValue(
        "count(up == 1)", [](double n) { return n >= 3; },
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.ready_timeout));
    if (!v) return v.error();
    return {};
  }

  // Polls GET path until 200, failing early if the process exits.
  Status WaitForHttp(Process& proc, int port, const std::string& path) {
    const auto deadline = std::chrono::steady_clock::now() + options_.ready_timeout;
    std::string last;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!proc.Running()) {
        return Error{ErrorCode::kUnavailable, "'" + proc.command() + "' exited (" +
                                                  DescribeExit(proc.Stop()) +
                                                  "): " + Tail(proc.Stderr())};
      }
      auto r = HttpCall(port, "GET", path, "", std::chrono::milliseconds(500));
      if (r && r->status == 200) return {};
      last = r ? "HTTP " + std::to_string(r->status) : r.error().message;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Error{ErrorCode::kDeadlineExceeded, "'" + proc.command() + "' not ready on " + path +
                                                   ": " + last + "; log: " + Tail(proc.Stderr())};
  }

  // Replaces each ${KEY} in `text`.
  static std::string Fill(std::string text, const std::map<std::string, std::string>& values) {
    for (const auto& [key, value] : values) {
      const std::string token = "${" + key + "}";
      for (size_t at = text.find(token); at != std::string::npos; at = text.find(token, at)) {
        text.replace(at, token.size(), value);
        at += value.size();
      }
    }
    return text;
  }

  std::map<std::string, std::string> Ports() const {
    return {{"FE", std::to_string(frontend_port_)},
            {"EXP", std::to_string(exporter_port_)},
            {"RT", std::to_string(runtime_port_)},
            {"P", std::to_string(primary_->port())},
            {"C", std::to_string(canary_->port())},
            {"WP", std::to_string(options_.primary.weight)},
            {"WC", std::to_string(options_.canary.weight)}};
  }

  std::string HaproxyConfig() const {
    return Fill(R"(# written by tests/testing/lab.h
global
    stats socket ipv4@127.0.0.1:${RT} level admin
    stats timeout 30s
    nbthread 2

defaults
    mode http
    timeout connect 2s
    timeout client  10s
    timeout server  10s
    timeout http-keep-alive 5s

frontend fe_app
    bind 127.0.0.1:${FE}
    default_backend be_app

backend be_app
    # roundrobin is dynamic: runtime weight changes apply at once (components.md 3a)
    balance roundrobin
    # One server connection per request: a backend closing an idle keep-alive connection
    # just as HAProxy reuses it would become a 502 that neither side sent, and the tests
    # count responses exactly.
    option http-server-close
    server primary 127.0.0.1:${P} weight ${WP}
    server canary 127.0.0.1:${C} weight ${WC}

frontend fe_prometheus
    bind 127.0.0.1:${EXP}
    http-request use-service prometheus-exporter if { path /metrics }
    stats enable
    stats uri /stats
)",
                Ports());
  }

  std::string PrometheusConfig() const {
    return Fill(R"(# written by tests/testing/lab.h
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: haproxy
    static_configs:
      - targets: ['127.0.0.1:${EXP}']
  - job_name: demo
    static_configs:
      - targets: ['127.0.0.1:${P}']
        labels: {side: primary}
      - targets: ['127.0.0.1:${C}']
        labels: {side: canary}
)",
                Ports());
  }

  LabOptions options_;
  std::string dir_;
  std::unique_ptr<DemoService> primary_, canary_;
  std::unique_ptr<Process> haproxy_, prometheus_;
  int frontend_port_ = 0, exporter_port_ = 0, runtime_port_ = 0, prometheus_port_ = 0;
};

}  // namespace augur::testing
