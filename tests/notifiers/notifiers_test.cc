// The notifier kinds end to end: NewNotifier -> HTTP -> a loopback receiver (receiver.h says
// why it is a stand-in), with the bodies parsed back and compared with the formats Slack,
// Microsoft Teams (MessageCard) and Discord document.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "augur/notifiers/factory.h"
#include "notifiers/payloads.h"
#include "notifiers/receiver.h"

namespace augur::notifiers {
namespace {

using nlohmann::json;
using testing::Receiver;

constexpr int64_t kTime = 1784628000123;  // 2026-07-21T10:00:00.123Z

Message Sample(Severity s = Severity::kWarn) {
  Message m;
  m.time_ms = kTime;
  m.severity = s;
  m.rollout = "shop/checkout";
  m.phase = "Progressing";
  m.text = "weight 20 -> 40: all checks passed";
  m.fields = {{"weight", "40"}, {"failed checks", "0/5"}, {"p99 <latency>", "a & b"}};
  return m;
}

std::unique_ptr<Notifier> Make(const std::string& kind, std::map<std::string, std::string> s,
                               Severity min = Severity::kInfo) {
  auto n = NewNotifier({kind, min, std::move(s)});
  EXPECT_TRUE(n.has_value()) << n.error().message;
  return n.has_value() ? std::move(*n) : nullptr;
}

json LastBody(const Receiver& rx) {
  const auto got = rx.received();
  EXPECT_FALSE(got.empty());
  return got.empty() ? json() : json::parse(got.back().body);
}

// A file removed when the test ends, for urlFile / tokenFile.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/augur_notifier_XXXXXX";
    const int fd = ::mkstemp(name);
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = name;
    Write(content);
  }
  ~TempFile() { std::remove(path_.c_str()); }
  void Write(const std::string& content) { std::ofstream(path_, std::ios::trunc) << content; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(Slack, IncomingWebhookShape) {
  Receiver rx;
  auto n = Make("slack", {{"url", rx.url("/services/T0/B0/x")},
                          {"channel", "#deploys"},
                          {"username", "augur"},
                          {"iconEmoji", ":bird:"}});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name(), "slack");
  ASSERT_TRUE(n->Send(Sample()).has_value());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/services/T0/B0/x");
  EXPECT_EQ(got[0].header("Content-Type"), "application/json");
  const json b = json::parse(got[0].body);
  EXPECT_EQ(b["channel"], "#deploys");
  EXPECT_EQ(b["username"], "augur");
  EXPECT_EQ(b["icon_emoji"], ":bird:");
  EXPECT_FALSE(b.contains("icon_url"));
  EXPECT_EQ(b["text"], "*shop/checkout* → *Progressing*");
  ASSERT_EQ(b["attachments"].size(), 1u);
  const json& a = b["attachments"][0];
  EXPECT_EQ(a["color"], "warning");
  EXPECT_EQ(a["text"], "weight 20 -&gt; 40: all checks passed");
  EXPECT_EQ(a["fallback"], "shop/checkout → Progressing: weight 20 -> 40: all checks passed");
  EXPECT_EQ(a["ts"], kTime / 1000);
  ASSERT_EQ(a["fields"].size(), 3u);
  EXPECT_EQ(a["fields"][0]["title"], "weight");
  EXPECT_EQ(a["fields"][0]["value"], "40");
  EXPECT_EQ(a["fields"][0]["short"], true);
  EXPECT_EQ(a["fields"][2]["title"], "p99 &lt;latency&gt;");
  EXPECT_EQ(a["fields"][2]["value"], "a &amp; b");
}

TEST(Slack, ColorFollowsSeverity) {
  Receiver rx;
  auto n = Make("slack", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  const std::pair<Severity, const char*> cases[] = {
      {Severity::kInfo, "good"}, {Severity::kWarn, "warning"}, {Severity::kError, "danger"}};
  for (const auto& [sev, color] : cases) {
    ASSERT_TRUE(n->Send(Sample(sev)).has_value());
    EXPECT_EQ(LastBody(rx)["attachments"][0]["color"], color);
  }
  EXPECT_FALSE(LastBody(rx).contains("channel"));  // only sent when configured
}

TEST(MsTeams, MessageCardShape) {
  Receiver rx;
  auto n = Make("msteams", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  const std::pair<Severity, const char*> cases[] = {
      {Severity::kInfo, "0076D7"}, {Severity::kWarn, "FFA500"}, {Severity::kError, "FF0000"}};
  for (const auto& [sev, color] : cases) {
    ASSERT_TRUE(n->Send(Sample(sev)).has_value());
    const json b = LastBody(rx);
    EXPECT_EQ(b["@type"], "MessageCard");
    EXPECT_EQ(b["@context"], "https://schema.org/extensions");
    EXPECT_EQ(b["themeColor"], color);
    EXPECT_EQ(b["summary"], "shop/checkout → Progressing: weight 20 -> 40: all checks passed");
    ASSERT_EQ(b["sections"].size(), 1u);
    const json& s = b["sections"][0];
    EXPECT_EQ(s["activityTitle"], "shop/checkout");
    EXPECT_NE(s["activitySubtitle"].get<std::string>().find("Progressing"), std::string::npos);
    EXPECT_EQ(s["text"], "weight 20 -> 40: all checks passed");
    ASSERT_EQ(s["facts"].size(), 3u);
    EXPECT_EQ(s["facts"][1]["name"], "failed checks");
    EXPECT_EQ(s["facts"][1]["value"], "0/5");
    EXPECT_EQ(s["facts"][2]["name"], "p99 <latency>");  // no Slack-style escaping here
  }
}

TEST(Discord, EmbedShapeAndColors) {
  Receiver rx;
  auto n =
      Make("discord", {{"url", rx.url()}, {"username", "augur"}, {"avatarUrl", "https://x/a.png"}});
  ASSERT_TRUE(n);
  const std::pair<Severity, int> cases[] = {
      {Severity::kInfo, 0x2EB886}, {Severity::kWarn, 0xDAA038}, {Severity::kError, 0xA30200}};
  for (const auto& [sev, color] : cases) {
    ASSERT_TRUE(n->Send(Sample(sev)).has_value());
    const json b = LastBody(rx);
    EXPECT_EQ(b["username"], "augur");
    EXPECT_EQ(b["avatar_url"], "https://x/a.png");
    EXPECT_EQ(b["content"], "**shop/checkout → Progressing**");
    ASSERT_EQ(b["embeds"].size(), 1u);
    const json& e = b["embeds"][0];
    EXPECT_EQ(e["color"], color);
    EXPECT_EQ(e["title"], "shop/checkout → Progressing");
    EXPECT_EQ(e["description"], "weight 20 -> 40: all checks passed");
    EXPECT_EQ(e["timestamp"], "2026-07-21T10:00:00.123Z");
    ASSERT_EQ(e["fields"].size(), 3u);
    EXPECT_EQ(e["fields"][0]["name"], "weight");
    EXPECT_EQ(e["fields"][0]["value"], "40");
    EXPECT_EQ(e["fields"][0]["inline"], true);
  }
}

size_t Chars(const json& j) { return internal::CountUtf8(j.get<std::string>()); }

TEST(Discord, TruncatesToDiscordLimits) {
  Receiver rx;
  auto n = Make("discord", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  Message m = Sample();
  m.fields.clear();
  m.fields.push_back({std::string(300, 'n'), std::string(2000, 'v')});
  m.fields.push_back({"multibyte", [] {
                        std::string s;
                        for (int i = 0; i < 1500; ++i) s += "é";
                        return s;
                      }()});
  m.fields.push_back({"", ""});  // Discord rejects empty names and values
  for (int i = 0; i < 30; ++i) m.fields.push_back({"f" + std::to_string(i), "x"});
  ASSERT_TRUE(n->Send(m).has_value());
  const json e = LastBody(rx)["embeds"][0];  // parse succeeding also proves valid UTF-8
  const json& f = e["fields"];
  ASSERT_EQ(f.size(), internal::kDiscordFields);
  EXPECT_EQ(Chars(f[0]["name"]), 256u);
  EXPECT_EQ(f[0]["name"].get<std::string>().substr(0, 255), std::string(255, 'n'));
  EXPECT_EQ(f[0]["name"].get<std::string>().substr(255), "…");
  EXPECT_EQ(Chars(f[0]["value"]), 1024u);
  EXPECT_EQ(Chars(f[1]["value"]), 1024u);
  EXPECT_EQ(f[2]["name"], "-");
  EXPECT_EQ(f[2]["value"], "-");
  // 33 fields given; 24 kept and a 25th that counts the rest.
  EXPECT_EQ(f[24]["value"], "9 more fields omitted");
  size_t total = Chars(e["title"]) + Chars(e["description"]) + Chars(e["footer"]["text"]);
  for (const auto& field : f) total += Chars(field["name"]) + Chars(field["value"]);
  EXPECT_LE(total, internal::kDiscordEmbedTotal);
}

TEST(Discord, TotalBudgetDropsFieldsBeforeTheLimit) {
  Receiver rx;
  auto n = Make("discord", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  Message m = Sample();
  m.text = std::string(5000, 'd');  // cut to 4096
  m.fields.clear();
  for (int i = 0; i < 10; ++i) m.fields.push_back({"k" + std::to_string(i), std::string(500, 'x')});
  ASSERT_TRUE(n->Send(m).has_value());
  const json e = LastBody(rx)["embeds"][0];
  EXPECT_EQ(Chars(e["description"]), 4096u);
  size_t total = Chars(e["title"]) + Chars(e["description"]) + Chars(e["footer"]["text"]);
  for (const auto& field : e["fields"]) total += Chars(field["name"]) + Chars(field["value"]);
  EXPECT_LE(total, internal::kDiscordEmbedTotal);
  ASSERT_GE(e["fields"].size(), 2u);
  ASSERT_LT(e["fields"].size(), 11u);
  const size_t kept = e["fields"].size() - 1;
  EXPECT_EQ(e["fields"].back()["value"], std::to_string(10 - kept) + " more fields omitted");
}

TEST(Webhook, GenericJsonHeadersAndToken) {
  Receiver rx;
  TempFile token("  s3cret-token\n");
  auto n = Make("webhook", {{"url", rx.url("/augur?team=a")},
                            {"headers.X-Foo", "bar"},
                            {"headers.X-Env", "prod"},
                            {"tokenFile", token.path()}});
  ASSERT_TRUE(n);
  Message m = Sample(Severity::kError);
  m.fields.push_back({"weight", "0"});  // a repeated name must not overwrite the first
  ASSERT_TRUE(n->Send(m).has_value());
  const auto got = rx.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].path, "/augur?team=a");
  EXPECT_EQ(got[0].header("X-Foo"), "bar");
  EXPECT_EQ(got[0].header("X-Env"), "prod");
  EXPECT_EQ(got[0].header("Authorization"), "Bearer s3cret-token");
  const json b = json::parse(got[0].body);
  const json want = {{"rollout", "shop/checkout"},
                     {"namespace", "shop"},
                     {"name", "checkout"},
                     {"phase", "Progressing"},
                     {"severity", "error"},
                     {"text", "weight 20 -> 40: all checks passed"},
                     {"time", "2026-07-21T10:00:00.123Z"},
                     {"fields",
                      {{"weight", "40"},
                       {"failed checks", "0/5"},
                       {"p99 <latency>", "a & b"},
                       {"weight (2)", "0"}}}};
  EXPECT_EQ(b, want);

  token.Write("rotated\n");  // read at each send: a rotated Secret needs no restart
  ASSERT_TRUE(n->Send(m).has_value());
  EXPECT_EQ(rx.received().back().header("Authorization"), "Bearer rotated");
}

TEST(Webhook, RolloutWithoutNamespace) {
  Receiver rx;
  auto n = Make("webhook", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  Message m = Sample();
  m.rollout = "solo";
  ASSERT_TRUE(n->Send(m).has_value());
  const json b = LastBody(rx);
  EXPECT_EQ(b["namespace"], "");
  EXPECT_EQ(b["name"], "solo");
}

TEST(Webhook, UrlFileIsReadAtEachSend) {
  Receiver a, b;
  TempFile url(a.url("/first") + "\n");
  auto n = Make("webhook", {{"urlFile", url.path()}});
  ASSERT_TRUE(n);
  ASSERT_TRUE(n->Send(Sample()).has_value());
  url.Write(b.url("/second"));
  ASSERT_TRUE(n->Send(Sample()).has_value());
  ASSERT_EQ(a.count(), 1u);
  ASSERT_EQ(b.count(), 1u);
  EXPECT_EQ(a.received()[0].path, "/first");
  EXPECT_EQ(b.received()[0].path, "/second");
}

TEST(Notifier, DropsMessagesBelowMinSeverity) {
  Receiver rx;
  for (const char* kind : {"slack", "msteams", "discord", "webhook"}) {
    SCOPED_TRACE(kind);
    auto n = Make(kind, {{"url", rx.url()}}, Severity::kWarn);
    ASSERT_TRUE(n);
    const size_t before = rx.count();
    EXPECT_TRUE(n->Send(Sample(Severity::kInfo)).has_value());
    EXPECT_EQ(rx.count(), before);
    EXPECT_TRUE(n->Send(Sample(Severity::kWarn)).has_value());
    EXPECT_TRUE(n->Send(Sample(Severity::kError)).has_value());
    EXPECT_EQ(rx.count(), before + 2);
  }
}

TEST(Notifier, RefusalIsBadDataQuotingStatusAndBody) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t) {
    res.status = 400;
    res.set_content("invalid_payload\nsecond line" + std::string(1000, 'z'), "text/plain");
  });
  auto n = Make("slack", {{"url", rx.url("/services/T0/B0/SECRET")}, {"retries", "3"}});
  ASSERT_TRUE(n);
  auto st = n->Send(Sample());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kBadData);
  const std::string& msg = st.error().message;
  EXPECT_EQ(msg.rfind("slack: http://127.0.0.1:", 0), 0u) << msg;
  EXPECT_NE(msg.find("answered HTTP 400: 'invalid_payload second line"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("SECRET"), std::string::npos) << msg;
  EXPECT_LT(msg.size(), 500u);  // a prefix, not the whole body
  EXPECT_EQ(rx.count(), 1u);    // 4xx is not retried
}

TEST(Notifier, AcceptsAny2xx) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t) {
    res.status = 204;  // what Discord answers without ?wait=true
  });
  auto n = Make("discord", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->Send(Sample()).has_value());
}

