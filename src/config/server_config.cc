#include "augur/config/server_config.h"

#include <fstream>
#include <sstream>

#include "augur/core/time.h"
#include "common/strict_yaml.h"

namespace augur::config {
namespace {

namespace sy = common::strict_yaml;

int64_t DurationField(const YAML::Node& n, const std::string& path) {
  auto d = ParseDurationMs(sy::Str(n, path));
  if (!d) sy::Fail(path, d.error().message);
  return *d;
}

int64_t IntField(const YAML::Node& n, const std::string& path, int64_t lo, int64_t hi) {
  const double v = sy::Number(n, path);
  if (v != static_cast<double>(static_cast<int64_t>(v)) || v < static_cast<double>(lo) ||
      v > static_cast<double>(hi)) {
    sy::Fail(path, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return static_cast<int64_t>(v);
}

ServerConfig Parse(const YAML::Node& root) {
  sy::OnlyKeys(root, "", {"apiVersion", "kind", "metadata", "spec"});
  if (!root["apiVersion"] || sy::Str(root["apiVersion"], "apiVersion") != "augur.dev/v1") {
    sy::Fail("apiVersion", "must be augur.dev/v1");
  }
  if (!root["kind"] || sy::Str(root["kind"], "kind") != "ServerConfig") {
    sy::Fail("kind", "must be ServerConfig");
  }
  ServerConfig c;
  const YAML::Node spec = root["spec"];
  if (!spec) return c;
  sy::OnlyKeys(spec, "spec",
               {"listen", "modelsDir", "queriesDir", "auth", "storage", "limits", "noData",
                "source", "defaultModel", "defaultProvider"});
  if (spec["listen"]) {
    c.listen = sy::Str(spec["listen"], "spec.listen");
    auto l = ParseListenAddress(c.listen);
    if (!l) sy::Fail("spec.listen", l.error().message);
  }
  if (spec["modelsDir"]) c.models_dir = sy::Str(spec["modelsDir"], "spec.modelsDir");
  if (spec["queriesDir"]) c.queries_dir = sy::Str(spec["queriesDir"], "spec.queriesDir");
  if (spec["defaultModel"]) c.default_model = sy::Str(spec["defaultModel"], "spec.defaultModel");
  if (spec["defaultProvider"]) {
    c.default_provider = sy::Str(spec["defaultProvider"], "spec.defaultProvider");
  }
  if (const auto a = spec["auth"]) {
    sy::OnlyKeys(a, "spec.auth", {"tokenFile", "exemptPaths"});
    if (a["tokenFile"]) c.token_file = sy::Str(a["tokenFile"], "spec.auth.tokenFile");
    if (const auto e = a["exemptPaths"]) {
      if (!e.IsSequence()) sy::Fail("spec.auth.exemptPaths", "must be a list of path prefixes");
      for (size_t i = 0; i < e.size(); ++i) {
        const std::string path = "spec.auth.exemptPaths[" + std::to_string(i) + "]";
        const std::string v = sy::Str(e[i], path);
        if (v.empty() || v[0] != '/') sy::Fail(path, "a path prefix starting with /");
        c.auth_exempt_prefixes.push_back(v);
      }
    }
  }
  if (const auto s = spec["storage"]) {
    sy::OnlyKeys(s, "spec.storage", {"path", "retention"});
    if (s["path"]) c.storage_path = sy::Str(s["path"], "spec.storage.path");
    if (s["retention"]) c.retention_ms = DurationField(s["retention"], "spec.storage.retention");
  }
  if (const auto l = spec["limits"]) {
    sy::OnlyKeys(l, "spec.limits", {"maxBodyBytes", "threads", "readTimeout", "writeTimeout"});
    if (l["maxBodyBytes"]) {
      c.max_body_bytes =
          IntField(l["maxBodyBytes"], "spec.limits.maxBodyBytes", 1024, int64_t{1} << 30);
    }
    if (l["threads"]) {
      c.threads = static_cast<int>(IntField(l["threads"], "spec.limits.threads", 1, 1024));
    }
    if (l["readTimeout"])
      c.read_timeout_ms = DurationField(l["readTimeout"], "spec.limits.readTimeout");
    if (l["writeTimeout"]) {
      c.write_timeout_ms = DurationField(l["writeTimeout"], "spec.limits.writeTimeout");
    }
  }
  if (spec["noData"]) {
    c.no_data = sy::Str(spec["noData"], "spec.noData");
    if (c.no_data != "inconclusive" && c.no_data != "fail") {
      sy::Fail("spec.noData", "inconclusive or fail (a source failure never passes)");
    }
  }
  if (const auto s = spec["source"]) {
    sy::OnlyKeys(s, "spec.source", {"kind", "prometheus", "scrape"});
    if (s["kind"]) c.source_kind = sy::Str(s["kind"], "spec.source.kind");
    if (c.source_kind != "prometheus" && c.source_kind != "scrape") {
      sy::Fail("spec.source.kind", "prometheus or scrape");
    }
    if (const auto p = s["prometheus"]) {
      const std::string path = "spec.source.prometheus";
      sy::OnlyKeys(p, path,
                   {"url", "bearerTokenFile", "basicAuth", "headers", "timeout", "retries"});
      if (p["url"]) c.prometheus.url = sy::Str(p["url"], path + ".url");
      if (p["bearerTokenFile"]) {
        c.prometheus.bearer_token_file = sy::Str(p["bearerTokenFile"], path + ".bearerTokenFile");
      }
      if (const auto b = p["basicAuth"]) {
        sy::OnlyKeys(b, path + ".basicAuth", {"username", "passwordFile"});
        if (b["username"])
          c.prometheus.basic_user = sy::Str(b["username"], path + ".basicAuth.username");
        if (b["passwordFile"]) {
          c.prometheus.basic_password_file =
              sy::Str(b["passwordFile"], path + ".basicAuth.passwordFile");
        }
      }
      if (const auto h = p["headers"]) {
        if (!h.IsMap()) sy::Fail(path + ".headers", "must be a mapping of strings");
        for (const auto& kv : h) {
          const std::string k = kv.first.Scalar();
          c.prometheus.headers[k] = sy::Str(kv.second, path + ".headers." + k);
        }
      }
      if (p["timeout"]) c.prometheus.timeout_ms = DurationField(p["timeout"], path + ".timeout");
      if (p["retries"]) {
        c.prometheus.retries = static_cast<int>(IntField(p["retries"], path + ".retries", 0, 10));
      }
    }
    if (const auto sc = s["scrape"]) {
      const std::string path = "spec.source.scrape";
      sy::OnlyKeys(sc, path, {"provider", "targets", "interval", "retention"});
      if (sc["provider"]) c.scrape.provider = sy::Str(sc["provider"], path + ".provider");
      if (const auto t = sc["targets"]) {
        if (!t.IsSequence()) sy::Fail(path + ".targets", "must be a list of URLs");
        for (size_t i = 0; i < t.size(); ++i) {
          c.scrape.targets.push_back(sy::Str(t[i], path + ".targets[" + std::to_string(i) + "]"));
        }
      }
      if (sc["interval"]) c.scrape.interval_ms = DurationField(sc["interval"], path + ".interval");
      if (sc["retention"]) {
        c.scrape.retention_ms = DurationField(sc["retention"], path + ".retention");
      }
    }
    // Flagger gives a webhook 10 s and retries on a timeout without reading the answer, so
    // every attempt to reach Prometheus together must end well inside it (the judge itself
    // takes milliseconds): a slow Prometheus then yields the no-data answer in time.
    if (const int64_t worst = c.prometheus.timeout_ms * (c.prometheus.retries + 1);
        worst > kFetchBudgetMs) {
      sy::Fail("spec.source.prometheus.timeout",
               "timeout x (retries + 1) = " + std::to_string(worst) + " ms exceeds the " +
                   std::to_string(kFetchBudgetMs) +
                   " ms fetch budget that keeps answers inside Flagger's 10 s webhook timeout");
    }
    if (c.source_kind == "prometheus" && c.prometheus.url.empty()) {
      sy::Fail("spec.source.prometheus.url", "required when spec.source.kind is prometheus");
    }
  }
  return c;
}

}  // namespace

Result<std::pair<std::string, int>> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("listen address '" + std::string(text) + "': use HOST:PORT");
  }
  const std::string host(text.substr(0, colon)), port(text.substr(colon + 1));
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
    return InvalidArgument("listen address '" + std::string(text) + "': port must be 0..65535");
  }
  return std::make_pair(host, std::stoi(port));
}

Result<ServerConfig> ParseServerConfig(std::string_view yaml, const std::string& origin) {
  try {
    return Parse(YAML::Load(std::string(yaml)));
  } catch (const sy::ParseError& e) {
    return InvalidArgument(origin + ": " + e.message);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(origin + ": malformed YAML: " + e.what());
  }
}

Result<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::kNotFound, "cannot read config file '" + path + "'"};
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseServerConfig(ss.str(), path);
}

}  // namespace augur::config
