// NewRouter's validation of router blocks (every error names the field and the value) and the
// recording router. Nothing here contacts a backend: creating a router never does.
#include "augur/routers/factory.h"

#include <gtest/gtest.h>

#include "augur/routers/recording.h"

namespace augur::routers {
namespace {

TEST(RouterFactory, KindsAreSortedAndAllConstructible) {
  const auto kinds = RouterKinds();
  EXPECT_EQ(kinds, (std::vector<std::string>{"gateway-api", "haproxy", "istio", "nginx",
                                             "recording", "smi"}));
  for (const auto& kind : kinds) {
    RouterConfig c{kind, {}, "podinfo", "test"};
    if (kind == "haproxy") c.settings = {{"socket", "/run/haproxy.sock"}, {"backend", "app"}};
    auto r = NewRouter(c);
    ASSERT_TRUE(r) << kind << ": " << r.error().message;
    EXPECT_EQ((*r)->name(), kind);
  }
}

TEST(RouterFactory, UnknownKindListsKnownOnesAndSuggests) {
  auto r = NewRouter({"haproxi", {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("unknown router 'haproxi'"), std::string::npos);
  EXPECT_NE(r.error().message.find("gateway-api, haproxy, istio, nginx, recording, smi"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("did you mean 'haproxy'?"), std::string::npos);
  r = NewRouter({"gatewayapi", {}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("did you mean 'gateway-api'?"), std::string::npos);
  r = NewRouter({"linkerd", {}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find("did you mean"), std::string::npos) << r.error().message;
  r = NewRouter({"", {}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("router.kind: required"), std::string::npos);
}

struct BadConfig {
  RouterConfig config;
  std::string expect;  // a substring of the error message
};

TEST(RouterFactory, InvalidSettingsNameFieldAndValue) {
  const std::map<std::string, std::string> hp = {{"address", "127.0.0.1:9999"}, {"backend", "app"}};
  auto with = [](std::map<std::string, std::string> m, const std::string& k, const std::string& v) {
    m[k] = v;
    return m;
  };
  const BadConfig cases[] = {
      {{"haproxy", {{"address", "127.0.0.1:9999"}}}, "router.haproxy.backend: required"},
      {{"haproxy", {{"backend", "app"}}}, "router.haproxy.address: exactly one of"},
      {{"haproxy", with(hp, "socket", "/run/h.sock")}, "both were given"},
      {{"haproxy", with(hp, "address", "localhost")},
       "router.haproxy.address: expected host:port, got 'localhost'"},
      {{"haproxy", with(hp, "address", "127.0.0.1:99999")}, "port must be 1..65535"},
      {{"haproxy", with(hp, "timeout", "soon")},
       "router.haproxy.timeout: must be an integer in [1, 600000], got 'soon'"},
      {{"haproxy", with(hp, "timeout", "0")}, "got '0'"},
      {{"haproxy", with(hp, "backend", "app;disable frontend fe")},
       "router.haproxy.backend: must not contain"},
      {{"haproxy", with(hp, "canaryServer", "primary")},
       "router.haproxy.canaryServer: must differ"},
      {{"haproxy", with(hp, "bakend", "x")},
       "router.haproxy.bakend: unknown setting (value 'x'); did you mean 'backend'?"},
      {{"recording", {{"canary", "101"}}}, "router.recording.canary: must be an integer"},
      {{"gateway-api", {}, "", "test"}, "router.gateway-api.httpRoute: required"},
      {{"gateway-api", {{"primaryService", "Podinfo_Primary"}}, "podinfo"},
       "router.gateway-api.primaryService: not a valid Kubernetes name"},
      {{"gateway-api", {{"canaryService", "podinfo-primary"}}, "podinfo"},
       "router.gateway-api.canaryService: must differ"},
      {{"istio", {{"kubernetes.server", "kubernetes.default.svc"}}, "podinfo"},
       "router.istio.kubernetes.server: must be an http:// or https:// URL, got "
       "'kubernetes.default.svc'"},
      {{"istio", {{"kubernetes.insecureSkipTLSVerify", "yes"}}, "podinfo"},
       "router.istio.kubernetes.insecureSkipTLSVerify: must be true or false, got 'yes'"},
      {{"istio", {{"kubernetes.caFile", "/nonexistent/ca.crt"}}, "podinfo"},
       "router.istio.kubernetes.caFile: cannot read '/nonexistent/ca.crt'"},
      {{"istio", {{"mirrorPercent", "0"}}, "podinfo"}, "router.istio.mirrorPercent"},
      {{"istio", {{"kubernetes.tokenfile", "/t"}}, "podinfo"},
       "did you mean 'kubernetes.tokenFile'?"},
      {{"smi", {{"namespace", "Bad Namespace"}}, "podinfo"}, "router.smi.namespace"},
      {{"nginx", {}, ""}, "router.nginx.canaryIngress: required"},
      {{"nginx", {{"primaryService", "x"}}, "podinfo"},
       "router.nginx.primaryService: unknown setting"},
  };
  for (const auto& c : cases) {
    auto r = NewRouter(c.config);
    ASSERT_FALSE(r) << c.expect;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << "got: " << r.error().message << "\nwant: " << c.expect;
  }
}

TEST(RecordingRouter, KeepsWeightsAndHistory) {
  RecordingRouter router;
  EXPECT_EQ(*router.GetWeights(), (Weights{100, 0}));
  ASSERT_TRUE(router.SetWeights({90, 10}));
  ASSERT_TRUE(router.SetWeights({90, 10}));
  ASSERT_TRUE(router.SetWeights({100, 0, true}));
  auto st = router.SetWeights({50, 60});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(st.error().message.find("primary 50 / canary 60"), std::string::npos);
  EXPECT_EQ(*router.GetWeights(), (Weights{100, 0, true}));
  EXPECT_EQ(router.history(), (std::vector<Weights>{{90, 10}, {90, 10}, {100, 0, true}}));
}

TEST(RecordingRouter, FactoryTakesInitialCanary) {
  auto r = NewRouter({"recording", {{"canary", "30"}}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*(*r)->GetWeights(), (Weights{70, 30}));
}

}  // namespace
}  // namespace augur::routers
