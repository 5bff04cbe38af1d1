// The Kubernetes routers (gateway-api, istio, smi, nginx) against an in-process loopback HTTP
// server playing the API server. No Kubernetes API server can run here (no cluster, no
// kube-apiserver/etcd package set up for it), so the stand-in keeps objects in memory, applies
// JSON merge patches with resourceVersion checks as the API server does, and CHECKS every
// request: method, path, bearer token, content type and body shape. Requests are recorded and
// asserted on the test thread.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "augur/routers/factory.h"
#include "routers/loopback_server.h"
#include "testing/process.h"

namespace augur::routers {
namespace {

using nlohmann::json;
using routers::testing::LoopbackServer;

struct Seen {
  std::string method, path, authorization, content_type;
  json body;
};

constexpr char kRoutePath[] =
    "/apis/gateway.networking.k8s.io/v1/namespaces/test/httproutes/podinfo";
constexpr char kVsPath[] =
    "/apis/networking.istio.io/v1beta1/namespaces/test/virtualservices/podinfo";
constexpr char kSplitPath[] =
    "/apis/split.smi-spec.io/v1alpha2/namespaces/test/trafficsplits/podinfo";
constexpr char kIngressPath[] =
    "/apis/networking.k8s.io/v1/namespaces/test/ingresses/podinfo-canary";

class FakeApiServer {
 public:
  FakeApiServer() {
    auto& s = http_.server();
    s.Get(".*", [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    s.Patch(".*",
            [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
  }
  int Start() { return http_.Start(); }
  int port() const { return http_.port(); }

  void Put(const std::string& path, json object) {
    std::lock_guard<std::mutex> lock(mu_);
    object["metadata"]["resourceVersion"] = std::to_string(++version_);
    objects_[path] = std::move(object);
  }
  json Object(const std::string& path) {
    std::lock_guard<std::mutex> lock(mu_);
    return objects_.at(path);
  }
  std::vector<Seen> TakeRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(seen_, {});
  }
  void set_token(const std::string& t) {
    std::lock_guard<std::mutex> lock(mu_);
    token_ = t;
  }
  // The next n PATCHes find the object changed by someone else just before them.
  void InjectConflicts(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    conflicts_ = n;
  }
  // The next requests answer this status with a Status body (0: behave normally).
  void FailWith(int status, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_status_ = status;
    fail_message_ = message;
  }
  void set_delay(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    delay_ = d;
  }

 private:
  static void Answer(httplib::Response& res, int status, const std::string& message) {
    res.status = status;
    res.set_content(json{{"kind", "Status"},
                         {"apiVersion", "v1"},
                         {"status", "Failure"},
                         {"message", message},
                         {"code", status}}
                        .dump(),
                    "application/json");
  }

  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard<std::mutex> lock(mu_);
      delay = delay_;
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);  // a slow server, not a sync
    std::lock_guard<std::mutex> lock(mu_);
    Seen seen{req.method, req.path, req.get_header_value("Authorization"),
              req.get_header_value("Content-Type"), json()};
    if (!req.body.empty()) seen.body = json::parse(req.body, nullptr, false);
    seen_.push_back(seen);
    if (fail_status_ != 0) return Answer(res, fail_status_, fail_message_);
    if (seen.authorization != "Bearer " + token_) return Answer(res, 401, "Unauthorized");
    auto it = objects_.find(req.path);
    if (it == objects_.end()) return Answer(res, 404, "the server could not find the resource");
    if (req.method == "PATCH") {
      if (seen.content_type != "application/merge-patch+json") {
        return Answer(res, 415, "unsupported media type " + seen.content_type);
      }
      if (!seen.body.is_object()) return Answer(res, 400, "body is not a JSON object");
      if (conflicts_ > 0) {
        --conflicts_;
        it->second["metadata"]["resourceVersion"] = std::to_string(++version_);
      }
      const json* rv =
          seen.body.contains("metadata") && seen.body["metadata"].contains("resourceVersion")
              ? &seen.body["metadata"]["resourceVersion"]
              : nullptr;
      if (rv != nullptr && *rv != it->second["metadata"]["resourceVersion"]) {
        return Answer(res, 409,
                      "Operation cannot be fulfilled: the object has been modified; please "
                      "apply your changes to the latest version and try again");
      }
      it->second.merge_patch(seen.body);
      it->second["metadata"]["resourceVersion"] = std::to_string(++version_);
    }
    res.set_content(it->second.dump(), "application/json");
  }

  LoopbackServer http_;
  std::mutex mu_;
  std::map<std::string, json> objects_;
  std::vector<Seen> seen_;
  std::string token_ = "token-1";
  int version_ = 100, conflicts_ = 0, fail_status_ = 0;
  std::string fail_message_;
  std::chrono::milliseconds delay_{0};
};

json HttpRoute() {
  return json::parse(R"({
    "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
    "metadata": {"name": "podinfo", "namespace": "test"},
    "spec": {"parentRefs": [{"name": "gw"}], "rules": [
      {"matches": [{"headers": [{"name": "x-canary", "value": "insider"}]}],
       "backendRefs": [{"name": "podinfo-primary", "port": 9898, "weight": 100},
                       {"name": "podinfo-canary", "port": 9898, "weight": 0}]},
      {"backendRefs": [{"name": "other", "port": 80}]},
      {"backendRefs": [{"name": "podinfo-primary", "port": 9898},
                       {"name": "podinfo-canary", "port": 9898, "weight": 0}]}]}})");
}

json VirtualService() {
  return json::parse(R"({
    "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
    "metadata": {"name": "podinfo", "namespace": "test"},
    "spec": {"hosts": ["podinfo"], "http": [
      {"route": [{"destination": {"host": "podinfo-primary"}, "weight": 100},
                 {"destination": {"host": "podinfo-canary.test.svc.cluster.local",
                                  "port": {"number": 9898}}, "weight": 0}],
       "retries": {"attempts": 3}}]}})");
}

json TrafficSplit() {
  return json::parse(R"({
    "apiVersion": "split.smi-spec.io/v1alpha2", "kind": "TrafficSplit",
    "metadata": {"name": "podinfo", "namespace": "test"},
    "spec": {"service": "podinfo", "backends": [
      {"service": "podinfo-primary", "weight": 100}, {"service": "podinfo-canary", "weight": 0}]}})");
}

