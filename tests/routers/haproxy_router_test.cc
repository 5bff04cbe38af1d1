// The HAProxy router against a real HAProxy (Debian's /usr/sbin/haproxy) started by the test
// on free 127.0.0.1 ports, with two in-process HTTP backends counting the requests they get
// through HAProxy's frontend. The runtime API is reached over TCP and over a unix socket.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "augur/routers/factory.h"
#include "routers/haproxy/runtime_client.h"
#include "routers/loopback_server.h"
#include "testing/process.h"

namespace augur::routers {
namespace {

using augur::testing::FreeLoopbackPort;
using augur::testing::Process;
using augur::testing::ProcessOptions;
using routers::testing::LoopbackServer;

struct Backend {
  LoopbackServer http;
  std::atomic<int> hits{0};
  explicit Backend(const std::string& name) {
    http.server().Get("/", [this, name](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content(name, "text/plain");
    });
  }
};

class HaproxyRouterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    primary_ = new Backend("primary");
    canary_ = new Backend("canary");
    ASSERT_GT(primary_->http.Start(), 0);
    ASSERT_GT(canary_->http.Start(), 0);
    std::string tmpl = (std::filesystem::temp_directory_path() / "augur-routers-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = new std::string(tmpl);
    std::string last_error;
    // A port picked free may be taken before HAProxy binds it: retry with fresh ports.
    for (int attempt = 0; attempt < 3 && haproxy_ == nullptr; ++attempt) {
      auto fe = FreeLoopbackPort(), rt = FreeLoopbackPort(), ro = FreeLoopbackPort();
      ASSERT_TRUE(fe && rt && ro);
      frontend_port_ = *fe;
      admin_port_ = *rt;
      user_port_ = *ro;
      const std::string cfg = *dir_ + "/haproxy.cfg";
      std::ofstream(cfg) << Config();
      ProcessOptions p;
      p.argv = {"haproxy", "-db", "-f", cfg};
      auto proc = Process::Start(p);
      ASSERT_TRUE(proc) << proc.error().message;
      // Ready when the admin socket answers; HAProxy binds all listeners before serving any.
      auto client = haproxy::RuntimeClient::Create("127.0.0.1:" + std::to_string(admin_port_), "",
                                                   500, "test");
      ASSERT_TRUE(client);
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (std::chrono::steady_clock::now() < deadline && (*proc)->Running()) {
        auto r = client->Command("show info");
        if (r && r->find("Name: HAProxy") != std::string::npos) {
          haproxy_ = proc->release();
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (haproxy_ == nullptr) last_error = (*proc)->Stderr();
    }
    ASSERT_NE(haproxy_, nullptr) << "HAProxy did not start: " << last_error;
  }

  static void TearDownTestSuite() {
    delete haproxy_;
    haproxy_ = nullptr;
    delete primary_;
    delete canary_;
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
  }

  static std::string Config() {
    std::ostringstream c;
    c << "global\n"
      << "    stats socket ipv4@127.0.0.1:" << admin_port_ << " level admin\n"
      << "    stats socket " << *dir_ << "/admin.sock mode 600 level admin\n"
      << "    stats socket ipv4@127.0.0.1:" << user_port_ << " level user\n"
      << "    nbthread 2\n"
      << "defaults\n    mode http\n    timeout connect 2s\n    timeout client 10s\n"
      << "    timeout server 10s\n"
      << "frontend fe\n    bind 127.0.0.1:" << frontend_port_ << "\n    default_backend app\n"
      << "backend app\n    balance roundrobin\n    option http-server-close\n"
      << "    server primary 127.0.0.1:" << primary_->http.port() << " weight 100\n"
      << "    server canary 127.0.0.1:" << canary_->http.port() << " weight 0\n";
    return c.str();
  }

  static RouterConfig Tcp(int port = admin_port_) {
    return {"haproxy", {{"address", "127.0.0.1:" + std::to_string(port)}, {"backend", "app"}}};
  }
  static RouterConfig Unix() {
    return {"haproxy", {{"socket", *dir_ + "/admin.sock"}, {"backend", "app"}}};
  }
  static std::unique_ptr<TrafficRouter> Make(const RouterConfig& c) {
    auto r = NewRouter(c);
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : nullptr;
  }

  // srv_uweight of a server from `show servers state`: a different command from the router's
  // `get weight`, so the round trip is checked against HAProxy's own table.
  static int StateWeight(const std::string& server) {
    auto client = haproxy::RuntimeClient::Create("127.0.0.1:" + std::to_string(admin_port_), "",
                                                 2000, "test");
    auto out = client->Command("show servers state app");
    if (!out) return -1;
    std::istringstream lines(*out);
    std::string line, header;
    std::getline(lines, line);  // version
    std::getline(lines, header);
    std::vector<std::string> names;
    {
      std::istringstream h(header);
      std::string w;
      while (h >> w) {
        if (w != "#") names.push_back(w);
      }
    }
    while (std::getline(lines, line)) {
      std::istringstream f(line);
      std::vector<std::string> fields;
      std::string w;
      while (f >> w) fields.push_back(w);
      size_t name_at = 0, weight_at = 0;
      for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "srv_name") name_at = i;
        if (names[i] == "srv_uweight") weight_at = i;
      }
      if (fields.size() > weight_at && fields[name_at] == server) {
        return std::atoi(fields[weight_at].c_str());
      }
    }
    return -2;
  }

