// Tests of the ingress-log source: syslog framing, HAProxy httplog and the Augur format (hand
// cases from HAProxy's configuration.txt §8.2.3/§8.9 plus datagrams recorded from real HAProxy
// 2.6 and NGINX 1.22 in tests/data/ingress_log), R-7 quantiles against hand-computed values,
// the bounded store, the UDP receiver over real loopback sockets, and a real HAProxy logging to
// the receiver when /usr/sbin/haproxy exists.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "augur/sources/ingress_log.h"
#include "sources/ingress_log/parse_util.h"

namespace augur::sources {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using namespace std::string_literals;

std::string DataPath(const std::string& name) {
  return std::string(AUGUR_TEST_DATA_DIR) + "/ingress_log/" + name;
}

std::vector<std::string> ReadLines(const std::string& name) {
  std::ifstream in(DataPath(name), std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ---- Syslog framing -------------------------------------------------------------------------

struct SyslogCase {
  std::string datagram;
  SyslogFraming framing;
  int facility, severity;
  std::string hostname, app, pid, message;
  std::optional<int64_t> timestamp_ms;
};

TEST(SyslogTest, ParsesTheFramingsHaproxyAndNginxSend) {
  const std::vector<SyslogCase> cases = {
      // HAProxy's default: RFC 3164 without hostname, day space-padded, trailing newline.
      {"<134>Dec  2 19:00:00 haproxy[123]: msg one\n", SyslogFraming::kRfc3164, 16, 6, "",
       "haproxy", "123", "msg one", std::nullopt},
      // NGINX: hostname present, tag without pid, no newline; local7.info.
      {"<190>Dec  2 19:47:57 vm nginx: {\"a\":1}", SyslogFraming::kRfc3164, 23, 6, "vm", "nginx",
       "", "{\"a\":1}", std::nullopt},
      // HAProxy with log-send-hostname; zero-padded day; CRLF and NUL stripped.
      {"<14>Jan 02 03:04:05 lb-1.example haproxy[9]: x y\r\n\0"s, SyslogFraming::kRfc3164, 1, 6,
       "lb-1.example", "haproxy", "9", "x y", std::nullopt},
      // HAProxy `format timed`: no tag, the message starts right after the date.
      {"<134>Dec  2 19:00:00 10.0.0.1:1 [x] y", SyslogFraming::kRfc3164, 16, 6, "", "", "",
       "10.0.0.1:1 [x] y", std::nullopt},
      {"<0>short form", SyslogFraming::kShort, 0, 0, "", "", "", "short form", std::nullopt},
      {"raw form", SyslogFraming::kRaw, -1, -1, "", "", "", "raw form", std::nullopt},
      // Recorded from HAProxy 2.6 `format rfc5424`.
      {"<134>1 2026-12-02T19:47:57.315843+00:00 - haproxy 20655 - - augur=1 st=200",
       SyslogFraming::kRfc5424, 16, 6, "", "haproxy", "20655", "augur=1 st=200",
       int64_t{1796240877315}},
      // RFC 5424's own example 1 (with SD and a BOM before the message).
      {"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] "
       "\xEF\xBB\xBF"
       "An application event",
       SyslogFraming::kRfc5424, 20, 5, "mymachine.example.com", "evntslog", "",
       "An application event", int64_t{1065910455003}},
      // Negative offset, microseconds, two SD elements with an escaped ']' inside a value.
      {"<134>1 2003-08-24T05:14:15.000003-07:00 h app 7 - [a x=\"1\\]2\"][b] m",
       SyslogFraming::kRfc5424, 16, 6, "h", "app", "7", "m", int64_t{1061727255000}},
      {"<134>1 - - - - - - m", SyslogFraming::kRfc5424, 16, 6, "", "", "", "m", std::nullopt},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.datagram);
    auto m = ParseSyslogDatagram(c.datagram);
    ASSERT_TRUE(m.has_value()) << m.error().message;
    EXPECT_EQ(m->framing, c.framing);
    EXPECT_EQ(m->facility, c.facility);
    EXPECT_EQ(m->severity, c.severity);
    EXPECT_EQ(m->hostname, c.hostname);
    EXPECT_EQ(m->app_name, c.app);
    EXPECT_EQ(m->proc_id, c.pid);
    EXPECT_EQ(m->message, c.message);
    EXPECT_EQ(m->timestamp_ms, c.timestamp_ms);
  }
}

TEST(SyslogTest, RejectsBrokenFramingWithAReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty message"},
      {"<192>Dec  2 19:00:00 h: m", "malformed <PRI>"},
      {"<1x>m", "malformed <PRI>"},
      {"<>m", "malformed <PRI>"},
      {"<013>m", "malformed <PRI>"},
      {"<13 no close", "malformed <PRI>"},
      {"<134>Dec 32 19:00:00 h: m", "malformed timestamp"},
      {"<134>Dec  2 25:00:00 h: m", "malformed timestamp"},
      {"<134>Dec  2 19:00", "malformed timestamp"},
      {"<134>Dec  2 19:00:00 haproxy[1]: ", "empty message"},
      {"<134>", "empty message"},
      {"<134>1 2026-13-01T00:00:00Z h a p m - x", "malformed TIMESTAMP"},
      {"<134>1 2026-12-01T00:00:00 h a p m - x", "malformed TIMESTAMP"},
      {"<134>1 - h a", "header cut short"},
      {"<134>1 - h a p m [id k=\"v\" x", "malformed STRUCTURED-DATA"},
      {"<134>1 - h a p m -x", "no space before MSG"},
  };
  for (const auto& [datagram, reason] : cases) {
    SCOPED_TRACE(datagram);
    auto m = ParseSyslogDatagram(datagram);
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().code, ErrorCode::kBadData);
    EXPECT_NE(m.error().message.find(reason), std::string::npos) << m.error().message;
  }
}

// ---- HAProxy httplog ------------------------------------------------------------------------

TEST(HttplogTest, ParsesTheDocumentationExampleWithCaptures) {
  auto e = ParseAccessLogMessage(
      "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - "
      "- ---- 1/1/1/1/0 0/0 {1wt.eu} {} \"GET /index.html HTTP/1.1\"");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->format, AccessLogFormat::kHaproxyHttplog);
  EXPECT_EQ(e->client_address, "10.0.1.2");
  EXPECT_EQ(e->client_port, 33317);
  EXPECT_EQ(e->frontend, "http-in");
  EXPECT_EQ(e->backend, "static");
  EXPECT_EQ(e->server, "srv1");
  EXPECT_EQ(e->request_time_ms, 10);
  EXPECT_EQ(e->queue_time_ms, 0);
  EXPECT_EQ(e->connect_time_ms, 30);
  EXPECT_EQ(e->response_time_ms, 69);
  EXPECT_EQ(e->total_time_ms, 109);
  EXPECT_EQ(e->status, 200);
  EXPECT_EQ(e->bytes, 2750);
  EXPECT_EQ(e->termination_state, "----");
  EXPECT_EQ(e->request, "GET /index.html HTTP/1.1");
  EXPECT_EQ(e->method, "GET");
  EXPECT_FALSE(e->request_truncated);
  EXPECT_FALSE(e->logasap);
  EXPECT_FALSE(e->start_ms.has_value());
}

struct HttplogCase {
  std::string name, line;
  std::string client, backend, server;
  int status;
  double tr, ta;
  int64_t bytes;
  std::string term, request;
  bool truncated = false, logasap = false;
};

