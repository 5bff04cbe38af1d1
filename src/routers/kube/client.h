// A small Kubernetes API client for the routers: GET an object and send a JSON merge patch,
// with the service-account token re-read at each call (projected tokens rotate), bounded time
// and body size, and HTTP answers mapped to Augur error codes:
//   401/403 -> kPermissionDenied quoting the API server's message,
//   404 -> kNotFound naming the resource, 409 -> kConflict, 429/5xx/unreachable -> kUnavailable,
//   timeout -> kDeadlineExceeded, other 4xx -> kBadData quoting the answer.
//
// Thread-safety: immutable after Create; calls may run on several threads.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "augur/core/result.h"
#include "routers/settings.h"

namespace augur::routers::kube {

using nlohmann::json;

struct ClientOptions {
  std::string scheme_host_port;      // "https://kubernetes.default.svc"
  std::string path_prefix;           // "" or e.g. "/k8s" when the API sits under a path
  std::string token_file;            // "" = no Authorization header
  bool token_file_required = false;  // set explicitly: a missing file is an error
  std::string ca_file;
  bool insecure_skip_tls_verify = false;
  int timeout_ms = 5000;
};

// Reads the `kubernetes.*` settings (server, tokenFile, caFile, insecureSkipTLSVerify, timeout).
Result<ClientOptions> ParseClientOptions(internal::Settings& s);

// One namespaced object, e.g. {"HTTPRoute", "/apis/gateway.networking.k8s.io/v1", "httproutes",
// "default", "podinfo"}.
struct Resource {
  std::string kind, group_version_path, plural, ns, name;
  std::string Path() const {
    return group_version_path + "/namespaces/" + ns + "/" + plural + "/" + name;
  }
  std::string Describe() const { return kind + " " + ns + "/" + name; }
};

// Checks a resource name the way the API server will (DNS-1123 subdomain), so a typo fails at
// startup rather than as a 404 or a malformed URL.
Status ValidateName(internal::Settings& s, const std::string& key, const std::string& value);

class Client {
 public:
  explicit Client(ClientOptions options) : options_(std::move(options)) {}

  // The object as JSON. kBadData if the answer is not a JSON object.
  Result<json> Get(const Resource& r) const;
  // PATCH with Content-Type application/merge-patch+json.
  Status MergePatch(const Resource& r, const json& patch) const;

  // Read-modify-write for list-valued specs (a merge patch replaces lists whole): GETs the
  // object, asks `edit` for the patch (nullopt: nothing to change), adds
  // metadata.resourceVersion so a concurrent writer makes the API server answer 409, and on
  // 409 retries once from a fresh GET before reporting kConflict.
  Status Update(const Resource& r,
                const std::function<Result<std::optional<json>>(const json& object)>& edit) const;

 private:
  struct Answer {
    int status = 0;
    std::string body;
  };
  Result<Answer> Send(const std::string& method, const Resource& r, const std::string& body) const;
  Error MapStatus(const std::string& method, const Resource& r, const Answer& a) const;

  ClientOptions options_;
};

}  // namespace augur::routers::kube
