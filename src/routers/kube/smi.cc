// SMI router: TrafficSplit (split.smi-spec.io/v1alpha2) spec.backends[].weight for the primary
// and canary services. Other backends in the split are left as they are.
#include <memory>

#include "routers/kube/common.h"
#include "routers/providers.h"

namespace augur::routers::internal {
namespace {

using kube::json;

class SmiRouter : public TrafficRouter {
 public:
  explicit SmiRouter(kube::Target t) : t_(std::move(t)), client_(t_.client) {}
  std::string name() const override { return "smi"; }

  Status SetWeights(const Weights& w) override {
    if (auto st = ValidateWeights(w, "smi"); !st) return st;
    if (w.mirror) return InvalidArgument("smi router: SMI TrafficSplit cannot mirror traffic");
    return client_.Update(t_.resource, [&](const json& split) -> Result<std::optional<json>> {
      const json* backends = kube::ArrayAt(split, "spec", "backends");
      if (backends == nullptr) return BadData(t_.resource.Describe() + ": no spec.backends list");
      json edited = *backends;
      auto [p, c] = Find(edited);
      if (p == nullptr || c == nullptr) return Missing();
      (*p)["weight"] = w.primary;
      (*c)["weight"] = w.canary;
      if (edited == *backends) return std::optional<json>{};
      return std::optional<json>{json{{"spec", {{"backends", std::move(edited)}}}}};
    });
  }

  Result<Weights> GetWeights() override {
    auto split = client_.Get(t_.resource);
    if (!split) return split.error();
    const json* backends = kube::ArrayAt(*split, "spec", "backends");
    if (backends == nullptr) return BadData(t_.resource.Describe() + ": no spec.backends list");
    json copy = *backends;
    auto [p, c] = Find(copy);
    if (p == nullptr || c == nullptr) return Missing();
    const long wp = kube::IntAt(*p, "weight", 0), wc = kube::IntAt(*c, "weight", 0);
    if (wp < 0 || wc < 0) {
      return BadData(t_.resource.Describe() +
                     ": backend weight is not an integer: " + backends->dump());
    }
    return WeightsFromShares(wp, wc, t_.resource.Describe());
  }

 private:
  std::pair<json*, json*> Find(json& backends) const {
    json *p = nullptr, *c = nullptr;
    for (json& b : backends) {
      const std::string service = kube::StringAt(b, "service");
      if (service == t_.primary && p == nullptr) p = &b;
      if (service == t_.canary && c == nullptr) c = &b;
    }
    return {p, c};
  }

  Error Missing() const {
    return Error{ErrorCode::kNotFound, t_.resource.Describe() + ": spec.backends lacks service '" +
                                           t_.primary + "' or '" + t_.canary + "'"};
  }

  kube::Target t_;
  kube::Client client_;
};

}  // namespace

Result<std::unique_ptr<TrafficRouter>> NewSmiRouter(const RouterConfig& config) {
  Settings s(config);
  auto t = kube::ParseTarget(
      s, {"TrafficSplit", "/apis/split.smi-spec.io/v1alpha2", "trafficsplits", "", ""},
      "trafficSplit", config.name, "primaryService", "canaryService");
  if (!t) return t.error();
  if (auto st = s.RejectUnknown(); !st) return st.error();
  return std::unique_ptr<TrafficRouter>(std::make_unique<SmiRouter>(std::move(*t)));
}

}  // namespace augur::routers::internal
