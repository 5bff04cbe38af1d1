// What `augur serve`, `augur rollout start` without a daemon and `augur demo` need from
// the outside: a metric source (Prometheus, or the embedded scraper with its own scrapers) and
// the analysis models, owned together so their lifetimes are one.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "augur/core/result.h"
#include "augur/judge/model.h"
#include "augur/rollout/manager.h"
#include "augur/sources/prometheus_client.h"
#include "augur/sources/source.h"

namespace augur::cli {

// The bundled models/ and queries/: beside an installed binary, or in the source tree of a
// build directory.
std::string BundledDir(const std::string& what);

struct LocalStackOptions {
  std::optional<sources::PrometheusOptions> prometheus;  // set: a Prometheus source
  std::vector<std::string> scrape_urls;  // else: the embedded scraper on these pages (may be none)
  std::string scrape_provider = "haproxy";  // haproxy, haproxy-backend, nginx(-ingress), envoy
  int64_t scrape_interval_ms = 1000;
  int64_t scrape_retention_ms = 3600 * 1000;
  std::string models_dir, queries_dir;  // empty: the bundled ones
};

// A Prometheus source with the CLI's in-process defaults (3 s per attempt, one retry, like the
// daemon's, inside Flagger's webhook budget).
sources::PrometheusOptions PrometheusAt(const std::string& url);

// Scrapers start at once: a caller that blocks signals for a watcher thread does so first, so
// the scraper threads inherit the mask.
class LocalStack {
 public:
  static Result<std::unique_ptr<LocalStack>> Start(const LocalStackOptions& o);
  ~LocalStack();
  const sources::MetricSource* source() const;
  const std::map<std::string, judge::Model>& models() const;
  std::string kind() const;  // "prometheus" or "scrape"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One line per rollout for logs and non-terminal output:
// "shop/web Progressing weight 20/50 failed 0/2 | pass: all 2 checks passed".
std::string StatusLine(const rollout::RolloutStatus& s);
// A few lines: the status line, then one line per metric of the last check.
std::string StatusBlock(const rollout::RolloutStatus& s);

}  // namespace augur::cli