  // Sends n requests through HAProxy's frontend; returns {primary, canary} hits among them.
  static std::pair<int, int> Traffic(int n) {
    const int p0 = primary_->hits, c0 = canary_->hits;
    httplib::Client client("127.0.0.1", frontend_port_);
    client.set_keep_alive(true);
    int ok = 0;
    for (int i = 0; i < n; ++i) {
      auto res = client.Get("/");
      if (res && res->status == 200) ++ok;
    }
    EXPECT_EQ(ok, n);
    return {primary_->hits - p0, canary_->hits - c0};
  }

  static inline Backend* primary_ = nullptr;
  static inline Backend* canary_ = nullptr;
  static inline Process* haproxy_ = nullptr;
  static inline std::string* dir_ = nullptr;
  static inline int frontend_port_ = 0, admin_port_ = 0, user_port_ = 0;
};

TEST_F(HaproxyRouterTest, WeightsRoundTripOverTcpAndUnixSocket) {
  for (const RouterConfig& config : {Tcp(), Unix()}) {
    auto router = Make(config);
    ASSERT_NE(router, nullptr);
    EXPECT_EQ(router->name(), "haproxy");
    for (int canary : {0, 10, 50, 90, 100, 37, 0}) {
      const Weights want{100 - canary, canary, false};
      auto st = router->SetWeights(want);
      ASSERT_TRUE(st) << st.error().message;
      // The percentages are the HAProxy weights (see haproxy_router.cc).
      EXPECT_EQ(StateWeight("primary"), 100 - canary);
      EXPECT_EQ(StateWeight("canary"), canary);
      auto got = router->GetWeights();
      ASSERT_TRUE(got) << got.error().message;
      EXPECT_EQ(*got, want) << "canary " << canary << " via " << config.settings.begin()->first;
    }
  }
}

TEST_F(HaproxyRouterTest, ExtremesSendAllRequestsToOneServer) {
  auto router = Make(Tcp());
  ASSERT_NE(router, nullptr);
  ASSERT_TRUE(router->SetWeights({100, 0}));
  EXPECT_EQ(Traffic(60), std::make_pair(60, 0));
  ASSERT_TRUE(router->SetWeights({0, 100}));
  EXPECT_EQ(Traffic(60), std::make_pair(0, 60));
  ASSERT_TRUE(router->SetWeights({100, 0}));
  EXPECT_EQ(Traffic(20), std::make_pair(20, 0));
}

TEST_F(HaproxyRouterTest, IntermediateWeightsSplitRealTraffic) {
  auto router = Make(Unix());
  ASSERT_NE(router, nullptr);
  ASSERT_TRUE(router->SetWeights({50, 50}));
  auto [p50, c50] = Traffic(200);
  EXPECT_NEAR(c50, 100, 4) << "primary " << p50;
  ASSERT_TRUE(router->SetWeights({90, 10}));
  auto [p10, c10] = Traffic(200);
  EXPECT_NEAR(c10, 20, 4) << "primary " << p10;
  ASSERT_TRUE(router->SetWeights({100, 0}));
}

TEST_F(HaproxyRouterTest, IdempotentAndReadsForeignWeights) {
  auto router = Make(Tcp());
  ASSERT_NE(router, nullptr);
  ASSERT_TRUE(router->SetWeights({75, 25}));
  ASSERT_TRUE(router->SetWeights({75, 25}));
  auto got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{75, 25}));
  EXPECT_EQ(StateWeight("canary"), 25);
  // Weights set by someone else, on another scale: 192:64 is 25% for the canary.
  auto client =
      haproxy::RuntimeClient::Create("127.0.0.1:" + std::to_string(admin_port_), "", 2000, "test");
  ASSERT_EQ(*client->Command("set server app/primary weight 192"), "\n");
  ASSERT_EQ(*client->Command("set server app/canary weight 64"), "\n");
  got = router->GetWeights();
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (Weights{75, 25}));
  ASSERT_TRUE(client->Command("set server app/canary weight 0"));
  ASSERT_TRUE(client->Command("set server app/primary weight 0"));
  got = router->GetWeights();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kBadData);
  EXPECT_NE(got.error().message.find("nowhere"), std::string::npos) << got.error().message;
  ASSERT_TRUE(router->SetWeights({100, 0}));
}

