// `augur serve --config augur.yaml`: the daemon's settings as plain data (apiVersion
// augur.dev/v1, kind ServerConfig). Every field has the default `augur serve` uses without a
// config file; the CLI maps this onto the server's and the sources' options.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "augur/core/result.h"

namespace augur::config {

struct PrometheusSourceConfig {
  std::string url;
  std::string bearer_token_file;
  std::string basic_user, basic_password_file;
  std::map<std::string, std::string> headers;
  int64_t timeout_ms = 3000;  // per attempt; with one retry a fetch stays inside Flagger's 10 s
  int retries = 1;
};

// Upper bound on timeout x (retries + 1) for Prometheus fetches: with the judge's own
// milliseconds, an answer always leaves inside Flagger's 10 s webhook timeout.
inline constexpr int64_t kFetchBudgetMs = 8000;

struct ScrapeSourceConfig {
  std::string provider = "haproxy";  // haproxy | nginx-ingress | envoy
  std::vector<std::string> targets;  // exposition URLs
  int64_t interval_ms = 5000;
  int64_t retention_ms = 3600 * 1000;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  std::string models_dir, queries_dir;  // empty: the bundled ones
  std::string token_file;
  std::vector<std::string> auth_exempt_prefixes;  // spec.auth.exemptPaths
  std::string storage_path = "augur.db";
  int64_t retention_ms = int64_t{30} * 24 * 3600 * 1000;
  int64_t max_body_bytes = int64_t{8} << 20;
  int threads = 8;
  int64_t read_timeout_ms = 10000, write_timeout_ms = 10000;
  std::string no_data = "inconclusive";  // inconclusive | fail: a source failure's verdict
  std::string default_model = "http-golden-signals";
  std::string default_provider = "haproxy";
  std::string source_kind = "scrape";  // prometheus | scrape
  PrometheusSourceConfig prometheus;
  ScrapeSourceConfig scrape;
};

// Parses a ServerConfig document; errors name the path ("spec.limits.threads: ...").
Result<ServerConfig> ParseServerConfig(std::string_view yaml, const std::string& origin);
Result<ServerConfig> LoadServerConfig(const std::string& path);

// "host:port" -> parts; port 0..65535.
Result<std::pair<std::string, int>> ParseListenAddress(std::string_view text);

}  // namespace augur::config