TEST(HttplogTest, ParsesAbortedIpv6TruncatedAndOddLines) {
  const std::string big(70000, 'a');
  const std::vector<HttplogCase> cases = {
      {"aborted before the request (§8.9)",
       "127.0.0.1:34548 [15/Oct/2003:15:18:55.798] px-http px-http/<NOSRV> -1/-1/-1/-1/8490 -1 0 "
       "- - CR-- 2/2/2/0/0 0/0 \"\"",
       "127.0.0.1", "px-http", "<NOSRV>", -1, -1, 8490, 0, "CR--", ""},
      {"connect failed after retries (§8.9)",
       "10.0.0.1:34552 [15/Oct/2003:15:26:31.462] px-http px-http/srv1 3183/-1/-1/-1/11215 503 0 "
       "- - SC-- 205/202/202/115/3 0/0 \"HEAD / HTTP/1.0\"",
       "10.0.0.1", "px-http", "srv1", 503, -1, 11215, 0, "SC--", "HEAD / HTTP/1.0"},
      {"logasap '+' on Ta and bytes, redispatch '+' on retries",
       "127.0.0.1:33320 [15/Oct/2003:08:32:17.654] px-http px-http/srv1 9/0/7/14/+30 200 +243 - - "
       "---- 3/3/3/1/+1 0/0 \"GET /image.iso HTTP/1.0\"",
       "127.0.0.1", "px-http", "srv1", 200, 14, 30, 243, "----", "GET /image.iso HTTP/1.0", false,
       true},
      {"IPv6 client, unbracketed",
       "2001:db8::1:56789 [02/Dec/2026:19:47:54.547] fe be/s1 0/0/0/53/54 200 125 - - ---- "
       "1/1/0/0/0 0/0 \"GET / HTTP/1.1\"",
       "2001:db8::1", "be", "s1", 200, 53, 54, 125, "----", "GET / HTTP/1.1"},
      {"IPv4-mapped IPv6 client",
       "::ffff:10.0.0.1:443 [02/Dec/2026:19:47:54.547] fe be/s1 0/0/0/1/1 204 0 - - ---- "
       "1/1/0/0/0 0/0 \"GET / HTTP/1.1\"",
       "::ffff:10.0.0.1", "be", "s1", 204, 1, 1, 0, "----", "GET / HTTP/1.1"},
      {"UNIX socket client",
       "unix:1 [02/Dec/2026:19:47:54.547] fe be/s1 0/0/0/1/1 200 5 - - ---- 1/1/0/0/0 0/0 "
       "\"GET / HTTP/1.1\"",
       "unix", "be", "s1", 200, 1, 1, 5, "----", "GET / HTTP/1.1"},
      {"captures with spaces and a request with spaces and braces",
       "10.0.1.2:1 [06/Feb/2009:12:14:14.655] fe be/s 1/0/0/2/3 200 10 - - ---- 1/1/1/1/0 0/0 "
       "{Mozilla/5.0 (X11; Linux)|en} {text/html; charset=utf-8} \"GET /a b {c} #22d HTTP/1.1\"",
       "10.0.1.2", "be", "s", 200, 2, 3, 10, "----", "GET /a b {c} #22d HTTP/1.1"},
      {"request cut by HAProxy's 1024-byte line (no closing quote)",
       "127.0.0.1:1 [02/Dec/2026:19:47:57.315] fe be/<NOSRV> 0/-1/-1/-1/0 200 73 - - LR-- "
       "1/1/0/0/0 0/0 \"GET /aaaaaaaaaa",
       "127.0.0.1", "be", "<NOSRV>", 200, -1, 0, 73, "LR--", "GET /aaaaaaaaaa", true},
      {"non-UTF-8 bytes in the request",
       "127.0.0.1:1 [02/Dec/2026:19:47:57.315] fe be/s 0/0/0/1/1 400 0 - - PR-- 1/1/0/0/0 0/0 "
       "\"GET /\xff\xfe\x80 HTTP/1.1\"",
       "127.0.0.1", "be", "s", 400, 1, 1, 0, "PR--", "GET /\xff\xfe\x80 HTTP/1.1"},
      {"option httpslog: fields after the request are ignored",
       "127.0.0.1:1 [02/Dec/2026:19:47:57.315] fe~ be/s 0/0/0/1/1 200 5 - - ---- 1/1/0/0/0 0/0 "
       "\"GET / HTTP/1.1\" 0/0000000000000000/0/0/0 example.com/TLSv1.3/TLS_AES_256_GCM_SHA384",
       "127.0.0.1", "be", "s", 200, 1, 1, 5, "----", "GET / HTTP/1.1"},
      {"old accept date without milliseconds",
       "127.0.0.1:34014 [09/Aug/2004:20:26:09] fe be/s 0/0/0/1/1 200 5 - - ---- 1/1/0/0/0 0/0 "
       "\"GET / HTTP/1.0\"",
       "127.0.0.1", "be", "s", 200, 1, 1, 5, "----", "GET / HTTP/1.0"},
      {"huge request (70,000 bytes)",
       "127.0.0.1:1 [02/Dec/2026:19:47:57.315] fe be/s 0/0/0/1/1 414 5 - - ---- 1/1/0/0/0 0/0 "
       "\"GET /" +
           big + " HTTP/1.1\"",
       "127.0.0.1", "be", "s", 414, 1, 1, 5, "----", "GET /" + big + " HTTP/1.1"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto e = ParseAccessLogMessage(c.line);
    ASSERT_TRUE(e.has_value()) << e.error().message;
    EXPECT_EQ(e->client_address, c.client);
    EXPECT_EQ(e->backend, c.backend);
    EXPECT_EQ(e->server, c.server);
    EXPECT_EQ(e->status, c.status);
    EXPECT_EQ(e->response_time_ms, c.tr);
    EXPECT_EQ(e->total_time_ms, c.ta);
    EXPECT_EQ(e->bytes, c.bytes);
    EXPECT_EQ(e->termination_state, c.term);
    EXPECT_EQ(e->request, c.request);
    EXPECT_EQ(e->request_truncated, c.truncated);
    EXPECT_EQ(e->logasap, c.logasap);
  }
}

TEST(HttplogTest, RejectsBrokenLinesWithAReason) {
  const std::string head = "10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {head + "static/srv1 10/0/30/69/109", "line ends before field 6 (status_code)"},
      {head + "static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0",
       "line ends before field 16 (http_request)"},
      {head + "static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {never closed",
       "inside captured headers"},
      {head + "static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 GET /",
       "does not start with '\"'"},
      {"127.0.0.1:34550 [15/Oct/2003:15:24:28.312] px-tcp px-tcp/srv1 0/0/5007 0 cD 0/0/0/0/0 0/0",
       "option tcplog"},
      {"127.0.0.1 - - [02/Dec/2026:19:47:57 +0000] \"GET / HTTP/1.1\" 200 10 \"-\" \"-\"",
       "Common/Combined"},
      {head + "static/srv1 10/0/x/69/109 200 1 - - ---- 1/1/1/1/0 0/0 \"GET /\"", "field 5"},
      {head + "static/srv1 10/0/30/69/-5 200 1 - - ---- 1/1/1/1/0 0/0 \"GET /\"", "field 5"},
      {head + "static/srv1 10/0/30/69/109 2OO 1 - - ---- 1/1/1/1/0 0/0 \"GET /\"", "field 6"},
      {head + "static/srv1 10/0/30/69/109 200 -3 - - ---- 1/1/1/1/0 0/0 \"GET /\"", "field 7"},
      {head + "static-srv1 10/0/30/69/109 200 1 - - ---- 1/1/1/1/0 0/0 \"GET /\"", "field 4"},
      {head + "st\xff"
              "atic/srv1 1/0/3/6/9 200 1 - - ---- 1/1/1/1/0 0/0 \"GET /\"",
       "non-ASCII"},
      {head + "static/srv1 10/0/30/69/109 200 1 - - -!-- 1/1/1/1/0 0/0 \"GET /\"", "field 10"},
      {head + "static/srv1 10/0/30/69/109 200 1 - - ---- 1/1/1/0 0/0 \"GET /\"", "field 11"},
      {head + "static/srv1 10/0/30/69/109 200 1 - - ---- 1/1/1/1/0 0 \"GET /\"", "field 12"},
      {"10.0.1.2 [06/Feb/2009:12:14:14.655] fe b/s 1/1/1/1/1 200 1 - - ---- 1/1/1/1/0 0/0 \"G\"",
       "field 1"},
      {"10.0.1.2:1 [06/Fev/2009:12:14:14.655] fe b/s 1/1/1/1/1 200 1 - - ---- 1/1/1/1/0 0/0 \"G\"",
       "field 2"},
      {"10.0.1.2:1  [06/Feb/2009:12:14:14.655] fe b/s", "empty field 2"},
      {"\xff\xfe\xfd\x00\x01", "field 1"},
      {"10.0.0.1:5", "line ends before field 2"},
  };
  for (const auto& [line, reason] : cases) {
    SCOPED_TRACE(line);
    auto e = ParseAccessLogMessage(line);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code, ErrorCode::kBadData);
    EXPECT_NE(e.error().message.find(reason), std::string::npos) << e.error().message;
    // Quoted input is escaped: the message stays printable ASCII.
    for (char c : e.error().message) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(static_cast<unsigned char>(c));
    }
  }
}

