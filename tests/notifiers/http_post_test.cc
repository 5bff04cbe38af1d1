#include "augur/notifiers/http_post.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "notifiers/receiver.h"
#include "testing/process.h"

namespace augur::notifiers {
namespace {

using testing::Receiver;
using Clock = std::chrono::steady_clock;

PostRequest Req(std::string url, std::string body) {
  PostRequest r;
  r.url = std::move(url);
  r.body = std::move(body);
  return r;
}

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

struct UrlCase {
  const char* url;
  const char* scheme;
  const char* host;
  int port;
  const char* path;
};

TEST(ParseHttpUrl, AcceptsAbsoluteHttpUrls) {
  const UrlCase cases[] = {
      {"http://example.com/hook?x=1", "http", "example.com", 80, "/hook?x=1"},
      {"https://hooks.slack.com/services/T0/B0/abc", "https", "hooks.slack.com", 443,
       "/services/T0/B0/abc"},
      {"HTTPS://h:8443", "https", "h", 8443, "/"},
      {"http://127.0.0.1:9/a/b#frag", "http", "127.0.0.1", 9, "/a/b"},
      {"http://h?q=1", "http", "h", 80, "/?q=1"},
      {"http://[::1]:8080/x", "http", "::1", 8080, "/x"},
      {"https://[2001:db8::1]/", "https", "2001:db8::1", 443, "/"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.url);
    auto u = ParseHttpUrl(c.url);
    ASSERT_TRUE(u.has_value()) << u.error().message;
    EXPECT_EQ(u->scheme, c.scheme);
    EXPECT_EQ(u->host, c.host);
    EXPECT_EQ(u->port, c.port);
    EXPECT_EQ(u->path_and_query, c.path);
  }
}

TEST(ParseHttpUrl, RejectsWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "url: required"},
      {"hooks.slack.com/services/x", "url: want an absolute URL"},
      {"ftp://h/x", "url: scheme must be http or https (got 'ftp')"},
      {"http:///path", "url: missing host"},
      {"http://:80/path", "url: missing host"},
      {"http://h:0/", "url: port must be a number from 1 to 65535 (got '0')"},
      {"http://h:65536/", "got '65536'"},
      {"http://h:8o/", "got '8o'"},
      {"http://h:/", "url: empty port"},
      {"http://user:pw@h/", "url: credentials in the URL are not supported"},
      {"http://h/a b", "url: path contains a space"},
      {"http://[::1/", "unterminated '['"},
  };
  for (const auto& [url, want] : cases) {
    SCOPED_TRACE(url);
    auto u = ParseHttpUrl(url);
    ASSERT_FALSE(u.has_value());
    EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(u.error().message.find(want), std::string::npos) << u.error().message;
  }
}

TEST(RedactUrl, KeepsOnlySchemeHostAndPort) {
  EXPECT_EQ(RedactUrl("https://hooks.slack.com/services/T0/B0/SECRET"),
            "https://hooks.slack.com:443/…");
  EXPECT_EQ(RedactUrl("http://[::1]:81/x?token=SECRET"), "http://[::1]:81/…");
  EXPECT_EQ(RedactUrl("nonsense"), "<invalid url>");
}

TEST(PostJson, SendsBodyHeadersPathAndQuery) {
  Receiver rx;
  PostRequest req;
  req.url = rx.url("/api/hook?k=v");
  req.body = R"({"a":1})";
  req.headers["X-Foo"] = "bar";
  auto answer = PostJson(req);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ok");
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/api/hook?k=v");
  EXPECT_EQ(got[0].body, R"({"a":1})");
  EXPECT_EQ(got[0].header("Content-Type"), "application/json");
  EXPECT_EQ(got[0].header("X-Foo"), "bar");
  EXPECT_EQ(got[0].headers.count("Content-Type"), 1u);
}

TEST(PostJson, ContentTypeCanBeOverriddenWithoutDuplicates) {
  Receiver rx;
  PostRequest req = Req(rx.url(), "{}");
  req.headers["content-type"] = "application/vnd.custom+json";
  ASSERT_TRUE(PostJson(req).has_value());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].headers.count("Content-Type"), 1u);
  EXPECT_EQ(got[0].header("Content-Type"), "application/vnd.custom+json");
}

