// The router replay runs the state machine with: it holds the weights in memory and records
// every change with the simulated time. (The routers part's own recording router serves dry
// runs in the daemon; replay keeps this one so it depends only on routers/router.h.)
//
// Thread-safety: one replay, one thread, as every TrafficRouter.
#pragma once

#include <vector>

#include "augur/replay/replay.h"
#include "augur/routers/router.h"

namespace augur::replay {

class RecordingRouter : public routers::TrafficRouter {
 public:
  // `log` may be null (nothing recorded); both pointers must outlive the router.
  RecordingRouter(const rollout::Clock* clock, std::vector<WeightChange>* log)
      : clock_(clock), log_(log) {}

  std::string name() const override { return "replay-recording"; }
  Status SetWeights(const routers::Weights& w) override {
    if (w.primary < 0 || w.canary < 0 || w.primary + w.canary != 100) {
      return InvalidArgument("weights must be non-negative and add up to 100");
    }
    weights_ = w;
    if (log_) log_->push_back({clock_->NowMs(), w.canary});
    return {};
  }
  Result<routers::Weights> GetWeights() override { return weights_; }

 private:
  const rollout::Clock* clock_;
  std::vector<WeightChange>* log_;
  routers::Weights weights_;
};

}  // namespace augur::replay
