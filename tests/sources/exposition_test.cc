// Tests for the Prometheus text 0.0.4 / OpenMetrics 1.0 parser (issue #4).
//
// The pages below follow real exporters: HAProxy 2.6 PROMEX (metric names from
// shared/reference/components.md), the NGINX ingress controller and Envoy.
#include "augur/sources/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace augur::sources {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

const MetricFamily* Find(const std::vector<MetricFamily>& fams, std::string_view name) {
  for (const auto& f : fams) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<MetricFamily> MustParse(std::string_view body, ExpositionFormat format) {
  auto r = ParseExposition(body, format);
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.error().message);
  if (!r.has_value()) return {};
  return std::move(r).value();
}

constexpr std::string_view kHaproxyPage =
    "# HELP haproxy_server_http_responses_total Total number of HTTP responses with status 100-199 "
    "returned by this object.\r\n"
    "# TYPE haproxy_server_http_responses_total counter\r\n"
    "haproxy_server_http_responses_total{proxy=\"be_app\",server=\"primary\",code=\"2xx\"} "
    "17972\r\n"
    "haproxy_server_http_responses_total{proxy=\"be_app\",server=\"canary\",code=\"2xx\"} 2028\r\n"
    "haproxy_server_http_responses_total{proxy=\"be_app\",server=\"canary\",code=\"5xx\"} 0\r\n"
    "# HELP haproxy_server_response_time_average_seconds Avg. response time for last 1024 "
    "successful connections.\n"
    "# TYPE haproxy_server_response_time_average_seconds gauge\n"
    "haproxy_server_response_time_average_seconds{proxy=\"be_app\",server=\"canary\"} 0.001000\n"
    "\n"
    "# HELP haproxy_server_status Current status of the service, per state label value.\n"
    "# TYPE haproxy_server_status gauge\n"
    "haproxy_server_status{proxy=\"be_app\",server=\"canary\",state=\"DOWN\"} 0\n"
    "haproxy_server_status{proxy=\"be_app\",server=\"canary\",state=\"UP\"} 1\n"
    "# HELP haproxy_server_check_failures_total Total number of failed individual health checks.\n"
    "# TYPE haproxy_server_check_failures_total counter\n"
    "haproxy_server_check_failures_total{proxy=\"be_app\",server=\"canary\"} NaN\n"
    "# HELP haproxy_server_weight Service weight.\n"
    "# TYPE haproxy_server_weight gauge\n"
    "haproxy_server_weight{proxy=\"be_app\",server=\"canary\"} 10\n"
    "haproxy_server_limit_sessions{proxy=\"be_app\",server=\"canary\"} -Inf\n";

TEST(ExpositionTest, HaproxyPageText004) {
  auto fams = MustParse(kHaproxyPage, ExpositionFormat::kText004);
  ASSERT_EQ(fams.size(), 6u);
  EXPECT_EQ(fams[0].name, "haproxy_server_http_responses_total");
  EXPECT_EQ(fams[0].type, MetricType::kCounter);
  EXPECT_EQ(fams[0].help,
            "Total number of HTTP responses with status 100-199 returned by this object.");
  ASSERT_EQ(fams[0].samples.size(), 3u);
  const Sample& s = fams[0].samples[1];
  EXPECT_EQ(s.name, "haproxy_server_http_responses_total");
  EXPECT_EQ(s.labels, (Labels{{"code", "2xx"}, {"proxy", "be_app"}, {"server", "canary"}}));
  EXPECT_EQ(s.value, 2028.0);
  EXPECT_FALSE(s.timestamp_ms.has_value());
  EXPECT_EQ(fams[0].samples[2].labels[0].second, "5xx");

  EXPECT_EQ(fams[1].type, MetricType::kGauge);
  EXPECT_DOUBLE_EQ(fams[1].samples.at(0).value, 0.001);
  const MetricFamily* status = Find(fams, "haproxy_server_status");
  ASSERT_NE(status, nullptr);
  ASSERT_EQ(status->samples.size(), 2u);
  EXPECT_EQ(status->samples[1].labels[2], (std::pair<std::string, std::string>{"state", "UP"}));
  EXPECT_TRUE(std::isnan(Find(fams, "haproxy_server_check_failures_total")->samples[0].value));
  // No # TYPE: an untyped family of its own.
  const MetricFamily* limit = Find(fams, "haproxy_server_limit_sessions");
  ASSERT_NE(limit, nullptr);
  EXPECT_EQ(limit->type, MetricType::kUntyped);
  EXPECT_EQ(limit->samples[0].value, -std::numeric_limits<double>::infinity());
}

