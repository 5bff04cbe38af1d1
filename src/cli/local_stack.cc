#include "cli/local_stack.h"

#include <filesystem>

#include "augur/config/model_file.h"
#include "augur/core/time.h"
#include "augur/sources/prometheus_source.h"
#include "augur/sources/scrape.h"
#include "augur/sources/scrape_source.h"

namespace augur::cli {

std::string BundledDir(const std::string& what) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "augur" / what);
  candidates.push_back(fs::path(AUGUR_INSTALL_DATADIR) / what);
  candidates.push_back(fs::path(AUGUR_SOURCE_DIR) / what);
  for (const auto& c : candidates) {
    if (fs::is_directory(c, ec)) return c.string();
  }
  return candidates.back().string();
}

sources::PrometheusOptions PrometheusAt(const std::string& url) {
  sources::PrometheusOptions p;
  p.url = url;
  p.timeout_ms = 3000;
  p.retries = 1;
  return p;
}

struct LocalStack::Impl {
  std::map<std::string, judge::Model> models;
  std::unique_ptr<sources::ScrapeStore> store;
  std::vector<std::unique_ptr<sources::Scraper>> scrapers;
  std::unique_ptr<sources::MetricSource> source;
  std::string kind;
  ~Impl() {
    for (auto& s : scrapers) s->Stop();
  }
};

Result<std::unique_ptr<LocalStack>> LocalStack::Start(const LocalStackOptions& o) {
  auto impl = std::make_unique<Impl>();
  auto models = config::LoadModelDir(o.models_dir.empty() ? BundledDir("models") : o.models_dir);
  if (!models) return models.error();
  impl->models = std::move(*models);
  if (o.prometheus) {
    auto templates = sources::LoadQueryTemplateDir(o.queries_dir.empty() ? BundledDir("queries")
                                                                         : o.queries_dir);
    if (!templates) return templates.error();
    auto s = sources::NewPrometheusSource(*o.prometheus, std::move(*templates));
    if (!s) return s.error().WithContext("prometheus source");
    impl->source = std::move(*s);
    impl->kind = "prometheus";
  } else {
    auto provider = sources::ParseIngressProvider(
        o.scrape_provider == "nginx-ingress" ? "nginx" : o.scrape_provider);
    if (!provider) return provider.error().WithContext("scrape provider");
    sources::ScrapeStoreOptions so;
    so.scrape_interval_ms = o.scrape_interval_ms;
    so.retention_ms = o.scrape_retention_ms;
    auto st = sources::ScrapeStore::Create(so);
    if (!st) return st.error().WithContext("scrape store");
    impl->store = std::move(*st);
    sources::ScrapeSourceOptions sso;
    sso.provider = *provider;
    for (const auto& url : o.scrape_urls) {
      sources::ScraperOptions so2;
      so2.url = url;
      so2.interval_ms = o.scrape_interval_ms;
      so2.timeout_ms = std::min<int64_t>(3000, o.scrape_interval_ms);
      auto sc = sources::Scraper::Create(so2, *impl->store);
      if (!sc) return sc.error().WithContext("scrape target " + url);
      if (Status started = (*sc)->Start(); !started) return started.error();
      sso.scrapers.push_back(sc->get());
      impl->scrapers.push_back(std::move(*sc));
    }
    impl->source = sources::NewScrapeSource(*impl->store, std::move(sso));
    impl->kind = "scrape";
  }
  std::unique_ptr<LocalStack> out(new LocalStack());
  out->impl_ = std::move(impl);
  return out;
}

LocalStack::~LocalStack() = default;
const sources::MetricSource* LocalStack::source() const { return impl_->source.get(); }
const std::map<std::string, judge::Model>& LocalStack::models() const { return impl_->models; }
std::string LocalStack::kind() const { return impl_->kind; }

std::string StatusLine(const rollout::RolloutStatus& s) {
  std::string line = s.key + " " + rollout::PhaseName(s.state.phase);
  if (s.state.paused) line += " (paused)";
  line += " weight " + std::to_string(s.state.canary_weight);
  if (s.strategy == rollout::Strategy::kCanary) line += "/" + std::to_string(s.max_weight);
  if (s.iterations > 0) {
    line += " iteration " + std::to_string(s.state.iterations) + "/" + std::to_string(s.iterations);
  }
  line += " failed " + std::to_string(s.state.failed_checks) + "/" + std::to_string(s.threshold);
  if (s.last_check_ms > 0) {
    line += " | " + std::string(rollout::CheckVerdictName(s.last_check.verdict)) + ": " +
            s.last_check.reason;
  }
  if (!s.last_error.empty()) line += " | error: " + s.last_error;
  return line;
}

std::string StatusBlock(const rollout::RolloutStatus& s) {
  std::string out = StatusLine(s) + "\n";
  if (!s.state.message.empty()) out += "    " + s.state.message + "\n";
  for (const auto& m : s.last_check.metrics) {
    out += "    " + m.name + ": " + m.verdict + " (" + m.detail + ")\n";
  }
  return out;
}

}  // namespace augur::cli