TEST(Notifier, ServerErrorsAreRetriedByDefault) {
  Receiver rx([](const httplib::Request&, httplib::Response& res, size_t i) {
    res.status = i == 0 ? 502 : 200;
  });
  auto n = Make("msteams", {{"url", rx.url()}});
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->Send(Sample()).has_value());
  EXPECT_EQ(rx.count(), 2u);
}

TEST(Notifier, SlowReceiverHonoursTimeoutSetting) {
  Receiver slow([&slow](const httplib::Request&, httplib::Response&, size_t) {
    slow.HoldUntilReleased(10000);
  });
  auto n = Make("webhook", {{"url", slow.url()}, {"timeout", "200ms"}, {"retries", "0"}});
  ASSERT_TRUE(n);
  const auto start = std::chrono::steady_clock::now();
  auto st = n->Send(Sample());
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kDeadlineExceeded) << st.error().message;
  EXPECT_EQ(st.error().message.rfind("webhook: ", 0), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
}

TEST(Log, OneJsonLineToTheSink) {
  std::mutex mu;
  std::vector<std::string> lines;
  auto n = NewLogNotifier(Severity::kWarn, [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  });
  EXPECT_TRUE(n->Send(Sample(Severity::kInfo)).has_value());
  EXPECT_TRUE(n->Send(Sample(Severity::kError)).has_value());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  const json j = json::parse(lines[0]);
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["rollout"], "shop/checkout");
  EXPECT_EQ(j["fields"]["failed checks"], "0/5");
  EXPECT_EQ(j["time"], "2026-07-21T10:00:00.123Z");
}

