#include "cli/commands.h"

#include <atomic>
#include <csignal>
#include <ostream>

#include "cli/args.h"

namespace augur::cli {

namespace {
std::atomic<bool> g_stop_requested{false};
void OnStopSignal(int) { g_stop_requested = true; }
}  // namespace

void CatchStopSignals() {
  g_stop_requested = false;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool StopRequested() { return g_stop_requested; }

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = {
      {"stats",
       "two-sample tests on JSON samples: mann-whitney (with Hodges-Lehmann), welch-t, "
       "ks, effect-size, describe",
       &RunStats},
      {"judge", "judge canary against baseline series with an analysis model (Augur or Kayenta)",
       &RunJudge},
      {"query", "run a Prometheus range query, raw or from a provider template for both sides",
       &RunQuery},
      {"scrape", "fetch and parse a Prometheus exposition page (text or OpenMetrics)", &RunScrape},
      {"serve",
       "run the judge daemon: Flagger webhooks, Argo web provider, Kayenta remote judge, "
       "native API",
       &RunServe},
      {"rollout", "start, watch and steer standalone rollouts (canary, A/B, blue/green)",
       &RunRollout},
      {"demo",
       "a real rollout on this machine: demo services, HAProxy, a healthy and a faulty canary",
       &RunDemo},
      {"record", "fetch a past release's primary and canary series into a replay archive",
       &RunRecord},
      {"generate", "generate labelled synthetic releases (seeded) for replay and benchmarks",
       &RunGenerate},
      {"replay", "replay archived releases as if live: verdict timelines, confusion matrix, sweeps",
       &RunReplay},
  };
  return kCommands;
}

namespace {
void PrintUsage(std::ostream& out) {
  out << "usage: augur <command> [flags]\n\n"
         "Augur judges canary releases against their baseline.\n\ncommands:\n";
  for (const auto& c : Commands()) {
    std::string name = c.name;
    out << "  " << name << std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') << c.summary
        << "\n";
  }
  out << "\nglobal flags:\n  --help     show help (also: augur <command> --help)\n"
         "  --version  print the version\n\nexit codes: 0 ok, 1 failure, 2 bad input or flags\n";
}
}  // namespace

int RunAugur(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
             std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintUsage(args.empty() ? err : out);
    return args.empty() ? kExitBadInput : kExitOk;
  }
  if (args[0] == "--version") {
    out << "augur " << AUGUR_VERSION << "\n";
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const auto& c : Commands()) {
    if (args[0] == c.name) return c.run({args.begin() + 1, args.end()}, in, out, err);
    names.push_back(c.name);
  }
  err << "augur: unknown command '" << args[0] << "'";
  if (auto s = DidYouMean(args[0], names)) err << "; did you mean '" << *s << "'?";
  err << " (see augur --help)\n";
  return kExitBadInput;
}

}  // namespace augur::cli
