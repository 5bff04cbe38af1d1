// `augur rollout`: start, watch and steer standalone rollouts, either through a running daemon
// (--server, or $AUGUR_SERVER) or in this process (start without a server: the rollout runs
// here, persisted in --storage, so interrupting and starting the same spec again resumes it).
#include <httplib.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "augur/app/rollouts.h"
#include "augur/contracts/rollout.h"
#include "augur/core/time.h"
#include "augur/rollout/manager.h"
#include "augur/store/history_store.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/local_stack.h"

namespace augur::cli {
namespace {

const std::vector<FlagSpec> kRolloutFlags = {
    {"spec", "FILE", "start: the Flagger Canary (YAML or JSON) to roll out", ""},
    {"server", "URL",
     "a running augur serve (default: $AUGUR_SERVER; start runs in-process "
     "when neither is set)",
     ""},
    {"token-file", "FILE", "bearer token for the daemon's mutating endpoints (or $AUGUR_TOKEN)",
     ""},
    {"reason", "TEXT", "pause/promote/abort: recorded with the command", "operator (CLI)"},
    {"json", "", "print status as JSON", ""},
    {"watch", "", "status: keep printing until the rollout finishes (start always watches)", ""},
    {"no-watch", "", "start: return once the rollout was accepted", ""},
    // In-process only.
    {"prometheus", "URL", "in-process: fetch metrics from this Prometheus", ""},
    {"scrape", "URL", "in-process: scrape this exposition page (repeatable; the default source)",
     ""},
    {"scrape-provider", "NAME", "in-process: haproxy, haproxy-backend, nginx, envoy", "haproxy"},
    {"models", "DIR", "in-process: analysis models folder (default: the bundled models)", ""},
    {"queries", "DIR", "in-process: query templates folder (default: the bundled queries)", ""},
    {"storage", "PATH", "in-process: SQLite file the rollout is persisted in", "augur-rollouts.db"},
    {"min-interval", "DURATION",
     "in-process: allow analysis intervals down to this (default: Flagger's 10s floor)", ""},
};

constexpr char kUsage[] =
    "usage: augur rollout start --spec FILE [--server URL | in-process flags]\n"
    "       augur rollout status [NAMESPACE/NAME] [--server URL] [--json] [--watch]\n"
    "       augur rollout pause|resume|promote|abort|retry NAMESPACE/NAME [--server URL]\n\n"
    "Standalone rollouts with Flagger's semantics: traffic shifted step by step through a "
    "router, each step judged, then promoted or rolled back.\n"
    "Exit status of start (and status --watch): 0 promoted, 1 rolled back or failed, 2 bad "
    "input.\n\nflags:\n";

std::string Key(const std::string& name) {
  return name.find('/') == std::string::npos ? "default/" + name : name;
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ExitFor(const rollout::RolloutStatus& s) {
  return s.state.phase == rollout::Phase::kSucceeded ? kExitOk : kExitFailure;
}

// Prints status changes: a redrawn block on a terminal, one line per change otherwise.
class Display {
 public:
  Display(std::ostream& out, bool json) : out_(out), json_(json), tty_(::isatty(1) && !json) {}
  void Show(const rollout::RolloutStatus& s) {
    if (json_) {
      const std::string j = contracts::RolloutStatusJson(s);
      if (j != last_) out_ << j << "\n" << std::flush;
      last_ = j;
      return;
    }
    const std::string block = StatusBlock(s);
    if (tty_) {
      if (block == last_) return;
      if (lines_ > 0) out_ << "\x1b[" << lines_ << "F\x1b[J";  // back up and clear the old block
      out_ << block << std::flush;
      lines_ = static_cast<int>(std::count(block.begin(), block.end(), '\n'));
      last_ = block;
    } else {
      const std::string line = StatusLine(s);
      if (line != last_) out_ << FormatTimeMs(NowMs()) << " " << line << "\n" << std::flush;
      last_ = line;
    }
  }

 private:
  std::ostream& out_;
  bool json_, tty_;
  std::string last_;
  int lines_ = 0;
};

// ---- through a daemon ------------------------------------------------------------------------

class Remote {
 public:
  Remote(const std::string& url, std::string token) : cli_(url), token_(std::move(token)) {
    cli_.set_connection_timeout(std::chrono::seconds(3));
    cli_.set_read_timeout(std::chrono::seconds(15));
    if (!token_.empty()) cli_.set_bearer_token_auth(token_);
  }
  Result<rollout::RolloutStatus> Submit(const std::string& spec) {
    return Status(cli_.Post("/v1/rollouts", spec, "application/yaml"));
  }
  Result<rollout::RolloutStatus> Get(const std::string& key) {
    return Status(cli_.Get("/v1/rollouts/" + key));
  }
  Result<rollout::RolloutStatus> Command(const std::string& key, const std::string& cmd,
                                         const std::string& reason) {
    const std::string body = "{\"reason\":" + Quote(reason) + "}";
    return Status(cli_.Post("/v1/rollouts/" + key + "/" + cmd, body, "application/json"));
  }
  Result<std::vector<rollout::RolloutStatus>> List() {
    auto res = cli_.Get("/v1/rollouts");
    if (!res) return Transport(res.error());
    if (res->status != 200) return HttpFailure(res->status, res->body);
    return contracts::ParseRolloutList(res->body);
  }

 private:
  static std::string Quote(const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) q += c;
    }
    return q + "\"";
  }
  static Error Transport(httplib::Error e) {
    return Error{ErrorCode::kUnavailable, "cannot reach the daemon: " + httplib::to_string(e)};
  }
  static Error HttpFailure(int status, const std::string& body) {
    const ErrorCode code = status == 404                    ? ErrorCode::kNotFound
                           : status == 409                  ? ErrorCode::kConflict
                           : status == 422 || status == 400 ? ErrorCode::kInvalidArgument
                                                            : ErrorCode::kUnavailable;
    return Error{code, "daemon answered " + std::to_string(status) + ": " + body.substr(0, 500)};
  }
  Result<rollout::RolloutStatus> Status(const httplib::Result& res) {
    if (!res) return Transport(res.error());
    if (res->status != 200 && res->status != 201) return HttpFailure(res->status, res->body);
    return contracts::ParseRolloutStatus(res->body);
  }