json CanaryIngress() {
  return json::parse(R"({
    "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
    "metadata": {"name": "podinfo-canary", "namespace": "test",
                 "annotations": {"kubernetes.io/ingress.class": "nginx"}},
    "spec": {"rules": [{"host": "app.example.com"}]}})");
}

class KubeRoutersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GT(api_.Start(), 0);
    std::string tmpl = (std::filesystem::temp_directory_path() / "augur-kube-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    token_file_ = dir_ + "/token";
    std::ofstream(token_file_) << "token-1\n";
    api_.Put(kRoutePath, HttpRoute());
    api_.Put(kVsPath, VirtualService());
    api_.Put(kSplitPath, TrafficSplit());
    api_.Put(kIngressPath, CanaryIngress());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  RouterConfig Config(const std::string& kind) {
    RouterConfig c;
    c.kind = kind;
    c.name = "podinfo";
    c.namespace_ = "test";
    c.settings = {{"kubernetes.server", "http://127.0.0.1:" + std::to_string(api_.port())},
                  {"kubernetes.tokenFile", token_file_},
                  {"kubernetes.timeout", "2000"}};
    return c;
  }
  std::unique_ptr<TrafficRouter> Make(const RouterConfig& c) {
    auto r = NewRouter(c);
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : nullptr;
  }

  // Every request carried the token and, for PATCH, the merge-patch content type.
  static void ExpectWellFormed(const std::vector<Seen>& seen, const std::string& token) {
    for (const auto& s : seen) {
      EXPECT_EQ(s.authorization, "Bearer " + token) << s.method << " " << s.path;
      if (s.method == "PATCH") {
        EXPECT_EQ(s.content_type, "application/merge-patch+json");
      }
    }
  }
  static std::string Methods(const std::vector<Seen>& seen) {
    std::string out;
    for (const auto& s : seen) out += (out.empty() ? "" : " ") + s.method;
    return out;
  }

  FakeApiServer api_;
  std::string dir_, token_file_;
};

