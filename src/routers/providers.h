// The factory of each router provider; only factory.cc calls them. Each validates its own
// settings block and names the field and value at fault.
#pragma once

#include <memory>

#include "augur/core/result.h"
#include "augur/routers/router.h"

namespace augur::routers::internal {

Result<std::unique_ptr<TrafficRouter>> NewHaproxyRouter(const RouterConfig& config);
Result<std::unique_ptr<TrafficRouter>> NewGatewayApiRouter(const RouterConfig& config);
Result<std::unique_ptr<TrafficRouter>> NewIstioRouter(const RouterConfig& config);
Result<std::unique_ptr<TrafficRouter>> NewSmiRouter(const RouterConfig& config);
Result<std::unique_ptr<TrafficRouter>> NewNginxRouter(const RouterConfig& config);
Result<std::unique_ptr<TrafficRouter>> NewRecordingRouter(const RouterConfig& config);

}  // namespace augur::routers::internal
