// augur-demo-service: the project's own backend for canary labs and `augur demo`.
//
// One cpp-httplib server (a fixed pool of worker threads, TCP_NODELAY) serves the app ("/"),
// /healthz, /metrics (a prometheus-cpp registry rendered with TextSerializer, so there is one
// port and no civetweb) and /admin/config. Errors on "/" follow a deterministic schedule
// (demo/options.h) so tests can assert exact counts. SIGTERM/SIGINT stop the listener, let the
// requests in flight finish and exit 0.
#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "demo/options.h"

namespace augur::demo {
namespace {

// httplib 0.11.4 is compiled with a listen backlog of 5. HAProxy with http-server-close or a
// burst of clients can exceed that, and a dropped SYN costs a 1 s retransmit, which would show
// up as a latency outlier the test did not configure. Re-calling listen() on the bound socket
// raises the backlog (Linux allows it); svr_sock_ is only reachable from a subclass.
class Server : public httplib::Server {
 public:
  void RaiseBacklog(int backlog) { ::listen(svr_sock_, backlog); }
};

class DemoService {
 public:
  explicit DemoService(const Options& o)
      : name_(o.name),
        seed_(o.seed),
        behaviour_(o.behaviour),
        schedule_(o.behaviour.error_rate, o.seed),
        rng_(o.seed),
        registry_(std::make_shared<prometheus::Registry>()),
        requests_(prometheus::BuildCounter()
                      .Name("http_requests_total")
                      .Help("Requests to / by HTTP status code")
                      .Register(*registry_)),
        durations_(prometheus::BuildHistogram()
                       .Name("http_request_duration_seconds")
                       .Help("Time to answer / (including the added latency) by status code")
                       .Register(*registry_)),
        in_flight_(prometheus::BuildGauge()
                       .Name("http_requests_in_flight")
                       .Help("Requests to / being answered")
                       .Register(*registry_)
                       .Add({})),
        config_(prometheus::BuildGauge()
                    .Name("demo_config")
                    .Help("Current behaviour of / (error_rate as a fraction, latencies in seconds)")
                    .Register(*registry_)) {
    prometheus::BuildGauge()
        .Name("demo_info")
        .Help("Constant 1, labelled with the service name")
        .Register(*registry_)
        .Add({{"name", name_}})
        .Set(1);
    // Both codes exist from the start, so a rate() over the 500 series reads 0 rather than
    // "no data" before the first failure.
    for (const char* code : {"200", "500"}) Series(code);
    PublishConfig(behaviour_);
  }