TEST_F(KubeRoutersTest, GatewayApiGetsThenPatchesEveryMatchingRule) {
  auto router = Make(Config("gateway-api"));
  ASSERT_NE(router, nullptr);
  EXPECT_EQ(router->name(), "gateway-api");
  api_.TakeRequests();
  ASSERT_TRUE(router->SetWeights({90, 10}));
  auto seen = api_.TakeRequests();
  ASSERT_EQ(Methods(seen), "GET PATCH");
  ExpectWellFormed(seen, "token-1");
  for (const auto& s : seen) EXPECT_EQ(s.path, kRoutePath);
  // The patch replaces the rules list whole, guarded by the version that was read.
  const json& body = seen[1].body;
  EXPECT_EQ(body["metadata"]["resourceVersion"], "101");
  ASSERT_EQ(body["spec"]["rules"].size(), 3u);
  EXPECT_FALSE(body["spec"].contains("parentRefs"));
  const json route = api_.Object(kRoutePath);
  const json& rules = route["spec"]["rules"];
  EXPECT_EQ(rules[0]["backendRefs"][0]["weight"], 90);
  EXPECT_EQ(rules[0]["backendRefs"][1]["weight"], 10);
  EXPECT_EQ(rules[0]["backendRefs"][1]["port"], 9898);
  EXPECT_EQ(rules[0]["matches"][0]["headers"][0]["value"], "insider");
  EXPECT_EQ(rules[1], HttpRoute()["spec"]["rules"][1]);
  EXPECT_EQ(rules[2]["backendRefs"][0]["weight"], 90);
  EXPECT_EQ(rules[2]["backendRefs"][1]["weight"], 10);
  EXPECT_EQ(route["spec"]["parentRefs"][0]["name"], "gw");

  auto got = router->GetWeights();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, (Weights{90, 10}));
  // Idempotent: the same weights again read and write nothing.
  api_.TakeRequests();
  ASSERT_TRUE(router->SetWeights({90, 10}));
  EXPECT_EQ(Methods(api_.TakeRequests()), "GET");
  ASSERT_TRUE(router->SetWeights({0, 100}));
  got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{0, 100}));
}

TEST_F(KubeRoutersTest, GatewayApiMissingBackendsIsNotFound) {
  RouterConfig c = Config("gateway-api");
  c.settings["canaryService"] = "podinfo-green";
  auto router = Make(c);
  ASSERT_NE(router, nullptr);
  auto st = router->SetWeights({90, 10});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("podinfo-green"), std::string::npos) << st.error().message;
  EXPECT_EQ(Methods(api_.TakeRequests()), "GET");
}

TEST_F(KubeRoutersTest, ConflictIsRetriedOnceFromAFreshRead) {
  auto router = Make(Config("gateway-api"));
  ASSERT_NE(router, nullptr);
  api_.TakeRequests();
  api_.InjectConflicts(1);
  ASSERT_TRUE(router->SetWeights({80, 20}));
  auto seen = api_.TakeRequests();
  ASSERT_EQ(Methods(seen), "GET PATCH GET PATCH");
  EXPECT_NE(seen[1].body["metadata"]["resourceVersion"],
            seen[3].body["metadata"]["resourceVersion"]);
  EXPECT_EQ(api_.Object(kRoutePath)["spec"]["rules"][0]["backendRefs"][1]["weight"], 20);

  api_.InjectConflicts(2);
  auto st = router->SetWeights({70, 30});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_NE(st.error().message.find("has been modified"), std::string::npos) << st.error().message;
  EXPECT_EQ(Methods(api_.TakeRequests()), "GET PATCH GET PATCH");
  EXPECT_EQ(api_.Object(kRoutePath)["spec"]["rules"][0]["backendRefs"][1]["weight"], 20);
}

