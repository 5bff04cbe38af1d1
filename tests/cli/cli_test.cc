// Runs the real `augur` binary: the CLI contract of issue #2 (JSON out, exit code 2 and a
// one-line error on bad input).
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>

namespace {

struct Run {
  int exit_code;
  std::string out, err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Arguments are fixed strings from this file, never external input.
Run Augur(const std::string& args, const std::string& stdin_text) {
  char dir_template[] = "/tmp/augur_cli_test_XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/in") << stdin_text;
  const std::string cmd = std::string(AUGUR_BINARY) + " " + args + " < " + dir + "/in > " + dir +
                          "/out 2> " + dir + "/err";
  const int status = std::system(cmd.c_str());
  Run r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(dir + "/out"), Slurp(dir + "/err")};
  std::system(("rm -rf " + dir).c_str());
  return r;
}

const char* kDoc = R"({"x":[19,22,16,29,24],"y":[20,11,17,12]})";

TEST(Cli, MannWhitneyContract) {
  auto r = Augur("stats mann-whitney", kDoc);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  // R: wilcox.test(x, y, conf.int = TRUE): W = 17, p = 0.1111111, CI [-1, 17], estimate 7.
  EXPECT_EQ(j["statistic"], 17.0);
  EXPECT_NEAR(j["p_value"].get<double>(), 1.0 / 9.0, 1e-15);
  EXPECT_EQ(j["method"], "exact");
  EXPECT_EQ(j["estimate"], 7.0);
  EXPECT_EQ(j["conf_int"], nlohmann::json::array({-1.0, 17.0}));
  EXPECT_EQ(j["conf_level"], 0.95);
  EXPECT_EQ(j["n_x"], 5);
  EXPECT_EQ(j["n_y"], 4);
}

TEST(Cli, MannWhitneyFlags) {
  auto r = Augur(
      "stats mann-whitney --alternative greater --method asymptotic --no-correct "
      "--conf-level 0.9",
      kDoc);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["method"], "asymptotic");
  EXPECT_TRUE(j["conf_int"][1].is_null());  // one-sided: the open end is null
  EXPECT_EQ(j["conf_level"], 0.9);
  // scipy.stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic",
  // use_continuity=False).pvalue = 0.04320536648685
  EXPECT_NEAR(j["p_value"].get<double>(), 0.0432053664868500, 1e-12);
}

TEST(Cli, WelchAndKsShapes) {
  auto w = Augur("stats welch-t", kDoc);
  ASSERT_EQ(w.exit_code, 0) << w.err;
  auto jw = nlohmann::json::parse(w.out);
  EXPECT_NEAR(jw["p_value"].get<double>(), 0.0567509259218757, 1e-12);  // R t.test
  EXPECT_EQ(jw["conf_int"].size(), 2u);
  auto k = Augur("stats ks", kDoc);
  ASSERT_EQ(k.exit_code, 0) << k.err;
  auto jk = nlohmann::json::parse(k.out);
  EXPECT_NEAR(jk["p_value"].get<double>(), 0.285714285714285, 1e-12);  // R ks.test
  EXPECT_FALSE(jk.contains("conf_int"));
}

TEST(Cli, BadInputExitsTwoWithOneLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"stats mann-whitney", "{\"x\":[1,2,"},                   // truncated JSON
      {"stats mann-whitney", "{\"x\":[1,2]}"},                  // missing y
      {"stats mann-whitney", "{\"x\":[],\"y\":[1]}"},           // empty sample
      {"stats mann-whitney", "{\"x\":[1,\"NaN\"],\"y\":[1]}"},  // NaN rejected
      {"stats mann-whitney", "{\"x\":[1,\"abc\"],\"y\":[1]}"},  // not a number
      {"stats mann-whitney --alternative bigger", kDoc},        // bad flag value
      {"stats mann-whitney --conf-level 2", kDoc},
      {"stats mann-whitney --confidence 0.9", kDoc},  // unknown flag
      {"stats welch-t", "{\"x\":[1],\"y\":[1,2]}"},
      {"stats t-test", kDoc},  // unknown test
      {"statz", kDoc},
  };
  for (auto [args, input] : cases) {
    auto r = Augur(args, input);
    EXPECT_EQ(r.exit_code, 2) << args << " " << input;
    EXPECT_TRUE(r.out.empty()) << args;
    ASSERT_FALSE(r.err.empty()) << args;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
  }
}

