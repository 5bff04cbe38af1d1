// The persisted state of one rollout: plain data plus a stable string-map encoding, so a store
// can keep it (as JSON columns, key=value rows, ...) without this part knowing the format.
//
// Phases and counters mean what Flagger's Canary status means (shared/reference/flagger.md
// §1.5, §2.1); `canary_weight` is the weight the router must have (Flagger reads it back from
// the mesh; Augur's state is the truth and the router is made to match it).
//
// Thread-safety: plain value type; Encode/Decode are pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "augur/core/result.h"

namespace augur::rollout {

enum class Phase {
  kInitializing,      // new rollout; routing not taken over yet
  kInitialized,       // routing taken over (100% primary); the next tick asks confirm-rollout
  kWaiting,           // confirm-rollout refused; asked again every tick
  kProgressing,       // analysis running, traffic shifting
  kWaitingPromotion,  // confirm-promotion refused; analysis keeps running and counting
  kPromoting,         // primary runs the canary's spec; traffic moves back to primary
  kFinalising,        // 100% primary; the next tick finishes
  kSucceeded,         // terminal
  kFailed,            // terminal: rolled back, or a promotion whose primary never got ready
};

// Flagger's spelling ("Initializing", ..., "WaitingPromotion", "Finalising", ...).
const char* PhaseName(Phase p);
// Inverse of PhaseName. Errors: kInvalidArgument.
Result<Phase> ParsePhase(const std::string& name);
bool IsTerminal(Phase p);  // Succeeded or Failed

struct RolloutState {
  Phase phase = Phase::kInitializing;
  int canary_weight = 0;            // 0..100; the primary gets 100 - canary_weight
  bool mirror = false;              // traffic mirrored to the canary (Flagger's mirror step)
  int iterations = 0;               // A/B and blue/green iterations done
  int failed_checks = 0;            // cumulative for the run; never decremented (Flagger)
  bool pre_rollout_passed = false;  // pre-rollout hooks passed once in this run
  bool promoted = false;            // Workload::Promote returned OK for this run
  bool paused = false;              // operator Pause(); a paused rollout touches nothing
  int64_t run = 1;                  // bumped by Retry(); part of the webhook checksum
  int64_t run_started_ms = 0;       // when this run entered Progressing
  int64_t last_transition_ms = 0;   // when the phase last changed
  int64_t last_tick_ms = 0;         // last Tick that did something (schedules the next one)
  int64_t last_check_ms = 0;        // last analysis check (metrics) of this run
  int64_t stalled_since_ms = 0;     // first not-ready tick of the current stall; 0 = not stalled
  uint64_t version = 0;             // +1 per persisted change; usable for optimistic locking
  std::string message;              // why the last change happened, for humans

  bool operator==(const RolloutState&) const = default;
};

// A flat, stable encoding: lowerCamel keys ("phase", "canaryWeight", ...) plus "encoding" = "1".
std::map<std::string, std::string> Encode(const RolloutState& s);

// Inverse of Encode. Errors: kInvalidArgument naming the key on a missing, unknown or
// malformed field or an out-of-range value (weight outside 0..100, negative counters).
Result<RolloutState> Decode(const std::map<std::string, std::string>& fields);

}  // namespace augur::rollout