TEST_F(KubeRoutersTest, IstioWeightsAndMirror) {
  auto router = Make(Config("istio"));
  ASSERT_NE(router, nullptr);
  api_.TakeRequests();
  ASSERT_TRUE(router->SetWeights({100, 0, true}));
  auto seen = api_.TakeRequests();
  ASSERT_EQ(Methods(seen), "GET PATCH");
  ExpectWellFormed(seen, "token-1");
  EXPECT_EQ(seen[1].path, kVsPath);
  EXPECT_TRUE(seen[1].body["spec"]["http"].is_array());
  json vs = api_.Object(kVsPath);
  json& http = vs["spec"]["http"][0];
  EXPECT_EQ(http["mirror"]["host"], "podinfo-canary.test.svc.cluster.local");
  EXPECT_EQ(http["mirror"]["port"]["number"], 9898);
  EXPECT_EQ(http["mirrorPercentage"]["value"], 100);
  EXPECT_EQ(http["retries"]["attempts"], 3);
  auto got = router->GetWeights();
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, (Weights{100, 0, true}));

  ASSERT_TRUE(router->SetWeights({60, 40}));
  vs = api_.Object(kVsPath);
  EXPECT_FALSE(vs["spec"]["http"][0].contains("mirror"));
  EXPECT_FALSE(vs["spec"]["http"][0].contains("mirrorPercentage"));
  EXPECT_EQ(vs["spec"]["http"][0]["route"][0]["weight"], 60);
  EXPECT_EQ(vs["spec"]["http"][0]["route"][1]["weight"], 40);
  got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{60, 40, false}));
}

TEST_F(KubeRoutersTest, SmiTrafficSplit) {
  auto router = Make(Config("smi"));
  ASSERT_NE(router, nullptr);
  api_.TakeRequests();
  ASSERT_TRUE(router->SetWeights({75, 25}));
  auto seen = api_.TakeRequests();
  ASSERT_EQ(Methods(seen), "GET PATCH");
  ExpectWellFormed(seen, "token-1");
  EXPECT_EQ(seen[1].path, kSplitPath);
  const json split = api_.Object(kSplitPath);
  EXPECT_EQ(split["spec"]["backends"][0]["weight"], 75);
  EXPECT_EQ(split["spec"]["backends"][1]["weight"], 25);
  EXPECT_EQ(split["spec"]["service"], "podinfo");
  auto got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{75, 25}));
  auto st = router->SetWeights({100, 0, true});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(KubeRoutersTest, NginxCanaryAnnotations) {
  auto router = Make(Config("nginx"));
  ASSERT_NE(router, nullptr);
  auto got = router->GetWeights();  // no canary annotation yet: the canary Ingress is ignored
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(*got, (Weights{100, 0}));
  api_.TakeRequests();
  ASSERT_TRUE(router->SetWeights({85, 15}));
  auto seen = api_.TakeRequests();
  ASSERT_EQ(Methods(seen), "PATCH");  // annotations are a map: a merge patch needs no read
  ExpectWellFormed(seen, "token-1");
  EXPECT_EQ(seen[0].path, kIngressPath);
  const json ann = api_.Object(kIngressPath)["metadata"]["annotations"];
  EXPECT_EQ(ann["nginx.ingress.kubernetes.io/canary"], "true");
  EXPECT_EQ(ann["nginx.ingress.kubernetes.io/canary-weight"], "15");
  EXPECT_EQ(ann["nginx.ingress.kubernetes.io/canary-weight-total"], "100");
  EXPECT_EQ(ann["kubernetes.io/ingress.class"], "nginx");
  got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{85, 15}));
}