// ---- Augur format ---------------------------------------------------------------------------

TEST(AugurFormatTest, KeyValueAndJsonGiveTheSameEntry) {
  auto kv = ParseAccessLogMessage(
      "augur=1 ts=1796240877.316 fe=fe_augur be=be_real srv=s1 st=200 ta_ms=33 tr_ms=33 "
      "bytes=125 term=---- meth=GET future_key=whatever");
  auto json = ParseAccessLogMessage(
      R"({"augur":1,"ts":1796240877.316,"fe":"fe_augur","be":"be_real","srv":"s1","st":200,)"
      R"("ta_ms":33,"tr_ms":33,"bytes":125,"term":"----","meth":"GET",)"
      R"("future":{"ignored":false}})");
  ASSERT_TRUE(kv.has_value()) << kv.error().message;
  // A nested value is refused even under an unknown key: the object must be flat.
  ASSERT_FALSE(json.has_value());
  EXPECT_NE(json.error().message.find("nested"), std::string::npos);
  json = ParseAccessLogMessage(
      R"( { "augur" : 1 , "ts":1796240877.316,"fe":"fe_augur","be":"be_real","srv":"s1",)"
      R"("st":200,"ta_ms":33,"tr_ms":33,"bytes":125,"term":"----","meth":"GET","x":[1]} )");
  ASSERT_FALSE(json.has_value());
  json = ParseAccessLogMessage(
      R"({"augur":1,"ts":1796240877.316,"fe":"fe_augur","be":"be_real","srv":"s1","st":200,)"
      R"("ta_ms":33,"tr_ms":33,"bytes":125,"term":"----","meth":"GET","future":true,"n":null})");
  ASSERT_TRUE(json.has_value()) << json.error().message;
  EXPECT_EQ(kv->format, AccessLogFormat::kAugurKeyValue);
  EXPECT_EQ(json->format, AccessLogFormat::kAugurJson);
  for (const auto* e : {&*kv, &*json}) {
    EXPECT_EQ(e->frontend, "fe_augur");
    EXPECT_EQ(e->backend, "be_real");
    EXPECT_EQ(e->server, "s1");
    EXPECT_EQ(e->status, 200);
    EXPECT_EQ(e->total_time_ms, 33);
    EXPECT_EQ(e->response_time_ms, 33);
    EXPECT_EQ(e->bytes, 125);
    EXPECT_EQ(e->termination_state, "----");
    EXPECT_EQ(e->method, "GET");
    EXPECT_EQ(e->start_ms, int64_t{1796240877316});
  }
}

TEST(AugurFormatTest, SecondsListsAndEndTimes) {
  // NGINX after a retry: the last upstream answered; te is the log time, start = te - ta.
  auto e = ParseAccessLogMessage(
      R"({"augur":1,"te":1796240877.456,"be":"canary","srv":"127.0.0.1:37981, 127.0.0.1:53441",)"
      R"("st":200,"ta_s":0.021,"tr_s":"0.000, 0.022","bytes":127,"meth":"GET"})");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->server, "127.0.0.1:53441");
  EXPECT_EQ(e->total_time_ms, 21.0);  // exact: decimal seconds scaled as integers
  EXPECT_EQ(e->response_time_ms, 22.0);
  EXPECT_EQ(e->start_ms, int64_t{1796240877456 - 21});

  // An internal redirect between groups: " : " separates them.
  e = ParseAccessLogMessage(
      R"({"augur":1,"be":"b","srv":"a:1, b:2 : c:3","st":502,"tr_s":"0.5, - : 0.25","ta_s":"-"})");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->server, "c:3");
  EXPECT_EQ(e->response_time_ms, 250.0);
  EXPECT_EQ(e->total_time_ms, -1);
  EXPECT_FALSE(e->start_ms.has_value());

  // No upstream (NGINX `return`): empty names become "-", empty times unknown.
  e = ParseAccessLogMessage(
      R"({"augur":1,"te":1796240877.469,"be":"","srv":"","st":204,"ta_s":0.000,"tr_s":""})");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->backend, "-");
  EXPECT_EQ(e->server, "-");
  EXPECT_EQ(e->total_time_ms, 0.0);
  EXPECT_EQ(e->response_time_ms, -1);
  EXPECT_EQ(e->start_ms, int64_t{1796240877469});

  // JSON escapes, including a surrogate pair; sub-millisecond seconds; logasap '+'.
  e = ParseAccessLogMessage(
      R"({"augur":1,"be":"a\u0062c\/d","srv":"s","st":200,"ta_s":"0.0005","tr_ms":"+7",)"
      R"("meth":"G\u0045T","note":"\ud83d\ude00 \" \\ \n"})");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(e->backend, "abc/d");
  EXPECT_EQ(e->method, "GET");
  EXPECT_EQ(e->total_time_ms, 0.5);
  EXPECT_EQ(e->response_time_ms, 7.0);
  EXPECT_TRUE(e->logasap);
}

TEST(AugurFormatTest, RejectsAmbiguousOrBrokenRecords) {
  std::string many = "augur=1 be=b srv=s st=200";
  for (int i = 0; i < 70; ++i) many += " k" + std::to_string(i) + "=1";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"augur=2 be=b srv=s st=200", "unsupported format version"},
      {"augur=1 srv=s st=200", "missing required key 'be'"},
      {"augur=1 be=b st=200", "missing required key 'srv'"},
      {"augur=1 be=b srv=s", "missing required key 'st'"},
      {"augur=1 be=b srv=s st=200 st=500", "repeated key"},
      {"augur=1 be=b srv=s st=200 ta_ms=1 ta_s=0.001", "both 'ta_ms' and 'ta_s'"},
      {"augur=1 be=b srv=s st=200 ts=1 te=2", "both 'ts' and 'te'"},
      {"augur=1 be=b srv=s st=abc", "'st' is not a status code"},
      {"augur=1 be=b srv=s st=200 ta_ms=1e3", "'ta_ms' is not a duration"},
      {"augur=1 be=b srv=s st=200 ta_ms=-5", "'ta_ms' is not a duration"},
      {"augur=1 be=b srv=s st=200 ts=1.7e9", "'ts' is not Unix seconds"},
      {"augur=1 be=b srv=s st=200 bytes=-2", "'bytes' is not a byte count"},
      {"augur=1 be=my backend srv=s st=200", "token is not key=value"},
      {"augur=1 be=b\xff srv=s st=200", "not a printable ASCII name"},
      {many, "more than 64 keys"},
      {R"({"be":"b","srv":"s","st":200})", "no 'augur' version key"},
      {R"({"augur":1,"be":"b","srv":"s","st":200} x)", "text after the object"},
      {R"({"augur":1,"be":"b","srv":"s","st":200)", "expected ',' or '}'"},
      {R"({"augur":1,"be":"b\q","srv":"s","st":200})", "unknown escape"},
      {R"({"augur":1,"be":"b\ud800","srv":"s","st":200})", "unpaired UTF-16 surrogate"},
      {"{\"augur\":1,\"be\":\"b\tc\",\"srv\":\"s\",\"st\":200}", "control character"},
      {R"({"augur":1,"be":"b","srv":"s","st":007})", "malformed number"},
      {R"({"augur":1,"be":"b","srv":"s","st":200,)", "expected '\"'"},
      {R"({"augur":1,"be":"b","srv":"s","st":"2)", "string not closed"},
      {R"({"augur":1,"be":"b","srv":"s","st":tru})", "malformed number"},
      {R"({"augur":1,"be":"b","srv":"s","st":null})", "'st' is not a status code"},
  };
  for (const auto& [line, reason] : cases) {
    SCOPED_TRACE(line);
    auto e = ParseAccessLogMessage(line);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error().code, ErrorCode::kBadData);
    EXPECT_NE(e.error().message.find(reason), std::string::npos) << e.error().message;
  }
}

