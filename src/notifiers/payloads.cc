#include "notifiers/payloads.h"

#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "augur/notifiers/factory.h"

namespace augur::notifiers::internal {
namespace {

using nlohmann::ordered_json;

// Invalid UTF-8 in a message (a label value, a body quoted in `text`) must not throw out of
// dump(): it becomes U+FFFD.
std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

// Length in bytes of the UTF-8 sequence starting with `lead`, or 1 for a stray byte.
size_t SeqLen(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

// Slack wants only these three escaped; everything else stays as mrkdwn.
std::string SlackEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Headline(const Message& m) {
  return m.rollout + " → " + (m.phase.empty() ? std::string("(no phase)") : m.phase);
}

// A JSON object of the fields; a repeated name gets " (2)", " (3)", ... so none is lost.
ordered_json FieldsObject(const Message& m) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : m.fields) {
    std::string key = k;
    for (int n = 2; out.contains(key); ++n) key = k + " (" + std::to_string(n) + ")";
    out[key] = v;
  }
  return out;
}

ordered_json WebhookJson(const Message& m) {
  const size_t slash = m.rollout.find('/');
  ordered_json j;
  j["rollout"] = m.rollout;
  j["namespace"] = slash == std::string::npos ? "" : m.rollout.substr(0, slash);
  j["name"] = slash == std::string::npos ? m.rollout : m.rollout.substr(slash + 1);
  j["phase"] = m.phase;
  j["severity"] = SeverityName(m.severity);
  j["text"] = m.text;
  j["time"] = Rfc3339(m.time_ms);
  j["fields"] = FieldsObject(m);
  return j;
}

}  // namespace

const char* SlackColor(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "good";
    case Severity::kWarn:
      return "warning";
    case Severity::kError:
      return "danger";
  }
  return "good";
}

const char* TeamsColor(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "0076D7";
    case Severity::kWarn:
      return "FFA500";
    case Severity::kError:
      return "FF0000";
  }
  return "0076D7";
}

uint32_t DiscordColor(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return 0x2EB886;
    case Severity::kWarn:
      return 0xDAA038;
    case Severity::kError:
      return 0xA30200;
  }
  return 0x2EB886;
}

size_t CountUtf8(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); i += SeqLen(s, i)) ++n;
  return n;
}

std::string TruncateUtf8(std::string_view s, size_t max_chars) {
  if (CountUtf8(s) <= max_chars) return std::string(s);
  if (max_chars == 0) return "";
  size_t i = 0;
  for (size_t n = 0; n + 1 < max_chars; ++n) i += SeqLen(s, i);
  return std::string(s.substr(0, i)) + "…";
}

