// `augur serve`: the composition root of the daemon. It reads the config, loads models and
// query templates, builds the metric source and the history store, and runs the server until
// SIGTERM/SIGINT, which finish the requests in flight before exiting.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <ostream>
#include <sstream>
#include <thread>

#include "augur/app/rollouts.h"
#include "augur/config/server_config.h"
#include "augur/contracts/kayenta.h"
#include "augur/core/time.h"
#include "augur/server/server.h"
#include "augur/store/history_store.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/local_stack.h"

namespace augur::cli {
namespace {

const std::vector<FlagSpec> kServeFlags = {
    {"config", "FILE", "ServerConfig YAML (apiVersion augur.dev/v1); flags override it", ""},
    {"listen", "HOST:PORT", "listen address", ""},
    {"models", "DIR", "analysis models folder (default: the bundled models)", ""},
    {"queries", "DIR", "query templates folder (default: the bundled queries)", ""},
    {"token-file", "FILE", "require this bearer token on mutating endpoints (or $AUGUR_TOKEN)", ""},
    {"storage", "PATH", "SQLite history database (default ./augur.db)", ""},
    {"prometheus", "URL", "fetch metrics from this Prometheus instead of the embedded scraper", ""},
    {"scrape", "URL", "embedded scraper target (exposition page; repeatable)", ""},
    {"scrape-interval", "DURATION", "how often the embedded scraper scrapes (default 5s)", ""},
    {"min-interval", "DURATION",
     "allow rollout analysis intervals down to this (default: Flagger's 10s floor)", ""},
    {"scrape-provider", "NAME",
     "what the scrape targets are: haproxy, haproxy-backend, nginx, envoy", ""},
};

Result<std::string> ReadSecret(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read '" + path + "'"};
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return InvalidArgument("'" + path + "' is empty");
  return s;
}

}  // namespace

int RunServe(const std::vector<std::string>& args, std::istream&, std::ostream& out,
             std::ostream& err) {
  const std::string prefix = "augur serve: ";
  auto a = Args::Parse(args, kServeFlags);
  if (!a) {
    err << prefix << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help()) {
    out << "usage: augur serve [flags]\n\nRuns the judge daemon (Flagger webhooks, Argo web "
           "provider, Kayenta remote judge, native API).\n\nflags:\n"
        << FormatFlags(kServeFlags);
    return kExitOk;
  }
  auto bad = [&](const Error& e) {
    err << prefix << e.message << "\n";
    return kExitBadInput;
  };
  config::ServerConfig cfg;
  if (a->Has("config")) {
    auto c = config::LoadServerConfig(a->Get("config"));
    if (!c) return bad(c.error());
    cfg = std::move(*c);
  }
  if (a->Has("listen")) cfg.listen = a->Get("listen");
  if (a->Has("models")) cfg.models_dir = a->Get("models");
  if (a->Has("queries")) cfg.queries_dir = a->Get("queries");
  if (a->Has("token-file")) cfg.token_file = a->Get("token-file");
  if (a->Has("storage")) cfg.storage_path = a->Get("storage");
  if (a->Has("prometheus")) {
    cfg.source_kind = "prometheus";
    cfg.prometheus.url = a->Get("prometheus");
  }
  if (a->Has("scrape")) {
    cfg.source_kind = "scrape";
    cfg.scrape.targets = a->GetAll("scrape");
  }
  if (a->Has("scrape-provider")) cfg.scrape.provider = a->Get("scrape-provider");
  if (a->Has("scrape-interval")) {
    auto si = ParseDurationMs(a->Get("scrape-interval"));
    if (!si || *si < 100)
      return bad(InvalidArgument("--scrape-interval: a duration of at least 100ms"));
    cfg.scrape.interval_ms = *si;
  }
  if (cfg.models_dir.empty()) cfg.models_dir = BundledDir("models");
  if (cfg.queries_dir.empty()) cfg.queries_dir = BundledDir("queries");

  server::ServerOptions opt;
  auto listen = config::ParseListenAddress(cfg.listen);
  if (!listen) return bad(listen.error().WithContext("--listen"));
  opt.host = listen->first;
  opt.port = listen->second;
  if (!cfg.token_file.empty()) {
    auto t = ReadSecret(cfg.token_file);
    if (!t) return bad(t.error().WithContext("token file"));
    opt.token = *t;
  } else if (const char* env = std::getenv("AUGUR_TOKEN"); env && *env) {
    opt.token = env;
  }
  opt.auth_exempt_prefixes = cfg.auth_exempt_prefixes;
  opt.max_body_bytes = static_cast<size_t>(cfg.max_body_bytes);
  opt.threads = cfg.threads;
  opt.read_timeout_ms = static_cast<int>(cfg.read_timeout_ms);
  opt.write_timeout_ms = static_cast<int>(cfg.write_timeout_ms);
  opt.default_model = cfg.default_model;
  opt.default_provider = cfg.default_provider;
  opt.on_source_failure = cfg.no_data == "fail" ? analysis::SourceFailure::kFail
                                                : analysis::SourceFailure::kInconclusive;
  // Kayenta-format models are also offered through Kayenta's /canaryConfig API.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(cfg.models_dir, ec)) {
      if (e.path().extension() != ".json") continue;
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      auto m = contracts::ParseKayentaCanaryConfig(text.str());
      if (m) opt.kayenta_configs[m->name.empty() ? e.path().stem().string() : m->name] = text.str();
    }
  }
  LocalStackOptions lo;
  lo.models_dir = cfg.models_dir;
  lo.queries_dir = cfg.queries_dir;
  if (cfg.source_kind == "prometheus") {
    sources::PrometheusOptions p;
    p.url = cfg.prometheus.url;
    p.timeout_ms = static_cast<int>(cfg.prometheus.timeout_ms);
    p.retries = cfg.prometheus.retries;
    for (const auto& [k, v] : cfg.prometheus.headers) p.headers.emplace_back(k, v);
    if (!cfg.prometheus.bearer_token_file.empty()) {
      auto t = ReadSecret(cfg.prometheus.bearer_token_file);
      if (!t) return bad(t.error().WithContext("prometheus bearer token"));
      p.bearer_token = *t;
    }
    if (!cfg.prometheus.basic_user.empty()) {
      p.basic_user = cfg.prometheus.basic_user;
      auto pw = ReadSecret(cfg.prometheus.basic_password_file);
      if (!pw) return bad(pw.error().WithContext("prometheus basic auth password"));
      p.basic_password = *pw;
    }
    lo.prometheus = std::move(p);
  } else {
    // The embedded default: scrape the ingress's exposition pages ourselves. With no target the
    // source simply has no data, and query-form judgements answer per the no-data policy.
    lo.scrape_urls = cfg.scrape.targets;
    lo.scrape_provider = cfg.scrape.provider;
    lo.scrape_interval_ms = cfg.scrape.interval_ms;
    lo.scrape_retention_ms = cfg.scrape.retention_ms;
  }

  // Signals go to a watcher thread (blocked everywhere else, inherited by every thread
  // started after this point, the history writer included), which stops the server gracefully.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // Models, the metric source and its scrapers (started here, after the mask).
  auto stack = LocalStack::Start(lo);
  if (!stack) return bad(stack.error());
  opt.models = (*stack)->models();
  opt.source = (*stack)->source();
  opt.source_kind = (*stack)->kind();

  store::HistoryStoreOptions ho;
  ho.path = cfg.storage_path;
  ho.retention.max_age_ms = cfg.retention_ms;
  auto history = store::HistoryStore::Open(ho);
  if (!history) {
    err << prefix << history.error().message << "\n";
    return kExitFailure;
  }
  opt.history = history->get();

  // Standalone rollouts: persisted in the same database, resumed from it on start.
  int64_t min_interval_ms = 0;
  if (a->Has("min-interval")) {
    auto mi = ParseDurationMs(a->Get("min-interval"));
    if (!mi || *mi < 1000) return bad(InvalidArgument("--min-interval: a duration of at least 1s"));
    min_interval_ms = *mi;
  }
  app::RolloutEnvironment env;
  env.source = (*stack)->source();
  env.models = &(*stack)->models();
  env.default_provider = opt.default_provider;
  env.on_source_failure = opt.on_source_failure;
  env.log = [](const std::string& line) { std::cerr << line << "\n"; };
  auto state_store = app::NewHistoryStateStore(history->get());
  rollout::ManagerOptions mo;
  mo.clock = &app::SystemClock();
  mo.store = state_store.get();
  mo.providers = app::MakeProviderFactory(env);
  mo.min_interval_ms = min_interval_ms;
  auto manager = rollout::Manager::Create(std::move(mo));
  if (!manager) return bad(manager.error());
  if (Status started = (*manager)->Start(); !started) {
    err << prefix << started.error().message << "\n";
    return kExitFailure;
  }
  opt.rollouts = manager->get();

  auto srv = server::Server::Create(std::move(opt));
  if (!srv) {
    err << prefix << srv.error().message << "\n";
    return kExitFailure;
  }
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done) {
      const int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) {
        (*srv)->Stop();
        return;
      }
    }
  });
  const Status st = (*srv)->Run();
  done = true;
  watcher.join();
  srv->reset();        // joins the worker threads after their in-flight requests
  (*manager)->Stop();  // finishes the ticks in flight, each persisted before its router call
  history->reset();
  if (!st) {
    err << prefix << st.error().message << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace augur::cli
