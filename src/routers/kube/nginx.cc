// NGINX router: ingress-nginx canary annotations on the canary Ingress
// (networking.k8s.io/v1, default name "<name>-canary", beside the primary's Ingress as Flagger
// lays them out). Annotations are a map, which a merge patch updates key by key, so no GET or
// resourceVersion is needed. canary-weight-total is written as "100" with each weight so the
// weight is a percentage whatever the Ingress said before.
#include <cstdlib>
#include <memory>

#include "routers/kube/common.h"
#include "routers/providers.h"

namespace augur::routers::internal {
namespace {

using kube::json;

constexpr char kCanary[] = "nginx.ingress.kubernetes.io/canary";
constexpr char kWeight[] = "nginx.ingress.kubernetes.io/canary-weight";
constexpr char kTotal[] = "nginx.ingress.kubernetes.io/canary-weight-total";

class NginxRouter : public TrafficRouter {
 public:
  explicit NginxRouter(kube::Target t) : t_(std::move(t)), client_(t_.client) {}
  std::string name() const override { return "nginx"; }

  Status SetWeights(const Weights& w) override {
    if (auto st = ValidateWeights(w, "nginx"); !st) return st;
    if (w.mirror) {
      return InvalidArgument("nginx router: canary annotations cannot mirror traffic");
    }
    const json patch = {
        {"metadata",
         {{"annotations",
           {{kCanary, "true"}, {kWeight, std::to_string(w.canary)}, {kTotal, "100"}}}}}};
    return client_.MergePatch(t_.resource, patch);
  }

  Result<Weights> GetWeights() override {
    auto ingress = client_.Get(t_.resource);
    if (!ingress) return ingress.error();
    json annotations = json::object();
    if (ingress->contains("metadata") && (*ingress)["metadata"].contains("annotations")) {
      annotations = (*ingress)["metadata"]["annotations"];
    }
    // Without canary: "true" the controller ignores the canary Ingress altogether.
    if (kube::StringAt(annotations, kCanary) != "true") return Weights{100, 0, false};
    auto number = [&](const char* key, long fallback) -> Result<long> {
      const std::string v = kube::StringAt(annotations, key);
      if (v.empty()) return fallback;
      char* end = nullptr;
      const long n = std::strtol(v.c_str(), &end, 10);
      if (*end != '\0' || n < 0) {
        return BadData(t_.resource.Describe() + ": annotation " + key + " is '" + v + "'");
      }
      return n;
    };
    auto weight = number(kWeight, 0);
    if (!weight) return weight.error();
    auto total = number(kTotal, 100);
    if (!total) return total.error();
    if (*total == 0 || *weight > *total) {
      return BadData(t_.resource.Describe() + ": canary-weight " + std::to_string(*weight) +
                     " of canary-weight-total " + std::to_string(*total));
    }
    return WeightsFromShares(*total - *weight, *weight, t_.resource.Describe());
  }

 private:
  kube::Target t_;
  kube::Client client_;
};

}  // namespace

Result<std::unique_ptr<TrafficRouter>> NewNginxRouter(const RouterConfig& config) {
  Settings s(config);
  auto t = kube::ParseTarget(s, {"Ingress", "/apis/networking.k8s.io/v1", "ingresses", "", ""},
                             "canaryIngress", config.name.empty() ? "" : config.name + "-canary",
                             "", "");
  if (!t) return t.error();
  if (auto st = s.RejectUnknown(); !st) return st.error();
  return std::unique_ptr<TrafficRouter>(std::make_unique<NginxRouter>(std::move(*t)));
}

}  // namespace augur::routers::internal