std::string Rfc3339(int64_t time_ms) {
  // Floor division so times before 1970 still get a 0-999 millisecond part.
  int64_t secs = time_ms / 1000, ms = time_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

std::string SlackPayload(const Message& m, const ChatOptions& o) {
  ordered_json j;
  if (!o.channel.empty()) j["channel"] = o.channel;
  if (!o.username.empty()) j["username"] = o.username;
  if (!o.icon_emoji.empty()) j["icon_emoji"] = o.icon_emoji;
  if (!o.icon_url.empty()) j["icon_url"] = o.icon_url;
  std::string headline = "*";
  headline.append(SlackEscape(m.rollout)).append("* → *").append(SlackEscape(m.phase)).append("*");
  j["text"] = std::move(headline);
  ordered_json att;
  att["color"] = SlackColor(m.severity);
  att["fallback"] = Headline(m) + ": " + m.text;
  att["text"] = SlackEscape(m.text);
  ordered_json fields = ordered_json::array();
  for (const auto& [k, v] : m.fields) {
    // Short fields sit two per row; long values need the full width to stay readable.
    fields.push_back(
        {{"title", SlackEscape(k)}, {"value", SlackEscape(v)}, {"short", CountUtf8(v) <= 40}});
  }
  att["fields"] = std::move(fields);
  att["footer"] = std::string("augur · ") + SeverityName(m.severity);
  att["ts"] = m.time_ms / 1000;
  att["mrkdwn_in"] = {"text"};
  j["attachments"] = ordered_json::array({std::move(att)});
  return Dump(j);
}

std::string TeamsPayload(const Message& m) {
  ordered_json j;
  j["@type"] = "MessageCard";
  j["@context"] = "https://schema.org/extensions";
  j["themeColor"] = TeamsColor(m.severity);
  j["summary"] = Headline(m) + ": " + m.text;
  ordered_json section;
  section["activityTitle"] = m.rollout;
  section["activitySubtitle"] = "Phase: " + m.phase + " · severity " + SeverityName(m.severity);
  section["text"] = m.text;
  ordered_json facts = ordered_json::array();
  for (const auto& [k, v] : m.fields) facts.push_back({{"name", k}, {"value", v}});
  section["facts"] = std::move(facts);
  section["markdown"] = false;  // rollout names and query text would be mangled as markdown
  j["sections"] = ordered_json::array({std::move(section)});
  return Dump(j);
}

std::string DiscordPayload(const Message& m, const ChatOptions& o) {
  ordered_json j;
  if (!o.username.empty()) j["username"] = o.username;
  if (!o.avatar_url.empty()) j["avatar_url"] = o.avatar_url;
  j["content"] = TruncateUtf8("**" + Headline(m) + "**", kDiscordContent);
  ordered_json embed;
  const std::string title = TruncateUtf8(Headline(m), kDiscordTitle);
  const std::string description = TruncateUtf8(m.text, kDiscordDescription);
  const std::string footer =
      TruncateUtf8(std::string("augur · ") + SeverityName(m.severity), kDiscordFooter);
  embed["title"] = title;
  if (!description.empty()) embed["description"] = description;
  embed["color"] = DiscordColor(m.severity);
  // The 6000-character budget covers all text of the embed; fields get what is left, and a
  // last field says how many did not fit (its own size is reserved up front).
  const std::string kMoreName = "…";
  size_t budget = kDiscordEmbedTotal - CountUtf8(title) - CountUtf8(description) -
                  CountUtf8(footer) - CountUtf8(kMoreName) - 32;
  ordered_json fields = ordered_json::array();
  size_t kept = 0;
  for (const auto& [k, v] : m.fields) {
    if (kept == kDiscordFields - 1 && m.fields.size() > kDiscordFields) break;
    // Discord rejects empty names and values.
    std::string name = TruncateUtf8(k.empty() ? "-" : k, kDiscordFieldName);
    std::string value = TruncateUtf8(v.empty() ? "-" : v, kDiscordFieldValue);
    const size_t cost = CountUtf8(name) + CountUtf8(value);
    if (cost > budget) break;
    budget -= cost;
    fields.push_back({{"name", name}, {"value", value}, {"inline", CountUtf8(value) <= 40}});
    ++kept;
  }
  if (kept < m.fields.size()) {
    fields.push_back({{"name", kMoreName},
                      {"value", std::to_string(m.fields.size() - kept) + " more fields omitted"},
                      {"inline", false}});
  }
  if (!fields.empty()) embed["fields"] = std::move(fields);
  embed["footer"] = {{"text", footer}};
  embed["timestamp"] = Rfc3339(m.time_ms);
  j["embeds"] = ordered_json::array({std::move(embed)});
  return Dump(j);
}

std::string WebhookPayload(const Message& m) { return Dump(WebhookJson(m)); }

std::string LogLine(const Message& m) {
  ordered_json j;
  j["level"] = SeverityName(m.severity);
  j["msg"] = "notification";
  const ordered_json body = WebhookJson(m);  // named: items() must not outlive a temporary
  for (const auto& [k, v] : body.items()) j[k] = v;
  return Dump(j);
}

}  // namespace augur::notifiers::internal