constexpr std::string_view kNginxPage =
    "# HELP nginx_ingress_controller_requests The total number of client requests\n"
    "# TYPE nginx_ingress_controller_requests counter\n"
    "nginx_ingress_controller_requests{canary=\"\",controller_class=\"k8s.io/ingress-nginx\","
    "controller_namespace=\"ingress-nginx\",controller_pod=\"ingress-nginx-controller-5c9fd6c6b-"
    "x2x7w\","
    "host=\"app.example.com\",ingress=\"app\",method=\"GET\",namespace=\"default\",path=\"/\","
    "service=\"app-canary\",status=\"200\"} 1234\n"
    "nginx_ingress_controller_requests{canary=\"\",controller_class=\"k8s.io/ingress-nginx\","
    "controller_namespace=\"ingress-nginx\",controller_pod=\"ingress-nginx-controller-5c9fd6c6b-"
    "x2x7w\","
    "host=\"app.example.com\",ingress=\"app\",method=\"GET\",namespace=\"default\",path=\"/\","
    "service=\"app-canary\",status=\"503\"} 7\n"
    "# HELP nginx_ingress_controller_request_duration_seconds The request processing time in "
    "milliseconds\n"
    "# TYPE nginx_ingress_controller_request_duration_seconds histogram\n"
    "nginx_ingress_controller_request_duration_seconds_bucket{ingress=\"app\",status=\"200\",le="
    "\"0.005\"} 10\n"
    "nginx_ingress_controller_request_duration_seconds_bucket{ingress=\"app\",status=\"200\",le="
    "\"0.01\"} 25\n"
    "nginx_ingress_controller_request_duration_seconds_bucket{ingress=\"app\",status=\"200\",le="
    "\"2.5e-01\"} 1200\n"
    "nginx_ingress_controller_request_duration_seconds_bucket{ingress=\"app\",status=\"200\",le=\"+"
    "Inf\"} 1234\n"
    "nginx_ingress_controller_request_duration_seconds_sum{ingress=\"app\",status=\"200\"} 61.7\n"
    "nginx_ingress_controller_request_duration_seconds_count{ingress=\"app\",status=\"200\"} 1234\n"
    "# HELP nginx_ingress_controller_nginx_process_connections current number of client "
    "connections with state {active, reading, writing, waiting}\n"
    "# TYPE nginx_ingress_controller_nginx_process_connections gauge\n"
    "nginx_ingress_controller_nginx_process_connections{controller_class=\"k8s.io/"
    "ingress-nginx\",state=\"active\"} 1.5e+01 1700000000123\n";