TEST(AugurFormatTest, DecimalScalingIsExact) {
  using ingress_log::ParseScaledDecimal;
  using ingress_log::ParseUnixSecondsToMs;
  EXPECT_EQ(ParseScaledDecimal("0.005", 3), 5.0);
  EXPECT_EQ(ParseScaledDecimal("0.056", 3), 56.0);
  EXPECT_EQ(ParseScaledDecimal("12.3", 3), 12300.0);
  EXPECT_EQ(ParseScaledDecimal("0.0005", 3), 0.5);
  EXPECT_EQ(ParseScaledDecimal("-1", 0), -1.0);
  EXPECT_EQ(ParseScaledDecimal("3005", 0), 3005.0);
  for (const char* bad : {"", ".5", "5.", "1e3", "0x10", "1.2.3", "--1", " 1", "+1"}) {
    EXPECT_FALSE(ParseScaledDecimal(bad, 3).has_value()) << bad;
  }
  EXPECT_EQ(ParseUnixSecondsToMs("1796240877.315843"), int64_t{1796240877315});
  EXPECT_EQ(ParseUnixSecondsToMs("1796240877"), int64_t{1796240877000});
  EXPECT_EQ(ParseUnixSecondsToMs("1796240877.3"), int64_t{1796240877300});
  EXPECT_FALSE(ParseUnixSecondsToMs("-1").has_value());
}

// ---- Real datagrams recorded from HAProxy 2.6.12 and NGINX 1.22.1 ---------------------------

struct Expected {
  std::string backend, server;
  int status;
  double ta, tr;
  int64_t bytes;
  std::optional<int64_t> start_ms = std::nullopt;
  bool truncated = false;
};

void CheckFile(const std::string& name, const std::vector<Expected>& expected) {
  SCOPED_TRACE(name);
  const auto lines = ReadLines(name);
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    auto e = ParseAccessLogDatagram(lines[i] + "\n");
    ASSERT_TRUE(e.has_value()) << e.error().message;
    EXPECT_EQ(e->backend, expected[i].backend);
    EXPECT_EQ(e->server, expected[i].server);
    EXPECT_EQ(e->status, expected[i].status);
    EXPECT_EQ(e->total_time_ms, expected[i].ta);
    EXPECT_EQ(e->response_time_ms, expected[i].tr);
    EXPECT_EQ(e->bytes, expected[i].bytes);
    EXPECT_EQ(e->start_ms, expected[i].start_ms);
    EXPECT_EQ(e->request_truncated, expected[i].truncated);
  }
}

TEST(RealCapturesTest, HaproxyHttplogRfc3164) {
  CheckFile("haproxy-2.6-httplog-rfc3164.log",
            {
                {"fe_httplog", "<NOSRV>", 400, 0, -1, 0},   // probe: closed without a request
                {"be_primary", "<NOSRV>", 200, 0, -1, 73},  // http-request return 200
                {"be_canary", "<NOSRV>", 503, 0, -1, 92},   // http-request return 503
                {"be_real", "s1", 200, 54, 53, 125},        // IPv6 client ::1
                {"be_real", "s1", 200, 205, 205, 125},
                {"be_real", "s1", 504, 1503, -1, 198},     // server timeout sH--
                {"be_refused", "s1", 503, 1003, -1, 217},  // connection refused SC--
                {"fe_httplog", "<NOSRV>", 400, 0, -1, 0},  // bad request PR--
                {"fe_httplog", "<NOSRV>", 400, 0, -1, 0},  // aborted request CR--
                {"be_primary", "<NOSRV>", 200, 0, -1, 73, std::nullopt, true},  // cut at 1024
                {"be_canary", "<NOSRV>", 503, 0, -1, 92},                       // POST with a body
            });
  // The IPv6 line keeps its client address unbracketed.
  const auto lines = ReadLines("haproxy-2.6-httplog-rfc3164.log");
  auto e = ParseAccessLogDatagram(lines.at(3));
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->client_address, "::1");
  EXPECT_EQ(e->request, "GET /real/0.05 HTTP/1.1");
  EXPECT_EQ(lines.at(9).size(), 1024u);  // cut by HAProxy's default `len 1024`
}

TEST(RealCapturesTest, HaproxyAugurKeyValueRfc5424AndJson) {
  CheckFile("haproxy-2.6-augur-rfc5424.log",
            {
                {"fe_augur", "<NOSRV>", 400, 0, -1, 0, int64_t{1796240874547}},
                {"be_primary", "<NOSRV>", 200, 0, -1, 73, int64_t{1796240877315}},
                {"be_canary", "<NOSRV>", 503, 0, -1, 92, int64_t{1796240877315}},
                {"be_real", "s1", 200, 33, 33, 125, int64_t{1796240877316}},
                {"fe_augur", "<NOSRV>", 400, 0, -1, 0, int64_t{1796240877349}},
            });
  CheckFile("haproxy-2.6-augur-json.log",
            {
                {"fe_json", "<NOSRV>", 400, 0, -1, 0, int64_t{1796240874547}},
                {"be_primary", "<NOSRV>", 200, 0, -1, 73, int64_t{1796240877350}},
            });
}

TEST(RealCapturesTest, NginxJsonAndCombined) {
  CheckFile("nginx-1.22-augur-json.log",
            {
                {"primary", "127.0.0.1:53441", 200, 53, 52, 127, int64_t{1796240877434 - 53}},
                {"canary", "127.0.0.1:53441", 200, 21, 22, 127, int64_t{1796240877456 - 21}},
                {"canary", "127.0.0.1:53441", 200, 12, 12, 127, int64_t{1796240877468 - 12}},
                {"-", "-", 204, 0, -1, 105, int64_t{1796240877469}},
                {"primary", "127.0.0.1:53441", 200, 1, 1, 127, int64_t{1796240877470 - 1}},
            });
  const auto combined = ReadLines("nginx-1.22-combined.log");
  ASSERT_EQ(combined.size(), 5u);
  for (const auto& line : combined) {
    auto e = ParseAccessLogDatagram(line);
    ASSERT_FALSE(e.has_value()) << line;
    EXPECT_NE(e.error().message.find("Common/Combined"), std::string::npos) << e.error().message;
  }
}

TEST(RealCapturesTest, ParseThroughput) {
  const auto lines = ReadLines("haproxy-2.6-httplog-rfc3164.log");
  const auto kv = ReadLines("haproxy-2.6-augur-rfc5424.log");
  const auto json = ReadLines("nginx-1.22-augur-json.log");
  int ok = 0;
  constexpr int kRounds = 20000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    ok += ParseAccessLogDatagram(lines[4]).has_value();
    ok += ParseAccessLogDatagram(kv[3]).has_value();
    ok += ParseAccessLogDatagram(json[1]).has_value();
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ok, 3 * kRounds);
  std::printf("[ measured ] %.0f datagrams/s parsed (httplog, key=value, JSON mixed)\n",
              3 * kRounds / secs);
}

// ---- R-7 quantiles --------------------------------------------------------------------------

