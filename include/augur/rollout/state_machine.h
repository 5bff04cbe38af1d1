// The rollout state machine: Flagger's advanceCanary (shared/reference/flagger.md §2), pure and
// deterministic, with every side effect behind the injected interfaces of interfaces.h.
//
// One Tick() is one step of Flagger's loop, in Flagger's order: Initializing -> Initialized ->
// confirm-rollout (refused: Waiting) -> Progressing, whose first tick runs only the pre-rollout
// hooks and sets the first weight; each later tick runs rollout hooks and the analysis check,
// then (canary strategy) confirm-traffic-increase and the next weight; at maxWeight (or after
// the last iteration) confirm-promotion (refused: WaitingPromotion) -> Promoting (traffic back
// to primary, by stepWeightPromotion if set) -> Finalising -> Succeeded. A failed or
// inconclusive check adds one to the cumulative failedChecks; reaching threshold rolls back
// (100/0, Failed). Post-rollout hooks run after Succeeded or Failed.
//
// Deliberate differences from Flagger, each a documented trap there:
//  - Inconclusive (no data, source down) counts as a failed check, as Flagger's NaN/error does:
//    no data never passes.
//  - No overshoot: the next weight is clamped to maxWeight (Flagger: max 50, step 20 gives
//    20, 40, 60); confirm-traffic-increase is asked only when the weight will increase.
//  - Rollback hooks are also asked while Waiting (Flagger never reaches them there, #1432).
//  - The tick whose failure reaches threshold rolls back at once (Flagger waits a tick).
//  - Pre-rollout hooks run until they pass once per run; a tick held at weight 0 afterwards
//    runs no analysis (nothing reaches the canary) instead of re-running them.
//  - WaitingPromotion keeps iterations (Flagger rewinds to N-1 and asks every other tick);
//    failedChecks survives a rollback (Flagger zeroes it) so the status explains the failure.
//  - stepWeights: the next rung is the first above the current weight (Flagger jumps to 100
//    when the current weight is not a rung).
// The progress deadline measures how long the workload stays not ready (Flagger's meaning);
// gates never time out, as in Flagger.
//
// Durability: every change is computed first, handed to `persist`, and only then applied to the
// router and workload (write-ahead). Constructing a machine from a persisted state continues
// exactly there: the first Tick (or command) compares the router's weights with the state's and
// re-sends them if a crash came between persisting and applying, and re-sends Promote() when
// the state says Promoting but not promoted. Webhooks run before the persist and may repeat
// after a crash (at least once); post-rollout hooks and notifications run after it (at most
// once).
//
// Thread-safety: not thread-safe; one owner calls Tick() and the commands serially.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "augur/core/result.h"
#include "augur/rollout/canary_spec.h"
#include "augur/rollout/interfaces.h"
#include "augur/rollout/state.h"

namespace augur::rollout {

struct Dependencies {
  const Clock* clock = nullptr;                           // required
  Router* router = nullptr;                               // required
  std::function<Status(const RolloutState&)> persist;     // required; an error aborts the step
  std::function<CheckResult(const CheckContext&)> check;  // required unless skipAnalysis
  Webhooks* webhooks = nullptr;  // required when the spec declares webhooks
  Workload* workload = nullptr;  // optional: always ready, Promote is a no-op
  Notifier* notifier = nullptr;  // optional
};

class StateMachine {
 public:
  // `state` is a fresh RolloutState{} for a new rollout, or a Decode()d persisted one to resume.
  // The pointers in `deps` must outlive the machine. Errors: kInvalidArgument on a missing
  // dependency, or counters out of range / iterations on a canary-weights rollout.
  static Result<std::unique_ptr<StateMachine>> Create(CanarySpec spec, Dependencies deps,
                                                      RolloutState state = {});

  // Advances one step; the caller schedules it (normally when the clock reaches
  // NextTickDueMs()). First finishes a pending reconciliation (after a restart or a failed
  // router/Promote call), and holds (no step) if that fails. Does nothing at all while paused
  // or suspended (spec.suspend); once terminal it only reconciles. Errors: the persist error
  // (nothing changed), or a router/workload error, after the step was persisted (re-applied on
  // the next call).
  Status Tick();

  // Operator commands; each is one persisted step. Errors: kConflict when the phase forbids it.
  Status Pause();                                // any non-terminal phase
  Status Resume();                               // clears a pause; a stall restarts its deadline
  Status PromoteNow(const std::string& reason);  // skip analysis and gates -> Promoting
  Status Abort(const std::string& reason);       // roll back; not once promotion has begun
  Status Retry();  // Failed -> Initialized with fresh counters and run + 1

  const RolloutState& state() const { return state_; }
  const CanarySpec& spec() const { return spec_; }
  Weights DesiredWeights() const;  // the weights state() asks the router for
  int64_t NextTickDueMs() const;   // last_tick_ms + interval (0 before the first tick)
  std::string Checksum() const;    // the webhook checksum of this run

 private:
  struct Gate {
    bool ok;
    std::string why;  // which hook refused and its answer
  };

  StateMachine(CanarySpec spec, Dependencies deps, RolloutState state);

  // Phase handlers; each ends in exactly one Commit (or none when nothing may change).
  Status TickStart(RolloutState next);
  Status TickRun(RolloutState next);
  Status StepCanary(RolloutState next);
  Status StepAB(RolloutState next);
  Status StepBlueGreen(RolloutState next);
  Status EnterPromotion(RolloutState next);
  Status HoldPromotion(RolloutState next, const std::string& why);
  Status CountFailure(RolloutState next, const std::string& why);
  Status Rollback(RolloutState next, Severity severity, const std::string& why);
  int NextWeight(int current) const;

  Gate RunGate(HookType type, Phase phase);
  std::string RollbackRequested(Phase phase);  // the hook that said yes, or empty
  void CallBestEffort(HookType type, const std::string& message, Severity severity);
  HookPayload Payload(const HookSpec& hook, Phase phase) const;

  // Persists `next`, then applies it (router, Promote), runs post-rollout hooks when `finished`
  // and emits the event.
  Status Commit(RolloutState next, Severity severity, bool finished);
  Status Apply();      // makes router and workload match state_
  Status Reconcile();  // Apply() if a restart or failure left them unknown

  CanarySpec spec_;
  Dependencies deps_;
  RolloutState state_;
  std::optional<Weights> applied_;  // what the router is known to hold; unknown after restart
};

}  // namespace augur::rollout