  void Register(httplib::Server& svr) {
    svr.Get("/", [this](const httplib::Request&, httplib::Response& res) { App(res); });
    svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(prometheus::TextSerializer().Serialize(registry_->Collect()),
                      "text/plain; version=0.0.4; charset=utf-8");
    });
    svr.Get("/admin/config", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      res.set_content(ConfigJson(behaviour_), "application/json");
    });
    svr.Post("/admin/config", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      const std::string err = ApplyConfigJson(req.body, behaviour_);
      if (!err.empty()) {
        res.status = 400;
        res.set_content("{\"error\":\"" + JsonEscape(err) + "\"}\n", "application/json");
        return;
      }
      schedule_ = ErrorSchedule(behaviour_.error_rate, seed_);
      PublishConfig(behaviour_);
      res.set_content(ConfigJson(behaviour_), "application/json");
    });
    // No exception may escape a handler thread (style.md §5.5).
    svr.set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          res.status = 500;
          res.set_content("internal error\n", "text/plain");
        });
  }

 private:
  struct CodeSeries {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
  };

  CodeSeries Series(const std::string& code) {
    // 1 ms .. 10 s: the demo's latencies are milliseconds to seconds; the low buckets resolve
    // the difference between a 2 ms primary and a 10 ms canary.
    static const prometheus::Histogram::BucketBoundaries kBuckets = {
        0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
        0.075, 0.1,    0.25,  0.5,    1,    2.5,   5,    10};
    return {&requests_.Add({{"code", code}}), &durations_.Add({{"code", code}}, kBuckets)};
  }

  void App(httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    in_flight_.Increment();
    bool fail;
    double delay_ms;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fail = schedule_.Next();
      delay_ms = behaviour_.latency_ms;
      if (behaviour_.latency_jitter_ms > 0) {
        delay_ms += std::uniform_real_distribution<double>(-behaviour_.latency_jitter_ms,
                                                           behaviour_.latency_jitter_ms)(rng_);
      }
    }
    if (delay_ms > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration<double, std::milli>(delay_ms));
    }
    const int status = fail ? 500 : 200;
    res.status = status;
    res.set_header("X-Server", name_);
    res.set_content(name_ + " " + std::to_string(status) + "\n", "text/plain");
    const CodeSeries s = Series(std::to_string(status));
    s.requests->Increment();
    s.duration->Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    in_flight_.Decrement();
  }

  void PublishConfig(const Behaviour& b) {
    config_.Add({{"key", "error_rate"}}).Set(b.error_rate);
    config_.Add({{"key", "latency_seconds"}}).Set(b.latency_ms / 1000);
    config_.Add({{"key", "latency_jitter_seconds"}}).Set(b.latency_jitter_ms / 1000);
  }

  std::string ConfigJson(const Behaviour& b) const {
    return "{\"name\":\"" + name_ + "\",\"error_rate\":" + FormatDouble(b.error_rate) +
           ",\"latency_ms\":" + FormatDouble(b.latency_ms) +
           ",\"latency_jitter_ms\":" + FormatDouble(b.latency_jitter_ms) + "}\n";
  }

  static std::string JsonEscape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }

  const std::string name_;
  const uint64_t seed_;
  std::mutex mu_;  // guards behaviour_, schedule_ and rng_
  Behaviour behaviour_;
  ErrorSchedule schedule_;
  std::mt19937_64 rng_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& durations_;
  prometheus::Gauge& in_flight_;
  prometheus::Family<prometheus::Gauge>& config_;
};

int Main(int argc, char** argv) {
  std::string error;
  const Options opts = ParseFlags(std::vector<std::string>(argv + 1, argv + argc), error);
  if (!error.empty()) {
    std::fprintf(stderr, "augur-demo-service: %s\n(see --help)\n", error.c_str());
    return 2;
  }
  if (opts.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  // Block the stop signals in every thread (the pool inherits the mask) and take them in one
  // thread with sigwait: httplib::Server::stop() is not async-signal-safe.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  DemoService service(opts);
  Server svr;
  const int threads = opts.threads;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_tcp_nodelay(true);  // else Nagle meets delayed ACK: ~40 ms stalls (components.md)
  // httplib's default also sets SO_REUSEPORT, which lets a second instance bind the same port
  // and silently share its traffic; a port in use must be an error. SO_REUSEADDR alone still
  // allows a quick restart over TIME_WAIT connections.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.set_keep_alive_max_count(1000);
  svr.set_keep_alive_timeout(5);
  service.Register(svr);

  int port = opts.port;
  if (port == 0) {
    port = svr.bind_to_any_port(opts.host);
    if (port <= 0) {
      std::fprintf(stderr, "augur-demo-service: cannot bind %s:0\n", opts.host.c_str());
      return 1;
    }
  } else if (!svr.bind_to_port(opts.host, port)) {
    std::fprintf(stderr, "augur-demo-service: cannot bind %s:%d (in use or not a local address)\n",
                 opts.host.c_str(), port);
    return 1;
  }
  svr.RaiseBacklog(512);
  const bool v6 = opts.host.find(':') != std::string::npos;
  std::printf("listening %s%s%s:%d\n", v6 ? "[" : "", opts.host.c_str(), v6 ? "]" : "", port);
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread stopper([&svr, &done, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // stop() does nothing until listen_after_bind() has marked the server running, and a
    // second stop() trips an assert inside httplib, so wait for "running" and stop once.
    while (!svr.is_running() && !done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!done.load()) svr.stop();
  });

  const bool ok = svr.listen_after_bind();
  done.store(true);
  // Wakes the stopper if no signal came (the listener failed); harmless if it already ran.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  if (!ok) {
    std::fprintf(stderr, "augur-demo-service: the listener failed\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace augur::demo

int main(int argc, char** argv) { return augur::demo::Main(argc, argv); }