TEST(QuantileR7Test, MatchesHandComputedValues) {
  // {1,2,3,4}: h = 3p; p50 -> 2 + 0.5 = 2.5, p90 -> h = 2.7 -> 3 + 0.7 = 3.7, p99 -> 3.97.
  const std::vector<double> four = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(*QuantileR7(four, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(*QuantileR7(four, 0.9), 3.7);
  EXPECT_DOUBLE_EQ(*QuantileR7(four, 0.99), 3.97);
  EXPECT_EQ(*QuantileR7(four, 0.0), 1.0);
  EXPECT_EQ(*QuantileR7(four, 1.0), 4.0);
  EXPECT_EQ(*QuantileR7(std::vector<double>{7}, 0.99), 7.0);
  // x_i = i for i = 1..100: R-7 gives 1 + 99p exactly (R: quantile(1:100, c(.5,.9,.99))).
  std::vector<double> seq;
  for (int i = 1; i <= 100; ++i) seq.push_back(i);
  EXPECT_NEAR(*QuantileR7(seq, 0.5), 50.5, 1e-12);
  EXPECT_NEAR(*QuantileR7(seq, 0.9), 90.1, 1e-12);
  EXPECT_NEAR(*QuantileR7(seq, 0.99), 99.01, 1e-12);
  // Squares 1..100: R's quantile((1:10)^2, 0.9) = 82.9 (h = 8.1: 81 + 0.1 * 19).
  std::vector<double> squares;
  for (int i = 1; i <= 10; ++i) squares.push_back(i * i);
  EXPECT_NEAR(*QuantileR7(squares, 0.9), 82.9, 1e-12);
  EXPECT_NEAR(*QuantileR7(squares, 0.25), 10.75, 1e-12);  // h = 2.25: 9 + 0.25 * 7
}

TEST(QuantileR7Test, RejectsBadInput) {
  EXPECT_EQ(QuantileR7({}, 0.5).error().code, ErrorCode::kInvalidArgument);
  const std::vector<double> x = {1, 2};
  EXPECT_FALSE(QuantileR7(x, -0.1).has_value());
  EXPECT_FALSE(QuantileR7(x, 1.1).has_value());
  EXPECT_FALSE(QuantileR7(x, std::nan("")).has_value());
}

// ---- Store ----------------------------------------------------------------------------------

struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now = std::make_shared<std::atomic<int64_t>>(1'000'000);
  std::function<int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

AccessLogEntry Entry(std::string backend, std::string server, int status, double ta,
                     int64_t start_ms, double tr = -1) {
  AccessLogEntry e;
  e.backend = std::move(backend);
  e.server = std::move(server);
  e.status = status;
  e.total_time_ms = ta;
  e.response_time_ms = tr;
  e.start_ms = start_ms;
  return e;
}

AccessLogStoreOptions RoleOptions(const ManualClock& clock) {
  AccessLogStoreOptions o;
  o.clock = clock.fn();
  o.roles = {{"be_app", "primary", "primary"},
             {"be_app", "canary", "canary"},
             {"be_canary", "*", "canary"}};
  return o;
}

TEST(AccessLogStoreTest, SummariesAndSeriesMatchHandCounts) {
  ManualClock clock;
  auto store = AccessLogStore::Create(RoleOptions(clock));
  ASSERT_TRUE(store.has_value()) << store.error().message;
  AccessLogStore& s = **store;
  const int64_t t0 = 990'000;
  // Canary: 4 samples over two servers of two backends, one 503, one 404, one unknown latency.
  s.Add(Entry("be_app", "canary", 200, 10, t0 + 0), clock.now->load());
  s.Add(Entry("be_app", "canary", 503, 20, t0 + 999), clock.now->load());
  s.Add(Entry("be_canary", "x1", 404, 30, t0 + 1000), clock.now->load());
  s.Add(Entry("be_canary", "x2", -1, -1, t0 + 1500), clock.now->load());    // aborted
  s.Add(Entry("be_app", "canary", 200, 40, t0 + 2000), clock.now->load());  // == end: out
  // Primary, and an unmapped series.
  s.Add(Entry("be_app", "primary", 200, 5, t0 + 100), clock.now->load());
  s.Add(Entry("be_other", "s", 500, 1, t0 + 100), clock.now->load());

  const AccessLogWindow w{t0, t0 + 2000};
  auto canary = s.Summarize(AccessLogSelector::Role("canary"), w);
  ASSERT_TRUE(canary.has_value()) << canary.error().message;
  EXPECT_EQ(canary->requests, 4);
  EXPECT_EQ(canary->errors, 1);  // 5xx only; the aborted request (-1) is never an error
  EXPECT_DOUBLE_EQ(canary->success_rate, 0.75);
  EXPECT_EQ(canary->latency_count, 3);
  EXPECT_DOUBLE_EQ(canary->mean, 20.0);
  EXPECT_DOUBLE_EQ(canary->p50, 20.0);
  EXPECT_DOUBLE_EQ(canary->p90, 28.0);  // {10,20,30}: h = 1.8 -> 20 + 0.8 * 10
  EXPECT_DOUBLE_EQ(canary->p99, 29.8);  // h = 1.98

  AccessLogQueryOptions four;
  four.error_class = ErrorClass::k4xx5xx;
  EXPECT_EQ(s.Summarize(AccessLogSelector::Role("canary"), w, four)->errors, 2);

  auto samples = s.LatencySamples(AccessLogSelector::Role("canary"), w);
  ASSERT_TRUE(samples.has_value());
  EXPECT_EQ(*samples, (std::vector<double>{10, 20, 30}));  // start-time order
  EXPECT_EQ(s.LatencySamples(AccessLogSelector::Server("be_app", "canary"), w)->size(), 2u);
  EXPECT_EQ(s.Summarize(AccessLogSelector::Server("be_canary"), w)->requests, 2);
  EXPECT_EQ(s.Summarize(AccessLogSelector::Server("be_other", "s"), w)->errors, 1);
  EXPECT_EQ(s.Summarize(AccessLogSelector::Role("primary"), w)->requests, 1);
  auto none = s.Summarize(AccessLogSelector::Server("be_none"), w);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->requests, 0);
  EXPECT_TRUE(std::isnan(none->success_rate));
  EXPECT_TRUE(std::isnan(none->p99));

  // Buckets of 800 ms: [0,800) {10}, [800,1600) {20 (503), 30 (404), aborted}, [1600,2000) {}.
  auto series = s.Series(AccessLogSelector::Role("canary"), w, 800);
  ASSERT_TRUE(series.has_value()) << series.error().message;
  ASSERT_EQ(series->size(), 3u);
  EXPECT_EQ((*series)[0].start_ms, t0);
  EXPECT_EQ((*series)[0].requests, 1);
  EXPECT_EQ((*series)[0].p50, 10.0);
  EXPECT_EQ((*series)[1].requests, 3);
  EXPECT_EQ((*series)[1].errors, 1);
  EXPECT_EQ((*series)[1].latency_count, 2);
  EXPECT_DOUBLE_EQ((*series)[1].p50, 25.0);
  EXPECT_DOUBLE_EQ((*series)[1].p90, 29.0);
  EXPECT_DOUBLE_EQ((*series)[1].mean, 25.0);
  EXPECT_EQ((*series)[2].start_ms, t0 + 1600);
  EXPECT_EQ((*series)[2].end_ms, t0 + 2000);  // cut at the window's end
  EXPECT_EQ((*series)[2].requests, 0);
  EXPECT_TRUE(std::isnan((*series)[2].mean));

  // Response time instead of total time: only samples that have one.
  AccessLogQueryOptions response;
  response.latency = LatencyKind::kResponse;
  EXPECT_EQ(s.Summarize(AccessLogSelector::Role("canary"), w, response)->latency_count, 0);

  const auto list = s.ListSeries();
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(list[0].backend, "be_app");
  EXPECT_EQ(list[0].server, "canary");
  EXPECT_EQ(list[0].role, "canary");
  EXPECT_EQ(list[0].samples, 3);
  EXPECT_EQ(list[2].backend, "be_canary");
  EXPECT_EQ(list[2].role, "canary");  // via server "*"
  EXPECT_EQ(list[4].role, "");        // be_other: unmapped
}

TEST(AccessLogStoreTest, RejectsBadQueriesAndOptions) {
  ManualClock clock;
  auto store = AccessLogStore::Create(RoleOptions(clock));
  ASSERT_TRUE(store.has_value());
  const AccessLogStore& s = **store;
  const AccessLogWindow w{0, 1000};
  auto unknown = s.Summarize(AccessLogSelector::Role("canry"), w);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("canary, primary"), std::string::npos);
  EXPECT_EQ(s.Summarize(AccessLogSelector{}, w).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Summarize({"canary", "be_app", ""}, w).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Summarize({"canary", "", "s"}, w).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Summarize(AccessLogSelector::Role("canary"), {5, 5}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Series(AccessLogSelector::Role("canary"), w, 0).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Series(AccessLogSelector::Role("canary"), {0, 100001}, 1).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(s.Series(AccessLogSelector::Role("canary"), {0, 100000}, 1).has_value());

  AccessLogStoreOptions bad;
  bad.capacity_per_series = 0;
  EXPECT_EQ(AccessLogStore::Create(bad).error().code, ErrorCode::kInvalidArgument);
  bad = {};
  bad.roles = {{"be", "s", "primary"}, {"be", "s", "canary"}};
  EXPECT_NE(AccessLogStore::Create(bad).error().message.find("both"), std::string::npos);
  bad.roles = {{"be", "*", "primary"}, {"be", "*", "canary"}};
  EXPECT_FALSE(AccessLogStore::Create(bad).has_value());
  bad.roles = {{"", "*", "primary"}};
  EXPECT_FALSE(AccessLogStore::Create(bad).has_value());
  bad.roles = {{"be", "s", "primary"}, {"be", "s", "primary"}, {"be", "*", "canary"}};
  EXPECT_TRUE(AccessLogStore::Create(bad).has_value());  // same mapping twice is harmless
}

TEST(AccessLogStoreTest, CapacitySeriesLimitAndRetentionBoundMemory) {
  ManualClock clock;
  AccessLogStoreOptions o;
  o.clock = clock.fn();
  o.capacity_per_series = 100;
  o.max_series = 10;
  o.retention_ms = 60'000;
  auto store = AccessLogStore::Create(o);
  ASSERT_TRUE(store.has_value());
  AccessLogStore& s = **store;
  const int64_t now = clock.now->load();
  for (int i = 0; i < 100000; ++i) {
    s.Add(Entry("be", "s", 200, i, now - 1000 + i / 1000), now);
  }
  auto c = s.counters();
  EXPECT_EQ(c.received, 100000u);
  EXPECT_EQ(c.parsed, 100000u);
  EXPECT_EQ(c.samples, 100u);
  EXPECT_EQ(c.dropped, 99900u);
  // The newest 100 are the ones kept.
  auto kept = s.LatencySamples(AccessLogSelector::Server("be", "s"), {0, now + 1});
  ASSERT_EQ(kept->size(), 100u);
  EXPECT_EQ(kept->front(), 99900.0);
  EXPECT_EQ(kept->back(), 99999.0);

  // A flood of made-up backends: at most max_series pairs are held.
  for (int i = 0; i < 1000; ++i) s.Add(Entry("junk" + std::to_string(i), "s", 200, 1, now), now);
  c = s.counters();
  EXPECT_EQ(c.series, 10u);
  EXPECT_EQ(c.dropped, 99900u + 991u);
  EXPECT_EQ(c.samples, 109u);

  // Retention: 61 s later everything has expired and series slots are free again.
  *clock.now += 61'000;
  c = s.counters();
  EXPECT_EQ(c.samples, 0u);
  EXPECT_EQ(c.series, 0u);
  EXPECT_EQ(c.expired, 109u);
  EXPECT_EQ(c.samples, c.parsed - c.dropped - c.expired);
  // A sample already older than the retention is expired on arrival.
  s.Add(Entry("be", "s", 200, 1, clock.now->load() - 70'000), clock.now->load());
  EXPECT_EQ(s.counters().expired, 110u);
}

TEST(AccessLogStoreTest, IngestCountsMalformedAndUsesReceiveTimeForHttplog) {
  ManualClock clock;
  auto store = AccessLogStore::Create(RoleOptions(clock));
  ASSERT_TRUE(store.has_value());
  AccessLogStore& s = **store;
  EXPECT_TRUE(s.Ingest("<134>Dec  2 19:00:00 haproxy[1]: 127.0.0.1:1 [02/Dec/2026:19:00:00.000] "
                       "fe be_app/canary 0/0/0/40/45 200 10 - - ---- 1/1/0/0/0 0/0 \"GET /\"\n")
                  .has_value());
  auto bad = s.Ingest("<134>Dec  2 19:00:00 haproxy[1]: garbage\xff");
  ASSERT_FALSE(bad.has_value());
  auto c = s.counters();
  EXPECT_EQ(c.received, 2u);
  EXPECT_EQ(c.parsed, 1u);
  EXPECT_EQ(c.malformed, 1u);
  EXPECT_EQ(c.last_malformed_reason, bad.error().message);
  EXPECT_NE(c.last_malformed_reason.find("garbage\\xff"), std::string::npos);
  // httplog: start = receive time - Ta.
  auto got = s.Samples(AccessLogSelector::Role("canary"), {0, clock.now->load() + 1});
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].timestamp_ms, clock.now->load() - 45);
  EXPECT_EQ((*got)[0].response_time_ms, 40);
}

TEST(AccessLogStoreTest, QueriesRunWhileIngesting) {
  ManualClock clock;
  auto store = AccessLogStore::Create(RoleOptions(clock));
  ASSERT_TRUE(store.has_value());
  AccessLogStore& s = **store;
  std::atomic<bool> done{false}, querying{false};
  std::thread writer([&] {
    // Starts once the reader has queried: on a loaded machine the writer could otherwise add
    // everything before the reader's first query (this failed once under ctest -j2).
    while (!querying) std::this_thread::yield();
    for (int i = 0; i < 20000; ++i) {
      s.Add(Entry("be_app", i % 2 ? "canary" : "primary", 200, i % 97, clock.now->load()),
            clock.now->load());
    }
    done = true;
  });
  int64_t last = 0, queries = 0;
  do {
    auto sum = s.Summarize(AccessLogSelector::Role("canary"), {0, clock.now->load() + 1});
    querying = true;
    if (!sum.has_value()) {  // not ASSERT: the writer must be joined before the test ends
      ADD_FAILURE() << "Summarize failed while ingesting";
      break;
    }
    EXPECT_GE(sum->requests, last);  // monotone: nothing is lost while writing
    last = sum->requests;
    ++queries;
  } while (!done);
  writer.join();
  EXPECT_EQ(s.Summarize(AccessLogSelector::Role("canary"), {0, clock.now->load() + 1})->requests,
            10000);
  EXPECT_GT(queries, 0);
}

// ---- UDP receiver ---------------------------------------------------------------------------

class UdpSender {
 public:
  explicit UdpSender(int port, bool v6 = false) : v6_(v6) {
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr_);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(static_cast<uint16_t>(port));
      a->sin6_addr = in6addr_loopback;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr_);
      a->sin_family = AF_INET;
      a->sin_port = htons(static_cast<uint16_t>(port));
      a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
  }
  ~UdpSender() { ::close(fd_); }
  bool Send(std::string_view data) {
    const socklen_t len = v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    return ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr_), len) ==
           static_cast<ssize_t>(data.size());
  }

 private:
  int fd_;
  bool v6_;
  sockaddr_storage addr_{};
};

