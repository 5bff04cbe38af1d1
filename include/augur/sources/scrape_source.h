// The embedded scraper as a MetricSource: the daemon's default source when no Prometheus is
// configured. Model metrics name their query as they do for Prometheus (success_rate,
// error_count, latency_p99_seconds, ...); this source maps each name to a ready-made golden
// signal (scrape.h) and evaluates it for the primary and the canary, told apart by one label
// (HAProxy: the server in the backend; NGINX ingress: the service; Envoy: the cluster).
//
// Query names understood (the bundled models' names, plus the ScrapeQueryKind names):
//   success_rate, error_rate, error_count, request_rate, request_count,
//   latency_pNN_seconds (histogram quantile NN/100; HAProxy has no histogram, so its rolling
//   mean response time stands in and the answer says so in `approximation`),
//   latency_mean_seconds / latency_avg_seconds.
// Variables: primary, canary (side label values; default "primary"/"canary"), proxy (HAProxy
// backend, default "be_app"), interval (rate window, Go duration; default: 4 scrapes).
//
// Thread-safety: Fetch and Check may run concurrently (the store is synchronised).
// Ownership: the store and scrapers must outlive the source.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "augur/sources/scrape.h"
#include "augur/sources/source.h"

namespace augur::sources {

struct ScrapeSourceOptions {
  IngressProvider provider = IngressProvider::kHaproxyServer;
  // The label whose value tells primary from canary; empty: the provider's usual one.
  std::string side_label;
  std::vector<const Scraper*> scrapers;  // for Check(): healthy when each has scraped lately
};

std::unique_ptr<MetricSource> NewScrapeSource(const ScrapeStore& store,
                                              ScrapeSourceOptions options);

}  // namespace augur::sources