TEST_F(HaproxyRouterTest, MirrorAndBadWeightsAreInvalidArguments) {
  auto router = Make(Tcp());
  ASSERT_NE(router, nullptr);
  for (const Weights& w : {Weights{100, 0, true}, Weights{50, 40}, Weights{120, -20}}) {
    auto st = router->SetWeights(w);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument) << st.error().message;
  }
  EXPECT_EQ(StateWeight("primary"), 100);  // nothing was sent
}

TEST_F(HaproxyRouterTest, UnknownBackendOrServerQuotesHaproxy) {
  struct Case {
    std::string key, value, quote;
  } cases[] = {{"backend", "nope", "No such backend"},
               {"canaryServer", "nope", "No such server"},
               {"primaryServer", "nope", "No such server"}};
  for (const auto& c : cases) {
    RouterConfig config = Tcp();
    config.settings[c.key] = c.value;
    auto router = Make(config);
    ASSERT_NE(router, nullptr);
    auto st = router->SetWeights({90, 10});
    ASSERT_FALSE(st) << c.key;
    EXPECT_EQ(st.error().code, ErrorCode::kNotFound) << st.error().message;
    EXPECT_NE(st.error().message.find(c.quote), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("nope"), std::string::npos) << st.error().message;
    auto got = router->GetWeights();
    ASSERT_FALSE(got);
    EXPECT_NE(got.error().message.find(c.quote), std::string::npos) << got.error().message;
  }
  ASSERT_TRUE(Make(Tcp())->SetWeights({100, 0}));
}

TEST_F(HaproxyRouterTest, SocketBelowLevelAdminIsRefused) {
  auto router = Make(Tcp(user_port_));
  ASSERT_NE(router, nullptr);
  auto st = router->SetWeights({90, 10});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(st.error().message.find("ermission denied"), std::string::npos) << st.error().message;
  EXPECT_EQ(StateWeight("canary"), 0);
}

TEST_F(HaproxyRouterTest, UnreachableSocketIsUnavailableFast) {
  auto closed = FreeLoopbackPort();
  ASSERT_TRUE(closed);
  const RouterConfig configs[] = {
      Tcp(*closed),
      {"haproxy", {{"socket", *dir_ + "/missing.sock"}, {"backend", "app"}}},
  };
  for (const auto& config : configs) {
    auto router = Make(config);
    ASSERT_NE(router, nullptr);
    const auto start = std::chrono::steady_clock::now();
    auto st = router->SetWeights({90, 10});
    auto got = router->GetWeights();
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(st);
    ASSERT_FALSE(got);
    EXPECT_EQ(st.error().code, ErrorCode::kUnavailable) << st.error().message;
    EXPECT_EQ(got.error().code, ErrorCode::kUnavailable) << got.error().message;
    EXPECT_LT(took, std::chrono::milliseconds(500));
  }
}

TEST_F(HaproxyRouterTest, SilentSocketHitsTheTimeout) {
  // A listener that never accepts: the kernel completes the handshake, nobody answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  RouterConfig config = Tcp(ntohs(a.sin_port));
  config.settings["timeout"] = "200";
  auto router = Make(config);
  const auto start = std::chrono::steady_clock::now();
  auto got = router->GetWeights();
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kDeadlineExceeded) << got.error().message;
  EXPECT_GE(took, std::chrono::milliseconds(190));
  EXPECT_LT(took, std::chrono::milliseconds(1000));
}

}  // namespace
}  // namespace augur::routers
