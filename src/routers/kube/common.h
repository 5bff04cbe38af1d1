// What the Kubernetes routers share: parsing the settings every one of them has (kubernetes.*,
// namespace, the object's name, the primary and canary backends' names) and small JSON helpers.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>

#include "augur/routers/router.h"
#include "routers/kube/client.h"
#include "routers/settings.h"

namespace augur::routers::kube {

struct Target {
  ClientOptions client;
  Resource resource;
  std::string primary, canary;  // backend names (services or hosts); empty if not used
};

// `resource` carries kind, group_version_path and plural; its ns and name are filled from the
// `namespace` setting (default: the rollout's namespace) and `object_key` (default
// `default_name`). With non-empty `primary_key`/`canary_key` the backends default to
// "<name>-primary" and "<name>-canary", as Flagger names its services.
Result<Target> ParseTarget(internal::Settings& s, Resource resource, const std::string& object_key,
                           const std::string& default_name, const std::string& primary_key,
                           const std::string& canary_key);

// The string at obj[key], or "" if absent or not a string.
std::string StringAt(const json& obj, const char* key);

// The non-negative integer at obj[key], `fallback` if absent; -1 if present but not one.
long IntAt(const json& obj, const char* key, long fallback);

// The array at obj[a][b], or nullptr if absent or not an array.
const json* ArrayAt(const json& obj, const char* a, const char* b);

}  // namespace augur::routers::kube
