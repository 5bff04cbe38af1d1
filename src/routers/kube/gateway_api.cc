// Gateway API router: the weights of the primary and canary backendRefs in an HTTPRoute
// (gateway.networking.k8s.io/v1). Every rule that routes to both services gets the weights, so
// a route prepared with several rules (e.g. A/B header matches plus a default rule) moves as
// one. A backendRef without a weight has weight 1 (the Gateway API default).
#include <memory>

#include "routers/kube/common.h"
#include "routers/providers.h"

namespace augur::routers::internal {
namespace {

using kube::json;

bool IsServiceRef(const json& ref, const std::string& name) {
  const std::string kind = kube::StringAt(ref, "kind");
  const std::string group = kube::StringAt(ref, "group");
  return kube::StringAt(ref, "name") == name && (kind.empty() || kind == "Service") &&
         group.empty();
}

class GatewayApiRouter : public TrafficRouter {
 public:
  explicit GatewayApiRouter(kube::Target t) : t_(std::move(t)), client_(t_.client) {}
  std::string name() const override { return "gateway-api"; }

  Status SetWeights(const Weights& w) override {
    if (auto st = ValidateWeights(w, "gateway-api"); !st) return st;
    if (w.mirror) {
      return InvalidArgument("gateway-api router: mirroring is not supported yet (use istio)");
    }
    return client_.Update(t_.resource, [&](const json& route) -> Result<std::optional<json>> {
      const json* rules = kube::ArrayAt(route, "spec", "rules");
      if (rules == nullptr) return BadData(t_.resource.Describe() + ": no spec.rules list");
      json edited = *rules;
      bool found = false, changed = false;
      for (json& rule : edited) {
        auto [p, c] = Find(rule);
        if (p == nullptr || c == nullptr) continue;
        found = true;
        changed |= kube::IntAt(*p, "weight", 1) != w.primary;
        changed |= kube::IntAt(*c, "weight", 1) != w.canary;
        (*p)["weight"] = w.primary;
        (*c)["weight"] = w.canary;
      }
      if (!found) return NoRule();
      if (!changed) return std::optional<json>{};
      return std::optional<json>{json{{"spec", {{"rules", std::move(edited)}}}}};
    });
  }

  Result<Weights> GetWeights() override {
    auto route = client_.Get(t_.resource);
    if (!route) return route.error();
    const json* rules = kube::ArrayAt(*route, "spec", "rules");
    if (rules == nullptr) return BadData(t_.resource.Describe() + ": no spec.rules list");
    for (const json& rule : *rules) {
      json copy = rule;
      auto [p, c] = Find(copy);
      if (p == nullptr || c == nullptr) continue;
      const long wp = kube::IntAt(*p, "weight", 1), wc = kube::IntAt(*c, "weight", 1);
      if (wp < 0 || wc < 0) {
        return BadData(t_.resource.Describe() +
                       ": backendRef weight is not an integer: " + rule.dump());
      }
      return WeightsFromShares(wp, wc, t_.resource.Describe());
    }
    return NoRule();
  }

 private:
  std::pair<json*, json*> Find(json& rule) const {
    json *p = nullptr, *c = nullptr;
    if (!rule.is_object() || !rule.contains("backendRefs") || !rule["backendRefs"].is_array()) {
      return {p, c};
    }
    for (json& ref : rule["backendRefs"]) {
      if (IsServiceRef(ref, t_.primary) && p == nullptr) p = &ref;
      if (IsServiceRef(ref, t_.canary) && c == nullptr) c = &ref;
    }
    return {p, c};
  }

  Error NoRule() const {
    return Error{ErrorCode::kNotFound, t_.resource.Describe() +
                                           ": no rule has backendRefs to both services '" +
                                           t_.primary + "' and '" + t_.canary + "'"};
  }

  kube::Target t_;
  kube::Client client_;
};

}  // namespace

Result<std::unique_ptr<TrafficRouter>> NewGatewayApiRouter(const RouterConfig& config) {
  Settings s(config);
  auto t = kube::ParseTarget(
      s, {"HTTPRoute", "/apis/gateway.networking.k8s.io/v1", "httproutes", "", ""}, "httpRoute",
      config.name, "primaryService", "canaryService");
  if (!t) return t.error();
  if (auto st = s.RejectUnknown(); !st) return st.error();
  return std::unique_ptr<TrafficRouter>(std::make_unique<GatewayApiRouter>(std::move(*t)));
}

}  // namespace augur::routers::internal
