#include "augur/rollout/state.h"

#include <charconv>
#include <set>

#include "augur/rollout/interfaces.h"

namespace augur::rollout {
namespace {

constexpr std::pair<Phase, const char*> kPhases[] = {
    {Phase::kInitializing, "Initializing"},
    {Phase::kInitialized, "Initialized"},
    {Phase::kWaiting, "Waiting"},
    {Phase::kProgressing, "Progressing"},
    {Phase::kWaitingPromotion, "WaitingPromotion"},
    {Phase::kPromoting, "Promoting"},
    {Phase::kFinalising, "Finalising"},
    {Phase::kSucceeded, "Succeeded"},
    {Phase::kFailed, "Failed"},
};

// Bumped only with a migration in Decode; a store may hold states written by older versions.
constexpr const char* kEncoding = "1";

template <typename T>
Status ReadInt(const std::map<std::string, std::string>& f, const char* key, T* out, T lo, T hi) {
  auto it = f.find(key);
  if (it == f.end()) return InvalidArgument(std::string(key) + ": missing");
  const std::string& s = it->second;
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return InvalidArgument(std::string(key) + ": not an integer: '" + s + "'");
  }
  if (v < lo || v > hi) {
    return InvalidArgument(std::string(key) + ": " + s + " is out of range [" + std::to_string(lo) +
                           ", " + std::to_string(hi) + "]");
  }
  *out = v;
  return {};
}

Status ReadBool(const std::map<std::string, std::string>& f, const char* key, bool* out) {
  auto it = f.find(key);
  if (it == f.end()) return InvalidArgument(std::string(key) + ": missing");
  if (it->second != "true" && it->second != "false") {
    return InvalidArgument(std::string(key) + ": must be true or false, got '" + it->second + "'");
  }
  *out = it->second == "true";
  return {};
}

}  // namespace

const char* PhaseName(Phase p) {
  for (const auto& [v, name] : kPhases)
    if (v == p) return name;
  return "Unknown";
}

Result<Phase> ParsePhase(const std::string& name) {
  for (const auto& [v, n] : kPhases)
    if (name == n) return v;
  return InvalidArgument("unknown phase '" + name + "'");
}

bool IsTerminal(Phase p) { return p == Phase::kSucceeded || p == Phase::kFailed; }

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarn:
      return "warn";
    case Severity::kError:
      return "error";
  }
  return "info";
}

const char* CheckVerdictName(CheckVerdict v) {
  switch (v) {
    case CheckVerdict::kPass:
      return "pass";
    case CheckVerdict::kFail:
      return "fail";
    case CheckVerdict::kInconclusive:
      return "inconclusive";
  }
  return "inconclusive";
}

std::map<std::string, std::string> Encode(const RolloutState& s) {
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  return {
      {"encoding", kEncoding},
      {"phase", PhaseName(s.phase)},
      {"canaryWeight", std::to_string(s.canary_weight)},
      {"mirror", b(s.mirror)},
      {"iterations", std::to_string(s.iterations)},
      {"failedChecks", std::to_string(s.failed_checks)},
      {"preRolloutPassed", b(s.pre_rollout_passed)},
      {"promoted", b(s.promoted)},
      {"paused", b(s.paused)},
      {"run", std::to_string(s.run)},
      {"runStartedMs", std::to_string(s.run_started_ms)},
      {"lastTransitionMs", std::to_string(s.last_transition_ms)},
      {"lastTickMs", std::to_string(s.last_tick_ms)},
      {"lastCheckMs", std::to_string(s.last_check_ms)},
      {"stalledSinceMs", std::to_string(s.stalled_since_ms)},
      {"version", std::to_string(s.version)},
      {"message", s.message},
  };
}

Result<RolloutState> Decode(const std::map<std::string, std::string>& f) {
  static const std::set<std::string> kKeys = {
      "encoding",   "phase",        "canaryWeight",     "mirror",
      "iterations", "failedChecks", "preRolloutPassed", "promoted",
      "paused",     "run",          "runStartedMs",     "lastTransitionMs",
      "lastTickMs", "lastCheckMs",  "stalledSinceMs",   "version",
      "message"};
  for (const auto& [k, v] : f) {
    if (!kKeys.count(k)) return InvalidArgument("rollout state: unknown key '" + k + "'");
  }
  auto fail = [](const Error& e) { return e.WithContext("rollout state"); };
  auto enc = f.find("encoding");
  if (enc == f.end() || enc->second != kEncoding) {
    return InvalidArgument(std::string("rollout state: encoding: expected '") + kEncoding + "'");
  }
  RolloutState s;
  auto ph = f.find("phase");
  if (ph == f.end()) return InvalidArgument("rollout state: phase: missing");
  auto phase = ParsePhase(ph->second);
  if (!phase) return fail(phase.error().WithContext("phase"));
  s.phase = *phase;
  constexpr int64_t kMaxMs = int64_t{1} << 53;  // beyond any real clock; exact in JSON
  constexpr int kMaxCount = 1 << 30;
  // Braced initialisers evaluate left to right, so the first bad key is the one reported.
  for (const Status& st : {
           ReadInt(f, "canaryWeight", &s.canary_weight, 0, 100),
           ReadInt(f, "iterations", &s.iterations, 0, kMaxCount),
           ReadInt(f, "failedChecks", &s.failed_checks, 0, kMaxCount),
           ReadInt(f, "run", &s.run, int64_t{1}, kMaxMs),
           ReadInt(f, "runStartedMs", &s.run_started_ms, int64_t{0}, kMaxMs),
           ReadInt(f, "lastTransitionMs", &s.last_transition_ms, int64_t{0}, kMaxMs),
           ReadInt(f, "lastTickMs", &s.last_tick_ms, int64_t{0}, kMaxMs),
           ReadInt(f, "lastCheckMs", &s.last_check_ms, int64_t{0}, kMaxMs),
           ReadInt(f, "stalledSinceMs", &s.stalled_since_ms, int64_t{0}, kMaxMs),
           ReadInt(f, "version", &s.version, uint64_t{0}, uint64_t{kMaxMs}),
           ReadBool(f, "mirror", &s.mirror),
           ReadBool(f, "preRolloutPassed", &s.pre_rollout_passed),
           ReadBool(f, "promoted", &s.promoted),
           ReadBool(f, "paused", &s.paused),
       }) {
    if (!st) return fail(st.error());
  }
  auto msg = f.find("message");
  if (msg == f.end()) return InvalidArgument("rollout state: message: missing");
  s.message = msg->second;
  return s;
}

}  // namespace augur::rollout