TEST(ExpositionTest, NginxIngressPageGroupsHistogram) {
  auto fams = MustParse(kNginxPage, ExpositionFormat::kText004);
  ASSERT_EQ(fams.size(), 3u);
  const MetricFamily& req = fams[0];
  EXPECT_EQ(req.name, "nginx_ingress_controller_requests");
  ASSERT_EQ(req.samples.size(), 2u);
  ASSERT_EQ(req.samples[0].labels.size(), 11u);
  EXPECT_EQ(req.samples[0].labels[0], (std::pair<std::string, std::string>{"canary", ""}));
  EXPECT_EQ(req.samples[0].labels.back(), (std::pair<std::string, std::string>{"status", "200"}));
  EXPECT_EQ(req.samples[1].labels.back().second, "503");
  EXPECT_EQ(req.samples[1].value, 7.0);

  const MetricFamily& dur = fams[1];
  EXPECT_EQ(dur.name, "nginx_ingress_controller_request_duration_seconds");
  EXPECT_EQ(dur.type, MetricType::kHistogram);
  ASSERT_EQ(dur.samples.size(), 6u);
  EXPECT_EQ(dur.samples[0].name, "nginx_ingress_controller_request_duration_seconds_bucket");
  // Labels sorted by name: ingress, le, status.
  EXPECT_EQ(dur.samples[2].labels,
            (Labels{{"ingress", "app"}, {"le", "2.5e-01"}, {"status", "200"}}));
  EXPECT_EQ(dur.samples[3].labels[1].second, "+Inf");
  EXPECT_EQ(dur.samples[4].name, "nginx_ingress_controller_request_duration_seconds_sum");
  EXPECT_DOUBLE_EQ(dur.samples[4].value, 61.7);
  EXPECT_EQ(dur.samples[5].name, "nginx_ingress_controller_request_duration_seconds_count");

  const MetricFamily& conn = fams[2];
  EXPECT_EQ(conn.help,
            "current number of client connections with state {active, reading, writing, waiting}");
  EXPECT_EQ(conn.samples[0].value, 15.0);
  EXPECT_EQ(conn.samples[0].timestamp_ms, std::optional<int64_t>(1700000000123));
}

constexpr std::string_view kEnvoyPage =
    "# TYPE envoy_cluster_upstream_rq counter\n"
    "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"app_canary\"} "
    "4711\n"
    "envoy_cluster_upstream_rq{envoy_response_code=\"503\",envoy_cluster_name=\"app_canary\"} 3\n"
    "# TYPE envoy_cluster_upstream_rq_time histogram\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"app_canary\",le=\"0.5\"} 0\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"app_canary\",le=\"1\"} 2\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"app_canary\",le=\"5\"} 100\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"app_canary\",le=\"3600000\"} 4714\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"app_canary\",le=\"+Inf\"} 4714\n"
    "envoy_cluster_upstream_rq_time_sum{envoy_cluster_name=\"app_canary\"} 18432.05\n"
    "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"app_canary\"} 4714\n"
    "# TYPE envoy_server_live gauge\n"
    "envoy_server_live{} 1\n";

TEST(ExpositionTest, EnvoyPage) {
  auto fams = MustParse(kEnvoyPage, ExpositionFormat::kText004);
  ASSERT_EQ(fams.size(), 3u);
  EXPECT_EQ(fams[0].name, "envoy_cluster_upstream_rq");
  EXPECT_EQ(fams[0].type, MetricType::kCounter);
  ASSERT_EQ(fams[0].samples.size(), 2u);
  EXPECT_EQ(fams[0].samples[0].labels,
            (Labels{{"envoy_cluster_name", "app_canary"}, {"envoy_response_code", "200"}}));
  // "envoy_cluster_upstream_rq_time_*" must not be swallowed by the counter "..._rq".
  EXPECT_EQ(fams[1].name, "envoy_cluster_upstream_rq_time");
  EXPECT_EQ(fams[1].type, MetricType::kHistogram);
  ASSERT_EQ(fams[1].samples.size(), 7u);
  EXPECT_EQ(fams[1].samples[4].labels[1].second, "+Inf");
  EXPECT_DOUBLE_EQ(fams[1].samples[5].value, 18432.05);
  EXPECT_EQ(fams[2].name, "envoy_server_live");
  EXPECT_TRUE(fams[2].samples[0].labels.empty());
}

