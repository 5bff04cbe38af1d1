#include <memory>

#include "augur/routers/recording.h"
#include "routers/providers.h"
#include "routers/settings.h"

namespace augur::routers {

Status RecordingRouter::SetWeights(const Weights& w) {
  if (auto st = internal::ValidateWeights(w, "recording"); !st) return st;
  current_ = w;
  history_.push_back(w);
  return {};
}

namespace internal {

// Settings: `canary` (initial canary percent, default 0) so a dry run can start mid-rollout.
Result<std::unique_ptr<TrafficRouter>> NewRecordingRouter(const RouterConfig& config) {
  Settings s(config);
  auto canary = s.Int("canary", 0, 0, 100);
  if (auto st = s.RejectUnknown(); !st) return st.error();
  if (!canary) return canary.error();
  return std::unique_ptr<TrafficRouter>(
      std::make_unique<RecordingRouter>(Weights{100 - *canary, *canary, false}));
}

}  // namespace internal
}  // namespace augur::routers