TEST(PostJson, NonSuccessStatusIsAnAnswerNotAnError) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t) {
    res.status = 404;
    res.set_content("no_service", "text/plain");
  });
  auto answer = PostJson(Req(rx.url(), "{}"));
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(answer->body, "no_service");
}

TEST(PostJson, RetriesServerErrorsThenSucceeds) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t i) {
    if (i < 2) {
      res.status = 500;
      res.set_content("busy", "text/plain");
    } else {
      res.set_content("fine", "text/plain");
    }
  });
  PostRequest req = Req(rx.url(), "{}");
  req.retries = 3;
  req.backoff_ms = 10;
  auto answer = PostJson(req);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "fine");
  EXPECT_EQ(rx.count(), 3u);
}

TEST(PostJson, GivesUpAfterRetriesAndReturnsTheLastAnswer) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t) {
    res.status = 503;
    res.set_content("down", "text/plain");
  });
  PostRequest req = Req(rx.url(), "{}");
  req.retries = 2;
  req.backoff_ms = 10;
  auto answer = PostJson(req);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 503);
  EXPECT_EQ(rx.count(), 3u);
}

TEST(PostJson, NeverRetriesClientErrorsOr501) {
  for (int status : {400, 403, 404, 429, 501}) {
    SCOPED_TRACE(status);
    Receiver rx(
        [status](const httplib::Request&, httplib::Response& res, size_t) { res.status = status; });
    PostRequest req = Req(rx.url(), "{}");
    req.retries = 3;
    req.backoff_ms = 10;
    auto answer = PostJson(req);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->status, status);
    EXPECT_EQ(rx.count(), 1u);
  }
}

TEST(PostJson, SlowReceiverGivesDeadlineExceeded) {
  Receiver slow([&slow](const httplib::Request&, httplib::Response& res, size_t) {
    slow.HoldUntilReleased(10000);
    res.set_content("late", "text/plain");
  });
  PostRequest req = Req(slow.url("/services/SECRET"), "{}");
  req.timeout_ms = 300;
  const auto start = Clock::now();
  auto answer = PostJson(req);
  const int64_t took = MsSince(start);
  ASSERT_FALSE(answer.has_value());
  EXPECT_EQ(answer.error().code, ErrorCode::kDeadlineExceeded) << answer.error().message;
  EXPECT_NE(answer.error().message.find("300 ms"), std::string::npos) << answer.error().message;
  EXPECT_EQ(answer.error().message.find("SECRET"), std::string::npos) << answer.error().message;
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 2000);
}

TEST(PostJson, UnreachablePortFailsFastAsUnavailable) {
  auto port = augur::testing::FreeLoopbackPort();  // closed again: nothing listens there
  ASSERT_TRUE(port.has_value());
  PostRequest req = Req("http://127.0.0.1:" + std::to_string(*port) + "/services/SECRET", "{}");
  const auto start = Clock::now();
  auto answer = PostJson(req);
  ASSERT_FALSE(answer.has_value());
  EXPECT_LT(MsSince(start), 1000);
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(answer.error().message.find("cannot reach 127.0.0.1:" + std::to_string(*port)),
            std::string::npos)
      << answer.error().message;
  EXPECT_EQ(answer.error().message.find("SECRET"), std::string::npos);

  req.retries = 2;
  req.backoff_ms = 10;
  answer = PostJson(req);
  ASSERT_FALSE(answer.has_value());
  EXPECT_EQ(answer.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(answer.error().message.find("gave up after 3 attempts"), std::string::npos)
      << answer.error().message;
}

TEST(PostJson, AnswerBodyIsCapped) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t) {
    res.status = 500;
    res.set_content(std::string(size_t{1} << 20, 'x'), "text/plain");
  });
  auto answer = PostJson(Req(rx.url(), "{}"));
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(answer->body.size(), kMaxAnswerBytes);
}

TEST(PostJson, RejectsBadOptionsByName) {
  PostRequest req = Req("http://127.0.0.1:1/", "{}");
  req.timeout_ms = 0;
  auto a = PostJson(req);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(a.error().message.rfind("timeout:", 0), 0u) << a.error().message;

  req.timeout_ms = 1000;
  req.retries = 11;
  a = PostJson(req);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message.rfind("retries:", 0), 0u) << a.error().message;

  req.retries = 0;
  req.url = "gopher://h/";
  a = PostJson(req);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().message, "url: scheme must be http or https (got 'gopher')");
}

}  // namespace
}  // namespace augur::notifiers
