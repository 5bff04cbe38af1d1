// The Prometheus MetricSource: renders the provider's query templates for both sides, runs
// them as range queries and aligns the answers on the step grid.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "augur/sources/prometheus_client.h"
#include "augur/sources/query_template.h"
#include "augur/sources/source.h"

namespace augur::sources {

// `templates` maps provider name -> its query templates (queries/*.yaml). A query answered by
// several series for one side is an error (kBadData naming the label sets): judging "the last
// one" would compare arbitrary series.
Result<std::unique_ptr<MetricSource>> NewPrometheusSource(
    PrometheusOptions options, std::map<std::string, QueryTemplates> templates);

// Loads every *.yaml file of `dir` as query templates, keyed by provider name.
Result<std::map<std::string, QueryTemplates>> LoadQueryTemplateDir(const std::string& dir);

}  // namespace augur::sources
