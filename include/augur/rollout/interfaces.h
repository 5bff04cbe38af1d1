// What the rollout state machine needs from the outside world, as small injected interfaces:
// time, traffic weights, webhooks, workloads, notifications and the analysis check. The machine
// includes no source, router, store or server header; the composition root (app/) wires the
// real providers and tests wire recording fakes.
//
// Thread-safety: the machine calls these from the thread that calls Tick() or a command, one
// call at a time. An implementation shared between machines must be thread-safe itself.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/rollout/canary_spec.h"
#include "augur/rollout/state.h"
#include "augur/routers/router.h"

namespace augur::rollout {

// Milliseconds since the Unix epoch. The machine never reads the wall clock itself.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMs() const = 0;
};

// Traffic weights and the router interface are the routers part's (one interface, many
// providers); the machine needs only SetWeights/GetWeights and their idempotence.
using Weights = routers::Weights;
using Router = routers::TrafficRouter;

// What a webhook is told (Flagger's CanaryWebhookPayload plus the event fields of `event` hooks).
struct HookPayload {
  std::string name, namespace_;
  std::string phase;     // Flagger's phase name; post-rollout gets "Succeeded" or "Failed"
  std::string checksum;  // stable for one run: spec checksum + run number
  std::map<std::string, std::string> metadata;  // the hook's own metadata
  // `event` hooks only; the caller merges them into the sent metadata as Flagger does
  // (eventMessage, eventType, timestamp; the built-in keys win).
  std::string event_message, event_type;  // event_type: "Normal" or "Warning"
};

struct HookAnswer {
  bool ok = false;     // Flagger: HTTP 200..202. For a rollback hook, ok means "roll back now"
  std::string reason;  // response body or refusal reason, for messages
};

class Webhooks {
 public:
  virtual ~Webhooks() = default;
  // Calls one hook (POST hook.url with the payload, honouring timeout/retries). An error
  // (unreachable, timeout) is treated exactly like a refusal, as Flagger does, except that a
  // rollback hook that cannot be reached does not roll back.
  virtual Result<HookAnswer> Call(const HookSpec& hook, const HookPayload& payload) = 0;
};

// The workloads behind primary and canary (Flagger's Deployment handling). Optional: without
// one, both sides are always ready and Promote does nothing.
class Workload {
 public:
  virtual ~Workload() = default;
  // Whether each side has its replicas available. false or an error holds the tick; a stall
  // longer than progressDeadlineSeconds fails the rollout.
  virtual Result<bool> PrimaryReady() = 0;
  virtual Result<bool> CanaryReady() = 0;
  // Makes the primary run the canary's version (Flagger copies the pod spec). Idempotent: it is
  // re-sent after a restart that happened between persisting Promoting and its answer.
  virtual Status Promote() = 0;
};

enum class Severity { kInfo, kWarn, kError };
const char* SeverityName(Severity s);  // "info", "warn", "error"

struct Event {
  int64_t time_ms = 0;
  Severity severity = Severity::kInfo;
  Phase previous = Phase::kInitializing;
  RolloutState state;  // the committed state after the change
  std::string message;
};

// Told about every committed change (phase transitions, weight steps, failed checks, holds).
// Delivery is at most once: an event is emitted after its state was persisted and is lost if
// the process dies in between. Must not block for long.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Notify(const Event& e) = 0;
};

// One analysis check (metrics and/or model), run on every analysis tick.
enum class CheckVerdict { kPass, kFail, kInconclusive };
const char* CheckVerdictName(CheckVerdict v);  // "pass", "fail", "inconclusive"

// One metric's part in a check, for status displays ("success-rate", "pass", "0.998 >= 0.99").
struct CheckMetric {
  std::string name;
  std::string verdict;  // "pass", "fail", "inconclusive"
  std::string detail;   // the numbers behind it
};

struct CheckResult {
  CheckVerdict verdict = CheckVerdict::kInconclusive;
  std::string reason;
  std::vector<CheckMetric> metrics;  // optional detail; the machine reads only verdict/reason
};

// Valid only during the call.
struct CheckContext {
  const CanarySpec& spec;
  const RolloutState& state;  // before this tick
  int64_t now_ms;
  std::string checksum;
};

}  // namespace augur::rollout
