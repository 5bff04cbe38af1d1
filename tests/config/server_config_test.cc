#include "augur/config/server_config.h"

#include <gtest/gtest.h>

namespace augur::config {
namespace {

constexpr char kHead[] = "apiVersion: augur.dev/v1\nkind: ServerConfig\nspec:\n";

TEST(ServerConfig, DefaultsNeedNoFile) {
  auto c = ParseServerConfig(std::string(kHead) + "  listen: 127.0.0.1:9000\n", "t.yaml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->listen, "127.0.0.1:9000");
  EXPECT_EQ(c->source_kind, "scrape");  // the embedded default
  EXPECT_EQ(c->no_data, "inconclusive");
}

TEST(ServerConfig, PrometheusBudgetFitsFlaggersTimeout) {
  const std::string base = std::string(kHead) +
                           "  source:\n    kind: prometheus\n    prometheus:\n"
                           "      url: http://127.0.0.1:9090\n";
  auto ok = ParseServerConfig(base + "      timeout: 3s\n      retries: 1\n", "t.yaml");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->prometheus.timeout_ms * (ok->prometheus.retries + 1), 6000);
  auto slow = ParseServerConfig(base + "      timeout: 5s\n      retries: 1\n", "t.yaml");
  ASSERT_FALSE(slow);
  EXPECT_NE(slow.error().message.find("spec.source.prometheus.timeout"), std::string::npos)
      << slow.error().message;
  EXPECT_NE(slow.error().message.find("10000 ms exceeds"), std::string::npos)
      << slow.error().message;
}

TEST(ServerConfig, ScrapeTargetsAndMistakes) {
  auto c = ParseServerConfig(std::string(kHead) +
                                 "  source:\n    kind: scrape\n    scrape:\n"
                                 "      provider: haproxy\n      interval: 2s\n"
                                 "      targets: [\"http://127.0.0.1:8404/metrics\"]\n",
                             "t.yaml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->scrape.targets.size(), 1u);
  EXPECT_EQ(c->scrape.interval_ms, 2000);
  auto typo = ParseServerConfig(std::string(kHead) + "  source:\n    kind: scrap\n", "t.yaml");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().message.find("spec.source.kind"), std::string::npos);
}

}  // namespace
}  // namespace augur::config
