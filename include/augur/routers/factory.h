// Building a TrafficRouter from a rollout's router block (`spec.augur.router`).
//
// Providers: "haproxy" (runtime API), "gateway-api" (HTTPRoute), "istio" (VirtualService),
// "smi" (TrafficSplit), "nginx" (ingress-nginx canary annotations), "recording" (in memory).
// Each validates its own settings; the README's "Traffic routers" section lists them.
//
// Thread-safety: both functions are pure and may be called from any thread.
// Ownership: the caller owns the returned router.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/routers/router.h"

namespace augur::routers {

// A router for `config`, or kInvalidArgument whose message names the field and value at fault
// ("router.haproxy.backend: required"; for an unknown kind, the known kinds and the closest
// one). Creating a router contacts nothing: the first SetWeights/GetWeights does.
Result<std::unique_ptr<TrafficRouter>> NewRouter(const RouterConfig& config);

// The known kinds, sorted.
std::vector<std::string> RouterKinds();

}  // namespace augur::routers