  httplib::Client cli_;
  std::string token_;
};

int Report(const Error& e, std::ostream& err) {
  err << "augur rollout: " << e.message << "\n";
  return ExitCodeFor(e);
}

int Watch(Remote& remote, const std::string& key, Display& display, std::ostream& err) {
  for (;;) {
    auto s = remote.Get(key);
    if (!s) return Report(s.error(), err);
    display.Show(*s);
    if (rollout::IsTerminal(s->state.phase)) return ExitFor(*s);
    if (StopRequested()) {
      err << "augur rollout: stopped watching; the rollout continues in the daemon\n";
      return kExitFailure;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// ---- in this process -------------------------------------------------------------------------

int StartLocal(const Args& a, const std::string& spec_text, const std::string& spec_path,
               std::ostream& out, std::ostream& err) {
  LocalStackOptions lo;
  if (a.Has("prometheus")) lo.prometheus = PrometheusAt(a.Get("prometheus"));
  lo.scrape_urls = a.GetAll("scrape");
  lo.scrape_provider = a.Get("scrape-provider");
  lo.models_dir = a.Get("models");
  lo.queries_dir = a.Get("queries");
  if (!lo.prometheus && lo.scrape_urls.empty()) {
    err << "augur rollout: in-process rollouts need a metric source: --scrape URL (the ingress's "
           "exposition page) or --prometheus URL; or pass --server to use a daemon\n";
    return kExitBadInput;
  }
  int64_t min_interval = 0;
  if (a.Has("min-interval")) {
    auto mi = ParseDurationMs(a.Get("min-interval"));
    if (!mi || *mi < 1000) {
      err << "augur rollout: --min-interval: a duration of at least 1s\n";
      return kExitBadInput;
    }
    min_interval = *mi;
  }
  auto stack = LocalStack::Start(lo);
  if (!stack) return Report(stack.error(), err);
  store::HistoryStoreOptions ho;
  ho.path = a.Get("storage");
  auto history = store::HistoryStore::Open(ho);
  if (!history) return Report(history.error(), err);
  auto state_store = app::NewHistoryStateStore(history->get());
  app::RolloutEnvironment env;
  env.source = (*stack)->source();
  env.models = &(*stack)->models();
  rollout::ManagerOptions mo;
  mo.clock = &app::SystemClock();
  mo.store = state_store.get();
  mo.providers = app::MakeProviderFactory(env);
  mo.min_interval_ms = min_interval;
  auto manager = rollout::Manager::Create(std::move(mo));
  if (!manager) return Report(manager.error(), err);
  if (Status st = (*manager)->Start(); !st) return Report(st.error(), err);
  auto submitted = (*manager)->Submit(spec_text, spec_path);
  if (!submitted) return Report(submitted.error(), err);
  const std::string key = submitted->key;
  Display display(out, a.Has("json"));
  int code = kExitFailure;
  for (;;) {
    auto s = (*manager)->Get(key);
    if (!s) return Report(s.error(), err);
    display.Show(*s);
    if (rollout::IsTerminal(s->state.phase)) {
      code = ExitFor(*s);
      break;
    }
    if (StopRequested()) {
      err << "augur rollout: interrupted; " << key << " is saved in " << ho.path
          << " and resumes when started again with the same spec\n";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  (*manager)->Stop();
  return code;
}

}  // namespace

int RunRollout(const std::vector<std::string>& args, std::istream&, std::ostream& out,
               std::ostream& err) {
  auto a = Args::Parse(args, kRolloutFlags);
  if (!a) {
    err << "augur rollout: " << a.error().message << "\n";
    return kExitBadInput;
  }
  if (a->help() || a->positional().empty()) {
    (a->help() ? out : err) << kUsage << FormatFlags(kRolloutFlags);
    return a->help() ? kExitOk : kExitBadInput;
  }
  CatchStopSignals();

  const std::string verb = a->positional()[0];
  std::string server = a->Get("server");
  if (server.empty()) {
    if (const char* env = std::getenv("AUGUR_SERVER"); env && *env) server = env;
  }
  std::string token;
  if (a->Has("token-file")) {
    bool ok = false;
    token = ReadFile(a->Get("token-file"), &ok);
    if (!ok) {
      err << "augur rollout: cannot read " << a->Get("token-file") << "\n";
      return kExitBadInput;
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  } else if (const char* env = std::getenv("AUGUR_TOKEN"); env && *env) {
    token = env;
  }
  Display display(out, a->Has("json"));

  if (verb == "start") {
    if (!a->Has("spec")) {
      err << "augur rollout start: --spec FILE is required\n";
      return kExitBadInput;
    }
    bool ok = false;
    const std::string text = ReadFile(a->Get("spec"), &ok);
    if (!ok) {
      err << "augur rollout start: cannot read " << a->Get("spec") << "\n";
      return kExitBadInput;
    }
    if (server.empty()) return StartLocal(*a, text, a->Get("spec"), out, err);
    Remote remote(server, token);
    auto s = remote.Submit(text);
    if (!s) return Report(s.error(), err);
    if (a->Has("no-watch")) {
      display.Show(*s);
      return kExitOk;
    }
    return Watch(remote, s->key, display, err);
  }

  if (server.empty()) server = "http://127.0.0.1:8080";
  Remote remote(server, token);
  if (verb == "status" || verb == "list") {
    if (a->positional().size() < 2) {
      auto all = remote.List();
      if (!all) return Report(all.error(), err);
      if (a->Has("json")) {
        out << contracts::RolloutListJson(*all) << "\n";
      } else {
        if (all->empty()) out << "no rollouts\n";
        for (const auto& s : *all) out << StatusLine(s) << "\n";
      }
      return kExitOk;
    }
    const std::string key = Key(a->positional()[1]);
    if (a->Has("watch")) return Watch(remote, key, display, err);
    auto s = remote.Get(key);
    if (!s) return Report(s.error(), err);
    if (a->Has("json")) {
      out << contracts::RolloutStatusJson(*s) << "\n";
    } else {
      out << StatusBlock(*s);
      for (const auto& e : s->events) out << "  " << e << "\n";
    }
    return kExitOk;
  }
  if (auto cmd = rollout::ParseCommand(verb); cmd) {
    if (a->positional().size() < 2) {
      err << "augur rollout " << verb << ": which rollout? (NAMESPACE/NAME)\n";
      return kExitBadInput;
    }
    auto s = remote.Command(Key(a->positional()[1]), verb, a->Get("reason"));
    if (!s) return Report(s.error(), err);
    out << StatusBlock(*s);
    return kExitOk;
  }
  err << "augur rollout: unknown subcommand '" << verb
      << "' (start, status, list, pause, resume, promote, abort, retry)\n";
  return kExitBadInput;
}

}  // namespace augur::cli