TEST(ExpositionTest, OpenMetricsWithExemplarsTimestampsAndEof) {
  constexpr std::string_view kPage =
      "# TYPE http_requests counter\n"
      "# HELP http_requests Requests \\\"served\\\".\n"
      "http_requests_total{code=\"200\"} 1027 1700000000.5 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n"
      "http_requests_created{code=\"200\"} 1.6e9\n"
      "# TYPE rpc_duration_seconds histogram\n"
      "# UNIT rpc_duration_seconds seconds\n"
      "rpc_duration_seconds_bucket{le=\"0.1\"} 3 # {trace_id=\"a\"} 0.05 1700000000.25\n"
      "rpc_duration_seconds_bucket{le=\"+Inf\"} 4\n"
      "rpc_duration_seconds_sum 1.5\n"
      "rpc_duration_seconds_count 4\n"
      "# TYPE build info\n"
      "build_info{version=\"1.2\"} 1\n"
      "# TYPE queue gaugehistogram\n"
      "queue_bucket{le=\"+Inf\"} 3\n"
      "queue_gcount 3\n"
      "queue_gsum 2\n"
      "# TYPE temp unknown\n"
      "temp{} -1.5e-3\n"
      "# EOF\n";
  auto fams = MustParse(kPage, ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(fams.size(), 5u);
  EXPECT_EQ(fams[0].name, "http_requests");
  EXPECT_EQ(fams[0].type, MetricType::kCounter);
  EXPECT_EQ(fams[0].help, "Requests \"served\".");
  ASSERT_EQ(fams[0].samples.size(), 2u);
  EXPECT_EQ(fams[0].samples[0].name, "http_requests_total");
  EXPECT_EQ(fams[0].samples[0].value, 1027.0);
  EXPECT_EQ(fams[0].samples[0].timestamp_ms, std::optional<int64_t>(1700000000500));
  EXPECT_EQ(fams[0].samples[1].name, "http_requests_created");
  EXPECT_EQ(fams[1].unit, "seconds");
  EXPECT_EQ(fams[1].type, MetricType::kHistogram);
  ASSERT_EQ(fams[1].samples.size(), 4u);
  EXPECT_EQ(fams[1].samples[0].labels, (Labels{{"le", "0.1"}}));
  EXPECT_EQ(fams[2].type, MetricType::kInfo);
  EXPECT_EQ(fams[2].samples.at(0).name, "build_info");
  EXPECT_EQ(fams[3].type, MetricType::kGaugeHistogram);
  EXPECT_EQ(fams[3].samples.size(), 3u);
  EXPECT_EQ(fams[4].type, MetricType::kUnknown);
  EXPECT_DOUBLE_EQ(fams[4].samples.at(0).value, -1.5e-3);
}

TEST(ExpositionTest, OpenMetricsEofWithoutTrailingNewline) {
  auto fams = MustParse("a 1\n# EOF", ExpositionFormat::kOpenMetrics);
  ASSERT_EQ(fams.size(), 1u);
  EXPECT_EQ(fams[0].type, MetricType::kUnknown);
}

TEST(ExpositionTest, LabelValueEscapesAndSpecialValues) {
  constexpr std::string_view kPage =
      "# A free-form comment is fine in 0.0.4\n"
      "  m{path=\"C:\\\\dir\",msg=\"say \\\"hi\\\"\\nbye\",odd=\"a\\tb\",utf=\"h\xC3\xA9\"} +Inf "
      "-5\n"
      "m{path=\"x\"}\t\t-0.5e-2   \n"
      "m{ path = \"y\" , } 1E3\n"
      "m 7\n";
  auto fams = MustParse(kPage, ExpositionFormat::kText004);
  ASSERT_EQ(fams.size(), 1u);
  ASSERT_EQ(fams[0].samples.size(), 4u);
  const Sample& s = fams[0].samples[0];
  EXPECT_EQ(s.labels, (Labels{{"msg", "say \"hi\"\nbye"},
                              {"odd", "a\\tb"},
                              {"path", "C:\\dir"},
                              {"utf", "h\xC3\xA9"}}));
  EXPECT_EQ(s.value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.timestamp_ms, std::optional<int64_t>(-5));
  EXPECT_DOUBLE_EQ(fams[0].samples[1].value, -0.005);
  EXPECT_EQ(fams[0].samples[2].labels, (Labels{{"path", "y"}}));
  EXPECT_EQ(fams[0].samples[2].value, 1000.0);
  EXPECT_TRUE(fams[0].samples[3].labels.empty());
}

TEST(ExpositionTest, InterleavedFamilyIsMerged) {
  auto fams = MustParse("# TYPE a gauge\na{x=\"1\"} 1\n# TYPE b gauge\nb 2\na{x=\"2\"} 3\n",
                        ExpositionFormat::kText004);
  ASSERT_EQ(fams.size(), 2u);
  ASSERT_EQ(fams[0].samples.size(), 2u);
  EXPECT_EQ(fams[0].samples[1].value, 3.0);
}

TEST(ExpositionTest, EmptyBodies) {
  EXPECT_TRUE(MustParse("", ExpositionFormat::kText004).empty());
  EXPECT_TRUE(MustParse("\n\n# just a comment\n", ExpositionFormat::kText004).empty());
  EXPECT_TRUE(MustParse("# EOF\n", ExpositionFormat::kOpenMetrics).empty());
}

TEST(ExpositionTest, FormatFromContentType) {
  EXPECT_EQ(FormatFromContentType("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType(" Application/OpenMetrics-Text"), ExpositionFormat::kOpenMetrics);
  EXPECT_EQ(FormatFromContentType("text/plain; version=0.0.4; charset=utf-8"),
            ExpositionFormat::kText004);
  EXPECT_EQ(FormatFromContentType(""), ExpositionFormat::kText004);
  EXPECT_EQ(FormatFromContentType("application/openmetrics-textx"), ExpositionFormat::kText004);
}

struct BadCase {
  const char* name;
  ExpositionFormat format;
  std::string body;
  int line;
  const char* fragment;  // expected in the message
};

std::string HugeGarbage() {
  std::string s;
  s.reserve(4 << 20);
  uint32_t x = 12345;
  for (size_t i = 0; i < (4u << 20); ++i) {
    x = x * 1664525u + 1013904223u;
    s.push_back(static_cast<char>(x >> 24));
  }
  s[0] = '}';  // make sure the first line is invalid whatever the generator yields
  return s;
}

// Keeps gtest from dumping the struct's bytes when a case fails.
void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ExpositionBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExpositionBadTest, FailsWithLineNumber) {
  const BadCase& c = GetParam();
  auto r = ParseExposition(c.body, c.format);
  ASSERT_FALSE(r.has_value()) << c.name;
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  const std::string& msg = r.error().message;
  EXPECT_EQ(msg.rfind("line " + std::to_string(c.line) + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(c.fragment), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 200u) << "excerpt must stay short";
}

constexpr auto kText = ExpositionFormat::kText004;
constexpr auto kOm = ExpositionFormat::kOpenMetrics;

INSTANTIATE_TEST_SUITE_P(
    Exposition, ExpositionBadTest,
    ::testing::Values(
        BadCase{"truncated_line", kText, "# TYPE a gauge\na 1\nhaproxy_server_weight{proxy=\"be", 3,
                "unterminated label value in 'haproxy_server_weight{proxy=\"be'"},
        BadCase{"truncated_label_set", kText, "a{x=\"1\"", 1, "unterminated label set"},
        BadCase{"missing_value", kText, "a 1\nhaproxy_server_weight{proxy=\"be_app\"}\n", 2,
                "missing value"},
        BadCase{"bad_value", kText, "a 1\nb 2\nc 1.2.3\n", 3, "invalid value"},
        BadCase{"bad_value_hex", kText, "a 0x10\n", 1, "invalid value"},
        BadCase{"value_overflow", kText, "a 1e999\n", 1, "invalid value"},
        BadCase{"bad_timestamp", kText, "a 1 12.5\n", 1, "invalid timestamp"},
        BadCase{"trailing_garbage", kText, "a 1 12 13\n", 1, "unexpected text after timestamp"},
        BadCase{"unterminated_quote", kText,
                "\n\n# TYPE haproxy_server_status gauge\nhaproxy_server_status{proxy=\"be_app} 1\n",
                4, "unterminated label value"},
        BadCase{"backslash_at_end", kText, "a{x=\"\\", 1, "unterminated label value"},
        BadCase{"duplicate_label", kText, "a 1\nb{server=\"x\",proxy=\"p\",server=\"y\"} 1\n", 2,
                "duplicate label name"},
        BadCase{"invalid_metric_name", kText, "a 1\n9lives 1\n", 2, "invalid metric name"},
        BadCase{"invalid_char_in_name", kText, "a-b 1\n", 1, "invalid character after metric name"},
        BadCase{"invalid_label_name", kText, "a{1x=\"v\"} 1\n", 1, "invalid label name"},
        BadCase{"label_without_quote", kText, "a{x=v} 1\n", 1, "expected '\"'"},
        BadCase{"bad_utf8", kText, "a{x=\"\xC3\x28\"} 1\n", 1, "not valid UTF-8"},
        BadCase{"bad_type", kText, "# TYPE a counters\n", 1, "invalid metric type"},
        BadCase{"om_type_in_text", kText, "# TYPE a gaugehistogram\n", 1, "invalid metric type"},
        BadCase{"second_type", kText, "# TYPE a gauge\n# TYPE a gauge\n", 2, "second TYPE"},
        BadCase{"type_after_samples", kText, "a 1\n# TYPE a gauge\n", 2, "after samples"},
        BadCase{"help_without_name", kText, "# HELP\n", 1, "without a metric name"},
        BadCase{"bare_histogram_sample", kText, "# TYPE h histogram\nh 1\n", 2,
                "does not belong to the histogram family"},
        BadCase{"exemplar_in_text", kText, "a_total 1 # {t=\"1\"} 1\n", 1,
                "exemplars are not allowed"},
        BadCase{"huge_garbage", kText, HugeGarbage(), 1, "line 1"},
        BadCase{"om_missing_eof", kOm, "a 1\nb 2\n", 3, "missing # EOF"},
        BadCase{"om_missing_eof_no_newline", kOm, "a 1\nb 2", 2, "missing # EOF"},
        BadCase{"om_empty_body", kOm, "", 1, "missing # EOF"},
        BadCase{"om_text_after_eof", kOm, "a 1\n# EOF\nb 2\n", 3, "text after # EOF"},
        BadCase{"om_blank_after_eof", kOm, "a 1\n# EOF\n\n", 3, "text after # EOF"},
        BadCase{"om_blank_line", kOm, "a 1\n\n# EOF\n", 2, "empty line"},
        BadCase{"om_free_comment", kOm, "# hello\n# EOF\n", 1, "comments other than"},
        BadCase{"om_crlf", kOm, "a 1\r\n# EOF\n", 1, "invalid value"},
        BadCase{"om_double_space", kOm, "a  1\n# EOF\n", 1, "invalid value"},
        BadCase{"om_trailing_comma", kOm, "a{x=\"1\",} 1\n# EOF\n", 1, "trailing comma"},
        BadCase{"om_counter_without_total", kOm, "# TYPE c counter\nc 1\n# EOF\n", 2,
                "does not belong to the counter family"},
        BadCase{"om_bad_exemplar", kOm, "# TYPE c counter\nc_total 1 # {t=\"1\" 1\n# EOF\n", 2,
                "expected ',' or '}'"},
        BadCase{"om_exemplar_no_value", kOm, "c_total 1 # {t=\"1\"}\n# EOF\n", 1,
                "exemplar without a value"},
        BadCase{"om_bad_timestamp", kOm, "a 1 NaN\n# EOF\n", 1, "invalid timestamp"},
        BadCase{"om_unit_mismatch", kOm, "# UNIT a_bytes seconds\n# EOF\n", 1,
                "does not end with its unit"},
        BadCase{"om_untyped_keyword", kOm, "# TYPE a untyped\n# EOF\n", 1, "invalid metric type"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace augur::sources
