// Tests for the Prometheus HTTP API client.
//
// These use REAL sockets: each test starts httplib::Server instances on 127.0.0.1, port 0,
// which stand in for Prometheus's HTTP API (same paths, parameters and JSON shapes as
// documented in shared/reference/stats.md §5). A real Prometheus integration test comes
// later (issue #4); these servers let us script failures (5xx, hangs, garbage) that a real
// Prometheus will not produce on demand.
#include "augur/sources/prometheus_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace augur::sources {
namespace {

using ::std::chrono::milliseconds;

// A loopback HTTP server on an ephemeral port, listening on its own thread while in scope.
class FakePrometheus {
 public:
  FakePrometheus() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // listen_after_bind sets is_running() before it starts accepting; connections made
    // before that wait in the backlog anyway, so this only avoids a stop() race.
    while (!server_.is_running()) std::this_thread::sleep_for(milliseconds(1));
  }
  ~FakePrometheus() { Stop(); }

  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }

  // Registers `handler` for GET and POST on `path`, recording every request it receives.
  void Handle(const std::string& path,
              std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    auto wrapped = [this, handler](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
      }
      handler(req, res);
    };
    server_.Get(path, wrapped);
    server_.Post(path, wrapped);
  }

  std::vector<httplib::Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = -1;
  mutable std::mutex mu_;
  std::vector<httplib::Request> requests_;
};

PrometheusClient MakeClient(const std::string& url, PrometheusOptions options = {}) {
  options.url = url;
  if (options.timeout_ms == PrometheusOptions{}.timeout_ms) options.timeout_ms = 2000;
  options.backoff_ms = 5;
  auto client = PrometheusClient::Create(std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().message;
  return std::move(client).value();
}

constexpr char kMatrixBody[] = R"({"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"__name__":"up","job":"primary"},"values":[[1795317215.250,"1"],[1795317230.250,"NaN"]]},
  {"metric":{"__name__":"up","job":"canary"},"values":[[1795317215.250,"+Inf"],[1795317230,"-Inf"],[1795317245.25,"2.5e-3"]]}
]}})";

void ReplyJson(httplib::Response& res, const std::string& body, int status = 200) {
  res.status = status;
  res.set_content(body, "application/json");
}

// --- ParseQueryResponse ------------------------------------------------------------------

TEST(ParseQueryResponseTest, MatrixWithTwoSeriesAndSpecialValues) {
  auto r = ParseQueryResponse(kMatrixBody);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result_type, "matrix");
  ASSERT_EQ(r->series.size(), 2u);  // both kept, in order, with their labels
  const Series& a = r->series[0];
  EXPECT_EQ(a.labels, (std::vector<std::pair<std::string, std::string>>{{"__name__", "up"},
                                                                        {"job", "primary"}}));
  EXPECT_EQ(a.timestamps_ms, (std::vector<int64_t>{1795317215250, 1795317230250}));
  EXPECT_EQ(a.values[0], 1.0);
  EXPECT_TRUE(std::isnan(a.values[1]));
  const Series& b = r->series[1];
  EXPECT_EQ(b.labels[1].second, "canary");
  EXPECT_EQ(b.timestamps_ms, (std::vector<int64_t>{1795317215250, 1795317230000, 1795317245250}));
  EXPECT_EQ(b.values[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(b.values[1], -std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(b.values[2], 0.0025);
}

TEST(ParseQueryResponseTest, VectorScalarAndWarnings) {
  auto v = ParseQueryResponse(R"({"status":"success","warnings":["partial"],"data":{
    "resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1700000000.001,"3"]},
                                    {"metric":{"pod":"b"},"value":[1700000000.001,"4"]}]}})");
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->result_type, "vector");
  ASSERT_EQ(v->series.size(), 2u);
  EXPECT_EQ(v->series[1].labels[0].second, "b");
  EXPECT_EQ(v->series[1].timestamps_ms, std::vector<int64_t>{1700000000001});
  EXPECT_EQ(v->series[1].values, std::vector<double>{4});
  EXPECT_EQ(v->warnings, std::vector<std::string>{"partial"});

  auto s = ParseQueryResponse(
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"0.5"]}})");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->result_type, "scalar");
  ASSERT_EQ(s->series.size(), 1u);
  EXPECT_TRUE(s->series[0].labels.empty());
  EXPECT_EQ(s->series[0].timestamps_ms, std::vector<int64_t>{1700000000000});
  EXPECT_EQ(s->series[0].values, std::vector<double>{0.5});
}