std::string KvLine(const std::string& backend, const std::string& server, int status, int ta) {
  return "<134>1 2026-12-02T19:47:57.315843+00:00 - haproxy 1 - - augur=1 be=" + backend +
         " srv=" + server + " st=" + std::to_string(status) + " ta_ms=" + std::to_string(ta) +
         " tr_ms=" + std::to_string(ta) + "\n";
}

TEST(AccessLogReceiverTest, ReceivesRealDatagramsOverLoopback) {
  AccessLogReceiverOptions o;
  o.store.roles = {{"be_primary", "*", "primary"}, {"be_canary", "*", "canary"}};
  // The recorded lines carry their recording time: keep them whenever the test runs.
  o.store.retention_ms = int64_t{100} * 365 * 24 * 3600 * 1000;
  auto receiver = AccessLogReceiver::Start(o);
  ASSERT_TRUE(receiver.has_value()) << receiver.error().message;
  const int port = (*receiver)->port();
  ASSERT_GT(port, 0);
  UdpSender sender(port);
  std::vector<std::string> datagrams;
  for (const char* file :
       {"haproxy-2.6-httplog-rfc3164.log", "haproxy-2.6-augur-rfc5424.log",
        "haproxy-2.6-augur-json.log", "nginx-1.22-augur-json.log", "nginx-1.22-combined.log"}) {
    for (const auto& line : ReadLines(file)) datagrams.push_back(line + "\n");
  }
  datagrams.push_back(std::string("\0\xff\xfe garbage", 11));
  // A 65,000-byte datagram (an httplog request near the UDP limit) is parsed whole.
  datagrams.push_back(
      "<134>Dec  2 19:00:00 haproxy[1]: 127.0.0.1:1 [02/Dec/2026:19:00:00.000] fe "
      "be_canary/s 0/0/0/1/2 200 10 - - ---- 1/1/0/0/0 0/0 \"GET /" +
      std::string(64800, 'a') + " HTTP/1.1\"\n");
  for (const auto& d : datagrams) ASSERT_TRUE(sender.Send(d));
  const AccessLogStore& store = (*receiver)->store();
  ASSERT_TRUE(store.WaitForReceived(datagrams.size(), milliseconds(10000)))
      << store.counters().received << " of " << datagrams.size();
  const auto c = store.counters();
  EXPECT_EQ(c.received, datagrams.size());
  EXPECT_EQ(c.malformed, 5u + 1u);  // the NGINX combined lines and the garbage
  EXPECT_EQ(c.parsed, 11u + 5u + 2u + 5u + 1u);
  EXPECT_EQ(c.socket_drops, 0u);
  // be_primary got 2 httplog (1 cut) + 1 kv + 1 json; be_canary 2 httplog + 1 kv + the big one.
  const AccessLogWindow all{0, int64_t{1} << 62};
  auto primary = store.Summarize(AccessLogSelector::Role("primary"), all);
  auto canary = store.Summarize(AccessLogSelector::Role("canary"), all);
  ASSERT_TRUE(primary.has_value() && canary.has_value());
  EXPECT_EQ(primary->requests, 4);
  EXPECT_EQ(primary->errors, 0);
  EXPECT_EQ(canary->requests, 4);
  EXPECT_EQ(canary->errors, 3);
  (*receiver)->Stop();
  (*receiver)->Stop();                                     // idempotent
  EXPECT_EQ(store.counters().received, datagrams.size());  // readable after Stop
}

