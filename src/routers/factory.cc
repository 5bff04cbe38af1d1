#include "augur/routers/factory.h"

#include <algorithm>

#include "routers/providers.h"
#include "routers/settings.h"

namespace augur::routers {
namespace {

using FactoryFn = Result<std::unique_ptr<TrafficRouter>> (*)(const RouterConfig&);

struct Kind {
  const char* name;
  FactoryFn create;
};

// Sorted by name; RouterKinds() relies on it.
constexpr Kind kKinds[] = {
    {"gateway-api", internal::NewGatewayApiRouter},
    {"haproxy", internal::NewHaproxyRouter},
    {"istio", internal::NewIstioRouter},
    {"nginx", internal::NewNginxRouter},
    {"recording", internal::NewRecordingRouter},
    {"smi", internal::NewSmiRouter},
};

}  // namespace

std::vector<std::string> RouterKinds() {
  std::vector<std::string> out;
  for (const auto& k : kKinds) out.emplace_back(k.name);
  return out;
}

Result<std::unique_ptr<TrafficRouter>> NewRouter(const RouterConfig& config) {
  for (const auto& k : kKinds) {
    if (config.kind == k.name) return k.create(config);
  }
  const auto kinds = RouterKinds();
  std::string known;
  for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
  std::string msg = config.kind.empty() ? "router.kind: required"
                                        : "router.kind: unknown router '" + config.kind + "'";
  msg += " (known: " + known + ")";
  if (auto s = internal::DidYouMean(config.kind, kinds); s && !config.kind.empty()) {
    msg += "; did you mean '" + *s + "'?";
  }
  return InvalidArgument(msg);
}

}  // namespace augur::routers
