// Istio router: VirtualService (networking.istio.io/v1beta1) http[].route[].weight for the
// destinations whose host is the primary's and the canary's, and http[].mirror +
// mirrorPercentage for mirroring. Every http entry routing to both hosts is changed, so an entry
// with A/B matches and the default entry move together. A host matches by its short name or any
// longer form of it ("podinfo-canary.test.svc.cluster.local" matches "podinfo-canary").
#include <memory>

#include "routers/kube/common.h"
#include "routers/providers.h"

namespace augur::routers::internal {
namespace {

using kube::json;

bool HostIs(const json& route, const std::string& host) {
  if (!route.is_object() || !route.contains("destination")) return false;
  const std::string h = kube::StringAt(route["destination"], "host");
  return h == host || h.rfind(host + ".", 0) == 0;
}

class IstioRouter : public TrafficRouter {
 public:
  IstioRouter(kube::Target t, int mirror_percent)
      : t_(std::move(t)), client_(t_.client), mirror_percent_(mirror_percent) {}
  std::string name() const override { return "istio"; }

  Status SetWeights(const Weights& w) override {
    if (auto st = ValidateWeights(w, "istio"); !st) return st;
    return client_.Update(t_.resource, [&](const json& vs) -> Result<std::optional<json>> {
      const json* http = kube::ArrayAt(vs, "spec", "http");
      if (http == nullptr) return BadData(t_.resource.Describe() + ": no spec.http list");
      json edited = *http;
      bool found = false;
      for (json& entry : edited) {
        auto [p, c] = Find(entry);
        if (p == nullptr || c == nullptr) continue;
        found = true;
        (*p)["weight"] = w.primary;
        (*c)["weight"] = w.canary;
        if (w.mirror) {
          // The canary route's destination keeps its port and subset.
          entry["mirror"] = (*c)["destination"];
          entry["mirrorPercentage"] = json{{"value", mirror_percent_}};
        } else {
          entry.erase("mirror");
          entry.erase("mirrorPercentage");
        }
      }
      if (!found) return NoEntry();
      if (edited == *http) return std::optional<json>{};
      return std::optional<json>{json{{"spec", {{"http", std::move(edited)}}}}};
    });
  }

  Result<Weights> GetWeights() override {
    auto vs = client_.Get(t_.resource);
    if (!vs) return vs.error();
    const json* http = kube::ArrayAt(*vs, "spec", "http");
    if (http == nullptr) return BadData(t_.resource.Describe() + ": no spec.http list");
    for (const json& entry : *http) {
      json copy = entry;
      auto [p, c] = Find(copy);
      if (p == nullptr || c == nullptr) continue;
      // Istio requires weights when a rule has several destinations; absent means 0.
      const long wp = kube::IntAt(*p, "weight", 0), wc = kube::IntAt(*c, "weight", 0);
      if (wp < 0 || wc < 0) {
        return BadData(t_.resource.Describe() +
                       ": route weight is not an integer: " + entry.dump());
      }
      auto w = WeightsFromShares(wp, wc, t_.resource.Describe());
      if (!w) return w;
      w->mirror =
          entry.contains("mirror") && HostIs(json{{"destination", entry["mirror"]}}, t_.canary);
      return w;
    }
    return NoEntry();
  }

 private:
  std::pair<json*, json*> Find(json& entry) const {
    json *p = nullptr, *c = nullptr;
    if (!entry.is_object() || !entry.contains("route") || !entry["route"].is_array()) {
      return {p, c};
    }
    for (json& route : entry["route"]) {
      if (HostIs(route, t_.primary) && p == nullptr) p = &route;
      if (HostIs(route, t_.canary) && c == nullptr) c = &route;
    }
    return {p, c};
  }

  Error NoEntry() const {
    return Error{ErrorCode::kNotFound, t_.resource.Describe() +
                                           ": no http entry routes to both hosts '" + t_.primary +
                                           "' and '" + t_.canary + "'"};
  }

  kube::Target t_;
  kube::Client client_;
  int mirror_percent_;
};

}  // namespace

Result<std::unique_ptr<TrafficRouter>> NewIstioRouter(const RouterConfig& config) {
  Settings s(config);
  auto t = kube::ParseTarget(
      s, {"VirtualService", "/apis/networking.istio.io/v1beta1", "virtualservices", "", ""},
      "virtualService", config.name, "primaryHost", "canaryHost");
  if (!t) return t.error();
  auto mirror = s.Int("mirrorPercent", 100, 1, 100);
  if (!mirror) return mirror.error();
  if (auto st = s.RejectUnknown(); !st) return st.error();
  return std::unique_ptr<TrafficRouter>(std::make_unique<IstioRouter>(std::move(*t), *mirror));
}

}  // namespace augur::routers::internal
