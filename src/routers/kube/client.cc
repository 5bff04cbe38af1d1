#include "routers/kube/client.h"

#include <httplib.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "common/http_exchange.h"

namespace augur::routers::kube {
namespace {

constexpr char kDefaultServer[] = "https://kubernetes.default.svc";
constexpr char kDefaultTokenFile[] = "/var/run/secrets/kubernetes.io/serviceaccount/token";
constexpr char kInClusterCa[] = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
constexpr size_t kMaxBodyBytes = size_t{8} << 20;

bool Readable(const std::string& path) { return ::access(path.c_str(), R_OK) == 0; }

// The API server's own explanation (a Status object's "message"), else the body's start.
std::string Explain(const std::string& body) {
  try {
    const json j = json::parse(body);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      return j["message"].get<std::string>();
    }
  } catch (const json::exception&) {
  }
  return body.size() > 300 ? body.substr(0, 300) + "..." : body;
}

}  // namespace

Result<ClientOptions> ParseClientOptions(internal::Settings& s) {
  ClientOptions o;
  const std::string server = s.String("kubernetes.server", kDefaultServer);
  static const std::regex kUrl(R"(^(https?://[^/?#\s]+)(/[^?#\s]*)?$)");
  std::smatch m;
  if (!std::regex_match(server, m, kUrl)) {
    return s.Invalid("kubernetes.server",
                     "must be an http:// or https:// URL, got '" + server + "'");
  }
  o.scheme_host_port = m[1];
  o.path_prefix = m[2];
  while (!o.path_prefix.empty() && o.path_prefix.back() == '/') o.path_prefix.pop_back();

  o.token_file_required = s.Has("kubernetes.tokenFile");
  o.token_file = s.String("kubernetes.tokenFile", kDefaultTokenFile);
  o.ca_file = s.String("kubernetes.caFile", "");
  if (!o.ca_file.empty() && !Readable(o.ca_file)) {
    return s.Invalid("kubernetes.caFile", "cannot read '" + o.ca_file + "'");
  }
  // In a pod the service account's CA is the cluster's; use it unless told otherwise.
  if (o.ca_file.empty() && Readable(kInClusterCa)) o.ca_file = kInClusterCa;
  auto insecure = s.Bool("kubernetes.insecureSkipTLSVerify", false);
  if (!insecure) return insecure.error();
  o.insecure_skip_tls_verify = *insecure;
  auto timeout = s.Int("kubernetes.timeout", 5000, 1, 600000);
  if (!timeout) return timeout.error();
  o.timeout_ms = *timeout;
  return o;
}

Status ValidateName(internal::Settings& s, const std::string& key, const std::string& value) {
  static const std::regex kName(R"(^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$)");
  if (value.empty()) {
    return s.Invalid(key, "required (the rollout has no name to derive it from)");
  }
  if (value.size() > 253 || !std::regex_match(value, kName)) {
    return s.Invalid(key,
                     "not a valid Kubernetes name (lower-case letters, digits, '-' and '.'), "
                     "got '" +
                         value + "'");
  }
  return {};
}

Result<Client::Answer> Client::Send(const std::string& method, const Resource& r,
                                    const std::string& body) const {
  const std::string url = options_.scheme_host_port + options_.path_prefix + r.Path();
  const std::string where = method + " " + url;

  httplib::Headers headers = {{"Accept", "application/json"}};
  // Re-read at every call: projected service-account tokens are rotated on disk.
  if (!options_.token_file.empty()) {
    std::ifstream in(options_.token_file);
    if (!in) {
      if (options_.token_file_required) {
        return Error{ErrorCode::kUnavailable,
                     where + ": cannot read token file '" + options_.token_file + "'"};
      }
    } else {
      std::stringstream ss;
      ss << in.rdbuf();
      std::string token = ss.str();
      while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) {
        token.pop_back();
      }
      if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    }
  }

  httplib::Client client(options_.scheme_host_port);
  const time_t sec = options_.timeout_ms / 1000;
  const time_t usec = (options_.timeout_ms % 1000) * 1000;
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
  client.set_keep_alive(false);
  if (!options_.ca_file.empty()) client.set_ca_cert_path(options_.ca_file);
  client.enable_server_certificate_verification(!options_.insecure_skip_tls_verify);

  httplib::Request req;
  req.method = method;
  req.path = options_.path_prefix + r.Path();
  req.headers = headers;
  if (!body.empty()) {
    req.body = body;
    req.headers.emplace("Content-Type", "application/merge-patch+json");
  }
  httplib::Error transport = httplib::Error::Success;
  auto fetched =
      common::SendBounded(client, std::move(req), {options_.timeout_ms, kMaxBodyBytes, nullptr},
                          where, "the Kubernetes API", &transport);
  if (!fetched) return fetched.error();
  Answer out;
  out.status = fetched->status;
  out.body = std::move(fetched->body);
  return out;
}

Error Client::MapStatus(const std::string& method, const Resource& r, const Answer& a) const {
  const std::string what = method + " " + r.Describe() + ": HTTP " + std::to_string(a.status);
  const std::string why = Explain(a.body);
  switch (a.status) {
    case 401:
    case 403:
      return Error{ErrorCode::kPermissionDenied, "permission denied: " + what + ": " + why};
    case 404:
      return Error{ErrorCode::kNotFound, r.Describe() + " not found (" + what + ")"};
    case 409:
      return Error{ErrorCode::kConflict, what + ": " + why};
    case 429:
      return Error{ErrorCode::kUnavailable, what + " (throttled): " + why};
    default:
      if (a.status >= 500) return Error{ErrorCode::kUnavailable, what + ": " + why};
      return BadData(what + ": " + why);
  }
}

Result<json> Client::Get(const Resource& r) const {
  auto a = Send("GET", r, "");
  if (!a) return a.error();
  if (a->status != 200) return MapStatus("GET", r, *a);
  try {
    json j = json::parse(a->body);
    if (!j.is_object()) return BadData("GET " + r.Describe() + ": answer is not a JSON object");
    return j;
  } catch (const json::exception& e) {
    return BadData("GET " + r.Describe() + ": answer is not JSON: " + e.what());
  }
}

Status Client::MergePatch(const Resource& r, const json& patch) const {
  auto a = Send("PATCH", r, patch.dump());
  if (!a) return a.error();
  if (a->status < 200 || a->status >= 300) return MapStatus("PATCH", r, *a);
  return {};
}

Status Client::Update(
    const Resource& r,
    const std::function<Result<std::optional<json>>(const json& object)>& edit) const {
  for (int attempt = 0;; ++attempt) {
    auto object = Get(r);
    if (!object) return object.error();
    const json* rv = nullptr;
    if (object->contains("metadata") && (*object)["metadata"].is_object() &&
        (*object)["metadata"].contains("resourceVersion")) {
      rv = &(*object)["metadata"]["resourceVersion"];
    }
    if (rv == nullptr || !rv->is_string()) {
      return BadData("GET " + r.Describe() + ": no metadata.resourceVersion in the answer");
    }
    auto patch = edit(*object);
    if (!patch) return patch.error();
    if (!patch->has_value()) return {};  // already as wanted: nothing to write
    json body = std::move(**patch);
    body["metadata"]["resourceVersion"] = *rv;
    auto st = MergePatch(r, body);
    if (st || st.error().code != ErrorCode::kConflict || attempt >= 1) {
      if (!st && st.error().code == ErrorCode::kConflict) {
        return st.error().WithContext("changed concurrently twice; giving up until next call");
      }
      return st;
    }
  }
}

}  // namespace augur::routers::kube