TEST_F(KubeRoutersTest, HttpErrorsMapToCodes) {
  auto router = Make(Config("gateway-api"));
  ASSERT_NE(router, nullptr);
  struct Case {
    int status;
    std::string message;
    ErrorCode code;
    std::string expect;
  } cases[] = {
      {401, "Unauthorized", ErrorCode::kPermissionDenied, "permission denied"},
      {403,
       "httproutes.gateway.networking.k8s.io \"podinfo\" is forbidden: User "
       "\"system:serviceaccount:test:augur\" cannot patch resource",
       ErrorCode::kPermissionDenied, "cannot patch resource"},
      {404, "not found", ErrorCode::kNotFound, "HTTPRoute test/podinfo not found"},
      {500, "etcdserver: request timed out", ErrorCode::kUnavailable, "etcdserver"},
      {503, "unavailable", ErrorCode::kUnavailable, "HTTP 503"},
  };
  for (const auto& c : cases) {
    api_.FailWith(c.status, c.message);
    auto st = router->SetWeights({90, 10});
    ASSERT_FALSE(st) << c.status;
    EXPECT_EQ(st.error().code, c.code) << c.status << ": " << st.error().message;
    EXPECT_NE(st.error().message.find(c.expect), std::string::npos) << st.error().message;
    auto got = router->GetWeights();
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().code, c.code) << got.error().message;
  }
  api_.FailWith(0, "");
  EXPECT_TRUE(router->SetWeights({90, 10}));
}

TEST_F(KubeRoutersTest, MissingObjectNamesIt) {
  RouterConfig c = Config("istio");
  c.settings["virtualService"] = "absent";
  auto router = Make(c);
  ASSERT_NE(router, nullptr);
  auto st = router->SetWeights({90, 10});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("VirtualService test/absent"), std::string::npos)
      << st.error().message;
}

TEST_F(KubeRoutersTest, TokenFileIsReadAtEachCall) {
  auto router = Make(Config("smi"));
  ASSERT_NE(router, nullptr);
  ASSERT_TRUE(router->SetWeights({90, 10}));
  // The kubelet rotates the projected token; the API server now only accepts the new one.
  api_.set_token("token-2");
  std::ofstream(token_file_) << "token-2\n";
  api_.TakeRequests();
  auto st = router->SetWeights({80, 20});
  ASSERT_TRUE(st) << st.error().message;
  ExpectWellFormed(api_.TakeRequests(), "token-2");
  // A token the server refuses: permission denied, quoting the server.
  std::ofstream(token_file_) << "stale\n";
  st = router->SetWeights({70, 30});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("Unauthorized"), std::string::npos) << st.error().message;
  // An explicitly configured token file that is gone is an error, not an anonymous request.
  std::filesystem::remove(token_file_);
  api_.TakeRequests();
  st = router->SetWeights({70, 30});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find(token_file_), std::string::npos) << st.error().message;
  EXPECT_TRUE(api_.TakeRequests().empty());
}

TEST_F(KubeRoutersTest, UnreachableAndSlowServers) {
  auto closed = augur::testing::FreeLoopbackPort();
  ASSERT_TRUE(closed);
  RouterConfig c = Config("istio");
  c.settings["kubernetes.server"] = "http://127.0.0.1:" + std::to_string(*closed);
  auto router = Make(c);
  ASSERT_NE(router, nullptr);
  auto st = router->SetWeights({90, 10});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable) << st.error().message;

  c = Config("istio");
  c.settings["kubernetes.timeout"] = "300";
  router = Make(c);
  ASSERT_NE(router, nullptr);
  api_.set_delay(std::chrono::milliseconds(1500));
  const auto start = std::chrono::steady_clock::now();
  auto got = router->GetWeights();
  const auto took = std::chrono::steady_clock::now() - start;
  api_.set_delay(std::chrono::milliseconds(0));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kDeadlineExceeded) << got.error().message;
  EXPECT_LT(took, std::chrono::milliseconds(1200));
}

}  // namespace
}  // namespace augur::routers