TEST(AccessLogReceiverTest, CutsOversizedDatagramsAndBindsIpv6) {
  AccessLogReceiverOptions o;
  o.max_datagram_bytes = 1024;
  auto receiver = AccessLogReceiver::Start(o);
  ASSERT_TRUE(receiver.has_value()) << receiver.error().message;
  UdpSender sender((*receiver)->port());
  ASSERT_TRUE(sender.Send(KvLine("b", "s", 200, 1) + std::string(2000, ' ')));
  ASSERT_TRUE(sender.Send(KvLine("b", "s", 200, 1)));
  const AccessLogStore& store = (*receiver)->store();
  ASSERT_TRUE(store.WaitForReceived(2, milliseconds(5000)));
  EXPECT_EQ(store.counters().malformed, 1u);
  EXPECT_EQ(store.counters().parsed, 1u);
  EXPECT_NE(store.counters().last_malformed_reason.find("longer than 1024"), std::string::npos);

  AccessLogReceiverOptions v6;
  v6.bind_address = "::1";
  auto receiver6 = AccessLogReceiver::Start(v6);
  if (!receiver6.has_value()) GTEST_SKIP() << "no IPv6 loopback: " << receiver6.error().message;
  UdpSender sender6((*receiver6)->port(), /*v6=*/true);
  ASSERT_TRUE(sender6.Send(KvLine("b", "s", 200, 1)));
  ASSERT_TRUE((*receiver6)->store().WaitForReceived(1, milliseconds(5000)));
  EXPECT_EQ((*receiver6)->store().counters().parsed, 1u);
}

TEST(AccessLogReceiverTest, RejectsBadOptionsAndBusyPorts) {
  AccessLogReceiverOptions o;
  o.bind_address = "localhost";
  EXPECT_EQ(AccessLogReceiver::Start(o).error().code, ErrorCode::kInvalidArgument);
  o = {};
  o.port = 70000;
  EXPECT_EQ(AccessLogReceiver::Start(o).error().code, ErrorCode::kInvalidArgument);
  o = {};
  o.max_datagram_bytes = 0;
  EXPECT_EQ(AccessLogReceiver::Start(o).error().code, ErrorCode::kInvalidArgument);
  o = {};
  o.store.max_series = 0;
  EXPECT_EQ(AccessLogReceiver::Start(o).error().code, ErrorCode::kInvalidArgument);
  auto first = AccessLogReceiver::Start({});
  ASSERT_TRUE(first.has_value());
  o = {};
  o.port = (*first)->port();
  auto second = AccessLogReceiver::Start(o);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find(std::to_string(o.port)), std::string::npos);
  o.bind_address = "192.0.2.1";  // TEST-NET-1: not an address of this machine
  o.port = 0;
  EXPECT_EQ(AccessLogReceiver::Start(o).error().code, ErrorCode::kUnavailable);
}

TEST(AccessLogReceiverTest, StopIsPrompt) {
  AccessLogReceiverOptions o;
  o.poll_timeout_ms = 5000;  // Stop must not wait for the poll timeout
  auto receiver = AccessLogReceiver::Start(o);
  ASSERT_TRUE(receiver.has_value());
  const auto start = std::chrono::steady_clock::now();
  (*receiver)->Stop();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, milliseconds(500));
  std::printf("[ measured ] Stop() took %.2f ms\n",
              std::chrono::duration<double, std::milli>(took).count());
}

TEST(AccessLogReceiverTest, FloodStaysWithinCapacityAndIsCounted) {
  AccessLogReceiverOptions o;
  o.store.capacity_per_series = 500;
  o.store.max_series = 4;
  o.receive_buffer_bytes = 32 << 20;  // hold the whole burst even if the thread is descheduled
  auto receiver = AccessLogReceiver::Start(o);
  ASSERT_TRUE(receiver.has_value());
  UdpSender sender((*receiver)->port());
  constexpr int kN = 20000;
  std::vector<std::string> lines;
  for (int i = 0; i < kN; ++i) lines.push_back(KvLine("be" + std::to_string(i % 8), "s", 200, i));
  const auto start = std::chrono::steady_clock::now();
  for (const auto& line : lines) ASSERT_TRUE(sender.Send(line));
  const AccessLogStore& store = (*receiver)->store();
  const bool all = store.WaitForReceived(kN, milliseconds(20000));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto c = store.counters();
  ASSERT_TRUE(all) << "received " << c.received << ", kernel dropped " << c.socket_drops;
  std::printf("[ measured ] %d datagrams sent and ingested in %.3f s (%.0f/s)\n", kN, secs,
              kN / secs);
  EXPECT_EQ(c.parsed, static_cast<uint64_t>(kN));
  EXPECT_EQ(c.series, 4u);
  EXPECT_EQ(c.samples, 4u * 500u);
  EXPECT_EQ(c.dropped, static_cast<uint64_t>(kN) - 2000u);  // 4 pairs refused + ring overflow
  for (const auto& info : store.ListSeries()) EXPECT_EQ(info.samples, 500);
}