TEST(ParseQueryResponseTest, ErrorEnvelopeNamesTypeAndMessage) {
  auto r = ParseQueryResponse(
      R"({"status":"error","errorType":"bad_data","error":"1:4: parse error: unclosed left parenthesis"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("bad_data"), std::string::npos);
  EXPECT_NE(r.error().message.find("unclosed left parenthesis"), std::string::npos);

  auto t =
      ParseQueryResponse(R"({"status":"error","errorType":"timeout","error":"query timed out"})");
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kDeadlineExceeded);
}

TEST(ParseQueryResponseTest, GarbageAndTruncatedJsonAreBadData) {
  auto garbage = ParseQueryResponse("<html>502 Bad Gateway</html>");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kBadData);
  EXPECT_NE(garbage.error().message.find("byte 1"), std::string::npos) << garbage.error().message;

  std::string truncated(kMatrixBody, 60);
  auto t = ParseQueryResponse(truncated);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, ErrorCode::kBadData);
  EXPECT_NE(t.error().message.find("byte "), std::string::npos) << t.error().message;

  for (
      const char* body :
      {"", "[]", R"({"status":"success"})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"x"]]}]}})",
       R"({"status":"success","data":{"resultType":"matrix","result":[{"values":[["1","1"]]}]}})",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
       R"({"status":"success","data":{"resultType":"table","result":[]}})"}) {
    auto r = ParseQueryResponse(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, ErrorCode::kBadData) << body;
  }
}

// --- PrometheusClient against loopback servers ------------------------------------------

TEST(PrometheusClientTest, CreateValidatesOptions) {
  for (const char* url : {"", "127.0.0.1:9090", "ftp://x:1", "http://", "http://h:0",
                          "http://h:99999", "http://u:p@h:1", "http://h:1/?q=1"}) {
    PrometheusOptions o;
    o.url = url;
    EXPECT_FALSE(PrometheusClient::Create(o)) << url;
  }
  PrometheusOptions o;
  o.url = "https://prom.example:443/prefix/";
  EXPECT_TRUE(PrometheusClient::Create(o));
  o.bearer_token = "t";
  o.basic_user = "u";
  EXPECT_FALSE(PrometheusClient::Create(o));  // two Authorization sources
  o.basic_user.clear();
  o.headers = {{"X-Evil", "a\r\nHost: other"}};
  EXPECT_FALSE(PrometheusClient::Create(o));
}

TEST(PrometheusClientTest, RangeQuerySendsExactParametersAndBearerAndHeaders) {
  FakePrometheus server;
  server.Handle("/api/v1/query_range", [](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, kMatrixBody);
  });
  PrometheusOptions options;
  options.bearer_token = "tok123";
  options.headers = {{"X-Scope-OrgID", "tenant-a"}};
  auto client = MakeClient(server.url(), options);

  auto r = client.QueryRange(R"(sum(rate(x{job="a b"}[1m])))", 1795317215250, 1795317245250, 15000);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_TRUE(std::isnan(r->series[0].values[1]));
  EXPECT_TRUE(std::isinf(r->series[1].values[0]));

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const httplib::Request& req = requests[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.get_param_value("query"), R"(sum(rate(x{job="a b"}[1m])))");
  EXPECT_EQ(req.get_param_value("start"), "1795317215.250");
  EXPECT_EQ(req.get_param_value("end"), "1795317245.250");
  EXPECT_EQ(req.get_param_value("step"), "15");
  EXPECT_EQ(req.params.size(), 4u);
  EXPECT_EQ(req.get_header_value("Authorization"), "Bearer tok123");
  EXPECT_EQ(req.get_header_value("X-Scope-OrgID"), "tenant-a");
}

TEST(PrometheusClientTest, InstantQueryPostFormWithBasicAuthAndPrefix) {
  FakePrometheus server;
  server.Handle("/prom/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, R"({"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"pod":"a"},"value":[1700000000.5,"7"]}]}})");
  });
  PrometheusOptions options;
  options.use_post = true;
  options.basic_user = "alice";
  options.basic_password = "s3cret";
  auto client = MakeClient(server.url() + "/prom/", options);

  auto r = client.Query("up == 1 & on() vector(1)", 1700000000500);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result_type, "vector");
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].values, std::vector<double>{7});

  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const httplib::Request& req = requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(req.body.find('?'), std::string::npos);
  EXPECT_EQ(req.get_param_value("query"), "up == 1 & on() vector(1)");  // '&' survived encoding
  EXPECT_EQ(req.get_param_value("time"), "1700000000.500");
  EXPECT_EQ(req.get_header_value("Authorization"), "Basic YWxpY2U6czNjcmV0");  // alice:s3cret
}

