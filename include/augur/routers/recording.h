// RecordingRouter: a TrafficRouter that moves no traffic. It keeps the weights in memory and
// records every accepted SetWeights call, for dry runs ("what would the rollout have done")
// and for replay, which runs the real state machine against archived releases.
//
// Thread-safety: like every router, one thread at a time (history() included).
// Ownership: plain value; NewRouter({.kind = "recording"}) returns one behind TrafficRouter.
#pragma once

#include <vector>

#include "augur/routers/router.h"

namespace augur::routers {

class RecordingRouter : public TrafficRouter {
 public:
  explicit RecordingRouter(Weights initial = {}) : current_(initial) {}

  std::string name() const override { return "recording"; }
  // kInvalidArgument for weights that are not percentages adding up to 100; otherwise
  // records them (repeated identical calls are recorded too: replay counts calls).
  Status SetWeights(const Weights& w) override;
  Result<Weights> GetWeights() override { return current_; }

  // Every accepted SetWeights call, oldest first (the initial weights are not included).
  const std::vector<Weights>& history() const { return history_; }

 private:
  Weights current_;
  std::vector<Weights> history_;
};

}  // namespace augur::routers
