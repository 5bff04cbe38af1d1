// TrafficRouter: the one interface through which Augur moves traffic between the primary and
// the canary (Envoy-style: one interface, many providers). Providers: the HAProxy runtime API,
// Kubernetes Gateway API HTTPRoute, Istio VirtualService, SMI TrafficSplit, NGINX ingress canary
// annotations, and a recording router for dry runs and replay. The router knows nothing of
// rollouts; the rollout state machine only sees this header.
//
// Thread-safety: one router serves one rollout and is called from one thread at a time.
// Ownership: NewRouter returns a unique_ptr the caller owns.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "augur/core/result.h"

namespace augur::routers {

// Absolute weights in percent (primary + canary = 100). For A/B testing they apply only to the
// requests that match the rollout's match rules (the router is built with them).
struct Weights {
  int primary = 100;
  int canary = 0;
  bool mirror = false;  // also copy primary's traffic to the canary (responses discarded)
  bool operator==(const Weights&) const = default;
};

class TrafficRouter {
 public:
  virtual ~TrafficRouter() = default;
  virtual std::string name() const = 0;  // provider name, e.g. "haproxy"
  // Sets absolute weights. Idempotent: the state machine re-sends the persisted weights after a
  // restart or a failed call. Errors: kInvalidArgument (weights the provider cannot express),
  // kUnavailable / kDeadlineExceeded (retried next tick), kPermissionDenied or kBadData when
  // the backend refuses or answers something unreadable (the message quotes its answer).
  virtual Status SetWeights(const Weights& w) = 0;
  // The weights in force now, read back from the backend (not a cached copy).
  virtual Result<Weights> GetWeights() = 0;
};

// A provider block as written in a rollout spec (`spec.augur.router`): the kind and its settings
// flattened to dotted keys ("backend", "socket", "kubernetes.server", "match[0].headers.x").
struct RouterConfig {
  std::string kind;  // "haproxy", "gateway-api", "istio", "smi", "nginx", "recording"
  std::map<std::string, std::string> settings;
  // The rollout's target, for defaults such as resource names ("<name>-canary").
  std::string name, namespace_ = "default";
};

}  // namespace augur::routers