TEST(PrometheusClientTest, ScalarInstantQuery) {
  FakePrometheus server;
  server.Handle("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res,
              R"({"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}})");
  });
  auto r = MakeClient(server.url()).Query("scalar(42)", 1700000000000);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->result_type, "scalar");
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].values, std::vector<double>{42});
}

// Serves a two-series matrix on exactly the requested grid, rejecting (like Prometheus) any
// request with more than 11,000 steps.
void ServeGrid(const httplib::Request& req, httplib::Response& res) {
  auto ms = [&](const char* name) {
    return std::llround(std::stod(req.get_param_value(name)) * 1000);
  };
  const int64_t start = ms("start"), end = ms("end"), step = ms("step");
  if ((end - start) / step > 11000) {
    ReplyJson(
        res,
        R"({"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"})",
        400);
    return;
  }
  std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (const char* job : {"primary", "canary"}) {
    body +=
        std::string(job[0] == 'p' ? "" : ",") + R"({"metric":{"job":")" + job + R"("},"values":[)";
    for (int64_t t = start; t <= end; t += step) {
      if (t != start) body += ',';
      // Appended piecewise: g++ 12 raises a false -Wrestrict on `"[" + std::string&&`.
      body += '[';
      body += std::to_string(t / 1000);
      body += '.';
      body += std::to_string(t % 1000 + 1000).substr(1);
      body += ",\"";
      body += std::to_string(t);
      body += "\"]";
    }
    body += "]}";
  }
  body += "]}}";
  ReplyJson(res, body);
}

TEST(PrometheusClientTest, LongRangeIsSplitAndStitchedWithoutDuplicates) {
  FakePrometheus server;
  server.Handle("/api/v1/query_range", ServeGrid);
  auto client = MakeClient(server.url());
  const int64_t start = 1700000000000, step = 1000, steps = 25000;
  auto r = client.QueryRange("up", start, start + steps * step, step);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(server.requests().size(), 3u);  // 11,001 + 11,001 + 2,999 points
  ASSERT_EQ(r->series.size(), 2u);
  for (const Series& s : r->series) {
    ASSERT_EQ(s.timestamps_ms.size(), static_cast<size_t>(steps + 1)) << s.labels[0].second;
    for (size_t i = 0; i < s.timestamps_ms.size(); ++i) {
      ASSERT_EQ(s.timestamps_ms[i], start + static_cast<int64_t>(i) * step);
      ASSERT_EQ(s.values[i], static_cast<double>(s.timestamps_ms[i]));
    }
  }
  EXPECT_EQ(r->series[0].labels[0].second, "primary");
  EXPECT_EQ(r->series[1].labels[0].second, "canary");
}

TEST(PrometheusClientTest, RetriesServerErrorsThenSucceeds) {
  FakePrometheus server;
  std::atomic<int> calls{0};
  server.Handle("/api/v1/query_range", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls <= 2) {
      ReplyJson(res, "overloaded", 500);
    } else {
      ReplyJson(res, kMatrixBody);
    }
  });
  auto r = MakeClient(server.url()).QueryRange("up", 0, 30000, 15000);  // retries = 2
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(r->series.size(), 2u);
}

