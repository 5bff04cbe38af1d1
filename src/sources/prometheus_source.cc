#include "augur/sources/prometheus_source.h"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

namespace augur::sources {
namespace {

std::string LabelsText(const Series& s) {
  std::string out = "{";
  for (const auto& [k, v] : s.labels) {
    if (out.size() > 1) out += ",";
    out += k + "=\"" + v + "\"";
  }
  return out + "}";
}

class PrometheusSource final : public MetricSource {
 public:
  PrometheusSource(PrometheusClient client, std::map<std::string, QueryTemplates> templates)
      : client_(std::move(client)), templates_(std::move(templates)) {}

  std::string name() const override { return "prometheus " + client_.options().url; }

  Result<SeriesPair> Fetch(const MetricRequest& r) const override {
    auto t = templates_.find(r.provider);
    if (t == templates_.end()) {
      std::string known;
      for (const auto& [name, _] : templates_) known += (known.empty() ? "" : ", ") + name;
      return Error{ErrorCode::kNotFound,
                   "no query templates for provider '" + r.provider + "' (known: " + known + ")"};
    }
    if (!t->second.queries.count(r.query)) {
      return Error{ErrorCode::kNotFound,
                   "provider '" + r.provider + "' has no query named '" + r.query + "'"};
    }
    auto queries = RenderBothSides(t->second, r.query, r.vars);
    if (!queries) return queries.error().WithContext(r.provider + ":" + r.query);
    Series sides[2];
    for (int i = 0; i < 2; ++i) {
      const std::string& q = i == 0 ? queries->primary : queries->canary;
      auto res = client_.QueryRange(q, r.start_ms, r.end_ms, r.step_ms);
      if (!res) return res.error().WithContext(i == 0 ? "primary query" : "canary query");
      if (res->series.size() > 1) {
        std::string sets;
        for (size_t k = 0; k < res->series.size() && k < 3; ++k) {
          sets += (k ? ", " : "") + LabelsText(res->series[k]);
        }
        return BadData(std::string(i == 0 ? "primary" : "canary") + " query returned " +
                       std::to_string(res->series.size()) + " series (" + sets +
                       "...); aggregate it to one series per side");
      }
      if (res->series.size() == 1) sides[i] = std::move(res->series[0]);
    }
    auto aligned = AlignSeries(sides[0], sides[1], r.start_ms, r.end_ms, r.step_ms);
    SeriesPair out;
    out.timestamps_ms = std::move(aligned.timestamps_ms);
    out.primary = std::move(aligned.primary);
    out.canary = std::move(aligned.canary);
    out.primary_query = std::move(queries->primary);
    out.canary_query = std::move(queries->canary);
    if (auto a = t->second.approximations.find(r.query); a != t->second.approximations.end()) {
      out.approximation = a->second;
    }
    return out;
  }

  Result<RawSeries> FetchRaw(const RawQuery& q) const override {
    auto res = client_.QueryRange(q.query, q.start_ms, q.end_ms, q.step_ms);
    if (!res) return res.error();
    if (res->series.size() > 1) {
      return BadData("query returned " + std::to_string(res->series.size()) + " series (first " +
                     LabelsText(res->series[0]) + "); aggregate it to one series");
    }
    Series empty;
    const Series& s = res->series.empty() ? empty : res->series[0];
    auto aligned = AlignSeries(s, empty, q.start_ms, q.end_ms, q.step_ms);
    return RawSeries{std::move(aligned.timestamps_ms), std::move(aligned.primary)};
  }

  Status Check() const override {
    auto r = client_.Query("vector(1)", 0);
    if (!r) return r.error();
    return {};
  }

 private:
  PrometheusClient client_;
  std::map<std::string, QueryTemplates> templates_;
};

}  // namespace

Result<std::unique_ptr<MetricSource>> NewPrometheusSource(
    PrometheusOptions options, std::map<std::string, QueryTemplates> templates) {
  auto client = PrometheusClient::Create(std::move(options));
  if (!client) return client.error();
  return std::unique_ptr<MetricSource>(
      new PrometheusSource(std::move(*client), std::move(templates)));
}

Result<std::map<std::string, QueryTemplates>> LoadQueryTemplateDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{ErrorCode::kNotFound, "query templates folder '" + dir + "' does not exist"};
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, QueryTemplates> out;
  for (const auto& f : files) {
    auto t = LoadQueryTemplates(f.string());
    if (!t) return t.error();
    const std::string provider = t->provider;
    if (!out.emplace(provider, std::move(*t)).second) {
      return InvalidArgument(f.string() + ": provider '" + provider + "' is defined twice");
    }
  }
  return out;
}

}  // namespace augur::sources
