#include "routers/kube/common.h"

namespace augur::routers::kube {

Result<Target> ParseTarget(internal::Settings& s, Resource resource, const std::string& object_key,
                           const std::string& default_name, const std::string& primary_key,
                           const std::string& canary_key) {
  Target t;
  auto client = ParseClientOptions(s);
  if (!client) return client.error();
  t.client = *client;
  resource.ns = s.String("namespace", s.config().namespace_);
  if (auto st = ValidateName(s, "namespace", resource.ns); !st) return st.error();
  resource.name = s.String(object_key, default_name);
  if (auto st = ValidateName(s, object_key, resource.name); !st) return st.error();
  const std::string& base = s.config().name;
  if (!primary_key.empty()) {
    t.primary = s.String(primary_key, base.empty() ? "" : base + "-primary");
    t.canary = s.String(canary_key, base.empty() ? "" : base + "-canary");
    if (auto st = ValidateName(s, primary_key, t.primary); !st) return st.error();
    if (auto st = ValidateName(s, canary_key, t.canary); !st) return st.error();
    if (t.primary == t.canary) {
      return s.Invalid(canary_key,
                       "must differ from " + primary_key + ", both are '" + t.canary + "'");
    }
  }
  t.resource = std::move(resource);
  return t;
}

std::string StringAt(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

long IntAt(const json& obj, const char* key, long fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (it->is_number_integer() && it->get<long>() >= 0) return it->get<long>();
  if (it->is_number_unsigned()) return static_cast<long>(it->get<unsigned long>());
  return -1;
}

const json* ArrayAt(const json& obj, const char* a, const char* b) {
  if (!obj.is_object() || !obj.contains(a) || !obj[a].is_object()) return nullptr;
  const json& inner = obj[a];
  if (!inner.contains(b) || !inner[b].is_array()) return nullptr;
  return &inner[b];
}

}  // namespace augur::routers::kube