TEST(Log, FactoryKindWritesToStderr) {
  auto n = Make("log", {});
  ASSERT_TRUE(n);
  EXPECT_EQ(n->name(), "log");
  ::testing::internal::CaptureStderr();
  const Status st = n->Send(Sample());
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(st.has_value());
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), '\n');
  EXPECT_EQ(json::parse(err)["phase"], "Progressing");
}

TEST(Factory, KindsAndSeverities) {
  EXPECT_EQ(NotifierKinds(),
            (std::vector<std::string>{"discord", "log", "msteams", "slack", "webhook"}));
  EXPECT_EQ(*ParseSeverity("info"), Severity::kInfo);
  EXPECT_EQ(*ParseSeverity("warn"), Severity::kWarn);
  EXPECT_EQ(*ParseSeverity("error"), Severity::kError);
  for (const char* bad : {"", "Warn", "warning", "critical"}) {
    auto s = ParseSeverity(bad);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error().message,
              std::string("severity: want info, warn or error (got '") + bad + "')");
  }
  for (Severity s : {Severity::kInfo, Severity::kWarn, Severity::kError}) {
    EXPECT_EQ(*ParseSeverity(SeverityName(s)), s);
  }
}

TEST(Factory, SettingsErrorsNameTheKey) {
  TempFile empty("\n");
  const std::string missing = "/nonexistent/augur/token";
  struct Case {
    const char* kind;
    std::map<std::string, std::string> settings;
    std::string want;  // the whole message, or its start when it ends in '*'
  };
  const Case cases[] = {
      {"slak",
       {},
       "kind: unknown notifier 'slak'; did you mean 'slack'? (known: discord, log, "
       "msteams, slack, webhook)"},
      {"slack", {}, "slack: url: required (or urlFile)"},
      {"slack", {{"url", "ftp://x/"}}, "slack: url: scheme must be http or https (got 'ftp')"},
      {"msteams", {{"url", "outlook.office.com/webhook"}}, "msteams: url: want an absolute URL*"},
      {"discord",
       {{"url", "http://h/"}, {"urlFile", "/x"}},
       "discord: url: set url or urlFile, not both"},
      {"slack",
       {{"url", "http://h/"}, {"chanel", "#x"}},
       "slack: unknown setting 'chanel'; did you mean 'channel'? (known: channel, iconEmoji, "
       "iconUrl, insecureSkipVerify, retries, timeout, url, urlFile, username)"},
      {"slack", {{"url", "http://h/"}, {"headers.X", "1"}}, "slack: unknown setting 'headers.X'*"},
      {"log", {{"url", "http://h/"}}, "log: unknown setting 'url' (known: none)"},
      {"webhook",
       {{"url", "http://h/"}, {"timeout", "5"}},
       "webhook: timeout: want a duration like 5s, 500ms or 1m (got '5')"},
      {"webhook",
       {{"url", "http://h/"}, {"timeout", "10m"}},
       "webhook: timeout: must be from 1ms to 5m (got '10m')"},
      {"webhook",
       {{"url", "http://h/"}, {"retries", "-1"}},
       "webhook: retries: want a whole number from 0 to 10 (got '-1')"},
      {"webhook", {{"url", "http://h/"}, {"retries", "11"}}, "webhook: retries: want*"},
      {"webhook",
       {{"url", "http://h/"}, {"insecureSkipVerify", "yes"}},
       "webhook: insecureSkipVerify: want true or false (got 'yes')"},
      {"webhook",
       {{"url", "http://h/"}, {"headers.Host", "x"}},
       "webhook: headers.Host: this header is set by the HTTP client"},
      {"webhook",
       {{"url", "http://h/"}, {"headers.Bad Name", "x"}},
       "webhook: headers.Bad Name: not a valid header name"},
      {"webhook",
       {{"url", "http://h/"}, {"headers.X-A", "a\r\nX-B: b"}},
       "webhook: headers.X-A: value contains a line break"},
      {"webhook",
       {{"url", "http://h/"}, {"tokenFile", missing}},
       "webhook: tokenFile: cannot read '" + missing + "'*"},
      {"webhook",
       {{"url", "http://h/"}, {"tokenFile", empty.path()}},
       "webhook: tokenFile: '" + empty.path() + "' is empty"},
      {"webhook", {{"urlFile", missing}}, "webhook: urlFile: cannot read*"},
      {"discord",
       {{"url", "http://h/"}, {"avatarUrl", "x.png"}},
       "discord: avatarUrl: want an absolute URL*"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    auto n = NewNotifier({c.kind, Severity::kInfo, c.settings});
    ASSERT_FALSE(n.has_value());
    EXPECT_EQ(n.error().code, ErrorCode::kInvalidArgument);
    if (c.want.back() == '*') {
      const std::string prefix = c.want.substr(0, c.want.size() - 1);
      EXPECT_EQ(n.error().message.substr(0, prefix.size()), prefix) << n.error().message;
    } else {
      EXPECT_EQ(n.error().message, c.want);
    }
  }
}

TEST(Payloads, Rfc3339AndTruncation) {
  EXPECT_EQ(internal::Rfc3339(kTime), "2026-07-21T10:00:00.123Z");
  EXPECT_EQ(internal::Rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(internal::Rfc3339(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(internal::TruncateUtf8("abcdef", 6), "abcdef");
  EXPECT_EQ(internal::TruncateUtf8("abcdef", 4), "abc…");
  EXPECT_EQ(internal::TruncateUtf8("ééé", 2), "é…");
  EXPECT_EQ(internal::CountUtf8("aé€😀"), 4u);
  EXPECT_EQ(internal::CountUtf8("\xff\xfe"), 2u);  // stray bytes count one each
}

TEST(Payloads, InvalidUtf8DoesNotThrow) {
  Message m = Sample();
  m.text = "bad \xff\xfe bytes";
  m.fields = {{"k\xc3", "v\xe2\x82"}};
  for (const std::string& body :
       {internal::SlackPayload(m, {}), internal::TeamsPayload(m), internal::DiscordPayload(m, {}),
        internal::WebhookPayload(m), internal::LogLine(m)}) {
    EXPECT_NO_THROW(json::parse(body)) << body;
  }
}

}  // namespace
}  // namespace augur::notifiers