TEST(Cli, NonFiniteCanBeDropped) {
  auto r = Augur("stats mann-whitney --non-finite drop",
                 R"({"x":[1.5,"NaN",3.2,4.4,"+Inf",null],"y":[0.1,2.2,0.7]})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n_x"], 3);
  EXPECT_EQ(j["statistic"], 8.0);
}

TEST(Cli, HelpDescribesEveryFlag) {
  auto top = Augur("--help", "");
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("stats"), std::string::npos);
  auto mw = Augur("stats mann-whitney --help", "");
  EXPECT_EQ(mw.exit_code, 0);
  for (const char* flag :
       {"--alternative", "--method", "--no-correct", "--conf-level", "--non-finite", "--input"}) {
    EXPECT_NE(mw.out.find(flag), std::string::npos) << flag;
  }
  auto typo = Augur("stats mann-whitney --alternatve less", kDoc);
  EXPECT_NE(typo.err.find("did you mean '--alternative'"), std::string::npos) << typo.err;
}

std::string Repo(const std::string& rel) { return std::string(AUGUR_SOURCE_DIR) + "/" + rel; }

TEST(Cli, JudgeGoldenSignalsExplainsTheFailure) {
  auto r = Augur("judge --config " + Repo("models/http-golden-signals.yaml") + " --data " +
                     Repo("deploy/examples/golden-signals-series.json") + " --exit-code",
                 "");
  EXPECT_EQ(r.exit_code, 3) << r.err;  // fail
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["verdict"], "fail");
  EXPECT_NE(j["reason"].get<std::string>().find("errors"), std::string::npos);
  for (const auto& m : j["metrics"]) {
    EXPECT_TRUE(m.contains("conf_int") && m.contains("p_value") && m.contains("canary") &&
                m.contains("baseline") && m.contains("criterion"))
        << m.dump();
    if (m["name"] == "errors") {
      EXPECT_EQ(m["classification"], "High");
    }
    if (m["name"] == "latency-p50") {
      EXPECT_EQ(m["classification"], "Pass");
    }
  }
}

TEST(Cli, JudgeKayentaRemoteRequest) {
  auto r = Augur(
      "judge --kayenta-request " + Repo("deploy/examples/kayenta-remote-judge-request.json"), "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["judgeName"], "NetflixACAJudge-v1.0");
  EXPECT_EQ(j["results"][0]["classification"], "High");  // Kayenta ClassifierSuite/02 data
  // groups errors 50 (Pass), latency 30 (High), system 20 (Pass) -> 70: Marginal.
  EXPECT_EQ(j["score"]["score"], 70.0);
  EXPECT_EQ(j["score"]["classification"], "Marginal");
}

TEST(Cli, JudgeBadInputNamesThePath) {
  auto r = Augur("judge --config " + Repo("models/http-golden-signals.yaml") + " --data -",
                 R"({"metrics":[{"name":"errors","canary":[1,"x"],"baseline":[0]}]})");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("metrics[0].canary[1]"), std::string::npos) << r.err;
  auto u = Augur("judge --config " + Repo("models/http-golden-signals.yaml") + " --data -",
                 R"({"metrics":[{"name":"cpu","canary":[1],"baseline":[0]}]})");
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.err.find("no metric named 'cpu'"), std::string::npos) << u.err;
}