// ---- A real HAProxy logging to the receiver -------------------------------------------------

int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

int ConnectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// One HTTP/1.1 request on its own connection; returns the status code, -1 on failure.
int HttpGet(int port, const std::string& path) {
  const int fd = ConnectTcp(port);
  if (fd < 0) return -1;
  const std::string req = "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    ::close(fd);
    return -1;
  }
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) response.append(buf, n);
  ::close(fd);
  if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) return -1;
  return std::atoi(response.substr(9, 3).c_str());
}

// A loopback HTTP server that answers every request after `delay` (the backend's own
// processing time, which HAProxy must report as Tr).
class SlowBackend {
 public:
  explicit SlowBackend(milliseconds delay) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, delay] {
      while (true) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;  // shutdown() in the destructor
        std::string req;
        char buf[2048];
        ssize_t n;
        while (req.find("\r\n\r\n") == std::string::npos &&
               (n = ::recv(c, buf, sizeof(buf), 0)) > 0) {
          req.append(buf, n);
        }
        std::this_thread::sleep_for(delay);
        const std::string resp =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        ::close(c);
      }
    });
  }
  ~SlowBackend() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1, port_ = 0;
  std::thread thread_;
};

class HaproxyProcess {
 public:
  ~HaproxyProcess() { Stop(); }
  bool Start(const std::string& config, std::string* error) {
    char tmpl[] = "/tmp/augur-access-log-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return false;
    dir_ = tmpl;
    const std::string cfg = dir_ + "/haproxy.cfg", log = dir_ + "/haproxy.out";
    std::ofstream(cfg) << config;
    const char* argv[] = {"haproxy", "-f", cfg.c_str(), "-db", nullptr};
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (out >= 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
      }
      ::execv("/usr/sbin/haproxy", const_cast<char* const*>(argv));
      ::_exit(127);
    }
    if (pid_ < 0) {
      *error = "fork failed";
      return false;
    }
    log_ = log;
    return true;
  }
  std::string Output() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  bool Exited() {
    if (pid_ <= 0) return true;
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  pid_t pid_ = -1;
  std::string dir_, log_;
};

TEST(HaproxyEndToEndTest, ReceiverGetsExactlyTheRequestsHaproxyServed) {
  if (::access("/usr/sbin/haproxy", X_OK) != 0) GTEST_SKIP() << "/usr/sbin/haproxy not installed";
  AccessLogReceiverOptions o;
  o.store.roles = {
      {"be_primary", "*", "primary"}, {"be_canary", "*", "canary"}, {"be_slow", "s1", "slow"}};
  auto httplog = AccessLogReceiver::Start(o);
  auto augur = AccessLogReceiver::Start(o);
  ASSERT_TRUE(httplog.has_value() && augur.has_value());
  SlowBackend slow(milliseconds(30));
  const int fe_httplog = FreeTcpPort(), fe_augur = FreeTcpPort();
  ASSERT_GT(fe_httplog, 0);
  ASSERT_GT(fe_augur, 0);
  const std::string routing =
      "    option dontlognull\n"  // the readiness probes below send no request: no log
      "    use_backend be_canary if { path_beg /canary }\n"
      "    use_backend be_slow if { path_beg /slow }\n"
      "    default_backend be_primary\n";
  const std::string config =
      "defaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n"
      "    timeout server 5s\n"
      "frontend fe_httplog\n    bind 127.0.0.1:" +
      std::to_string(fe_httplog) + "\n" +
      "    log 127.0.0.1:" + std::to_string((*httplog)->port()) + " local0 info\n" +
      "    option httplog\n" + routing +
      "frontend fe_augur\n    bind 127.0.0.1:" + std::to_string(fe_augur) + "\n" +
      "    log 127.0.0.1:" + std::to_string((*augur)->port()) + " format rfc5424 local0 info\n" +
      "    log-format \"augur=1 ts=%Ts.%ms fe=%ft be=%b srv=%s st=%ST ta_ms=%Ta tr_ms=%Tr "
      "bytes=%B term=%tsc meth=%HM\"\n" +
      routing +
      "backend be_primary\n    http-request return status 200 content-type text/plain string ok\n"
      "backend be_canary\n    http-request return status 503 content-type text/plain string no\n"
      "backend be_slow\n    server s1 127.0.0.1:" +
      std::to_string(slow.port()) + "\n";
  HaproxyProcess haproxy;
  std::string error;
  ASSERT_TRUE(haproxy.Start(config, &error)) << error;
  // Readiness: both frontends accept a connection (bounded: 10 s).
  for (int port : {fe_httplog, fe_augur}) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int fd;
    while ((fd = ConnectTcp(port)) < 0) {
      ASSERT_FALSE(haproxy.Exited()) << "haproxy exited:\n" << haproxy.Output();
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << haproxy.Output();
      std::this_thread::sleep_for(milliseconds(10));
    }
    ::close(fd);
  }
  for (int port : {fe_httplog, fe_augur}) {
    for (int i = 0; i < 5; ++i) EXPECT_EQ(HttpGet(port, "/p" + std::to_string(i)), 200);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(HttpGet(port, "/canary/" + std::to_string(i)), 503);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(HttpGet(port, "/slow"), 200);
  }
  for (auto* r : {&*httplog, &*augur}) {
    const AccessLogStore& store = (*r)->store();
    ASSERT_TRUE(store.WaitForReceived(10, milliseconds(10000)))
        << store.counters().received << " datagrams; haproxy said:\n"
        << haproxy.Output();
  }
  haproxy.Stop();  // stopped and reaped: whatever it logged is in the socket queue now
  for (auto* r : {&*httplog, &*augur}) {
    const AccessLogStore& store = (*r)->store();
    EXPECT_FALSE(store.WaitForReceived(11, milliseconds(200))) << "more datagrams than requests";
    const auto c = store.counters();
    EXPECT_EQ(c.received, 10u);
    EXPECT_EQ(c.parsed, 10u) << c.last_malformed_reason;
    const AccessLogWindow all{0, int64_t{1} << 62};
    auto primary = store.Summarize(AccessLogSelector::Role("primary"), all);
    auto canary = store.Summarize(AccessLogSelector::Role("canary"), all);
    ASSERT_TRUE(primary.has_value() && canary.has_value());
    EXPECT_EQ(primary->requests, 5);
    EXPECT_EQ(primary->errors, 0);
    EXPECT_EQ(canary->requests, 3);
    EXPECT_EQ(canary->errors, 3);
    EXPECT_EQ(canary->success_rate, 0.0);
    // Requests answered by the backend server: Tr covers its 30 ms of work.
    AccessLogQueryOptions tr;
    tr.latency = LatencyKind::kResponse;
    auto slow_sum = store.Summarize(AccessLogSelector::Role("slow"), all, tr);
    ASSERT_TRUE(slow_sum.has_value());
    EXPECT_EQ(slow_sum->requests, 2);
    EXPECT_EQ(slow_sum->latency_count, 2);
    auto ta = store.LatencySamples(AccessLogSelector::Server("be_slow", "s1"), all);
    ASSERT_EQ(ta->size(), 2u);
    for (double v : *ta) {
      EXPECT_GE(v, 30.0);
      EXPECT_LT(v, 5000.0);
    }
    EXPECT_GE(slow_sum->p50, 30.0);
    const auto series = store.ListSeries();
    ASSERT_EQ(series.size(), 3u);
    EXPECT_EQ(series[0].backend, "be_canary");
    EXPECT_EQ(series[0].server, "<NOSRV>");
  }
}

}  // namespace
}  // namespace augur::sources