TEST(PrometheusClientTest, PersistentServerErrorIsUnavailableAfterRetries) {
  FakePrometheus server;
  server.Handle("/api/v1/query", [](const httplib::Request&, httplib::Response& res) {
    ReplyJson(res, "<html>bad gateway</html>", 502);
  });
  PrometheusOptions options;
  options.retries = 1;
  auto r = MakeClient(server.url(), options).Query("up", 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("502"), std::string::npos) << r.error().message;
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(PrometheusClientTest, BadRequestIsInvalidArgumentAndNotRetried) {
  FakePrometheus server;
  server.Handle("/api/v1/query_range", [](const httplib::Request&, httplib::Response& res) {
    ReplyJson(
        res,
        R"({"status":"error","errorType":"bad_data","error":"1:4: parse error: unclosed left parenthesis"})",
        400);
  });
  auto r = MakeClient(server.url()).QueryRange("up(", 0, 60000, 15000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("bad_data"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("unclosed left parenthesis"), std::string::npos);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(PrometheusClientTest, HangingServerIsDeadlineExceededInBoundedTime) {
  FakePrometheus server;
  std::atomic<bool> release{false};
  server.Handle("/api/v1/query", [&](const httplib::Request&, httplib::Response& res) {
    // Hang until the test is done (capped so a failure cannot wedge the server's stop()).
    for (int i = 0; i < 300 && !release; ++i) std::this_thread::sleep_for(milliseconds(10));
    ReplyJson(res, kMatrixBody);
  });
  PrometheusOptions options;
  options.timeout_ms = 300;
  auto client = MakeClient(server.url(), options);
  const auto begin = std::chrono::steady_clock::now();
  auto r = client.Query("up", 0);
  const auto elapsed = std::chrono::steady_clock::now() - begin;
  release = true;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kDeadlineExceeded) << r.error().message;
  EXPECT_LT(elapsed, milliseconds(1500));  // not retried: a timeout would likely recur
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(PrometheusClientTest, ClosedPortIsUnavailableNamingUrl) {
  std::string url;
  {
    FakePrometheus server;  // take a free port, then close it
    url = server.url();
  }
  PrometheusOptions options;
  options.retries = 1;
  auto r = MakeClient(url, options).Query("up", 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find(url), std::string::npos) << r.error().message;
}

TEST(PrometheusClientTest, GarbageTruncatedAndOversizedBodiesAreBadData) {
  FakePrometheus server;
  server.Handle("/api/v1/query", [](const httplib::Request& req, httplib::Response& res) {
    const std::string q = req.get_param_value("query");
    if (q == "garbage") ReplyJson(res, "this is not json");
    if (q == "truncated") ReplyJson(res, std::string(kMatrixBody, 80));
    if (q == "big") ReplyJson(res, std::string(4096, ' ') + kMatrixBody);
  });
  PrometheusOptions options;
  options.max_body_bytes = 1024;
  auto client = MakeClient(server.url(), options);
  for (const char* q : {"garbage", "truncated", "big"}) {
    auto r = client.Query(q, 0);
    ASSERT_FALSE(r) << q;
    EXPECT_EQ(r.error().code, ErrorCode::kBadData) << q << ": " << r.error().message;
  }
  EXPECT_EQ(server.requests().size(), 3u);  // bad data is not retried
}

TEST(PrometheusClientTest, RejectsBadRangesLocally) {
  auto client = MakeClient("http://127.0.0.1:1");
  EXPECT_EQ(client.QueryRange("up", 100, 0, 10).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.QueryRange("up", 0, 100, 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.QueryRange("", 0, 100, 10).error().code, ErrorCode::kInvalidArgument);
  // One year at 1 ms would be ~2.9 million requests.
  EXPECT_EQ(client.QueryRange("up", 0, int64_t{365} * 86400 * 1000, 1).error().code,
            ErrorCode::kInvalidArgument);
}

// --- AlignSeries --------------------------------------------------------------------------

TEST(AlignSeriesTest, GapsBecomeExplicitMissingValues) {
  Series primary{{}, {0, 10, 30, 40}, {1, 2, 4, 5}};
  Series canary{{}, {10, 21, 50, 60}, {20, 30, 60, 70}};  // 21 is off-grid; 60 out of range
  AlignedPair a = AlignSeries(primary, canary, 0, 50, 10);
  EXPECT_EQ(a.timestamps_ms, (std::vector<int64_t>{0, 10, 20, 30, 40, 50}));
  ASSERT_EQ(a.primary.size(), 6u);
  ASSERT_EQ(a.canary.size(), 6u);
  EXPECT_EQ(a.primary[0], 1);
  EXPECT_EQ(a.primary[1], 2);
  EXPECT_TRUE(std::isnan(a.primary[2]));
  EXPECT_EQ(a.primary[3], 4);
  EXPECT_EQ(a.primary[4], 5);
  EXPECT_TRUE(std::isnan(a.primary[5]));
  EXPECT_EQ(a.missing_primary, 2u);
  EXPECT_TRUE(std::isnan(a.canary[0]));
  EXPECT_EQ(a.canary[1], 20);
  EXPECT_EQ(a.canary[2], 30);
  EXPECT_TRUE(std::isnan(a.canary[3]));
  EXPECT_TRUE(std::isnan(a.canary[4]));
  EXPECT_EQ(a.canary[5], 60);
  EXPECT_EQ(a.missing_canary, 3u);

  EXPECT_TRUE(AlignSeries(primary, canary, 50, 0, 10).timestamps_ms.empty());
  EXPECT_TRUE(AlignSeries(primary, canary, 0, 50, 0).timestamps_ms.empty());
}

}  // namespace
}  // namespace augur::sources
