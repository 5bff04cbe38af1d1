// `augur serve`: the HTTP daemon. It speaks the controllers' contracts (Flagger webhooks, the
// Argo Rollouts web provider, Kayenta's remote judge) and Augur's native API, and only wires
// parts together: models and a MetricSource in, analysis and judge in the middle, history out.
// The contract of every endpoint is in deploy/openapi.yaml.
//
// Thread-safety: Create, then Run on one thread; Stop may be called from any thread (also a
// signal-watching one) and returns once in-flight requests have been answered.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "augur/analysis/analysis.h"
#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/rollout/manager.h"
#include "augur/sources/source.h"

namespace augur::store {
class HistoryStore;
}

namespace augur::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 picks a free port (see Server::port)
  // When non-empty, every POST/PUT/DELETE needs "Authorization: Bearer <token>" (401 without).
  std::string token;
  // Path prefixes that need no token even when one is set, e.g. "/canary" for Argo's Kayenta
  // provider, which cannot send headers. Opt-in; Flagger can pass ?access_token= instead.
  std::vector<std::string> auth_exempt_prefixes;
  size_t max_body_bytes = size_t{8} << 20;  // larger bodies get 413
  int threads = 8;                          // request worker threads (bounded pool)
  int read_timeout_ms = 10000, write_timeout_ms = 10000;
  // Named models (metadata.name -> model), the ones requests may refer to by name.
  std::map<std::string, judge::Model> models;
  // Kayenta canary configs available to Kayenta's REST API (id -> the config's JSON), besides
  // those POSTed to /canaryConfig. The CLI puts the Kayenta-format files of the models folder.
  std::map<std::string, std::string> kayenta_configs;
  std::string default_model = "http-golden-signals";
  std::string default_provider = "haproxy";
  // Where query-form analyses fetch their series; null: every fetch fails with "no metric
  // source configured" and the no-data policy answers. Not owned; must outlive the server.
  const sources::MetricSource* source = nullptr;
  std::string source_kind = "none";  // for logs and /readyz ("prometheus", "scrape", "none")
  // Judgement history and webhook state; null keeps them in memory only. Not owned.
  store::HistoryStore* history = nullptr;
  analysis::SourceFailure on_source_failure = analysis::SourceFailure::kInconclusive;
  // Standalone rollouts (/v1/rollouts); null answers 404 there. Not owned.
  rollout::Manager* rollouts = nullptr;
  // One JSON object per line; null writes to stderr.
  std::function<void(std::string_view line)> log;
};

class Server {
 public:
  // Validates the options and binds the listening socket (so the port is known at return).
  static Result<std::unique_ptr<Server>> Create(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;
  // Serves until Stop. Returns an error only if serving could not start.
  Status Run();
  // Stops accepting connections and returns when in-flight requests are answered.
  void Stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace augur::server