TEST(Cli, SequentialStateCarriesAcrossRuns) {
  char dir_template[] = "/tmp/augur_seq_test_XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  std::ofstream(dir + "/model.yaml")
      << "apiVersion: augur.dev/v1\nkind: AnalysisModel\n"
         "spec:\n  mode: sequential\n  metrics:\n"
         "    - {name: latency, query: q, direction: increase, minSamples: 5}\n";
  // Each run brings 20 new points per side; the canary is 30% slower.
  int failed_at = -1;
  for (int run = 0; run < 10 && failed_at < 0; ++run) {
    nlohmann::json data = {{"metrics",
                            {{{"name", "latency"},
                              {"canary", nlohmann::json::array()},
                              {"baseline", nlohmann::json::array()}}}}};
    for (int i = 0; i < 20; ++i) {
      const double wobble = ((i * 7 + run * 3) % 11) - 5;  // deterministic spread
      data["metrics"][0]["baseline"].push_back(100 + wobble);
      data["metrics"][0]["canary"].push_back(130 + wobble);
    }
    std::ofstream(dir + "/data.json") << data.dump();
    auto r = Augur("judge --config " + dir + "/model.yaml --data " + dir + "/data.json --state " +
                       dir + "/state.json --exit-code",
                   "");
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 3 || r.exit_code == 4) << r.err;
    auto state = nlohmann::json::parse(Slurp(dir + "/state.json"));
    EXPECT_EQ(state["values"]["latency"]["checks"], run + 1);
    EXPECT_EQ(state["values"]["latency"]["canary"]["n"], 20 * (run + 1));
    if (r.exit_code == 3) failed_at = run;
  }
  EXPECT_GE(failed_at, 0);
  auto bad =
      Augur("judge --config " + Repo("models/http-golden-signals.yaml") + " --data " +
                Repo("deploy/examples/golden-signals-series.json") + " --state " + dir + "/s2.json",
            "");
  EXPECT_EQ(bad.exit_code, 2);  // --state without sequential mode
  std::system(("rm -rf " + dir).c_str());
}

// A loopback HTTP server standing in for Prometheus's HTTP API and an exporter page; the real
// Prometheus and HAProxy integration tests come with the rest of issue #4.
class FakePrometheus {
 public:
  FakePrometheus() {
    server_.Get("/api/v1/query_range", [this](const httplib::Request& req, httplib::Response& res) {
      queries_.push_back(req.get_param_value("query"));
      const bool canary = req.get_param_value("query").find("canary") != std::string::npos;
      res.set_content(
          std::string(R"({"status":"success","data":{"resultType":"matrix","result":[)") +
              R"({"metric":{"server":")" + (canary ? "canary" : "primary") +
              R"("},"values":[[60,"0.99"],[90,"NaN"],[120,")" + (canary ? "0.97" : "0.995") +
              R"("]]}]}})",
          "application/json");
    });
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "# TYPE haproxy_server_http_responses_total counter\n"
          "haproxy_server_http_responses_total{proxy=\"be_app\",server=\"canary\",code=\"5xx\"} "
          "7\n",
          "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens: early connections wait in the backlog.
  }
  ~FakePrometheus() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::vector<std::string>& queries() const { return queries_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::vector<std::string> queries_;
};

TEST(Cli, QueryTemplateForBothSidesAligned) {
  FakePrometheus prom;
  auto r =
      Augur("query --prometheus " + prom.url() + " --template " + Repo("queries/haproxy.yaml") +
                ":success_rate --var namespace=shop" + " --start 60 --end 120 --step 30s",
            "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NE(j["query"]["primary"].get<std::string>().find("server=\"primary\""), std::string::npos);
  EXPECT_NE(j["query"]["canary"].get<std::string>().find("server=\"canary\""), std::string::npos);
  EXPECT_EQ(j["aligned"]["timestamps"], nlohmann::json::array({60.0, 90.0, 120.0}));
  EXPECT_EQ(j["aligned"]["canary"][2], 0.97);
  EXPECT_TRUE(j["aligned"]["primary"][1].is_null());  // the NaN point is an explicit gap
  ASSERT_EQ(prom.queries().size(), 2u);
}

TEST(Cli, QueryErrorsAreClear) {
  auto down =
      Augur("query --prometheus http://127.0.0.1:1 --promql up --start 0 --end 60 --step 15s", "");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("127.0.0.1:1"), std::string::npos) << down.err;
  auto bad =
      Augur("query --prometheus http://127.0.0.1:1 --template " + Repo("queries/haproxy.yaml") +
                ":success_rate --var namespace=a --var bogus=1",
            "");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("bogus"), std::string::npos) << bad.err;
}

TEST(Cli, ScrapePrintsFamilies) {
  FakePrometheus prom;
  auto r = Augur("scrape " + prom.url() + "/metrics", "");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "haproxy_server_http_responses_total");
  EXPECT_EQ(j[0]["samples"][0]["labels"]["code"], "5xx");
  EXPECT_EQ(j[0]["samples"][0]["value"], 7.0);
}

}  // namespace
