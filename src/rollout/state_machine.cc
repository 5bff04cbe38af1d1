#include "augur/rollout/state_machine.h"

#include <algorithm>
#include <utility>

namespace augur::rollout {
namespace {

bool InAnalysis(Phase p) { return p == Phase::kProgressing || p == Phase::kWaitingPromotion; }

// Promoting, Finalising and Succeeded all mean the primary runs the canary's version.
bool NeedsPromote(const RolloutState& s) {
  return !s.promoted && (s.phase == Phase::kPromoting || s.phase == Phase::kFinalising ||
                         s.phase == Phase::kSucceeded);
}

// A change worth an event: anything but the bookkeeping of a tick that only held.
bool Notable(const RolloutState& a, const RolloutState& b) {
  return a.phase != b.phase || a.canary_weight != b.canary_weight || a.mirror != b.mirror ||
         a.iterations != b.iterations || a.failed_checks != b.failed_checks ||
         a.paused != b.paused || a.run != b.run || a.message != b.message;
}

Status Conflict(const std::string& what, Phase p) {
  return Error{ErrorCode::kConflict, what + " is not possible in phase " + PhaseName(p)};
}

}  // namespace

StateMachine::StateMachine(CanarySpec spec, Dependencies deps, RolloutState state)
    : spec_(std::move(spec)), deps_(std::move(deps)), state_(std::move(state)) {}

Result<std::unique_ptr<StateMachine>> StateMachine::Create(CanarySpec spec, Dependencies deps,
                                                           RolloutState state) {
  if (!deps.clock) return InvalidArgument("rollout: a clock is required");
  if (!deps.router) return InvalidArgument("rollout: a router is required");
  if (!deps.persist) return InvalidArgument("rollout: a persist callback is required");
  if (!deps.check && !spec.skip_analysis)
    return InvalidArgument("rollout: an analysis check is required unless skipAnalysis is set");
  if (!deps.webhooks && !spec.analysis.webhooks.empty())
    return InvalidArgument("rollout: the spec declares webhooks but no webhook caller was given");
  if (state.canary_weight < 0 || state.canary_weight > 100 || state.iterations < 0 ||
      state.failed_checks < 0 || state.run < 1) {
    return InvalidArgument("rollout: the state has out-of-range counters");
  }
  if (spec.strategy == Strategy::kCanary && state.iterations != 0)
    return InvalidArgument("rollout: a canary-weights rollout has no iterations");
  return std::unique_ptr<StateMachine>(
      new StateMachine(std::move(spec), std::move(deps), std::move(state)));
}

Weights StateMachine::DesiredWeights() const {
  return Weights{100 - state_.canary_weight, state_.canary_weight, state_.mirror};
}

int64_t StateMachine::NextTickDueMs() const {
  return state_.last_tick_ms == 0 ? 0 : state_.last_tick_ms + spec_.analysis.interval_ms;
}

std::string StateMachine::Checksum() const {
  return spec_.checksum + "-" + std::to_string(state_.run);
}

HookPayload StateMachine::Payload(const HookSpec& hook, Phase phase) const {
  HookPayload p;
  p.name = spec_.name;
  p.namespace_ = spec_.namespace_;
  p.phase = PhaseName(phase);
  p.checksum = Checksum();
  p.metadata = hook.metadata;
  return p;
}

StateMachine::Gate StateMachine::RunGate(HookType type, Phase phase) {
  // Hooks run in spec order and the first refusal stops the gate, as in Flagger.
  for (const HookSpec& h : spec_.analysis.webhooks) {
    if (h.type != type) continue;
    auto a = deps_.webhooks->Call(h, Payload(h, phase));
    if (!a)
      return {false, std::string(HookTypeName(type)) + " hook " + h.name +
                         " failed: " + a.error().message};
    if (!a->ok) {
      return {false, std::string(HookTypeName(type)) + " hook " + h.name + " refused" +
                         (a->reason.empty() ? "" : ": " + a->reason)};
    }
  }
  return {true, ""};
}

std::string StateMachine::RollbackRequested(Phase phase) {
  for (const HookSpec& h : spec_.analysis.webhooks) {
    if (h.type != HookType::kRollback) continue;
    auto a = deps_.webhooks->Call(h, Payload(h, phase));
    // Only a clear yes rolls back: an unreachable rollback hook must not kill a healthy canary.
    if (a && a->ok) return h.name + (a->reason.empty() ? "" : ": " + a->reason);
  }
  return "";
}

void StateMachine::CallBestEffort(HookType type, const std::string& message, Severity severity) {
  if (!deps_.webhooks) return;
  for (const HookSpec& h : spec_.analysis.webhooks) {
    if (h.type != type) continue;
    HookPayload p = Payload(h, state_.phase);
    if (type == HookType::kEvent) {
      p.event_message = message;
      p.event_type = severity == Severity::kInfo ? "Normal" : "Warning";
    }
    (void)deps_.webhooks->Call(h, p);  // post-rollout and event answers are only logged
  }
}

Status StateMachine::Apply() {
  if (state_.phase == Phase::kInitializing) return {};  // routing not taken over yet
  const Weights want = DesiredWeights();
  if (!applied_) {
    // After a restart or a failed call: trust the router only if it already agrees.
    auto got = deps_.router->GetWeights();
    if (got && *got == want) applied_ = want;
  }
  if (!applied_ || *applied_ != want) {
    applied_.reset();
    if (auto st = deps_.router->SetWeights(want); !st) return st.error().WithContext("router");
    applied_ = want;
  }
  if (NeedsPromote(state_)) {
    if (deps_.workload) {
      if (auto st = deps_.workload->Promote(); !st) return st.error().WithContext("promote");
    }
    RolloutState next = state_;
    next.promoted = true;
    next.version = state_.version + 1;
    if (auto st = deps_.persist(next); !st) return st.error().WithContext("persist");
    state_ = std::move(next);
  }
  return {};
}

Status StateMachine::Commit(RolloutState next, Severity severity, bool finished) {
  const RolloutState prev = state_;
  const int64_t now = deps_.clock->NowMs();
  next.version = prev.version + 1;
  if (next.phase != prev.phase) next.last_transition_ms = now;
  if (auto st = deps_.persist(next); !st) return st.error().WithContext("persist");
  state_ = std::move(next);
  // The step is durable from here on; an apply error is retried by the next Tick's Reconcile.
  Status applied = Apply();
  if (finished) CallBestEffort(HookType::kPostRollout, state_.message, severity);
  if (Notable(prev, state_)) {
    if (deps_.notifier)
      deps_.notifier->Notify(Event{now, severity, prev.phase, state_, state_.message});
    CallBestEffort(HookType::kEvent, state_.message, severity);
  }
  return applied;
}

Status StateMachine::Reconcile() {
  if (applied_ && !NeedsPromote(state_)) return {};
  return Apply();
}

Status StateMachine::Tick() {
  if (state_.paused || spec_.suspend) return {};
  if (auto st = Reconcile(); !st) return st;
  if (IsTerminal(state_.phase)) return {};
  RolloutState next = state_;
  next.last_tick_ms = deps_.clock->NowMs();
  switch (state_.phase) {
    case Phase::kInitializing:
      next.phase = Phase::kInitialized;
      next.canary_weight = 0;
      next.mirror = false;
      next.message = "Initialization done: all traffic on the primary";
      return Commit(std::move(next), Severity::kInfo, false);
    case Phase::kInitialized:
    case Phase::kWaiting:
      return TickStart(std::move(next));
    default:
      return TickRun(std::move(next));
  }
}

Status StateMachine::TickStart(RolloutState next) {
  const Phase phase = state_.phase;
  if (phase == Phase::kWaiting) {
    // Flagger's confirm-rollout check returns before its rollback hooks while Waiting (#1432);
    // asking them first lets an operator cancel a release that waits for approval.
    if (std::string who = RollbackRequested(phase); !who.empty())
      return Rollback(std::move(next), Severity::kWarn, "Rolling back: rollback hook " + who);
  }
  if (Gate g = RunGate(HookType::kConfirmRollout, phase); !g.ok) {
    next.phase = Phase::kWaiting;
    next.message = "Halt advancement: waiting for approval: " + g.why;
    return Commit(std::move(next), Severity::kWarn, false);
  }
  next.phase = Phase::kProgressing;
  next.canary_weight = 0;
  next.mirror = false;
  next.iterations = 0;
  next.failed_checks = 0;
  next.pre_rollout_passed = false;
  next.promoted = false;
  next.stalled_since_ms = 0;
  next.last_check_ms = 0;
  next.run_started_ms = next.last_tick_ms;
  next.message = "New revision detected, progressing canary analysis";
  return Commit(std::move(next), Severity::kInfo, false);
}

Status StateMachine::TickRun(RolloutState next) {
  const Phase phase = state_.phase;
  const int64_t now = next.last_tick_ms;
  const AnalysisSpec& a = spec_.analysis;

  // Readiness (Flagger steps 4 and 8). Not ready holds the tick; a stall past the progress
  // deadline fails the run. skipAnalysis skips the primary's check, as Flagger does.
  if (deps_.workload) {
    std::string why;
    bool primary_stalled = false;
    if (!spec_.skip_analysis) {
      auto r = deps_.workload->PrimaryReady();
      if (!r || !*r) {
        why = r ? "primary not ready" : "primary readiness unknown: " + r.error().message;
        primary_stalled = true;
      }
    }
    if (why.empty()) {
      auto r = deps_.workload->CanaryReady();
      if (!r || !*r)
        why = r ? "canary not ready" : "canary readiness unknown: " + r.error().message;
    }
    if (!why.empty()) {
      if (next.stalled_since_ms == 0) next.stalled_since_ms = now;
      if (now - next.stalled_since_ms >= spec_.progress_deadline_ms) {
        const std::string msg = "progress deadline exceeded (" + why + " for " +
                                std::to_string((now - next.stalled_since_ms) / 1000) + "s)";
        if (primary_stalled && (phase == Phase::kPromoting || phase == Phase::kFinalising)) {
          // Flagger's handleFailedPromotion: the primary already runs the new spec and is
          // broken, so the canary (still the new version, but running) takes the traffic.
          next.phase = Phase::kFailed;
          next.canary_weight = 100;
          next.mirror = false;
          next.message = "Promotion failed: " + msg;
          return Commit(std::move(next), Severity::kError, true);
        }
        return Rollback(std::move(next), Severity::kError, "Rolling back: " + msg);
      }
      next.message = "Waiting: " + why;
      return Commit(std::move(next), Severity::kInfo, false);
    }
  }
  next.stalled_since_ms = 0;

  if (spec_.skip_analysis && phase == Phase::kProgressing) {
    next.canary_weight = 0;
    next.mirror = false;
    next.phase = Phase::kSucceeded;
    next.message = "Promotion completed! Canary analysis was skipped";
    return Commit(std::move(next), Severity::kInfo, true);
  }
  if (InAnalysis(phase)) {
    if (std::string who = RollbackRequested(phase); !who.empty())
      return Rollback(std::move(next), Severity::kWarn, "Rolling back: rollback hook " + who);
  }
  if (phase == Phase::kPromoting) {
    // Reconcile() has made sure Promote() was acknowledged before traffic moves back.
    const int step = a.step_weight_promotion;
    if (step == 0 || next.canary_weight <= step) {
      next.canary_weight = 0;
      next.mirror = false;
      next.phase = Phase::kFinalising;
      next.message = "Routing all traffic to primary";
    } else {
      next.canary_weight -= step;
      next.message = "Advance primary weight " + std::to_string(100 - next.canary_weight);
    }
    return Commit(std::move(next), Severity::kInfo, false);
  }
  if (phase == Phase::kFinalising) {
    next.phase = Phase::kSucceeded;
    next.message = "Promotion completed!";
    return Commit(std::move(next), Severity::kInfo, true);
  }
  // Only reachable with a persisted state written under a lower threshold.
  if (next.failed_checks >= a.threshold) {
    return Rollback(
        std::move(next), Severity::kError,
        "Rolling back: failed checks threshold reached " + std::to_string(next.failed_checks));
  }

  const bool no_exposure = next.canary_weight == 0 && next.iterations == 0 && !next.mirror;
  if (no_exposure) {
    // Nothing reaches the canary yet: pre-rollout hooks instead of metrics (Flagger step 13).
    if (!next.pre_rollout_passed) {
      if (Gate g = RunGate(HookType::kPreRollout, phase); !g.ok)
        return CountFailure(std::move(next), "Halt advancement: " + g.why);
      next.pre_rollout_passed = true;
    }
  } else {
    if (Gate g = RunGate(HookType::kRollout, phase); !g.ok)
      return CountFailure(std::move(next), "Halt advancement: " + g.why);
    const CheckResult r = deps_.check(CheckContext{spec_, state_, now, Checksum()});
    next.last_check_ms = now;
    // Inconclusive counts like a failure: Flagger fails a check on no data, NaN or a source
    // error (flagger.md §2.5), and a rollout must never advance on missing evidence.
    if (r.verdict != CheckVerdict::kPass) {
      return CountFailure(std::move(next), std::string("Halt advancement: analysis ") +
                                               CheckVerdictName(r.verdict) +
                                               (r.reason.empty() ? "" : ": " + r.reason));
    }
  }
  switch (spec_.strategy) {
    case Strategy::kABTesting:
      return StepAB(std::move(next));
    case Strategy::kBlueGreen:
      return StepBlueGreen(std::move(next));
    case Strategy::kCanary:
      break;
  }
  return StepCanary(std::move(next));
}

int StateMachine::NextWeight(int current) const {
  const AnalysisSpec& a = spec_.analysis;
  // Clamped to maxWeight: Flagger overshoots (max 50, step 20 -> 60) and promotes from there.
  if (a.step_weight > 0) return std::min(current + a.step_weight, a.max_weight);
  for (int w : a.step_weights) {
    if (w > current) return std::min(w, a.max_weight);
  }
  return a.max_weight;
}

Status StateMachine::StepCanary(RolloutState next) {
  const Phase phase = state_.phase;
  if (next.canary_weight < spec_.analysis.max_weight) {
    if (!next.mirror && phase == Phase::kProgressing) {
      if (Gate g = RunGate(HookType::kConfirmTrafficIncrease, phase); !g.ok) {
        next.message = "Halt advancement: waiting for approval of traffic increase: " + g.why;
        return Commit(std::move(next), Severity::kWarn, false);
      }
    }
    if (spec_.analysis.mirror && next.canary_weight == 0 && !next.mirror) {
      // One mirrored tick before the first real step (Flagger runCanary).
      next.mirror = true;
      next.message = "Starting traffic mirroring";
    } else {
      next.mirror = false;
      next.canary_weight = NextWeight(next.canary_weight);
      next.message = "Advance canary weight " + std::to_string(next.canary_weight);
    }
    return Commit(std::move(next), Severity::kInfo, false);
  }
  return EnterPromotion(std::move(next));
}

Status StateMachine::StepAB(RolloutState next) {
  const int n = spec_.analysis.iterations;
  if (next.iterations < n) {
    // The router applies 0/100 to the requests matching analysis.match only.
    next.canary_weight = 100;
    next.mirror = false;
    ++next.iterations;
    next.message =
        "Advance canary iteration " + std::to_string(next.iterations) + "/" + std::to_string(n);
    return Commit(std::move(next), Severity::kInfo, false);
  }
  return EnterPromotion(std::move(next));
}

Status StateMachine::StepBlueGreen(RolloutState next) {
  const int n = spec_.analysis.iterations;
  if (next.iterations < n) {
    if (spec_.analysis.mirror) next.mirror = true;
    ++next.iterations;
    next.message =
        "Advance canary iteration " + std::to_string(next.iterations) + "/" + std::to_string(n);
    return Commit(std::move(next), Severity::kInfo, false);
  }
  if (next.iterations == n) {
    // Flagger asks confirm-promotion before the switch and once more before promoting, after
    // one analysis under full live traffic.
    if (Gate g = RunGate(HookType::kConfirmPromotion, state_.phase); !g.ok)
      return HoldPromotion(std::move(next), g.why);
    next.canary_weight = 100;
    next.mirror = false;
    ++next.iterations;
    next.message = "Routing all traffic to canary";
    return Commit(std::move(next), Severity::kInfo, false);
  }
  return EnterPromotion(std::move(next));
}

Status StateMachine::EnterPromotion(RolloutState next) {
  if (Gate g = RunGate(HookType::kConfirmPromotion, state_.phase); !g.ok)
    return HoldPromotion(std::move(next), g.why);
  next.phase = Phase::kPromoting;
  next.promoted = false;
  next.mirror = false;
  next.message = "Copying canary spec to primary: promotion started";
  return Commit(std::move(next), Severity::kInfo, false);
}

Status StateMachine::HoldPromotion(RolloutState next, const std::string& why) {
  // Held without counting; the analysis keeps running each tick and failures still count.
  next.phase = Phase::kWaitingPromotion;
  next.message = "Halt advancement: waiting for approval to promote: " + why;
  return Commit(std::move(next), Severity::kWarn, false);
}

Status StateMachine::CountFailure(RolloutState next, const std::string& why) {
  ++next.failed_checks;
  if (next.failed_checks >= spec_.analysis.threshold) {
    // Flagger notices the threshold on the next tick; rolling back now spares the canary's
    // users one more interval of a version already judged bad.
    return Rollback(std::move(next), Severity::kError,
                    "Rolling back: failed checks threshold reached " +
                        std::to_string(next.failed_checks) + " (" + why + ")");
  }
  next.message = why + " (failed checks " + std::to_string(next.failed_checks) + "/" +
                 std::to_string(spec_.analysis.threshold) + ")";
  return Commit(std::move(next), Severity::kWarn, false);
}

Status StateMachine::Rollback(RolloutState next, Severity severity, const std::string& why) {
  next.phase = Phase::kFailed;
  next.canary_weight = 0;
  next.mirror = false;
  next.message = why;
  return Commit(std::move(next), severity, true);
}

Status StateMachine::Pause() {
  if (IsTerminal(state_.phase)) return Conflict("pause", state_.phase);
  if (state_.paused) return {};
  RolloutState next = state_;
  next.paused = true;
  next.message = "Paused by operator";
  return Commit(std::move(next), Severity::kWarn, false);
}

Status StateMachine::Resume() {
  if (!state_.paused) return {};
  RolloutState next = state_;
  next.paused = false;
  next.stalled_since_ms = 0;  // time spent paused is not a stall
  next.message = "Resumed by operator";
  return Commit(std::move(next), Severity::kInfo, false);
}

Status StateMachine::PromoteNow(const std::string& reason) {
  const Phase p = state_.phase;
  if (p != Phase::kInitialized && p != Phase::kWaiting && !InAnalysis(p))
    return Conflict("promote", p);
  RolloutState next = state_;
  next.phase = Phase::kPromoting;
  next.promoted = false;
  next.mirror = false;
  next.message = "Promotion forced by operator" + (reason.empty() ? "" : ": " + reason);
  return Commit(std::move(next), Severity::kWarn, false);
}

Status StateMachine::Abort(const std::string& reason) {
  const Phase p = state_.phase;
  // Once Promote() ran the primary holds the new version; routing back would not undo it.
  if (IsTerminal(p) || p == Phase::kPromoting || p == Phase::kFinalising)
    return Conflict("abort", p);
  return Rollback(state_, Severity::kWarn,
                  "Rolling back: aborted by operator" + (reason.empty() ? "" : ": " + reason));
}

Status StateMachine::Retry() {
  if (state_.phase != Phase::kFailed) return Conflict("retry", state_.phase);
  RolloutState next;
  next.phase = Phase::kInitialized;
  next.run = state_.run + 1;
  next.version = state_.version;
  next.last_transition_ms = state_.last_transition_ms;
  next.last_tick_ms = state_.last_tick_ms;
  next.message = "Retry: run " + std::to_string(next.run);
  return Commit(std::move(next), Severity::kInfo, false);
}

}  // namespace augur::rollout
